#include "core/priv.h"
#include "core/env.h"
#include "core/num.h"

#include <errno.h>
#include <grp.h>
#include <unistd.h>

#define NGROUPS_CAP 256

int s6net_priv_drop(uid_t uid, gid_t gid, gid_t const *groups, size_t ngroups)
{
  if (ngroups != (size_t)-1 && setgroups(ngroups, groups) < 0) return -1;
  if (gid != (gid_t)-1 && setgid(gid) < 0) return -1;
  if (uid != (uid_t)-1 && setuid(uid) < 0) return -1;
  /* Verify: a partial drop must never go unnoticed. */
  if (gid != (gid_t)-1 && (getgid() != gid || getegid() != gid)) goto perm;
  if (uid != (uid_t)-1) {
    if (getuid() != uid || geteuid() != uid) goto perm;
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) goto perm;
  }
  if (ngroups != (size_t)-1) {
    gid_t cur[NGROUPS_CAP];
    int n = getgroups(NGROUPS_CAP, cur);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
      size_t j = 0;
      while (j < ngroups && groups[j] != cur[i]) j++;
      if (j == ngroups && cur[i] != getegid()) goto perm;
    }
  }
  return 0;
perm:
  errno = EPERM;
  return -1;
}

int s6net_priv_drop_env(char const *const *envp)
{
  char const *s;
  uid_t uid = (uid_t)-1;
  gid_t gid = (gid_t)-1;
  gid_t groups[NGROUPS_CAP];
  size_t n = (size_t)-1;
  unsigned long long u;
  if ((s = s6net_env_get(envp, "UID"))) {
    if (s6net_scan_ull(s, 0, (uid_t)-2, &u) < 0) { errno = EINVAL; return -1; }
    uid = (uid_t)u;
  }
  if ((s = s6net_env_get(envp, "GID"))) {
    if (s6net_scan_ull(s, 0, (gid_t)-2, &u) < 0) { errno = EINVAL; return -1; }
    gid = (gid_t)u;
  }
  if ((s = s6net_env_get(envp, "GIDLIST"))) {
    if (s6net_scan_idlist(s, groups, NGROUPS_CAP, &n) < 0) { errno = EINVAL; return -1; }
  }
  return s6net_priv_drop(uid, gid, groups, n);
}
