/* libFuzzer harness: SNTP reply decoding, checking and offset computation,
 * plus era-aware timestamp conversion with an attacker-chosen pivot. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "clock/sntp.h"

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  s6net_sntp r;
  if (!s6net_sntp_unpack(data, size, &r)) return 0;
  /* Judge it as an answer to whatever it claims to answer, so the checks
   * past the originate test are reached. */
  s6net_sntp_verdict v = s6net_sntp_check(&r, r.originate);
  (void)s6net_sntp_verdict_str(v);
  char code[5];
  s6net_sntp_kiss_code(code, &r);
  s6net_clk t1 = { 1795700000, 0 }, t4 = { 1795700000, 1000000 };
  if (size >= 64) {
    /* Trailing bytes choose our local times: eras, extremes. */
    int64_t p;
    memcpy(&p, data + 48, 8);
    t1.sec = p >> 1; /* keep pivot + 2^31 representable */
    t4 = t1;
    t4.nano = (uint32_t)(data[56] % 200) * 5000000u;
    t1.sec = t1.sec > INT64_MAX / 4 ? INT64_MAX / 4 : t1.sec < INT64_MIN / 4 ? INT64_MIN / 4 : t1.sec;
    t4.sec = t1.sec;
  }
  s6net_clock_sample s;
  int64_t delay;
  if (s6net_sntp_sample(&r, &t1, &t4, &s, &delay) == 0) {
    if (s.error < 0 || delay < 0) __builtin_trap();
    s6net_clk d = s6net_clk_from_ns(s.offset);
    unsigned char out[12];
    s6net_clk back;
    s6net_clockadj_pack(out, &d);
    if (s6net_clockadj_unpack(out, &back) < 0 || back.sec != d.sec || back.nano != d.nano) __builtin_trap();
  }
  s6net_clk c;
  s6net_ntp_to_clk(&c, r.transmit, t1.sec);
  if (c.nano >= 1000000000u) __builtin_trap();
  uint64_t again = s6net_ntp_from_clk(&c);
  if (again >> 32 != r.transmit >> 32) __builtin_trap();
  unsigned char pk[48];
  s6net_sntp_pack(pk, &r);
  if (memcmp(pk, data, 48)) __builtin_trap();
  return 0;
}
