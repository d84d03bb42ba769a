/* A client's SNI on hostile bytes: s6net_tls_sni_ext_name on the input
 * as a server_name extension body (the name found lies inside it), and
 * s6net_tls_hostname_ok on the input as a name (what it accepts is
 * checked again here, byte by byte, against the rules). */
#include "tls/tlsopt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char const *s = (char const *)data;
  char const *n;
  size_t nl;
  if (s6net_tls_sni_ext_name(data, size, &n, &nl) == 0) {
    if (n < s + 5 || n + nl > s + size) abort();
    if (((size_t)data[0] << 8 | data[1]) != size - 2) abort();
  }
  if (!s6net_tls_hostname_ok(s, size)) return 0;
  if (!size || size > 253 || s[0] == '.' || s[size - 1] == '.') abort();
  size_t label = 0;
  for (size_t i = 0; i < size; i++) {
    unsigned char c = data[i];
    if (c == '.') {
      if (!label || data[i - 1] == '-') abort();
      label = 0;
    } else {
      if (!(c == '-' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'))) abort();
      if (c == '-' && !label) abort();
      if (++label > 63) abort();
    }
  }
  if (data[size - 1] == '-') abort();
  return 0;
}
