/* Access rules lookups: key derivation (frontends) and the two stores
 * (backends). Only the first hit in a key list counts. */
#include <s6net/accessrules.h>
#include "core/addr.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

/* ---- backends ----------------------------------------------------------- */

s6net_accessrules_result s6net_accessrules_backend_cdb(char const *key, size_t klen, void const *handle, s6net_accessrules_params *p)
{
  unsigned char const *v;
  size_t vlen;
  int r = s6net_accessrules_cdb_find(handle, key, klen, &v, &vlen);
  if (r < 0) return S6NET_ACCESSRULES_ERROR;
  if (!r) return S6NET_ACCESSRULES_NOTFOUND;
  return s6net_accessrules_value_decode(v, vlen, p);
}

/* 1 exists, 0 does not, -1 error. A missing component is "does not
 * exist"; anything else (EACCES, ENOTDIR, ELOOP...) is an error, so an
 * unreadable rule never silently turns into a broader rule's verdict. */
static int exists(char const *path)
{
  if (!access(path, F_OK)) return 1;
  return errno == ENOENT ? 0 : -1;
}

static int read_exec(char const *path, s6net_accessrules_params *p)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  size_t got = 0;
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  /* Cut at the limit, as the compiler does. */
  while (got < S6NET_ACCESSRULES_EXEC_MAX) {
    ssize_t r = read(fd, p->exec + got, S6NET_ACCESSRULES_EXEC_MAX - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    if (!r) break;
    got += (size_t)r;
  }
  close(fd);
  p->exec[got] = 0;
  p->execlen = got;
  return 0;
}

s6net_accessrules_result s6net_accessrules_backend_fs(char const *key, size_t klen, void const *handle, s6net_accessrules_params *p)
{
  char const *dir = handle;
  char path[PATH_MAX];
  size_t dlen = strlen(dir);
  if (dlen + klen + 8 > sizeof path || memchr(key, 0, klen)) {
    errno = ENAMETOOLONG;
    return S6NET_ACCESSRULES_ERROR;
  }
  memcpy(path, dir, dlen);
  path[dlen] = '/';
  memcpy(path + dlen + 1, key, klen);
  char *tail = path + dlen + 1 + klen;
  memcpy(tail, "/allow", 7);
  int r = exists(path);
  if (r < 0) return S6NET_ACCESSRULES_ERROR;
  if (r) {
    s6net_accessrules_params_init(p);
    memcpy(tail, "/env", 5);
    if (s6net_envdir_read(path, p->env, sizeof p->env, &p->envlen) < 0) {
      p->envlen = 0;
      if (errno != ENOENT) return S6NET_ACCESSRULES_ERROR;
    }
    memcpy(tail, "/exec", 6);
    if (read_exec(path, p) < 0) return S6NET_ACCESSRULES_ERROR;
    return S6NET_ACCESSRULES_ALLOW;
  }
  memcpy(tail, "/deny", 6);
  r = exists(path);
  if (r < 0) return S6NET_ACCESSRULES_ERROR;
  return r ? S6NET_ACCESSRULES_DENY : S6NET_ACCESSRULES_NOTFOUND;
}

/* ---- frontends ---------------------------------------------------------- */

static size_t fmt_uint(char *s, unsigned long long u)
{
  char tmp[24];
  size_t n = 0, i = 0;
  do tmp[n++] = (char)('0' + u % 10); while (u /= 10);
  while (n) s[i++] = tmp[--n];
  return i;
}

static s6net_accessrules_result keycheck_ip(unsigned char const *ip, unsigned int len, void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend)
{
  char key[S6NET_ACCESSRULES_KEY_MAX];
  unsigned char a[16];
  memcpy(key, len == 4 ? "ip4/" : "ip6/", 4);
  for (int bits = (int)len * 8; bits >= 0; bits--) {
    memcpy(a, ip, len);
    s6net_ip_mask(a, len, (unsigned int)bits);
    size_t n = 4 + (len == 4 ? s6net_ip4_fmt(key + 4, a) : s6net_ip6_fmt(key + 4, a));
    key[n++] = '_';
    n += fmt_uint(key + n, (unsigned int)bits);
    s6net_accessrules_result r = (*backend)(key, n, handle, p);
    if (r != S6NET_ACCESSRULES_NOTFOUND) return r;
  }
  return S6NET_ACCESSRULES_NOTFOUND;
}

