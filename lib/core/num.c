#include "core/num.h"

#include <errno.h>
#include <limits.h>

int s6net_scan_ull(char const *s, unsigned long long min, unsigned long long max, unsigned long long *out)
{
  unsigned long long u = 0;
  int overflow = 0;
  if (!s || !*s) { errno = EINVAL; return -1; }
  for (; *s; s++) {
    if (*s < '0' || *s > '9') { errno = EINVAL; return -1; }
    unsigned d = (unsigned)(*s - '0');
    if (u > (ULLONG_MAX - d) / 10) overflow = 1;
    else u = u * 10 + d;
  }
  if (overflow || u < min || u > max) { errno = ERANGE; return -1; }
  *out = u;
  return 0;
}

int s6net_scan_uint(char const *s, unsigned int min, unsigned int max, unsigned int *out)
{
  unsigned long long u;
  if (s6net_scan_ull(s, min, max, &u) < 0) return -1;
  *out = (unsigned int)u;
  return 0;
}

int s6net_scan_port(char const *s, uint16_t *port)
{
  unsigned long long u;
  if (s6net_scan_ull(s, 0, 65535, &u) < 0) return -1;
  *port = (uint16_t)u;
  return 0;
}

int s6net_scan_idlist(char const *s, gid_t *list, size_t max, size_t *n)
{
  size_t k = 0;
  if (!s) { errno = EINVAL; return -1; }
  if (!*s) { *n = 0; return 0; }
  for (;;) {
    unsigned long long u = 0;
    char const *p = s;
    if (*p < '0' || *p > '9') { errno = EINVAL; return -1; }
    for (; *p >= '0' && *p <= '9'; p++) {
      u = u * 10 + (unsigned)(*p - '0');
      if (u > (gid_t)-1 - 1) { errno = ERANGE; return -1; }
    }
    if (*p && *p != ',') { errno = EINVAL; return -1; }
    if (k >= max) { errno = ERANGE; return -1; }
    list[k++] = (gid_t)u;
    if (!*p) break;
    s = p + 1;
  }
  *n = k;
  return 0;
}

size_t s6net_fmt_ull(char *buf, unsigned long long u)
{
  char tmp[21];
  size_t n = 0, i;
  do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u);
  for (i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  buf[n] = 0;
  return n;
}
