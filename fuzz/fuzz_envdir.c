/* envdir file contents -> value, and host names -> rule keys. The value
 * must be at most 4095 bytes, hold no NUL, no newline from the file's
 * second line, and no trailing blank; names that pass the check must
 * make keys that stay under reversedns/ and fit the key buffer. */
#include <s6net/accessrules.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

static s6net_accessrules_result keysink(char const *key, size_t klen, void const *handle, s6net_accessrules_params *p)
{
  (void)handle; (void)p;
  if (klen >= S6NET_ACCESSRULES_KEY_MAX || klen < 12 || memcmp(key, "reversedns/", 11)) abort();
  if (memchr(key + 11, '/', klen - 11) || memchr(key, 0, klen)) abort();
  if (key[11] == '.' || (klen >= 13 && key[11] == '.' && key[12] == '.')) abort();
  return S6NET_ACCESSRULES_NOTFOUND;
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static char out[S6NET_ENVDIR_VALUE_MAX];
  size_t n = 0;
  int r = s6net_envdir_value((char const *)data, size, out, &n);
  if (r != (size > 0)) abort();
  if (r) {
    if (n > S6NET_ENVDIR_VALUE_MAX || memchr(out, 0, n)) abort();
    if (n && (out[n - 1] == ' ' || out[n - 1] == '\t' || out[n - 1] == '\r')) abort();
    char const *nl = memchr(data, '\n', size);
    if (nl && (size_t)(nl - (char const *)data) < n) abort();
  }
  char name[512];
  if (size < sizeof name) {
    memcpy(name, data, size);
    name[size] = 0;
    s6net_accessrules_params p;
    s6net_accessrules_keycheck_reversedns(name, 0, &p, &keysink);
  }
  return 0;
}
