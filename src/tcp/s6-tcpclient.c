/* s6-tcpclient: UCSPI TCP client. Connect to host:port, then exec prog
 * with the connection on fds 6 (from the network) and 7 (to it) and the
 * UCSPI environment. */
#include <s6net/ident.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/deadline.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/opt.h"
#include "dns/dns.h"

#include <s6net/proxy.h>

#define USAGE "[ -q | -Q | -v ] [ -4 | -6 ] [ -d | -D ] [ -r | -R ] [ -h ] [ -H ] [ -n | -N ] [ -t timeout ] [ -l localname ] [ -T timeoutconn ] [ -i localip ] [ -p localport ] [ -P 1|2 ] host port prog..."

/* Without -t, the lookups made once connected (reverse DNS, IDENT) are
 * still bounded, so that a silent IDENT server cannot stall the client. */
#define INFO_TIMEOUT_MS 30000

struct opts {
  int verbosity;          /* 0 -q, 1 default, 2 -v */
  unsigned int family;    /* S6NET_DNS_A | S6NET_DNS_AAAA */
  int nodelay, ident, hosts, nonames, qualify;
  unsigned int timeout;   /* -t, ms, 0 = none */
  unsigned int conn[2];   /* -T, ms per attempt in each round; 0 = none */
  unsigned int rounds;
  char const *localname;
  int has_localip;
  s6net_ip46 localip;
  uint16_t localport;
  unsigned int proxy;     /* -P: PROXY header version to send first, 0 = none */
};

struct conn {
  int fd;
  s6net_ip46 remote, local;
  uint16_t remoteport, localport;
};

static unsigned int seconds_ms(char const *s, char const *what)
{
  unsigned int v;
  if (s6net_scan_uint(s, 0, 2000000, &v) < 0) s6net_die(100, "invalid %s: %s", what, s);
  return v * 1000;
}

/* -T x+y; a lone x means one round only. */
static void scan_conntimeouts(char const *s, struct opts *o)
{
  char buf[32];
  char const *plus = strchr(s, '+');
  size_t l = plus ? (size_t)(plus - s) : strlen(s);
  if (l >= sizeof buf) s6net_die(100, "invalid connection timeouts: %s", s);
  memcpy(buf, s, l);
  buf[l] = 0;
  o->conn[0] = seconds_ms(buf, "connection timeouts");
  o->rounds = 1;
  if (plus) {
    o->conn[1] = seconds_ms(plus + 1, "connection timeouts");
    o->rounds = 2;
  }
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
  int c;
  memset(o, 0, sizeof *o);
  o->verbosity = 1;
  o->family = S6NET_DNS_BOTH;
  o->conn[0] = 2000;
  o->conn[1] = 58000;
  o->rounds = 2;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((c = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "qQv46dDrRhHnNt:l:T:i:p:P:")) != -1) {
    switch (c) {
      case 'q': o->verbosity = 0; break;
      case 'Q': o->verbosity = 1; break;
      case 'v': o->verbosity = 2; break;
      case '4': o->family = S6NET_DNS_A; break;
      case '6': o->family = S6NET_DNS_AAAA; break;
      case 'd': o->nodelay = 0; break;
      case 'D': o->nodelay = 1; break;
      case 'r': o->ident = 1; break;
      case 'R': o->ident = 0; break;
      case 'h': o->hosts = 1; break;
      case 'H': o->nonames = 1; break;
      case 'n': o->qualify = 1; break;
      case 'N': o->qualify = 0; break;
      case 'P':
        if (s6net_scan_uint(g.arg, 1, 2, &o->proxy) < 0) s6net_die(100, "invalid PROXY protocol version: %s", g.arg);
        break;
      case 't': o->timeout = seconds_ms(g.arg, "timeout"); break;
      case 'l': o->localname = g.arg; break;
      case 'T': scan_conntimeouts(g.arg, o); break;
      case 'i':
        if (s6net_ip46_scan(g.arg, &o->localip) < 0) s6net_die(100, "invalid local IP address: %s", g.arg);
        o->has_localip = 1;
        break;
      case 'p':
        if (s6net_scan_port(g.arg, &o->localport) < 0) s6net_die(100, "invalid local port: %s", g.arg);
        break;
      default:
        s6net_dieusage(USAGE);
    }
  }
  if (argc - g.ind < 3) s6net_dieusage(USAGE);
  if (o->has_localip) {
    unsigned int f = o->localip.is6 ? S6NET_DNS_AAAA : S6NET_DNS_A;
    if (!(o->family & f)) s6net_die(100, "local address is IPv%c, and -%c was given", f == S6NET_DNS_A ? '4' : '6', f == S6NET_DNS_A ? '6' : '4');
    o->family = f;
  }
  return g.ind;
}

