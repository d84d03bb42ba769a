/* posix_spawn wrapper (vfork-fast on glibc and musl). */
#ifndef S6NET_CORE_SPAWN_H
#define S6NET_CORE_SPAWN_H

#include <sys/types.h>
#include <signal.h>

typedef struct { int to, from; } s6net_fdmap; /* child fd "to" = parent fd "from"; from < 0 closes "to" */

/* Spawn path (searched in the PATH of envp if it has no '/', by the rule
 * of core/exec.h) with argv/envp. fds in map
 * are set up in order; signals in defsigs are reset to SIG_DFL and the
 * child's mask is emptied. Returns the pid or -1 (errno set). */
pid_t s6net_spawn(char const *path, char const *const *argv, char const *const *envp,
                  s6net_fdmap const *map, unsigned int nmap, sigset_t const *defsigs);

#endif
