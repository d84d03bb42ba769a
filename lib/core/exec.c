#include "core/exec.h"
#include "core/env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef S6NET_BINDIR
#define S6NET_BINDIR "/usr/local/bin"
#endif

int s6net_sibling(char *buf, size_t len, char const *name)
{
  char self[4096];
  size_t nlen = strlen(name);
  ssize_t r = readlink("/proc/self/exe", self, sizeof self - 1);
  char const *dir = S6NET_BINDIR;
  size_t dlen = strlen(dir);
  if (r > 0) {
    self[r] = 0;
    char *slash = strrchr(self, '/');
    if (slash) { dir = self; dlen = (size_t)(slash - self); }
  }
  if (dlen + 1 + nlen + 1 > len) { errno = ENAMETOOLONG; return -1; }
  memmove(buf, dir, dlen);
  buf[dlen] = '/';
  memcpy(buf + dlen + 1, name, nlen + 1);
  return 0;
}

int s6net_exec_sibling(char const *name, char const *const *argv, char const *const *envp)
{
  char path[4200];
  if (s6net_sibling(path, sizeof path, name) < 0) return -1;
  execve(path, (char *const *)argv, (char *const *)envp);
  return -1;
}

/* PATH search done here rather than with execvpe(), which is a GNU
 * extension; the PATH used is the one the new program will see. */
int s6net_exec(char const *const *argv, char const *const *envp)
{
  char const *file = argv[0];
  if (!file || !*file) { errno = ENOENT; return -1; }
  if (strchr(file, '/')) {
    execve(file, (char *const *)argv, (char *const *)envp);
    return -1;
  }
  char const *path = s6net_env_get(envp, "PATH");
  if (!path) path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  size_t flen = strlen(file);
  int saved = ENOENT;
  for (;;) {
    char const *end = strchr(path, ':');
    size_t dlen = end ? (size_t)(end - path) : strlen(path);
    char buf[4200];
    if (dlen + flen + 2 <= sizeof buf) {
      size_t n = 0;
      if (dlen) { memcpy(buf, path, dlen); n = dlen; } else buf[n++] = '.';
      buf[n++] = '/';
      memcpy(buf + n, file, flen + 1);
      execve(buf, (char *const *)argv, (char *const *)envp);
      if (errno != ENOENT && errno != ENOTDIR) saved = errno;
    }
    if (!end) break;
    path = end + 1;
  }
  errno = saved;
  return -1;
}
