#include "ipc/sudo.h"
#include "core/tai.h"

#include <string.h>

void s6net_sudo_hdr_pack(unsigned char out[S6NET_SUDO_HDRLEN], uint32_t len, uint16_t nfds)
{
  s6net_u32_pack_be(out, len);
  s6net_u16_pack_be(out + 4, nfds);
}

int s6net_sudo_hdr_parse(unsigned char const in[S6NET_SUDO_HDRLEN], uint32_t maxlen,
                         uint32_t *len, uint16_t *nfds)
{
  uint32_t l = s6net_u32_unpack_be(in);
  if (l < S6NET_SUDO_FIXEDLEN || l > maxlen) return S6NET_SUDO_EBAD;
  *len = l;
  *nfds = s6net_u16_unpack_be(in + 4);
  return S6NET_SUDO_OK;
}

static size_t block_len(char const *const *v, size_t n, int *overflow)
{
  size_t t = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(v[i]) + 1;
    if (l > UINT32_MAX - t) { *overflow = 1; return 0; }
    t += l;
  }
  return t;
}

size_t s6net_sudo_req_len(char const *const *argv, size_t argc, char const *const *env, size_t envc)
{
  int of = 0;
  if (argc > UINT32_MAX || envc > UINT32_MAX) return 0;
  size_t a = block_len(argv, argc, &of);
  size_t e = block_len(env, envc, &of);
  if (of || a > UINT32_MAX - S6NET_SUDO_FIXEDLEN || e > UINT32_MAX - S6NET_SUDO_FIXEDLEN - a) return 0;
  return S6NET_SUDO_FIXEDLEN + a + e;
}

static size_t put_block(char *out, char const *const *v, size_t n)
{
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(v[i]) + 1;
    memcpy(out + w, v[i], l);
    w += l;
  }
  return w;
}

size_t s6net_sudo_req_pack(char *out, char const *const *argv, size_t argc,
                           char const *const *env, size_t envc)
{
  int of = 0;
  size_t alen = block_len(argv, argc, &of), elen = block_len(env, envc, &of);
  unsigned char *u = (unsigned char *)out + S6NET_SUDO_BANNERLEN;
  memcpy(out, S6NET_SUDO_BANNER_CLIENT, S6NET_SUDO_BANNERLEN);
  s6net_u32_pack_be(u, (uint32_t)argc);
  s6net_u32_pack_be(u + 4, (uint32_t)envc);
  s6net_u32_pack_be(u + 8, (uint32_t)alen);
  s6net_u32_pack_be(u + 12, (uint32_t)elen);
  size_t w = S6NET_SUDO_FIXEDLEN;
  w += put_block(out + w, argv, argc);
  w += put_block(out + w, env, envc);
  return w;
}

/* A block must be exactly n NUL-terminated strings: counting NULs is
 * enough, provided the last byte is one. */
static int block_ok(char const *b, size_t len, uint32_t n)
{
  if (!len) return n == 0;
  if (b[len - 1]) return 0;
  size_t count = 0;
  for (char const *p = b, *end = b + len; p < end; ) {
    char const *z = memchr(p, 0, (size_t)(end - p));
    count++;
    p = z + 1;
  }
  return count == n;
}

int s6net_sudo_req_parse(char const *buf, size_t len, s6net_sudo_req *r)
{
  if (len < S6NET_SUDO_BANNERLEN || memcmp(buf, S6NET_SUDO_BANNER_CLIENT, S6NET_SUDO_BANNERLEN))
    return S6NET_SUDO_EBANNER;
  if (len < S6NET_SUDO_FIXEDLEN) return S6NET_SUDO_EBAD;
  unsigned char const *u = (unsigned char const *)buf + S6NET_SUDO_BANNERLEN;
  uint32_t argc = s6net_u32_unpack_be(u), envc = s6net_u32_unpack_be(u + 4);
  uint32_t alen = s6net_u32_unpack_be(u + 8), elen = s6net_u32_unpack_be(u + 12);
  size_t rest = len - S6NET_SUDO_FIXEDLEN;
  if (alen > rest || elen != rest - alen) return S6NET_SUDO_EBAD;
  char const *a = buf + S6NET_SUDO_FIXEDLEN, *e = a + alen;
  if (!block_ok(a, alen, argc) || !block_ok(e, elen, envc)) return S6NET_SUDO_EBAD;
  r->argc = argc; r->envc = envc;
  r->args = a; r->argslen = alen;
  r->env = e; r->envlen = elen;
  return S6NET_SUDO_OK;
}

void s6net_sudo_unpack_strings(char const *block, size_t n, char const **vec)
{
  for (size_t i = 0; i < n; i++) {
    vec[i] = block;
    block += strlen(block) + 1;
  }
}

/* Is s exactly "NAME=" (an empty variable)? Sets *nlen to NAME's length. */
static int empty_var(char const *s, size_t *nlen)
{
  char const *eq = strchr(s, '=');
  if (!eq || eq == s || eq[1]) return 0;
  *nlen = (size_t)(eq - s);
  return 1;
}

long s6net_sudo_env_filter(char const *const *senv, char const *cenv, size_t cenvlen, size_t cenvc,
                           char const **mods, size_t max)
{
  size_t n = 0;
  for (; senv && *senv; senv++) {
    size_t nlen;
    if (!empty_var(*senv, &nlen)) continue;
    char const *found = 0;
    char const *p = cenv, *end = cenv + cenvlen;
    for (size_t i = 0; i < cenvc && p < end; i++) {
      size_t l = strnlen(p, (size_t)(end - p));
      if (l > nlen && !memcmp(p, *senv, nlen + 1)) found = p;
      p += l + 1;
    }
    if (!found) continue;
    if (n >= max) return -1;
    mods[n++] = found;
  }
  return (long)n;
}

uint32_t s6net_sudo_status_encode(int exited, int code_or_sig)
{
  return exited ? (uint32_t)(code_or_sig & 0xff) << 8 : (uint32_t)(code_or_sig & 0xff);
}

int s6net_sudo_status_exitcode(uint32_t w)
{
  uint32_t low = w & 0x7f;
  if (w > 0xffff) return -1;
  if (!low) return (w & 0x80) ? -1 : (int)(w >> 8);
  if (low == 0x7f || (w >> 8)) return -1;  /* stopped, or junk */
  return 128 + (int)low;
}
