/* Environment building without copying the environment per variable.
 * A modification is "VAR=value" (set) or "VAR" (unset). A list of
 * modifications is applied once, just before exec, to build a new envp. */
#ifndef S6NET_CORE_ENV_H
#define S6NET_CORE_ENV_H

#include <stddef.h>

typedef struct {
  char *buf;          /* storage for the strings */
  size_t len, cap;
  char const **mods;  /* pointers into buf (or caller-owned strings) */
  size_t n, max;
} s6net_envmods;

void s6net_envmods_init(s6net_envmods *m, char *buf, size_t cap, char const **mods, size_t max);
/* value NULL = unset. -1 (ENOBUFS) when the buffers are full. */
int s6net_envmods_set(s6net_envmods *m, char const *name, char const *value);
int s6net_envmods_setn(s6net_envmods *m, char const *name, char const *value, size_t vlen);
/* Append a packed buffer of NUL-terminated modifications. */
int s6net_envmods_addpacked(s6net_envmods *m, char const *packed, size_t len);

/* Build out = env with mods applied (later mods win); out is
 * NULL-terminated. Returns the number of entries, or -1 (ENOBUFS) if
 * outmax (which counts the final NULL) is too small. */
long s6net_env_merge(char const **out, size_t outmax, char const *const *env, char const *const *mods, size_t nmods);
/* Length of the name part of "VAR=value" or "VAR". */
size_t s6net_env_namelen(char const *s);
/* getenv on an arbitrary envp. */
char const *s6net_env_get(char const *const *env, char const *name);

#endif
