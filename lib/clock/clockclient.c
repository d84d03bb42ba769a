#include "clock/clockclient.h"
#include "core/addr.h"
#include "core/deadline.h"
#include "core/diag.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/opt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define USAGE "[ -f ] [ -v verbosity ] [ -r roundtrips ] [ -t triptimeout ] [ -h throttle ] " \
              "[ -T totaltimeout ] [ -e errmax ] [ -p port ] ipaddress"
#define MAXTRIPS 100000

typedef struct {
  int force;
  unsigned int verbosity, roundtrips, triptimeout, throttle, totaltimeout, errmax;
  uint16_t port;
  s6net_ip46 ip;
} opts;

void s6net_clock_random(void *buf, size_t len)
{
  unsigned char *p = buf;
  while (len) {
    ssize_t r = getrandom(p, len, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      s6net_diesys(111, "unable to get random bytes");
    }
    p += r;
    len -= (size_t)r;
  }
}

static unsigned int scan_opt(char const *s, char c, unsigned int max)
{
  unsigned int u;
  if (s6net_scan_uint(s, 0, max, &u) < 0) {
    s6net_die(100, "invalid -%c argument: %s", c, s);
  }
  return u;
}

static void parse(int argc, char const *const *argv, uint16_t defport, opts *o)
{
  int c;
  o->force = 0;
  o->verbosity = 1; o->roundtrips = 10; o->triptimeout = 2000; o->throttle = 0;
  o->totaltimeout = 10000; o->errmax = 100; o->port = defport;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((c = s6net_sgetopt_next(&g, argc, argv, "fv:r:t:h:T:e:p:")) != -1) {
    switch (c) {
      case 'f': o->force = 1; break;
      case 'v': o->verbosity = scan_opt(g.arg, 'v', 100); break;
      case 'r': o->roundtrips = scan_opt(g.arg, 'r', MAXTRIPS); break;
      case 't': o->triptimeout = scan_opt(g.arg, 't', 0x7fffffff); break;
      case 'h': o->throttle = scan_opt(g.arg, 'h', 0x7fffffff); break;
      case 'T': o->totaltimeout = scan_opt(g.arg, 'T', 0x7fffffff); break;
      case 'e': o->errmax = scan_opt(g.arg, 'e', 0x7fffffff); break;
      case 'p':
        if (s6net_scan_port(g.arg, &o->port) < 0 || !o->port) {
          s6net_die(100, "invalid port: %s", g.arg);
        }
        break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (argc - g.ind != 1) s6net_dieusage(USAGE);
  if (!o->roundtrips) s6net_die(100, "roundtrips must be at least 1");
  if (s6net_ip46_scan(argv[g.ind], &o->ip) < 0) {
    s6net_die(100, "not an IP address: %s", argv[g.ind]);
  }
}

static void now_utc(s6net_clk *t)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  s6net_clk_from_timespec(t, &ts);
}

/* "+1.234567890" seconds, for messages. */
static char const *fmt_ns(char *buf, size_t len, int64_t ns)
{
  uint64_t a = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
  snprintf(buf, len, "%c%" PRIu64 ".%09" PRIu64, ns < 0 ? '-' : '+', a / 1000000000u, a % 1000000000u);
  return buf;
}

static void die_total(opts const *o)
{
  s6net_die(1, "unable to complete the exchanges: total timeout of %u ms expired", o->totaltimeout);
}

static int open_socket(opts const *o)
{
  struct sockaddr_storage ss;
  socklen_t sl = s6net_sockaddr_make(&ss, &o->ip, o->port);
  char ipbuf[S6NET_IP46_FMTLEN];
  int fd = socket(o->ip.is6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) s6net_diesys(111, "unable to create UDP socket");
  /* Connected: the kernel drops datagrams from anyone but the server. */
  if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
    s6net_ip46_fmt(ipbuf, &o->ip);
    s6net_diesys(111, "unable to connect UDP socket to %s port %u", ipbuf, (unsigned)o->port);
  }
  return fd;
}