static _Noreturn void dns_init_die(void)
{
  if (errno == EINVAL) s6net_die(111, "unable to initialize the DNS resolver: malformed DNSCACHEIP");
  s6net_diesys(111, "unable to initialize the DNS resolver");
}

/* The addresses to try, from an IP literal or from the DNS. */
static unsigned int resolve(char const *host, struct opts const *o, s6net_deadline deadline,
                            s6net_ip46 *addr, unsigned int max)
{
  if (s6net_ip46_scan(host, addr) == 0) {
    unsigned int f = addr->is6 ? S6NET_DNS_AAAA : S6NET_DNS_A;
    if (!(o->family & f)) {
      if (o->has_localip) s6net_die(100, "address families of %s and the local address differ", host);
      s6net_die(100, "%s is an IPv%c address, and -%c was given", host, addr->is6 ? '6' : '4', addr->is6 ? '4' : '6');
    }
    return 1;
  }
  s6net_dns *d;
  s6net_dns_result r;
  if (s6net_dns_init(&d, (o->hosts ? S6NET_DNS_HOSTS : 0) | (o->qualify ? S6NET_DNS_QUALIFY : 0)) < 0)
    dns_init_die();
  if (s6net_dns_forward(d, &r, host, o->family) == 0) s6net_dns_wait(d, deadline);
  s6net_dns_free(d);
  if (r.status != S6NET_DNS_OK) s6net_die(111, "unable to resolve %s: %s", host, s6net_dns_strerror(&r));
  unsigned int n = r.naddr < max ? r.naddr : max;
  memcpy(addr, r.addr, n * sizeof *addr);
  return n;
}

static char const *fmt_addr(char *buf, s6net_ip46 const *a, uint16_t port)
{
  char ip[S6NET_IP46_FMTLEN];
  s6net_ip46_fmt(ip, a);
  snprintf(buf, S6NET_IP46_FMTLEN + 10, a->is6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)port);
  return buf;
}

/* One non-blocking connection attempt, bounded by deadline. Returns the
 * socket, or -1 with errno set. Binding errors are fatal: they would
 * repeat for every address. */
static int try_connect(s6net_ip46 const *a, uint16_t port, struct opts const *o, s6net_deadline deadline)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  char buf[S6NET_IP46_FMTLEN + 10];
  int fd = socket(a->is6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) s6net_diesys(111, "unable to create a socket");
  if (o->has_localip || o->localport) {
    s6net_ip46 local;
    int one = 1;
    if (o->has_localip) local = o->localip;
    else { memset(&local, 0, sizeof local); local.is6 = a->is6; }
    /* A fixed local port must be reusable while the previous connection
     * from it lingers in TIME_WAIT. */
    if (o->localport && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
      s6net_diesys(111, "unable to set SO_REUSEADDR");
    sl = s6net_sockaddr_make(&ss, &local, o->localport);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
      s6net_diesys(111, "unable to bind to %s", fmt_addr(buf, &local, o->localport));
  }
  sl = s6net_sockaddr_make(&ss, a, port);
  if (s6net_connect_deadline(fd, (struct sockaddr *)&ss, sl, deadline) < 0) goto fail;
  return fd;
fail:
  s6net_fd_close(fd);
  return -1;
}

/* Every address with the first timeout, then every address again with
 * the second; the global deadline bounds it all. */
