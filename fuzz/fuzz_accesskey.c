/* Rule names as s6-accessrules-cdb-from-fs reads them from a rules
 * directory: "KIND\0NAME" (the kind's directory, then the rule's). Beyond
 * no crash: the hint is always NUL-terminated inside its buffer, and a
 * hint names a key that s6net_accessrules_key_problem() itself accepts
 * (the spelling it suggests is one lookups really use). */
#include <s6net/accessrules.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char buf[600], hint[S6NET_ACCESSRULES_KEY_MAX + 8], again[sizeof hint];
  if (size >= sizeof buf) return 0;
  memcpy(buf, data, size);
  buf[size] = 0;
  char const *kind = buf, *name = memchr(buf, 0, size) ? buf + strlen(buf) + 1 : "";
  if (name > buf + size) name = "";
  memset(hint, 'x', sizeof hint);
  char const *why = s6net_accessrules_key_problem(kind, name, hint, sizeof hint);
  if (!memchr(hint, 0, sizeof hint)) abort();
  if (!why && *hint) abort();
  if (*hint) {
    char *slash = strchr(hint, '/');
    if (!slash) abort();
    *slash = 0;
    if (strcmp(hint, kind)) abort();
    if (s6net_accessrules_key_problem(hint, slash + 1, again, sizeof again)) abort();
  }
  /* a short hint buffer is cut, never overrun */
  char tiny[3] = { 'x', 'x', 'x' };
  s6net_accessrules_key_problem(kind, name, tiny, 2);
  if (tiny[2] != 'x' || !memchr(tiny, 0, 2)) abort();
  return 0;
}
