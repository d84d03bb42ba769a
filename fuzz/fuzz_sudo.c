/* s6-sudod's request parser: an accepted request unpacks into exactly
 * argc and envc strings inside the buffer, and packing them again gives
 * back the same bytes. The environment filter only ever returns client
 * strings for variables the server has empty. */
#include "ipc/sudo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  uint32_t len; uint16_t nfds;
  if (size >= S6NET_SUDO_HDRLEN) {
    if (s6net_sudo_hdr_parse(data, 4096, &len, &nfds) == 0 && (len < S6NET_SUDO_FIXEDLEN || len > 4096)) abort();
  }
  if (size > 4096) return 0;
  char *buf = malloc(size ? size : 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  s6net_sudo_req r;
  if (s6net_sudo_req_parse(buf, size, &r) == 0) {
    if (r.argc > size || r.envc > size) abort();
    char const **a = malloc(sizeof(char *) * (r.argc + 1));
    char const **e = malloc(sizeof(char *) * (r.envc + 1));
    if (a && e) {
      s6net_sudo_unpack_strings(r.args, r.argc, a);
      s6net_sudo_unpack_strings(r.env, r.envc, e);
      if (s6net_sudo_req_len(a, r.argc, e, r.envc) != size) abort();
      char *again = malloc(size);
      if (again) {
        s6net_sudo_req_pack(again, a, r.argc, e, r.envc);
        if (memcmp(again, buf, size)) abort();
        free(again);
      }
      char const *senv[] = { "PATH=/bin", "A=", "B=", "C=set", 0 };
      char const *mods[3];
      long n = s6net_sudo_env_filter(senv, r.env, r.envlen, r.envc, mods, 3);
      if (n < 0 || n > 2) abort();
      for (long i = 0; i < n; i++) {
        if (mods[i] < r.env || mods[i] >= r.env + r.envlen) abort();
        if (strncmp(mods[i], "A=", 2) && strncmp(mods[i], "B=", 2)) abort();
      }
    }
    free(a); free(e);
  }
  free(buf);
  return 0;
}