s6net_accessrules_result s6net_accessrules_keycheck_ip4(unsigned char const ip[4], void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend)
{
  return keycheck_ip(ip, 4, handle, p, backend);
}

s6net_accessrules_result s6net_accessrules_keycheck_ip6(unsigned char const ip[16], void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend)
{
  return keycheck_ip(ip, 16, handle, p, backend);
}

s6net_accessrules_result s6net_accessrules_keycheck_ip46(unsigned char const *ip, int is6, void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend)
{
  return keycheck_ip(ip, is6 ? 16 : 4, handle, p, backend);
}

int s6net_accessrules_name_ok(char const *name)
{
  size_t len = strnlen(name, 256), label = 0;
  if (len && name[len - 1] == '.') len--;
  if (!len || len > 253) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c == '.') {
      if (!label) return 0;
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return 0;
    if (++label > 63) return 0;
  }
  return label > 0; /* "a.." would leave an empty last label */
}

s6net_accessrules_result s6net_accessrules_keycheck_reversedns(char const *name, void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend)
{
  char key[S6NET_ACCESSRULES_KEY_MAX];
  static char const pre[] = "reversedns/";
  size_t const plen = sizeof pre - 1;
  if (!s6net_accessrules_name_ok(name)) return S6NET_ACCESSRULES_NOTFOUND;
  size_t len = strlen(name);
  if (name[len - 1] == '.') len--;
  char lname[256];
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    lname[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
  }
  memcpy(key, pre, plen);
  for (size_t start = 0;;) {
    memcpy(key + plen, lname + start, len - start);
    s6net_accessrules_result r = (*backend)(key, plen + len - start, handle, p);
    if (r != S6NET_ACCESSRULES_NOTFOUND) return r;
    char const *dot = memchr(lname + start, '.', len - start);
    if (!dot) break;
    start = (size_t)(dot - lname) + 1;
  }
  key[plen] = '@';
  return (*backend)(key, plen + 1, handle, p);
}

static s6net_accessrules_result try_key(char const *type, char const *what, unsigned long long id, void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend)
{
  char key[48];
  size_t n = strlen(type);
  memcpy(key, type, n);
  key[n++] = '/';
  if (what) {
    size_t w = strlen(what);
    memcpy(key + n, what, w);
    n += w;
  } else n += fmt_uint(key + n, id);
  return (*backend)(key, n, handle, p);
}

s6net_accessrules_result s6net_accessrules_keycheck_uidgid(uid_t uid, gid_t gid, void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend)
{
  s6net_accessrules_result r;
  if (uid == geteuid()) {
    r = try_key("uid", "self", 0, handle, p, backend);
    if (r != S6NET_ACCESSRULES_NOTFOUND) return r;
  }
  r = try_key("uid", 0, uid, handle, p, backend);
  if (r != S6NET_ACCESSRULES_NOTFOUND) return r;
  if (gid == getegid()) {
    r = try_key("gid", "self", 0, handle, p, backend);
    if (r != S6NET_ACCESSRULES_NOTFOUND) return r;
  }
  r = try_key("gid", 0, gid, handle, p, backend);
  if (r != S6NET_ACCESSRULES_NOTFOUND) return r;
  r = try_key("uid", "default", 0, handle, p, backend);
  if (r != S6NET_ACCESSRULES_NOTFOUND) return r;
  return try_key("gid", "default", 0, handle, p, backend);
}

/* ---- rule names --------------------------------------------------------- */

