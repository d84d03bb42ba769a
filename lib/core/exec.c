#include "core/exec.h"
#include "core/env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef S6NET_BINDIR
#define S6NET_BINDIR "/usr/local/bin"
#endif

/* Where `make install WITHOUT_S6_NAMES=1` puts our programs whose names
 * Debian's s6 package also installs, relative to the directory of the
 * running program: BINDIR/../libexec/s6net. It is looked at first, so
 * that our s6-tcpserver next to Debian's s6-applyuidgid in /usr/bin
 * still runs ours; in the build tree and in a complete install it does
 * not exist (one failed access() for those names) and the program's own
 * directory serves.
 * A program installed in that directory finds its siblings there too. */
#define PRIVDIR_REL "/../libexec/s6net/"

/* Only these names can be there: the Makefile's S6_NAMES (a test keeps
 * the two lists equal). Any other sibling, among them the per-connection
 * TLS engines, is found without the extra lookup. */
static char const *const s6_names[] = {
  "s6-accessrules-cdb-from-fs", "s6-accessrules-fs-from-cdb", "s6-applyuidgid", "s6-envuidgid",
  "s6-ipcclient", "s6-ipcserver", "s6-ipcserver-access", "s6-ipcserver-socketbinder", "s6-ipcserverd",
  "s6-sudo", "s6-sudoc", "s6-sudod",
};

static int s6_name(char const *name)
{
  for (size_t i = 0; i < sizeof s6_names / sizeof *s6_names; i++)
    if (!strcmp(name, s6_names[i])) return 1;
  return 0;
}

static size_t self_dir(char *self, size_t max, char const **dir)
{
  ssize_t r = readlink("/proc/self/exe", self, max - 1);
  *dir = S6NET_BINDIR;
  if (r > 0) {
    self[r] = 0;
    char *slash = strrchr(self, '/');
    if (slash) { *dir = self; return (size_t)(slash - self); }
  }
  return strlen(*dir);
}

static int join(char *buf, size_t len, char const *dir, size_t dlen, char const *mid, char const *name)
{
  size_t mlen = strlen(mid), nlen = strlen(name);
  if (dlen + mlen + nlen + 1 > len) { errno = ENAMETOOLONG; return -1; }
  memmove(buf, dir, dlen);
  memcpy(buf + dlen, mid, mlen);
  memcpy(buf + dlen + mlen, name, nlen + 1);
  return 0;
}

int s6net_sibling(char *buf, size_t len, char const *name)
{
  char self[4096];
  char const *dir;
  size_t dlen = self_dir(self, sizeof self, &dir);
  if (s6_name(name) && !join(buf, len, dir, dlen, PRIVDIR_REL, name) && !access(buf, X_OK)) return 0;
  return join(buf, len, dir, dlen, "/", name);
}

int s6net_exec_sibling(char const *name, char const *const *argv, char const *const *envp)
{
  char path[4200];
  if (s6net_sibling(path, sizeof path, name) < 0) return -1;
  execve(path, (char *const *)argv, (char *const *)envp);
  return -1;
}

char const *s6net_path_get(char const *const *envp)
{
  char const *path = s6net_env_get(envp, "PATH");
  return path ? path : S6NET_DEFAULT_PATH;
}

int s6net_path_next(char const **pos, char const *name, char *buf, size_t len)
{
  char const *p = *pos;
  if (!p || !*name) { *pos = 0; return 0; }
  size_t nlen = strlen(name);
  if (strchr(name, '/')) {
    *pos = 0;
    if (nlen >= len) return -1;
    memcpy(buf, name, nlen + 1);
    return 1;
  }
  char const *end = strchr(p, ':');
  size_t dlen = end ? (size_t)(end - p) : strlen(p);
  *pos = end ? end + 1 : 0;
  if (!dlen) { p = "."; dlen = 1; }
  if (dlen + 1 + nlen >= len) return -1;
  memcpy(buf, p, dlen);
  buf[dlen] = '/';
  memcpy(buf + dlen + 1, name, nlen + 1);
  return 1;
}

int s6net_path_find(char const *name, char const *path, char *buf, size_t len)
{
  int e = ENOENT, r;
  while ((r = s6net_path_next(&path, name, buf, len))) {
    struct stat st;
    if (r < 0 || stat(buf, &st) < 0 || !S_ISREG(st.st_mode)) continue;
    if (!access(buf, X_OK)) return 0;
    e = EACCES;
  }
  errno = e;
  return -1;
}

int s6net_exec_search(char const *name, char const *const *argv, char const *const *envp)
{
  char const *path = s6net_path_get(envp);
  char buf[PATH_MAX];
  int saved = ENOENT, r;
  while ((r = s6net_path_next(&path, name, buf, sizeof buf))) {
    if (r < 0) continue;
    execve(buf, (char *const *)argv, (char *const *)envp);
    if (errno != ENOENT && errno != ENOTDIR) saved = errno;
  }
  errno = saved;
  return -1;
}

int s6net_exec(char const *const *argv, char const *const *envp)
{
  if (!argv[0]) { errno = ENOENT; return -1; }
  return s6net_exec_search(argv[0], argv, envp);
}
