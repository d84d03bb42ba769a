/* The zygote: a long-lived engine that has already paid for library
 * start-up and key loading, and forks one isolated process per
 * connection. The parent never touches connection data: it receives the
 * four fds, forks, and closes its copies. */
#include "tls/tlsz.h"
#include "tls/tls.h"
#include "core/diag.h"
#include "core/fd.h"

#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static void close_fds(int const *fds, size_t n)
{
  for (size_t i = 0; i < n; i++) if (fds[i] >= 0) close(fds[i]);
}

/* Reads one request. Returns the fingerprint length, -1 if bad (all
 * received fds closed). */
static long recv_req(int s, unsigned char *buf, size_t cap, s6net_tlsz_req *r, int fds[4])
{
  union { char buf[CMSG_SPACE(8 * sizeof(int))]; struct cmsghdr align; } u;
  struct iovec iov = { buf, cap };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t n;
  do n = recvmsg(s, &m, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  int got = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); n >= 0 && cm; cm = CMSG_NXTHDR(&m, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int tmp[8];
    if (k > 8) k = 8;
    memcpy(tmp, CMSG_DATA(cm), k * sizeof(int));
    for (size_t i = 0; i < k; i++) {
      if (got < 4) fds[got++] = tmp[i];
      else close(tmp[i]);
    }
  }
  long fplen = n < 0 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? -1
             : s6net_tlsz_hdr_decode(buf, (size_t)n, r);
  if (fplen < 0 || got != 4) {
    close_fds(fds, (size_t)got);
    return -1;
  }
  return fplen;
}

_Noreturn static void child(int s, s6net_tls_ctx *ctx, s6net_tls_conf const *base, s6net_tlsz_req const *r, int const fds[4])
{
  s6net_tls_conf c = *base;
  c.closenotify = r->closenotify;
  c.strict = r->strict;
  c.kimeout = r->kimeout;
  c.verbosity = r->verbosity;
  s6net_tls_conn *conn;
  int e = s6net_tls_handshake(ctx, &c, fds[0], fds[1], &conn);
  if (e) {
    unsigned char msg[2] = { '!', (unsigned char)e };
    (void)!write(s, msg, 2);
    _exit(e);
  }
  if (s6net_tls_notify(conn, &c, s) < 0) {
    s6net_warnsys("unable to write handshake notification");
    _exit(111);
  }
  close(s);
  _exit(s6net_tls_relay(conn, &c, fds[2], fds[3]));
}

/* One pre-forked worker: waits in accept() on the shared socket, tells
 * the master it is taken, then serves that one connection and exits.
 * Forking ahead of time takes fork() out of the connection's path while
 * keeping one process per connection. */
_Noreturn static void worker(pid_t master, int l, int busy, uid_t owner, s6net_tls_ctx *ctx, s6net_tls_conf const *c,
                             char const *fp, size_t fplen, unsigned char *req, size_t reqcap)
{
  signal(SIGCHLD, SIG_DFL);
  /* Idle workers go with the master; a busy one finishes its connection.
   * (The master may be gone already: then we were reparented, to init or
   * to a subreaper.) */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != master) _exit(0);
  int s;
  for (;;) {
    s = accept4(l, 0, 0, SOCK_CLOEXEC);
    if (s >= 0) break;
    if (errno == EINTR || errno == ECONNABORTED) continue;
    (void)!write(busy, "x", 1);
    s6net_diesys(111, "unable to accept");
  }
  prctl(PR_SET_PDEATHSIG, 0);
  (void)!write(busy, "x", 1);
  close(busy);
  close(l);
  struct ucred cr;
  socklen_t crl = sizeof cr;
  if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0 || (cr.uid != 0 && cr.uid != owner)) _exit(0);
  /* A client that connects and sends nothing must not hold a worker. */
  struct timeval tv = { 2, 0 };
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  s6net_tlsz_req r;
  int fds[4] = { -1, -1, -1, -1 };
  long n = recv_req(s, req, reqcap, &r, fds);
  if (n < 0) _exit(0);
  if ((size_t)n != fplen || memcmp(req + S6NET_TLSZ_HDR, fp, fplen)) {
    (void)!write(s, "?", 1);
    _exit(0);
  }
  tv.tv_sec = 0;
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  child(s, ctx, c, &r, fds);
}

