/* What the server gets from and tells a service manager: the listening
 * socket (fd 0, or fd 3 under systemd socket activation) and readiness
 * on NOTIFY_SOCKET. */
#include "server/internal.h"

#include "core/diag.h"
#include "core/fd.h"
#include "core/num.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

socklen_t s6net_server_notify_addr(struct sockaddr_un *sa, char const *path)
{
  size_t l = strlen(path);
  /* A path needs room for its NUL; an abstract name has none. */
  if (l < 2 || (path[0] == '/' ? l >= sizeof sa->sun_path : path[0] != '@' || l > sizeof sa->sun_path)) return 0;
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, path, l);
  if (path[0] == '@') sa->sun_path[0] = 0;
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l + (path[0] == '/'));
}

/* systemd's readiness protocol: one "READY=1" datagram to the AF_UNIX
 * socket path (or abstract name, '@' for the leading NUL) of
 * NOTIFY_SOCKET. A failure is one warning: the server serves anyway. */
void srv_notify_ready(char const *path)
{
  static char const msg[] = "READY=1";
  struct sockaddr_un sa;
  socklen_t salen = s6net_server_notify_addr(&sa, path);
  if (!salen) {
    s6net_warn("unable to notify readiness: unsupported NOTIFY_SOCKET: %s", path);
    return;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) { s6net_warnsys("unable to notify readiness: unable to create a socket"); return; }
  ssize_t r;
  do r = sendto(fd, msg, sizeof msg - 1, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
  while (r < 0 && errno == EINTR);
  if (r < 0) s6net_warnsys("unable to notify readiness to %s", path);
  close(fd);
}

/* fd (named what in messages) must be a listening stream socket of
 * domain (AF_INET: IPv4 or IPv6). */
static void check_listener(int fd, char const *what, int domain)
{
  int acc = 0, type = 0, dom = 0;
  socklen_t olen = sizeof acc;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &olen) < 0) {
    if (errno == ENOTSOCK || errno == EBADF) s6net_die(100, "%s is not a socket", what);
    s6net_diesys(111, "unable to getsockopt on %s", what);
  }
  olen = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) < 0) s6net_diesys(111, "unable to getsockopt on %s", what);
  if (type != SOCK_STREAM || !acc) s6net_die(100, "%s is not a listening stream socket", what);
#ifdef SO_DOMAIN
  olen = sizeof dom;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &olen) < 0) s6net_diesys(111, "unable to getsockopt on %s", what);
#else
  {
    struct sockaddr_storage ss;
    olen = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &olen) < 0) s6net_diesys(111, "unable to getsockname on %s", what);
    dom = ss.ss_family;
  }
#endif
  if (domain == AF_UNIX ? dom != AF_UNIX : dom != AF_INET && dom != AF_INET6)
    s6net_die(100, "%s is not %s socket", what, domain == AF_UNIX ? "a UNIX domain" : "an IPv4 or IPv6");
}

int s6net_server_listen_fds(char const *pid, char const *fds, pid_t self)
{
  unsigned long long n;
  if (!pid || !fds || s6net_scan_ull(pid, 1, INT32_MAX, &n) < 0 || (pid_t)n != self) return -1;
  if (s6net_scan_ull(fds, 0, INT32_MAX, &n) < 0) return -2;
  return (int)n;
}

int s6net_server_listener(int domain)
{
  char const *fds = getenv("LISTEN_FDS");
  int n = s6net_server_listen_fds(getenv("LISTEN_PID"), fds, getpid()), fd = 0;
  if (n == -2) s6net_die(100, "invalid LISTEN_FDS: %s", fds);
  if (n >= 0) {
    if (n != 1)
      s6net_die(100, "socket activation passed %d sockets (LISTEN_FDS), only one is supported", n);
    fd = 3;
    check_listener(fd, "fd 3 (LISTEN_FDS)", domain);
    if (s6net_fd_cloexec(fd) < 0) s6net_diesys(111, "unable to make fd 3 close-on-exec");
  }
  /* Not for our children, whose pid is not LISTEN_PID anyway. */
  if (unsetenv("LISTEN_PID") < 0 || unsetenv("LISTEN_FDS") < 0 || unsetenv("LISTEN_FDNAMES") < 0)
    s6net_diesys(111, "unable to unset the socket activation variables");
  if (fd) {
    /* fd 0 may be closed under a service manager: keep 0-2 taken, so
     * that no connection or fd of ours lands there. */
    if (s6net_fd_ensure012() < 0) s6net_diesys(111, "unable to open /dev/null");
    return fd;
  }
  check_listener(0, "stdin", domain);
  return 0;
}
