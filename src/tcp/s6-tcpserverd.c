/* s6-tcpserverd: accept TCP connections on fd 0 (or fd 3 under systemd
 * socket activation), one child per connection.
 * The loop is lib/server; this file is the TCP adapter: source keys from
 * (masked) peer addresses, the UCSPI TCP environment, log formatting. */
#include "core/addr.h"
#include "core/diag.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/opt.h"
#include "server/server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "[ -1 ] [ -v verbosity ] [ -c maxconn ] [ -C localmaxconn ] [ -P v4bits,v6bits ] [ -R rate ] prog..."

extern char **environ;

enum { V_PROTO, V_LOCALIP, V_LOCALPORT, V_REMOTEIP, V_REMOTEPORT, V_CONNNUM, NVARS };
static char const *const vars[NVARS] = {
  "PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPCONNNUM"
};

typedef struct {
  unsigned int bits4, bits6;
  int wildcard;           /* bound to 0.0.0.0 or ::: ask the kernel per connection */
} tcpctx;

/* The callbacks may run in several acceptors at once (lib/server): what
 * source() parses goes in the peer (p->aux), not in the shared ctx, and
 * none of them makes a call that could set errno. */
typedef struct {
  s6net_ip46 ip;
  uint16_t port;
} tcppeer;

_Static_assert(sizeof(tcppeer) <= sizeof(((s6net_server_peer *)0)->aux), "tcppeer must fit in aux");

static tcppeer tcp_peer(s6net_server_peer const *p)
{
  tcppeer r;
  memcpy(&r, p->aux, sizeof r);
  return r;
}

static int tcp_source(void *vctx, s6net_server_peer *p)
{
  tcpctx const *c = vctx;
  tcppeer r;
  if (s6net_sockaddr_get((struct sockaddr *)&p->sa, p->salen, &r.ip, &r.port) < 0) return -1;
  memcpy(p->aux, &r, sizeof r);
  p->keylen = s6net_server_ipkey(p->key, &r.ip, c->bits4, c->bits6);
  return 0;
}

static int tcp_env(void *vctx, s6net_server_env *e, s6net_server_peer const *p, unsigned int connnum)
{
  tcpctx const *c = vctx;
  tcppeer r = tcp_peer(p);
  char buf[S6NET_IP46_FMTLEN];
  size_t n;
  if (c->wildcard) {
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    s6net_ip46 lip;
    if (s6net_server_sockname(p->fd, (struct sockaddr *)&ss, &sslen) < 0
     || s6net_sockaddr_get((struct sockaddr *)&ss, sslen, &lip, 0) < 0) return -1;
    n = s6net_ip46_fmt(buf, &lip);
    s6net_server_env_set(e, V_LOCALIP, buf, n);
  }
  n = s6net_ip46_fmt(buf, &r.ip);
  s6net_server_env_set(e, V_REMOTEIP, buf, n);
  n = s6net_fmt_ull(buf, r.port);
  s6net_server_env_set(e, V_REMOTEPORT, buf, n);
  n = s6net_fmt_ull(buf, connnum);
  s6net_server_env_set(e, V_CONNNUM, buf, n);
  return 0;
}

static void tcp_fmt(void *vctx, s6net_server_peer const *p, char *buf, size_t len)
{
  tcppeer r = tcp_peer(p);
  char ip[S6NET_IP46_FMTLEN];
  (void)vctx;
  s6net_ip46_fmt(ip, &r.ip);
  snprintf(buf, len, r.ip.is6 ? "[%s]:%u" : "%s:%u", ip, (unsigned int)r.port);
}

static unsigned int scan_opt(char const *s, unsigned int min, unsigned int max, char const *what)
{
  unsigned int u;
  if (s6net_scan_uint(s, min, max, &u) < 0)
    s6net_die(100, "invalid %s: %s (must be %u to %u)", what, s, min, max);
  return u;
}

