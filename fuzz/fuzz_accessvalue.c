/* Access rules CDB data: the value decoder on the raw input, and the
 * input taken as a whole CDB file (lookups of the keys a connection would
 * try, a walk of every record, each value decoded). Nothing may read
 * outside the input, and a decoded allow must respect the size limits. */
#include <s6net/accessrules.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

static s6net_accessrules_params p;

static void check(s6net_accessrules_result r)
{
  if (r == S6NET_ACCESSRULES_ALLOW) {
    if (p.envlen > S6NET_ACCESSRULES_ENV_MAX || p.execlen > S6NET_ACCESSRULES_EXEC_MAX) abort();
    if (p.exec[p.execlen]) abort();
    if (p.envlen && p.env[p.envlen - 1]) abort();
  } else if (r != S6NET_ACCESSRULES_DENY && r != S6NET_ACCESSRULES_NOTFOUND && r != S6NET_ACCESSRULES_ERROR) abort();
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  s6net_accessrules_params_init(&p);
  check(s6net_accessrules_value_decode(data, size, &p));

  s6net_accessrules_cdb c;
  if (s6net_accessrules_cdb_frombuf(&c, data, size) < 0) return 0;
  unsigned char ip4[4] = { 10, 0, 0, 1 };
  unsigned char ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
  check(s6net_accessrules_keycheck_ip4(ip4, &c, &p, &s6net_accessrules_backend_cdb));
  check(s6net_accessrules_keycheck_ip6(ip6, &c, &p, &s6net_accessrules_backend_cdb));
  check(s6net_accessrules_keycheck_reversedns("www.example.org", &c, &p, &s6net_accessrules_backend_cdb));
  check(s6net_accessrules_keycheck_uidgid(0, 0, &c, &p, &s6net_accessrules_backend_cdb));
  size_t pos = 0, kl, dl;
  unsigned char const *k, *d;
  for (int i = 0; i < 1000; i++) {
    int r = s6net_accessrules_cdb_next(&c, &pos, &k, &kl, &d, &dl);
    if (r < -1 || r > 1) abort();
    if (r <= 0) break;
    if (k < data || k + kl > data + size || d < data || d + dl > data + size) abort();
    check(s6net_accessrules_value_decode(d, dl, &p));
  }
  return 0;
}
