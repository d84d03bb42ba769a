/* s6-ipcserver-socketbinder [-d|-D] [-b backlog] [-M|-m] [-a perms] [-B] path prog...
 * Bind a UNIX domain socket to path, listen, and exec prog with the
 * socket as its stdin. */
#include "core/diag.h"
#include "core/exec.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/opt.h"
#include "ipc/ipc.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define USAGE "[ -d | -D ] [ -b backlog ] [ -M | -m ] [ -a perms ] [ -B ] path prog..."

extern char **environ;

/* Octal 0000..0777, nothing else. */
static int scan_perms(char const *s, mode_t *out)
{
  unsigned int v = 0;
  if (!*s || s[0] == '+' || s[0] == '-') return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '7' || v > 0777) return -1;
    v = v * 8 + (unsigned int)(*s - '0');
  }
  if (v > 0777) return -1;
  *out = (mode_t)v;
  return 0;
}

int main(int argc, char **argv)
{
  s6net_prog = "s6-ipcserver-socketbinder";
  int reuse = 1, dgram = 0, blocking = 0, opt;
  unsigned int backlog = SOMAXCONN;
  mode_t perms = 0777;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "dDb:mMa:B")) != -1) {
    switch (opt) {
      case 'd': reuse = 1; break;
      case 'D': reuse = 0; break;
      case 'b':
        if (s6net_scan_uint(g.arg, 0, 1u << 20, &backlog) < 0)
          s6net_die(100, "invalid backlog: %s (must be 0 to %u)", g.arg, 1u << 20);
        break;
      case 'M': dgram = 0; break;
      case 'm': dgram = 1; break;
      case 'a':
        if (scan_perms(g.arg, &perms) < 0) s6net_die(100, "invalid perms: %s (must be octal, 0 to 0777)", g.arg);
        break;
      case 'B': blocking = 1; break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (argc - g.ind < 2 || !*argv[g.ind] || !*argv[g.ind + 1]) s6net_dieusage(USAGE);
  char const *path = argv[g.ind];
  struct sockaddr_un sa;
  socklen_t salen = s6net_ipc_addr(&sa, path);
  if (!salen) s6net_diesys(100, "invalid socket path %s", path);

  int s = socket(AF_UNIX, (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK), 0);
  if (s < 0) s6net_diesys(111, "unable to create a socket");
  /* SO_REUSEADDR has no effect on UNIX sockets; what "instant rebinding"
   * means here is removing a stale socket file first. */
  if (reuse) {
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) < 0 && errno != ENOENT)
      s6net_diesys(111, "unable to remove the old socket %s", path);
  }
  /* The umask makes the socket born with perms: no window in which a
   * client could connect to a more open socket than asked for. */
  mode_t old = umask((mode_t)(~perms & 0777));
  if (bind(s, (struct sockaddr *)&sa, salen) < 0) s6net_diesys(111, "unable to bind to %s", path);
  umask(old);
  if (chmod(path, perms) < 0) s6net_diesys(111, "unable to set permissions on %s", path);
  if (backlog && listen(s, (int)backlog) < 0) s6net_diesys(111, "unable to listen on %s", path);
  if (s6net_fd_move(0, s) < 0) s6net_diesys(111, "unable to move the socket to stdin");
  s6net_exec((char const *const *)argv + g.ind + 1, (char const *const *)environ);
  s6net_diesys(111, "unable to exec %s", argv[g.ind + 1]);
}
