#include "core/addr.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

/* Dotted quad, decimal, no leading zeros (they mean octal elsewhere). */
static char const *ip4_scan_prefix(char const *s, unsigned char ip[4])
{
  for (int i = 0; i < 4; i++) {
    unsigned v = 0, digits = 0;
    if (i) { if (*s != '.') return 0; s++; }
    if (s[0] == '0' && s[1] >= '0' && s[1] <= '9') return 0;
    while (*s >= '0' && *s <= '9') {
      v = v * 10 + (unsigned)(*s++ - '0');
      if (++digits > 3 || v > 255) return 0;
    }
    if (!digits) return 0;
    ip[i] = (unsigned char)v;
  }
  return s;
}

int s6net_ip4_scan(char const *s, unsigned char ip[4])
{
  unsigned char tmp[4];
  char const *e = s ? ip4_scan_prefix(s, tmp) : 0;
  if (!e || *e) { errno = EINVAL; return -1; }
  memcpy(ip, tmp, 4);
  return 0;
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int s6net_ip6_scan(char const *s, unsigned char ip[16])
{
  unsigned char out[16] = { 0 };
  int n = 0, gap = -1;
  if (!s) goto bad;
  if (s[0] == ':') {
    if (s[1] != ':') goto bad;
    gap = 0; s += 2;
    if (!*s) goto done;
  }
  for (;;) {
    char const *p = s;
    unsigned v = 0;
    int d = 0, h;
    while ((h = hexval(*p)) >= 0) {
      if (++d > 4) goto bad;
      v = (v << 4) | (unsigned)h;
      p++;
    }
    if (*p == '.') {  /* trailing embedded IPv4 */
      if (n > 12 || !ip4_scan_prefix(s, out + n)) goto bad;
      p = ip4_scan_prefix(s, out + n);
      if (*p) goto bad;
      n += 4;
      break;
    }
    if (!d || n > 14) goto bad;
    out[n++] = (unsigned char)(v >> 8);
    out[n++] = (unsigned char)v;
    if (!*p) break;
    if (*p != ':') goto bad;
    if (p[1] == ':') {
      if (gap >= 0) goto bad;
      gap = n;
      s = p + 2;
      if (!*s) break;
    } else {
      s = p + 1;
      if (!*s) goto bad;
    }
  }
done:
  if (gap >= 0) {
    if (n == 16) goto bad; /* "::" must stand for at least one group */
    memmove(out + 16 - (n - gap), out + gap, (size_t)(n - gap));
    memset(out + gap, 0, (size_t)(16 - n));
  } else if (n != 16) goto bad;
  memcpy(ip, out, 16);
  return 0;
bad:
  errno = EINVAL;
  return -1;
}

int s6net_ip46_scan(char const *s, s6net_ip46 *out)
{
  memset(out, 0, sizeof *out);
  if (s6net_ip4_scan(s, out->ip) == 0) { out->is6 = 0; return 0; }
  if (s6net_ip6_scan(s, out->ip) == 0) { out->is6 = 1; return 0; }
  errno = EINVAL;
  return -1;
}

static size_t fmt_dec(char *buf, unsigned v)
{
  size_t n = 0;
  if (v >= 100) buf[n++] = (char)('0' + v / 100);
  if (v >= 10) buf[n++] = (char)('0' + v / 10 % 10);
  buf[n++] = (char)('0' + v % 10);
  return n;
}

size_t s6net_ip4_fmt(char *buf, unsigned char const ip[4])
{
  size_t n = 0;
  for (int i = 0; i < 4; i++) {
    if (i) buf[n++] = '.';
    n += fmt_dec(buf + n, ip[i]);
  }
  buf[n] = 0;
  return n;
}

int s6net_ip6_is_v4mapped(unsigned char const ip[16])
{
  static unsigned char const pfx[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
  return !memcmp(ip, pfx, 12);
}

/* RFC 5952: lower case, no leading zeros, the longest run (>= 2) of zero
 * groups compressed (the first one on ties), mapped IPv4 in dotted form. */
size_t s6net_ip6_fmt(char *buf, unsigned char const ip[16])
{
  static char const hex[] = "0123456789abcdef";
  unsigned g[8];
  int best = -1, bestlen = 0, ngroups = s6net_ip6_is_v4mapped(ip) ? 6 : 8;
  size_t n = 0;
  for (int i = 0; i < 8; i++) g[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
  for (int i = 0; i < ngroups;) {
    if (g[i]) { i++; continue; }
    int j = i;
    while (j < ngroups && !g[j]) j++;
    if (j - i > bestlen) { best = i; bestlen = j - i; }
    i = j;
  }
  if (bestlen < 2) best = -1;
  for (int i = 0; i < ngroups;) {
    if (i == best) {
      buf[n++] = ':'; buf[n++] = ':';
      i += bestlen;
      continue;
    }
    if (n && buf[n - 1] != ':') buf[n++] = ':';
    int started = 0;
    for (int sh = 12; sh >= 0; sh -= 4) {
      unsigned d = (g[i] >> sh) & 15;
      if (d || started || !sh) { buf[n++] = hex[d]; started = 1; }
    }
    i++;
  }
  if (ngroups == 6) {
    if (n && buf[n - 1] != ':') buf[n++] = ':';
    n += s6net_ip4_fmt(buf + n, ip + 12);
  }
  buf[n] = 0;
  return n;
}

size_t s6net_ip46_fmt(char *buf, s6net_ip46 const *a)
{
  return a->is6 ? s6net_ip6_fmt(buf, a->ip) : s6net_ip4_fmt(buf, a->ip);
}

void s6net_ip_mask(unsigned char *ip, unsigned int len, unsigned int bits)
{
  for (unsigned int i = 0; i < len; i++) {
    if (bits >= 8) { bits -= 8; continue; }
    ip[i] &= (unsigned char)(0xff00u >> bits);
    bits = 0;
  }
}

socklen_t s6net_sockaddr_make(struct sockaddr_storage *ss, s6net_ip46 const *a, uint16_t port)
{
  memset(ss, 0, sizeof *ss);
  if (a->is6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    memcpy(&s6->sin6_addr, a->ip, 16);
    return sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    memcpy(&s4->sin_addr, a->ip, 4);
    return sizeof *s4;
  }
}

int s6net_sockaddr_get(struct sockaddr const *sa, socklen_t len, s6net_ip46 *a, uint16_t *port)
{
  memset(a, 0, sizeof *a);
  if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    struct sockaddr_in const *s4 = (struct sockaddr_in const *)sa;
    memcpy(a->ip, &s4->sin_addr, 4);
    if (port) *port = ntohs(s4->sin_port);
    return 0;
  }
  if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 const *s6 = (struct sockaddr_in6 const *)sa;
    unsigned char const *b = (unsigned char const *)&s6->sin6_addr;
    if (s6net_ip6_is_v4mapped(b)) memcpy(a->ip, b + 12, 4);
    else { memcpy(a->ip, b, 16); a->is6 = 1; }
    if (port) *port = ntohs(s6->sin6_port);
    return 0;
  }
  errno = EAFNOSUPPORT;
  return -1;
}