static int connect_any(char const *host, s6net_ip46 const *addr, unsigned int n, uint16_t port,
                       struct opts const *o, s6net_deadline global, s6net_ip46 *chosen)
{
  char buf[S6NET_IP46_FMTLEN + 10];
  int err = ECONNREFUSED;
  for (unsigned int round = 0; round < o->rounds; round++) {
    for (unsigned int i = 0; i < n; i++) {
      if (s6net_deadline_passed(global))
        s6net_die(111, "unable to connect to %s port %u: timed out", host, (unsigned)port);
      s6net_deadline d = s6net_deadline_in(o->conn[round]);
      if (d > global) d = global;
      int fd = try_connect(&addr[i], port, o, d);
      if (fd >= 0) { *chosen = addr[i]; return fd; }
      err = errno;
      if (o->verbosity >= 2) s6net_warnsys("unable to connect to %s", fmt_addr(buf, &addr[i], port));
    }
  }
  if (err == ETIMEDOUT && s6net_deadline_passed(global))
    s6net_die(111, "unable to connect to %s port %u: timed out", host, (unsigned)port);
  errno = err;
  s6net_diesys(111, "unable to connect to %s port %u", host, (unsigned)port);
}

static void setenv_or_die(s6net_envmods *m, char const *name, char const *value)
{
  if (s6net_envmods_set(m, name, value) < 0) s6net_diesys(111, "unable to build the environment");
}

/* Names and IDENT information, looked up in parallel: the DNS queries
 * are sent first and answered while the IDENT exchange runs. Anything
 * that fails or runs out of time simply stays unset. */
static void lookup_info(struct conn const *c, struct opts const *o, s6net_deadline global, s6net_envmods *env)
{
  char idbuf[S6NET_IDENT_REPLY_SIZE];
  s6net_dns *d = 0;
  s6net_dns_result rhost, lhost;
  s6net_deadline deadline = s6net_deadline_in(INFO_TIMEOUT_MS);
  if (deadline > global) deadline = global;
  int wantlocal = !o->nonames && !o->localname;
  rhost.status = lhost.status = S6NET_DNS_FAIL;
  if (!o->nonames) {
    if (s6net_dns_init(&d, o->hosts ? S6NET_DNS_HOSTS : 0) < 0) {
      if (o->verbosity && errno == EINVAL) s6net_warn("unable to initialize the DNS resolver: malformed DNSCACHEIP");
      else if (o->verbosity) s6net_warnsys("unable to initialize the DNS resolver");
    } else {
      s6net_dns_reverse(d, &rhost, &c->remote);
      if (wantlocal) s6net_dns_reverse(d, &lhost, &c->local);
    }
  }
  if (o->ident) {
    ssize_t r = s6net_ident_client(idbuf, sizeof idbuf, &c->remote, c->remoteport, &c->local, c->localport, deadline);
    if (r > 0) setenv_or_die(env, "TCPREMOTEINFO", idbuf);
    else {
      if (o->verbosity >= 2) s6net_warn("no IDENT information: %s", s6net_ident_error_str(errno));
      setenv_or_die(env, "TCPREMOTEINFO", 0);
    }
  } else setenv_or_die(env, "TCPREMOTEINFO", 0);
  if (d) {
    s6net_dns_wait(d, deadline);
    s6net_dns_free(d);
  }
  setenv_or_die(env, "TCPREMOTEHOST", rhost.status == S6NET_DNS_OK ? rhost.name : 0);
  /* -l "" names nothing: unset, as every variable without a value */
  if (o->localname) setenv_or_die(env, "TCPLOCALHOST", *o->localname ? o->localname : 0);
  else setenv_or_die(env, "TCPLOCALHOST", wantlocal && lhost.status == S6NET_DNS_OK ? lhost.name : 0);
}

static void set_addr_env(s6net_envmods *env, char const *ipvar, char const *portvar, s6net_ip46 const *a, uint16_t port)
{
  char ip[S6NET_IP46_FMTLEN], p[8];
  s6net_ip46_fmt(ip, a);
  snprintf(p, sizeof p, "%u", (unsigned)port);
  setenv_or_die(env, ipvar, ip);
  setenv_or_die(env, portvar, p);
}

/* fds 6 and 7 both become the socket, blocking, inherited by prog. */
static void install_fds(int fd)
{
  if (s6net_fd_block(fd) < 0) s6net_diesys(111, "unable to make the socket blocking");
  if (fd == 6 || fd == 7) {
    int other = fd == 6 ? 7 : 6;
    if (dup2(fd, other) < 0) s6net_diesys(111, "unable to duplicate the socket");
    if (s6net_fd_move(fd, fd) < 0) s6net_diesys(111, "unable to clear close-on-exec");
    return;
  }
  if (dup2(fd, 6) < 0 || dup2(fd, 7) < 0) s6net_diesys(111, "unable to duplicate the socket");
  close(fd);
}

