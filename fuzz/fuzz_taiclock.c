/* libFuzzer harness: TAICLOCK request/reply handling (both sides), TAI64NA
 * and the 12-byte clock pipe as s6-clockadd / s6-clockview read it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clock/taiclock.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  unsigned char buf[128];
  s6net_tai64na t;
  /* Server side, on a copy as s6-taiclockd does in its own buffer. */
  if (size <= sizeof buf) {
    memcpy(buf, data, size);
    if (s6net_taiclock_is_request(buf, size)) {
      s6net_tai64na now = { 0x4000000069000000ULL, 1, 0 };
      s6net_taiclock_answer(buf, &now);
      if (buf[0] != 's' || memcmp(buf + 1, "tai", 3)) __builtin_trap();
      if (s6net_taiclock_reply(buf, size, size >= 28 ? buf + 20 : buf, &t) == S6NET_TAICLOCK_OK
          && t.label != now.label) __builtin_trap();
    }
  }
  /* Client side: the cookie is the packet's own (so the time check is
   * reached) and a fixed one. */
  static unsigned char const cookie[8] = { 'c', 'o', 'o', 'k', 'i', 'e', '!', 0 };
  s6net_taiclock_verdict v = s6net_taiclock_reply(data, size, size >= 28 ? data + 20 : cookie, &t);
  (void)s6net_taiclock_verdict_str(v);
  if (v == S6NET_TAICLOCK_OK) {
    s6net_clk c, utc;
    int leap;
    s6net_tai64na_to_clk(&c, &t);
    utc = s6net_tai_to_utc(&c, &leap);
    (void)s6net_utc_to_tai(&utc);
    if (t.nano >= 1000000000u || t.atto >= 1000000000u) __builtin_trap();
  }
  if (size >= 12) {
    s6net_clk d, now = { 1795700000, 5 };
    if (s6net_clockadj_unpack(data, &d) == 0) {
      (void)s6net_clk_exceeds_ms(&d, 2000);
      if (s6net_clk_add(&now, &d) == 0 && now.nano >= 1000000000u) __builtin_trap();
    }
  }
  return 0;
}
