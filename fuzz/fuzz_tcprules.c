/* tcprules line parser: never crashes, keys are well-formed, env fits. */
#include "tcprules/tcprules.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static s6net_tcprules_rule r;
  int rc = s6net_tcprules_parse((char const *)data, size, &r);
  if (rc == S6NET_TCPRULES_RULE) {
    if (!r.nkeys || r.nkeys > S6NET_TCPRULES_MAXKEYS || r.envlen > sizeof r.env) abort();
    for (size_t i = 0; i < r.nkeys; i++)
      if (strncmp(r.keys[i], "ip4/", 4) && strncmp(r.keys[i], "ip6/", 4) && strncmp(r.keys[i], "reversedns/", 11)) abort();
    if (r.envlen && r.env[r.envlen - 1]) abort();
  } else if (rc != S6NET_TCPRULES_SKIP && !r.why) abort();
  return 0;
}
