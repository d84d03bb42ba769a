/* The value stored for a rule in an access rules CDB. */
#include <s6net/accessrules.h>

#include <errno.h>
#include <string.h>

void s6net_accessrules_params_init(s6net_accessrules_params *p)
{
  p->envlen = 0;
  p->execlen = 0;
  p->exec[0] = 0;
}

static size_t u16be(unsigned char const *s)
{
  return (size_t)s[0] << 8 | s[1];
}

s6net_accessrules_result s6net_accessrules_value_decode(unsigned char const *v, size_t len, s6net_accessrules_params *p)
{
  if (!len) return S6NET_ACCESSRULES_NOTFOUND;
  if (v[0] == 'D') return S6NET_ACCESSRULES_DENY;
  if (v[0] != 'A') return S6NET_ACCESSRULES_NOTFOUND;
  if (len < 5) goto bad;
  size_t e = u16be(v + 1);
  if (e > S6NET_ACCESSRULES_ENV_MAX || e > len - 5) goto bad;
  size_t x = u16be(v + 3 + e);
  if (x > S6NET_ACCESSRULES_EXEC_MAX || 5 + e + x != len) goto bad;
  /* The env part must be whole NUL-terminated strings, none empty or nameless, or a
   * consumer walking it could run off its end. */
  if (e) {
    if (v[3 + e - 1]) goto bad;
    for (size_t i = 0; i < e; i++) {
      int start = i == 0 || !v[3 + i - 1];
      if (start && (!v[3 + i] || v[3 + i] == '=')) goto bad;
    }
  }
  memcpy(p->env, v + 3, e);
  p->envlen = e;
  memcpy(p->exec, v + 5 + e, x);
  p->exec[x] = 0;
  p->execlen = x;
  return S6NET_ACCESSRULES_ALLOW;
bad:
  errno = EPROTO;
  return S6NET_ACCESSRULES_ERROR;
}

size_t s6net_accessrules_value_encode_allow(unsigned char *out, size_t outmax, char const *env, size_t envlen, char const *exec, size_t execlen)
{
  if (envlen > S6NET_ACCESSRULES_ENV_MAX || execlen > S6NET_ACCESSRULES_EXEC_MAX) return 0;
  size_t n = 5 + envlen + execlen;
  if (n > outmax) return 0;
  out[0] = 'A';
  out[1] = (unsigned char)(envlen >> 8);
  out[2] = (unsigned char)envlen;
  if (envlen) memcpy(out + 3, env, envlen);
  out[3 + envlen] = (unsigned char)(execlen >> 8);
  out[4 + envlen] = (unsigned char)execlen;
  if (execlen) memcpy(out + 5 + envlen, exec, execlen);
  return n;
}
