/* s6-taiclockd: answer TAICLOCK requests with this machine's TAI time. */
#include "clock/clock.h"
#include "clock/taiclock.h"
#include "core/addr.h"
#include "core/diag.h"
#include "core/num.h"
#include "core/opt.h"
#include "core/priv.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USAGE "[ -1 ] [ -U | -u uid -g gid ] [ -i ip ] [ -p port ]"
/* A request is 20 bytes, ours 28; the reply has the request's size, so
 * a small cap also keeps us useless as a reflector. */
#define MAXREQ 128

extern char **environ;

static unsigned int scan_id(char const *s, char c)
{
  unsigned long long u;
  if (s6net_scan_ull(s, 0, 0xfffffffeULL, &u) < 0) {
    s6net_die(100, "invalid -%c argument: %s", c, s);
  }
  return (unsigned int)u;
}

/* -U: both ids must be there and valid before we bind, so that a run
 * script that forgot s6-envuidgid fails at once instead of serving as
 * root (s6-applyuidgid -U and s6-tcpserver -U behave the same). */
static void check_env(void)
{
  static char const *const names[] = { "UID", "GID" };
  unsigned long long u;
  for (size_t i = 0; i < 2; i++) {
    char const *s = getenv(names[i]);
    if (!s) s6net_die(100, "-U given but %s not set", names[i]);
    if (s6net_scan_ull(s, 0, 0xfffffffeULL, &u) < 0) s6net_die(100, "invalid %s: %s", names[i], s);
  }
  char const *l = getenv("GIDLIST");
  gid_t g[256];
  size_t n;
  if (l && s6net_scan_idlist(l, g, sizeof g / sizeof *g, &n) < 0) s6net_die(100, "invalid GIDLIST: %s", l);
}

static int bind_socket(s6net_ip46 const *ip, int any, uint16_t port)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  int fd;
  if (any) {
    /* All addresses: one dual-stack IPv6 socket, or IPv4 without IPv6. */
    s6net_ip46 a = { .is6 = 1 };
    fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      int zero = 0;
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
      sl = s6net_sockaddr_make(&ss, &a, port);
      if (bind(fd, (struct sockaddr *)&ss, sl) == 0) return fd;
      close(fd);
    } else if (errno != EAFNOSUPPORT) s6net_diesys(111, "unable to create UDP socket");
    a.is6 = 0;
    ip = &a;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) s6net_diesys(111, "unable to create UDP socket");
    sl = s6net_sockaddr_make(&ss, ip, port);
  } else {
    fd = socket(ip->is6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) s6net_diesys(111, "unable to create UDP socket");
    sl = s6net_sockaddr_make(&ss, ip, port);
  }
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
    char buf[S6NET_IP46_FMTLEN];
    s6net_ip46_fmt(buf, ip);
    s6net_diesys(111, "unable to bind to %s port %u", buf, (unsigned)port);
  }
  return fd;
}

static void print_port(int fd)
{
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  s6net_ip46 a;
  uint16_t port;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0
   || s6net_sockaddr_get((struct sockaddr *)&ss, sl, &a, &port) < 0)
    s6net_diesys(111, "unable to get the bound address");
  if (printf("%u\n", (unsigned)port) < 0 || fflush(stdout) == EOF)
    s6net_diesys(111, "unable to write to stdout");
}

static void serve(int fd)
{
  unsigned char buf[MAXREQ];
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_TRUNC, (struct sockaddr *)&ss, &sl);
    if (n < 0) {
      if (errno == EBADF || errno == ENOTSOCK || errno == EFAULT || errno == EINVAL)
        s6net_diesys(111, "unable to receive");
      continue;
    }
    if ((size_t)n > sizeof buf || !s6net_taiclock_is_request(buf, (size_t)n)) continue;
    s6net_ip46 a;
    uint16_t port;
    /* Port 0 cannot be a real client: only a spoofed reflection target. */
    if (s6net_sockaddr_get((struct sockaddr *)&ss, sl, &a, &port) < 0 || !port) continue;
    struct timespec ts;
    s6net_clk utc, tai;
    s6net_tai64na now;
    clock_gettime(CLOCK_REALTIME, &ts);
    s6net_clk_from_timespec(&utc, &ts);
    tai = s6net_utc_to_tai(&utc);
    s6net_tai64na_from_clk(&now, &tai);
    s6net_taiclock_answer(buf, &now);
    /* Best effort, like any UDP server: a failed send is the client's loss. */
    (void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&ss, sl);
  }
}

int main(int argc, char const *const *argv)
{
  s6net_ip46 ip;
  int any = 1, c, printport = 0, fromenv = 0;
  uid_t uid = (uid_t)-1;
  gid_t gid = (gid_t)-1;
  uint16_t port = 4014;
  s6net_prog = "s6-taiclockd";
  s6net_sgetopt sg = S6NET_SGETOPT_INIT;
  while ((c = s6net_sgetopt_next(&sg, argc, argv, "1Uu:g:i:p:")) != -1) {
    switch (c) {
      case '1': printport = 1; break;
      case 'U': fromenv = 1; break;
      case 'u': uid = scan_id(sg.arg, 'u'); break;
      case 'g': gid = scan_id(sg.arg, 'g'); break;
      case 'i':
        if (s6net_ip46_scan(sg.arg, &ip) < 0) {
          s6net_die(100, "not an IP address: %s", sg.arg);
        }
        any = 0;
        break;
      case 'p':
        if (s6net_scan_port(sg.arg, &port) < 0) {
          s6net_die(100, "invalid port: %s", sg.arg);
        }
        break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (sg.ind != argc) s6net_dieusage(USAGE);
  if (fromenv && (uid != (uid_t)-1 || gid != (gid_t)-1)) {
    s6net_die(100, "-U conflicts with -u and -g");
  }
  if (fromenv) check_env();
  int fd = bind_socket(&ip, any, port);
  /* Bind first (port 4014 may need no privilege, but -i might), then drop
   * before handling a single packet. */
  if (fromenv) {
    if (s6net_priv_drop_env((char const *const *)environ) < 0)
      s6net_diesys(111, "unable to drop privileges to UID/GID/GIDLIST");
  } else if (uid != (uid_t)-1 || gid != (gid_t)-1) {
    gid_t g = gid;
    if (s6net_priv_drop(uid, gid, &g, gid != (gid_t)-1 ? 1 : 0) < 0)
      s6net_diesys(111, "unable to drop privileges");
  }
  if (printport) print_port(fd);
  serve(fd);
}