int s6net_tlsz_serve(char const *name, s6net_tls_conf *c, char const *const *envp, int readyfd, unsigned int pool)
{
#ifdef __linux__
  static unsigned char req[S6NET_TLSZ_HDR + S6NET_TLSZ_FPMAX];
  static char fp[S6NET_TLSZ_FPMAX];
  pid_t parent = getppid();
  /* The zygote lives exactly as long as the super-server that started it. */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) s6net_diesys(111, "unable to set parent death signal");
  if (getppid() != parent) return 0;
  size_t fplen = s6net_tlsz_fingerprint(fp, sizeof fp, c->clientcert, c->snilevel, c->alpn, envp);
  if (!fplen) s6net_die(100, "too many or too long key variables");
  c->prefork = 1;
  s6net_tls_ctx *ctx = s6net_tls_ctx_new(c, envp);
  struct sockaddr_un sa;
  socklen_t salen = s6net_tlsz_addr(&sa, name);
  if (!salen) s6net_die(100, "invalid zygote name");
  int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (l < 0) s6net_diesys(111, "unable to create socket");
  if (bind(l, (struct sockaddr *)&sa, salen) < 0) s6net_diesys(111, "unable to bind zygote socket");
  if (listen(l, 1024) < 0) s6net_diesys(111, "unable to listen");
  int busy[2];
  if (pipe2(busy, O_CLOEXEC) < 0) s6net_diesys(111, "unable to create pipe");
  uid_t owner = getuid();
  s6net_tls_drop(envp);
  /* Changing user ids clears the parent-death signal: set it again, and
   * see whether the parent went away in between. */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) s6net_diesys(111, "unable to set parent death signal");
  if (getppid() != parent) return 0;
  s6net_tls_warmup(ctx, c);
#ifdef __GLIBC__
  /* Give back and coalesce what the warm-up freed: otherwise every worker
   * starts by consolidating those free chunks, copying the pages. */
  malloc_trim(0);
#endif
  struct sigaction sig = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
  sigemptyset(&sig.sa_mask);
  sigaction(SIGCHLD, &sig, 0); /* workers are reaped by the kernel */
  signal(SIGPIPE, SIG_IGN);
  if (!pool) pool = 1;
  pid_t self = getpid();
  unsigned int idle = 0;
  int ready = readyfd;
  for (;;) {
    while (idle < pool) {
      s6net_tls_prefork();
      pid_t pid = fork();
      if (pid) s6net_tls_postfork();
      if (!pid) {
        s6net_tls_forked(ctx);
        close(busy[0]);
        worker(self, l, busy[1], owner, ctx, c, fp, fplen, req, sizeof req);
      }
      if (pid < 0) { s6net_warnsys("unable to fork"); break; }
      idle++;
    }
    if (ready >= 0) {
      if (s6net_write_all(ready, "\n", 1) < 0) s6net_diesys(111, "unable to signal readiness");
      close(ready);
      ready = -1;
    }
    char buf[64];
    struct pollfd p = { .fd = busy[0], .events = POLLIN };
    /* If fork failed, retry after a while rather than spin. */
    long tk = s6net_tls_tickets_tick();
    int r = poll(&p, 1, idle < pool ? 100 : tk >= 0 ? (int)(tk < 86400000 ? tk : 86400000) : -1);
    if (r < 0 && errno != EINTR) s6net_diesys(111, "unable to poll");
    if (r <= 0) continue;
    ssize_t n = read(busy[0], buf, sizeof buf);
    if (n < 0 && errno != EINTR && errno != EAGAIN) s6net_diesys(111, "unable to read from workers");
    if (n > 0) idle = (size_t)n >= idle ? 0 : idle - (unsigned int)n;
  }
#else
  (void)name; (void)c; (void)envp; (void)readyfd; (void)pool;
  s6net_die(100, "the zygote needs Linux abstract UNIX sockets");
#endif
}