extern char **environ;

int main(int argc, char **argv)
{
  struct opts o;
  struct conn c;
  s6net_ip46 addr[S6NET_DNS_MAXADDR];
  char const *mods[16];
  s6net_envmods env;

  s6net_prog = "s6-tcpclient";
  int i = parse_opts(argc, argv, &o);
  char const *host = argv[i];
  if (!*host) s6net_die(100, "empty host");
  if (s6net_scan_port(argv[i + 1], &c.remoteport) < 0 || !c.remoteport)
    s6net_die(100, "invalid port: %s", argv[i + 1]);
  char **prog = argv + i + 2;
  if (s6net_fd_ensure012() < 0) s6net_diesys(111, "unable to open /dev/null");

  s6net_deadline global = s6net_deadline_in(o.timeout);
  unsigned int n = resolve(host, &o, global, addr, S6NET_DNS_MAXADDR);
  c.fd = connect_any(host, addr, n, c.remoteport, &o, global, &c.remote);
  /* An IPv4-mapped literal reached an IPv4 peer: describe it as IPv4, like
   * the local end below, so that IDENT and reverse DNS see one family. */
  if (c.remote.is6 && s6net_ip6_is_v4mapped(c.remote.ip)) {
    memmove(c.remote.ip, c.remote.ip + 12, 4);
    memset(c.remote.ip + 4, 0, 12);
    c.remote.is6 = 0;
  }

  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(c.fd, (struct sockaddr *)&ss, &sl) < 0 || s6net_sockaddr_get((struct sockaddr *)&ss, sl, &c.local, &c.localport) < 0)
    s6net_diesys(111, "unable to get the local address of the connection");
  if (o.nodelay) {
    int one = 1;
    if (setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) s6net_diesys(111, "unable to set TCP_NODELAY");
  }
  if (o.verbosity >= 2) {
    char r[S6NET_IP46_FMTLEN + 10], l[S6NET_IP46_FMTLEN + 10];
    s6net_info("connected to %s from %s", fmt_addr(r, &c.remote, c.remoteport), fmt_addr(l, &c.local, c.localport));
  }

  /* room for every variable we set; -l is the caller's, of any length */
  size_t envcap = S6NET_IDENT_REPLY_SIZE + S6NET_DNS_NAMELEN * 2 + 1024 + (o.localname ? strlen(o.localname) : 0);
  char *envbuf = malloc(envcap);
  if (!envbuf) s6net_diesys(111, "unable to build the environment");
  s6net_envmods_init(&env, envbuf, envcap, mods, sizeof mods / sizeof *mods);
  setenv_or_die(&env, "PROTO", "TCP");
  set_addr_env(&env, "TCPREMOTEIP", "TCPREMOTEPORT", &c.remote, c.remoteport);
  set_addr_env(&env, "TCPLOCALIP", "TCPLOCALPORT", &c.local, c.localport);
  lookup_info(&c, &o, global, &env);

  /* The connection is up and described: whatever must be said on the wire
   * before the application speaks (e.g. a PROXY protocol header) goes
   * here, on c.fd. */

  size_t nenv = 0;
  while (environ[nenv]) nenv++;
  char const **envp = malloc((nenv + env.n + 1) * sizeof *envp);
  if (!envp || s6net_env_merge(envp, nenv + env.n + 1, (char const *const *)environ, env.mods, env.n) < 0)
    s6net_diesys(111, "unable to build the environment");
  install_fds(c.fd);
  /* -P: tell the server who the original client is (the UCSPI variables
   * this client inherited from a super-server) before prog speaks */
  if (o.proxy) {
    s6net_proxy_info pi;
    if (s6net_proxy_info_from_env(&pi, (char const *const *)environ) < 0)
      s6net_die(100, "invalid TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP or TCPLOCALPORT for the PROXY header");
    if (s6net_proxy_send(7, o.proxy, &pi) < 0) s6net_diesys(111, "unable to send the PROXY header");
  }
  s6net_exec((char const *const *)prog, envp);
  s6net_diesys(111, "unable to exec %s", prog[0]);
}
