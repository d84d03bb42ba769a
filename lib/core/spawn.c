#include "core/spawn.h"
#include "core/exec.h"

#include <errno.h>
#include <spawn.h>
#include <string.h>

pid_t s6net_spawn(char const *path, char const *const *argv, char const *const *envp,
                  s6net_fdmap const *map, unsigned int nmap, sigset_t const *defsigs)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t empty;
  char found[PATH_MAX];
  pid_t pid;
  int e;
  short flags = POSIX_SPAWN_SETSIGMASK;

  if ((e = posix_spawnattr_init(&attr))) { errno = e; return -1; }
  if ((e = posix_spawn_file_actions_init(&fa))) { posix_spawnattr_destroy(&attr); errno = e; return -1; }
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  if (defsigs) {
    flags |= POSIX_SPAWN_SETSIGDEF;
    posix_spawnattr_setsigdefault(&attr, defsigs);
  }
  posix_spawnattr_setflags(&attr, flags);
  for (unsigned int i = 0; i < nmap; i++) {
    e = map[i].from < 0 ? posix_spawn_file_actions_addclose(&fa, map[i].to)
                        : posix_spawn_file_actions_adddup2(&fa, map[i].from, map[i].to);
    if (e) goto err;
  }
  /* Searched here, not with posix_spawnp: that one would search our PATH
   * rather than the child's (s6net_path_next in core/exec.h). */
  if (!strchr(path, '/')) {
    if (s6net_path_find(path, s6net_path_get(envp), found, sizeof found) < 0) { e = errno; goto err; }
    path = found;
  }
  e = posix_spawn(&pid, path, &fa, &attr, (char *const *)argv, (char *const *)envp);
  if (e) goto err;
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return pid;
err:
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  errno = e;
  return -1;
}
