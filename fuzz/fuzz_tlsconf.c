/* lib/tls parsers on hostile bytes: the handshake notification scanner,
 * the ALPN list encoder (the zygote request has fuzz_tlsz.c). */
#include "tls/tlsopt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char const *buf = (char const *)data;
  long n = s6net_tls_notif_scan(buf, size, 4096);
  if (n > 0) {
    /* A complete block ends with an empty string and every entry has a name. */
    if ((size_t)n > size || buf[n - 1]) abort();
    for (size_t i = 0; i + 1 < (size_t)n; i += strlen(buf + i) + 1)
      if (!strchr(buf + i, '=') || buf[i] == '=') abort();
  }
  char s[300];
  size_t l = size < sizeof s - 1 ? size : sizeof s - 1;
  memcpy(s, data, l);
  s[l] = 0;
  unsigned char w[256];
  long wl = s6net_tls_alpn_wire(w, sizeof w, s);
  if (wl >= 0) {
    long i = 0;
    while (i < wl) { if (!w[i]) abort(); i += 1 + w[i]; }
    if (i != wl) abort();
  }
  return 0;
}
