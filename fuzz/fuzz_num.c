/* Number parsing: accepted values are in range and format back to the
 * same text (no leading zeros allowed except "0" itself is not required,
 * so compare numerically). */
#include "core/num.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char s[64];
  if (size >= sizeof s) return 0;
  memcpy(s, data, size);
  s[size] = 0;
  unsigned long long u, v;
  char buf[24];
  if (s6net_scan_ull(s, 10, 65535, &u) == 0) {
    if (u < 10 || u > 65535) abort();
    s6net_fmt_ull(buf, u);
    if (s6net_scan_ull(buf, 0, ULLONG_MAX, &v) != 0 || u != v) abort();
  }
  gid_t g[8];
  size_t n;
  if (s6net_scan_idlist(s, g, 8, &n) == 0 && n > 8) abort();
  uint16_t p;
  s6net_scan_port(s, &p);
  return 0;
}