static void scan_prefix(char const *s, unsigned int *b4, unsigned int *b6)
{
  char tmp[16];
  char const *comma = strchr(s, ',');
  size_t l = comma ? (size_t)(comma - s) : 0;
  if (!comma || l >= sizeof tmp) s6net_die(100, "invalid prefix lengths: %s (must be v4bits,v6bits)", s);
  memcpy(tmp, s, l);
  tmp[l] = 0;
  if (s6net_scan_uint(tmp, 0, 32, b4) < 0 || s6net_scan_uint(comma + 1, 0, 128, b6) < 0)
    s6net_die(100, "invalid prefix lengths: %s (must be 0..32,0..128)", s);
}

int main(int argc, char **argv)
{
  s6net_prog = "s6-tcpserverd";
  unsigned int verbosity = 1, maxconn = 40, localmaxconn = 40, rate = 0;
  int ready = 0, cgiven = 0;
  tcpctx ctx = { .bits4 = 32, .bits6 = 128 };
  int opt;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "1v:c:C:P:R:")) != -1) {
    switch (opt) {
      case '1': ready = 1; break;
      case 'v': verbosity = scan_opt(g.arg, 0, 255, "verbosity"); break;
      case 'c': maxconn = scan_opt(g.arg, 1, S6NET_SERVER_MAXCONN, "maxconn"); break;
      case 'C': localmaxconn = scan_opt(g.arg, 1, S6NET_SERVER_MAXCONN, "localmaxconn"); cgiven = 1; break;
      case 'P': scan_prefix(g.arg, &ctx.bits4, &ctx.bits6); break;
      case 'R': rate = scan_opt(g.arg, 1, 1000000, "rate"); break;
      default: s6net_dieusage(USAGE);
    }
  }
  argv += g.ind;
  if (!*argv || !**argv) s6net_dieusage(USAGE);
  if (localmaxconn > maxconn) {
    if (cgiven) s6net_die(100, "invalid localmaxconn: %u (must not exceed maxconn %u)", localmaxconn, maxconn);
    localmaxconn = maxconn;
  }

  int lfd = s6net_server_listener(AF_INET);

  struct sockaddr_storage ss;
  socklen_t sslen = sizeof ss;
  s6net_ip46 lip;
  uint16_t lport;
  if (getsockname(lfd, (struct sockaddr *)&ss, &sslen) < 0) s6net_diesys(111, "unable to getsockname on the listener");
  if (s6net_sockaddr_get((struct sockaddr *)&ss, sslen, &lip, &lport) < 0) s6net_die(100, "the listener is not an IPv4 or IPv6 socket");
  {
    static unsigned char const zero[16];
    ctx.wildcard = !memcmp(lip.ip, zero, lip.is6 ? 16 : 4)
                || (ss.ss_family == AF_INET6 && s6net_ip6_is_v4mapped(((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr)
                    && !memcmp(lip.ip, zero, 4));
  }

  if (s6net_fd_ensure012() < 0) s6net_diesys(111, "unable to open /dev/null");

  char readybuf[8];
  size_t rl = s6net_fmt_ull(readybuf, lport);
  readybuf[rl++] = '\n';
  readybuf[rl] = 0;
  s6net_server_config cfg = {
    .fd = lfd, .maxconn = maxconn, .localmaxconn = localmaxconn, .rate = rate,
    .verbosity = verbosity, .ready = ready ? readybuf : 0,
    .argv = (char const *const *)argv, .envp = (char const *const *)environ,
    .acceptors = S6NET_SERVER_ACCEPTORS, .acceptor_name = "s6-tcp-acceptor",
  };
  s6net_server_adapter ad = { .vars = vars, .nvars = NVARS, .source = tcp_source, .env = tcp_env, .fmt = tcp_fmt };
  /* static: the tables stay reachable until exit (no leak report). */
  static s6net_server *s;
  s = s6net_server_new(&cfg, &ad, &ctx);
  if (!s) s6net_diesys(111, "unable to initialise the server");
  char buf[S6NET_IP46_FMTLEN];
  size_t n;
  s6net_server_setenv(s, V_PROTO, "TCP", 3);
  n = s6net_ip46_fmt(buf, &lip);
  s6net_server_setenv(s, V_LOCALIP, buf, n);
  n = s6net_fmt_ull(buf, lport);
  s6net_server_setenv(s, V_LOCALPORT, buf, n);
  if (verbosity >= 2) s6net_info("starting: maxconn %u localmaxconn %u", maxconn, localmaxconn);
  return s6net_server_run(s);
}
