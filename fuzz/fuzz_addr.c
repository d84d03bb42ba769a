/* Address parsing: every accepted input must print canonically and that
 * canonical text must parse back to the same bytes. */
#include "core/addr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char s[128];
  if (size >= sizeof s) return 0;
  memcpy(s, data, size);
  s[size] = 0;
  s6net_ip46 a, b;
  char buf[S6NET_IP46_FMTLEN];
  if (s6net_ip46_scan(s, &a) == 0) {
    size_t n = s6net_ip46_fmt(buf, &a);
    if (n >= sizeof buf || strlen(buf) != n) abort();
    if (s6net_ip46_scan(buf, &b) != 0 || a.is6 != b.is6 || memcmp(a.ip, b.ip, a.is6 ? 16 : 4)) abort();
    unsigned char m[16];
    memcpy(m, a.ip, 16);
    s6net_ip_mask(m, a.is6 ? 16 : 4, (unsigned)size % 129);
  }
  return 0;
}
