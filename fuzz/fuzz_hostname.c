/* s6net_tls_hostname_ok on hostile bytes (a client's SNI): what it
 * accepts is checked again here, byte by byte, against the rules. */
#include "tls/tlsopt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char const *s = (char const *)data;
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
