#include "core/env.h"

#include <errno.h>
#include <string.h>

void s6net_envmods_init(s6net_envmods *m, char *buf, size_t cap, char const **mods, size_t max)
{
  m->buf = buf; m->cap = cap; m->len = 0;
  m->mods = mods; m->max = max; m->n = 0;
}

int s6net_envmods_setn(s6net_envmods *m, char const *name, char const *value, size_t vlen)
{
  size_t nlen = strlen(name);
  size_t need = nlen + 1 + (value ? vlen + 1 : 0);
  if (m->n >= m->max || need > m->cap - m->len) { errno = ENOBUFS; return -1; }
  char *p = m->buf + m->len;
  memcpy(p, name, nlen);
  if (value) {
    p[nlen] = '=';
    memcpy(p + nlen + 1, value, vlen);
    p[nlen + 1 + vlen] = 0;
  } else p[nlen] = 0;
  m->mods[m->n++] = p;
  m->len += need;
  return 0;
}

int s6net_envmods_set(s6net_envmods *m, char const *name, char const *value)
{
  return s6net_envmods_setn(m, name, value, value ? strlen(value) : 0);
}

int s6net_envmods_addpacked(s6net_envmods *m, char const *packed, size_t len)
{
  size_t i = 0;
  while (i < len) {
    size_t l = strnlen(packed + i, len - i);
    if (i + l == len) { errno = EINVAL; return -1; } /* unterminated */
    if (l) {
      if (m->n >= m->max) { errno = ENOBUFS; return -1; }
      m->mods[m->n++] = packed + i;
    }
    i += l + 1;
  }
  return 0;
}

size_t s6net_env_namelen(char const *s)
{
  char const *e = strchr(s, '=');
  return e ? (size_t)(e - s) : strlen(s);
}

static int name_eq(char const *a, size_t alen, char const *b)
{
  return !strncmp(a, b, alen) && (b[alen] == '=' || !b[alen]);
}

long s6net_env_merge(char const **out, size_t outmax, char const *const *env, char const *const *mods, size_t nmods)
{
  size_t n = 0;
  for (; env && *env; env++) {
    size_t l = s6net_env_namelen(*env);
    size_t j = 0;
    for (; j < nmods; j++) if (name_eq(*env, l, mods[j])) break;
    if (j < nmods) continue;
    if (n + 1 >= outmax) goto nobufs;
    out[n++] = *env;
  }
  for (size_t i = 0; i < nmods; i++) {
    size_t l = s6net_env_namelen(mods[i]);
    size_t j = i + 1;
    for (; j < nmods; j++) if (name_eq(mods[i], l, mods[j])) break;
    if (j < nmods || !mods[i][l]) continue; /* overridden later, or an unset */
    if (n + 1 >= outmax) goto nobufs;
    out[n++] = mods[i];
  }
  if (n >= outmax) goto nobufs;
  out[n] = 0;
  return (long)n;
nobufs:
  errno = ENOBUFS;
  return -1;
}

char const *s6net_env_get(char const *const *env, char const *name)
{
  size_t l = strlen(name);
  for (; env && *env; env++)
    if (!strncmp(*env, name, l) && (*env)[l] == '=') return *env + l + 1;
  return 0;
}