/* One exchange: 1 with a sample, 0 if it failed. */
static int trip(int fd, unsigned int i, opts const *o, s6net_deadline total,
                s6net_clockclient_proto const *p, void *ctx, s6net_clock_sample *s)
{
  unsigned char out[S6NET_CLOCKCLIENT_MAXPKT], in[S6NET_CLOCKCLIENT_MAXPKT];
  char why[160];
  s6net_clk t1, t4;
  now_utc(&t1);
  size_t len = p->request(ctx, out, &t1);
  if (send(fd, out, len, 0) < 0) {
    if (o->verbosity) s6net_warnsys("round trip %u: unable to send %s request", i + 1, p->proto);
    return 0;
  }
  s6net_deadline d = s6net_deadline_in(o->triptimeout);
  if (total < d) d = total;
  for (;;) {
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int r = s6net_poll(&pfd, 1, d);
    if (r < 0) s6net_diesys(111, "unable to poll");
    if (!r) {
      if (s6net_deadline_passed(total)) die_total(o);
      if (o->verbosity) s6net_warn("round trip %u: no valid reply within %u ms", i + 1, o->triptimeout);
      return 0;
    }
    ssize_t n = recv(fd, in, sizeof in, MSG_TRUNC);
    now_utc(&t4);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      if (o->verbosity) s6net_warnsys("round trip %u: unable to receive %s reply", i + 1, p->proto);
      return 0;
    }
    /* MSG_TRUNC reports the real length: anything longer than our buffer
     * is not a reply we asked for. */
    size_t got = (size_t)n > sizeof in ? 0 : (size_t)n;
    why[0] = 0;
    switch (p->reply(ctx, in, got, &t1, &t4, s, why, sizeof why)) {
      case S6NET_CC_ACCEPT:
        if (o->verbosity >= 3) {
          char b1[32], b2[32];
          s6net_info("round trip %u: offset %s s, error %s s", i + 1,
                     fmt_ns(b1, sizeof b1, s->offset), fmt_ns(b2, sizeof b2, s->error) + 1);
        }
        return 1;
      case S6NET_CC_IGNORE:
        if (o->verbosity >= 2) s6net_warn("round trip %u: ignoring datagram: %s", i + 1, why);
        break;
      case S6NET_CC_REJECT:
        if (o->verbosity) s6net_warn("round trip %u: rejecting reply: %s", i + 1, why);
        return 0;
      case S6NET_CC_FATAL:
        s6net_die(111, "server refuses service: %s", why);
    }
  }
}

static void wait_throttle(opts const *o, s6net_deadline total)
{
  s6net_deadline d = s6net_deadline_in(o->throttle);
  if (total < d) d = total;
  if (s6net_poll(NULL, 0, d) < 0) s6net_diesys(111, "unable to wait");
  if (s6net_deadline_passed(total)) die_total(o);
}

int s6net_clockclient_main(int argc, char const *const *argv, uint16_t defport,
                           s6net_clockclient_proto const *p, void *ctx)
{
  opts o;
  parse(argc, argv, defport, &o);
  s6net_deadline total = s6net_deadline_in(o.totaltimeout);
  s6net_clock_sample *s = calloc(o.roundtrips, sizeof *s);
  if (!s) s6net_diesys(111, "unable to allocate");
  int fd = open_socket(&o);
  size_t n = 0;
  for (unsigned int i = 0; i < o.roundtrips; i++) {
    if (i && o.throttle) wait_throttle(&o, total);
    if (s6net_deadline_passed(total)) die_total(&o);
    n += (size_t)trip(fd, i, &o, total, p, ctx, s + n);
  }
  s6net_fd_close(fd);
  if (!n) s6net_die(111, "unable to get the time: no valid %s reply in %u round trips", p->proto, o.roundtrips);
  int64_t offset, error;
  char b1[32], b2[32];
  s6net_clock_estimate(s, n, &offset, &error);
  free(s);
  if (o.verbosity >= 2)
    s6net_info("%zu of %u round trips usable: offset %s s, error %s s", n, o.roundtrips,
               fmt_ns(b1, sizeof b1, offset), fmt_ns(b2, sizeof b2, error) + 1);
  if (error > (int64_t)o.errmax * 1000000) {
    if (!o.force)
      s6net_die(111, "unable to get the time within %u ms: estimated error is %s s",
                o.errmax, fmt_ns(b2, sizeof b2, error) + 1);
    if (o.verbosity) s6net_warn("estimated error %s s exceeds %u ms, going on as asked by -f",
                                fmt_ns(b2, sizeof b2, error) + 1, o.errmax);
  }
  unsigned char adj[S6NET_CLOCKADJ_LEN];
  s6net_clk d = s6net_clk_from_ns(offset);
  s6net_clockadj_pack(adj, &d);
  if (s6net_write_all(1, adj, sizeof adj) < 0) s6net_diesys(111, "unable to write to stdout");
  return 0;
}
