/* The zygote: a long-lived engine that has already paid for library
 * start-up and key loading, and forks one isolated process per
 * connection. The parent never touches connection data: it receives the
 * four fds, forks, and closes its copies. */
#include "tls/tlsz.h"
#include "tls/tls.h"
#include "core/diag.h"
#include "core/fd.h"

#include <errno.h>
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
  signal(SIGCHLD, SIG_DFL);
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

int s6net_tlsz_serve(char const *name, s6net_tls_conf *c, char const *const *envp, int readyfd)
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
  s6net_tls_ctx *ctx = s6net_tls_ctx_new(c, envp);
  struct sockaddr_un sa;
  socklen_t salen = s6net_tlsz_addr(&sa, name);
  if (!salen) s6net_die(100, "invalid zygote name");
  int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (l < 0) s6net_diesys(111, "unable to create socket");
  if (bind(l, (struct sockaddr *)&sa, salen) < 0) s6net_diesys(111, "unable to bind zygote socket");
  if (listen(l, 1024) < 0) s6net_diesys(111, "unable to listen");
  uid_t owner = getuid();
  s6net_tls_drop(envp);
  struct sigaction sig = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };
  sigemptyset(&sig.sa_mask);
  sigaction(SIGCHLD, &sig, 0); /* children are reaped by the kernel */
  signal(SIGPIPE, SIG_IGN);
  if (readyfd >= 0) {
    if (s6net_write_all(readyfd, "\n", 1) < 0) s6net_diesys(111, "unable to signal readiness");
    close(readyfd);
  }
  for (;;) {
    int s = accept4(l, 0, 0, SOCK_CLOEXEC);
    if (s < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) continue;
      s6net_diesys(111, "unable to accept");
    }
    struct ucred cr;
    socklen_t crl = sizeof cr;
    if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0 || (cr.uid != 0 && cr.uid != owner)) {
      close(s);
      continue;
    }
    /* A client that connects and sends nothing must not stall the loop. */
    struct timeval tv = { 2, 0 };
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    s6net_tlsz_req r;
    int fds[4] = { -1, -1, -1, -1 };
    long n = recv_req(s, req, sizeof req, &r, fds);
    if (n < 0) { close(s); continue; }
    if ((size_t)n != fplen || memcmp(req + S6NET_TLSZ_HDR, fp, fplen)) {
      (void)!write(s, "?", 1);
      close_fds(fds, 4);
      close(s);
      continue;
    }
    pid_t pid = fork();
    if (!pid) {
      close(l);
      child(s, ctx, c, &r, fds);
    }
    if (pid < 0) {
      s6net_warnsys("unable to fork");
      unsigned char msg[2] = { '!', 111 };
      (void)!write(s, msg, 2);
    }
    close_fds(fds, 4);
    close(s);
  }
#else
  (void)name; (void)c; (void)envp; (void)readyfd;
  s6net_die(100, "the zygote needs Linux abstract UNIX sockets");
#endif
}
