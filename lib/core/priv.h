/* Dropping privileges: setgroups, setgid, setuid, in that order, each
 * verified afterwards. */
#ifndef S6NET_CORE_PRIV_H
#define S6NET_CORE_PRIV_H

#include <stddef.h>
#include <sys/types.h>

/* Any of the three may be left alone: uid/gid (uid_t)-1/(gid_t)-1, and
 * groups with ngroups == (size_t)-1. Returns 0, or -1 with errno set
 * (EPERM if a verification failed). */
int s6net_priv_drop(uid_t uid, gid_t gid, gid_t const *groups, size_t ngroups);
/* The -U convention: read UID, GID, GIDLIST from envp and drop.
 * Missing variables are left alone. -1 with EINVAL on malformed values. */
int s6net_priv_drop_env(char const *const *envp);

#endif
