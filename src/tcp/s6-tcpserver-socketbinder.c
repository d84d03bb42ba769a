/* s6-tcpserver-socketbinder: bind an INET socket, listen, exec prog with
 * the socket as fd 0. */
#include "core/addr.h"
#include "core/diag.h"
#include "core/exec.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/opt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "[ -d | -D ] [ -b backlog ] [ -M | -m ] [ -B ] ip port prog..."

extern char **environ;

int main(int argc, char **argv)
{
  s6net_prog = "s6-tcpserver-socketbinder";
  int reuse = 1, udp = 0, blocking = 0;
  /* Linux caps the backlog at net.core.somaxconn: asking for the most
   * gets exactly "the maximum allowed by the system". */
  unsigned int backlog = INT_MAX;
  int opt;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "dDb:MmB")) != -1) {
    switch (opt) {
      case 'd': reuse = 1; break;
      case 'D': reuse = 0; break;
      case 'b':
        if (s6net_scan_uint(g.arg, 0, INT_MAX, &backlog) < 0)
          s6net_die(100, "invalid backlog: %s", g.arg);
        break;
      case 'M': udp = 0; break;
      case 'm': udp = 1; break;
      case 'B': blocking = 1; break;
      default: s6net_dieusage(USAGE);
    }
  }
  argc -= g.ind;
  argv += g.ind;
  if (argc < 3 || !*argv[2]) s6net_dieusage(USAGE);

  s6net_ip46 ip;
  uint16_t port;
  if (s6net_ip46_scan(argv[0], &ip) < 0) s6net_die(100, "invalid IP address: %s", argv[0]);
  if (s6net_scan_port(argv[1], &port) < 0) s6net_die(100, "invalid port: %s", argv[1]);
  char name[S6NET_IP46_FMTLEN + 16];
  {
    char ipbuf[S6NET_IP46_FMTLEN];
    s6net_ip46_fmt(ipbuf, &ip);
    snprintf(name, sizeof name, ip.is6 ? "[%s]:%u" : "%s:%u", ipbuf, (unsigned int)port);
  }

  int type = (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK);
  int fd = socket(ip.is6 ? AF_INET6 : AF_INET, type, 0);
  if (fd < 0) s6net_diesys(111, "unable to create socket for %s", name);
  int one = 1;
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    s6net_diesys(111, "unable to set SO_REUSEADDR on %s", name);
  /* One family per socket: :: must not also take IPv4 (see the page). */
  if (ip.is6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
    s6net_diesys(111, "unable to set IPV6_V6ONLY on %s", name);
  struct sockaddr_storage ss;
  socklen_t sslen = s6net_sockaddr_make(&ss, &ip, port);
  if (bind(fd, (struct sockaddr *)&ss, sslen) < 0) s6net_diesys(111, "unable to bind to %s", name);
  if (backlog && listen(fd, (int)backlog) < 0) s6net_diesys(111, "unable to listen on %s", name);
  if (fd != 0 && s6net_fd_move(0, fd) < 0) s6net_diesys(111, "unable to move the socket to fd 0");
  if (fd == 0 && fcntl(0, F_SETFD, 0) < 0) s6net_diesys(111, "unable to clear close-on-exec on the socket");
  argv += 2;
  s6net_exec((char const *const *)argv, (char const *const *)environ);
  s6net_diesys(111, "unable to exec %s", argv[0]);
}