static void put_hint(char *hint, size_t max, char const *kind, char const *s, size_t len, char const *suffix)
{
  if (!hint || !max) return;
  size_t k = strlen(kind), x = suffix ? strlen(suffix) : 0, n = 0;
  char const *parts[4] = { kind, "/", s, suffix };
  size_t lens[4] = { k, 1, len, x };
  for (int i = 0; i < 4; i++)
    for (size_t j = 0; j < lens[i] && n + 1 < max; j++) hint[n++] = parts[i][j];
  hint[n] = 0;
}

/* Decimal, no sign, no leading zero, at most max. */
static int scan_dec(char const *s, unsigned long long max, unsigned long long *out)
{
  unsigned long long v = 0;
  if (!*s || (s[0] == '0' && s[1])) return 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return 0;
    if (v > (max - (unsigned)(*s - '0')) / 10) return 0;
    v = v * 10 + (unsigned)(*s - '0');
  }
  *out = v;
  return 1;
}

static char const *ip_problem(char const *kind, char const *name, unsigned int len, char *hint, size_t hintmax)
{
  char addr[S6NET_ACCESSRULES_KEY_MAX], canon[S6NET_IP6_FMTLEN + 8];
  unsigned char ip[16];
  unsigned long long bits;
  char const *us = strrchr(name, '_');
  if (!us) return len == 4 ? "no _MASK after the IPv4 address" : "no _MASK after the IPv6 address";
  if (!scan_dec(us + 1, len * 8, &bits))
    return len == 4 ? "the mask is not a number from 0 to 32" : "the mask is not a number from 0 to 128";
  size_t alen = (size_t)(us - name);
  if (alen >= sizeof addr) return len == 4 ? "not an IPv4 address" : "not an IPv6 address";
  memcpy(addr, name, alen);
  addr[alen] = 0;
  if (len == 4 ? s6net_ip4_scan(addr, ip) < 0 : s6net_ip6_scan(addr, ip) < 0)
    return len == 4 ? "not an IPv4 address" : "not an IPv6 address";
  s6net_ip_mask(ip, len, (unsigned int)bits);
  size_t n = len == 4 ? s6net_ip4_fmt(canon, ip) : s6net_ip6_fmt(canon, ip);
  canon[n++] = '_';
  n += fmt_uint(canon + n, bits);
  canon[n] = 0;
  if (!strcmp(canon, name)) return 0;
  put_hint(hint, hintmax, kind, canon, n, 0);
  return len == 4 ? "never looked up: lookups use the network address, in plain dotted form"
                  : "never looked up: lookups use the network address, in RFC 5952 form";
}

char const *s6net_accessrules_key_problem(char const *kind, char const *name, char *hint, size_t hintmax)
{
  if (hint && hintmax) hint[0] = 0;
  if (!strcmp(kind, "ip4")) return ip_problem(kind, name, 4, hint, hintmax);
  if (!strcmp(kind, "ip6")) return ip_problem(kind, name, 16, hint, hintmax);
  if (!strcmp(kind, "reversedns")) {
    if (!strcmp(name, "@")) return 0;
    if (!s6net_accessrules_name_ok(name)) return "not a host name (nor @)";
    size_t len = strlen(name), i;
    if (name[len - 1] == '.') len--;
    for (i = 0; i < len && !(name[i] >= 'A' && name[i] <= 'Z'); i++) ;
    if (len == strlen(name) && i == len) return 0;
    char lname[256];
    for (i = 0; i < len; i++) lname[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
    put_hint(hint, hintmax, kind, lname, len, 0);
    return "never looked up: lookups use the name in lower case, without a final dot";
  }
  if (!strcmp(kind, "uid") || !strcmp(kind, "gid")) {
    unsigned long long id;
    if (!strcmp(name, "self") || !strcmp(name, "default")) return 0;
    if (scan_dec(name, 0xfffffffeULL, &id)) return 0; /* (uid_t)-1 is no id */
    return "not a number, self or default";
  }
  return "not a kind of rule that is looked up (ip4, ip6, reversedns, uid, gid)";
}
