/* The zygote: a long-lived engine that has already paid for library
 * start-up and key loading, and hands each connection to one isolated
 * process. See tls_zygote_msg.h for the protocol.
 *
 * The master keeps the super-server's ids (it must be able to re-read
 * renewed keys) and never touches connection data: it forks workers,
 * reaps them and reloads the keys. Each worker drops to TLS_UID/TLS_GID
 * right after fork, while idle, then waits for one request on the shared
 * socket, takes it, tells the master (which forks a replacement) and
 * serves that one connection. Idle workers wait in a blocking recvmsg,
 * whose wake-ups the kernel gives to one waiter per request (a poll
 * would wake them all); the death of the master reaches them as
 * SIGKILL (PR_SET_PDEATHSIG) and the end of their life as SIGALRM.
 * A request whose files changed since the worker's keys were loaded
 * goes back to the master, which reloads them (or keeps the old ones if
 * the new files are bad) and forks a worker of the new generation for
 * it. */
#include "tls/tls_zygote_msg.h"
#include "tls/tls.h"
#include "core/deadline.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/fd.h"
#include "core/hugetext.h"
#include "core/tai.h"

#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#ifdef __linux__
#define POOL_MAX 256
#define RELOAD_TRIES 3
#define MSG_HDR 5 /* kind, pid (BE) */

static s6net_tls_conf const *conf;
static char const *const *env;
static char fp[S6NET_TLSZ_FPMAX];
static size_t fplen;
static unsigned char msg[MSG_HDR + S6NET_TLSZ_REQMAX];
static int zfd = -1, wmaster = -1, wworker = -1, readyfd = -1;
static pid_t master;      /* the zygote's main process */
static int sigp[2] = { -1, -1 };
static pid_t idle[POOL_MAX];
static unsigned int nidle;

static void close_fds(int const *fds, unsigned int n)
{
  for (unsigned int i = 0; i < n; i++) if (fds[i] >= 0) close(fds[i]);
}

/* ---- workers --------------------------------------------------------- */

/* The first thing a forked worker does: keep only what a worker needs,
 * then drop privileges, off the connection path. */
static void worker_init(void)
{
  struct sigaction sa = { .sa_handler = SIG_DFL };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, 0);
  if (wmaster >= 0) close(wmaster);
  if (readyfd >= 0) close(readyfd);
  close(sigp[0]); close(sigp[1]);
  s6net_tls_forked();
  s6net_tls_drop(env);
#ifdef __linux__
  prctl(PR_SET_DUMPABLE, 0);
#endif
}

static void tell_master(char kind, void const *extra, size_t len, int const *fds, unsigned int nfds)
{
  unsigned char *m = msg;
  m[0] = (unsigned char)kind;
  s6net_u32_pack_be(m + 1, (uint32_t)getpid());
  if (len) memmove(m + MSG_HDR, extra, len);
  (void)s6net_tlsz_sendfds(wworker, m, MSG_HDR + len, fds, nfds);
}

/* Serve the connection of a valid request; the worker is alone with it. */
_Noreturn static void serve(s6net_tls_ctx *ctx, s6net_tlsz_req const *r, char const *peer, int const fds[5])
{
  static char peerbuf[S6NET_TLSZ_PEERMAX + 1];
  s6net_tls_conf c = *conf;
  c.closenotify = r->closenotify;
  c.strict = r->strict;
  c.kimeout = r->kimeout;
  c.verbosity = r->verbosity;
  memcpy(peerbuf, peer, r->peerlen);
  peerbuf[r->peerlen] = 0;
  c.peer = r->peerlen ? peerbuf : 0;
  /* Past this byte the sender no longer runs an engine of its own. */
  if (write(fds[4], "T", 1) != 1) _exit(0);
  s6net_tls_conn *conn;
  int e = s6net_tls_handshake(ctx, &c, fds[0], fds[1], &conn);
  if (e) {
    unsigned char m[2] = { '!', (unsigned char)e };
    (void)!write(fds[4], m, 2);
    _exit(e);
  }
  if (s6net_tls_notify(conn, &c, fds[4]) < 0) {
    s6net_warnsys("unable to write handshake notification");
    _exit(111);
  }
  close(fds[4]);
  _exit(s6net_tls_relay(conn, &c, fds[2], fds[3]));
}

static volatile sig_atomic_t expired;

static void on_sigalrm(int sig)
{
  (void)sig;
  expired = 1;
}

/* Idle, the worker dies with the master: a request left in the socket
 * is for whoever replaces it. Set after the drop, which clears it. */
static void idle_with_master(long life)
{
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != master) _exit(0);
  if (life >= 0) {
    struct sigaction sa = { .sa_handler = on_sigalrm };   /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, 0);
    /* Repeated, should the first come just before the worker blocks. */
    struct itimerval it = { .it_interval = { 1, 0 },
                            .it_value = { life / 1000, (life % 1000) * 1000 + (life ? 0 : 1) } };
    setitimer(ITIMER_REAL, &it, 0);
  }
}

/* Taken: the connection is served to its end, whatever the master does.
 * Should the master die just before this, the worker dies with the
 * request unanswered, and the sender, seeing no 'T', runs an engine of
 * its own. */
static void taken(void)
{
  struct itimerval it = { 0 };
  setitimer(ITIMER_REAL, &it, 0);
  prctl(PR_SET_PDEATHSIG, 0);
}

/* A pre-forked worker: waits for one request it can serve. Garbage is
 * dropped and the worker goes on waiting, so that nothing is forked for
 * it; a request for other keys is answered '?'. */
_Noreturn static void worker(s6net_tls_ctx *ctx, uint64_t digest, long life)
{
  static unsigned char req[S6NET_TLSZ_REQMAX];
  worker_init();
  idle_with_master(life);
  for (;;) {
    int fds[S6NET_TLSZ_NFDS];
    unsigned int nf;
    long len = s6net_tlsz_recvfds(zfd, req, sizeof req, fds, S6NET_TLSZ_NFDS, &nf, 0);
    if (len < 0 && errno == EINTR) {
      if (expired) { tell_master('E', 0, 0, 0, 0); _exit(0); }
      continue;
    }
    if (len < 0 && errno != EMSGSIZE) { s6net_warnsys("unable to receive a request"); _exit(111); }
    if (!len && !nf) {
      struct pollfd p = { .fd = zfd, .events = POLLIN };
      if (poll(&p, 1, 0) > 0 && p.revents & POLLHUP) _exit(0); /* every sender is gone */
    }
    s6net_tlsz_req r;
    if (len <= 0 || nf != S6NET_TLSZ_NFDS || s6net_tlsz_hdr_decode(req, (size_t)len, &r) < 0) {
      close_fds(fds, nf);
      if (conf->verbosity >= 2) s6net_warn("refused a malformed request (%ld bytes, %u fds)", len, nf);
      continue;
    }
    if (r.fplen != fplen || memcmp(req + S6NET_TLSZ_HDR, fp, fplen)) {
      /* Never blocks, whatever the sender passed as its reply fd. */
      (void)!send(fds[4], "?", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
      close_fds(fds, nf);
      continue;
    }
    taken();
    if (r.digest != digest) {
      /* The files changed since our keys were read: the master reloads
       * them and serves this one with a worker of the new keys. */
      tell_master('F', req, (size_t)len, fds, nf);
      _exit(0);
    }
    tell_master('T', 0, 0, 0, 0);
    close(zfd);
    close(wworker);
    serve(ctx, &r, (char const *)req + S6NET_TLSZ_HDR + fplen, fds);
  }
}

/* ---- the master --------------------------------------------------------- */

static void on_sigchld(int sig)
{
  int e = errno;
  (void)sig;
  (void)!write(sigp[1], "", 1);
  errno = e;
}

/* Where pid is in the idle list, or -1. */
static int idle_find(pid_t pid)
{
  for (unsigned int i = 0; i < nidle; i++) if (idle[i] == pid) return (int)i;
  return -1;
}

static int idle_remove(pid_t pid)
{
  int i = idle_find(pid);
  if (i < 0) return 0;
  idle[i] = idle[--nidle];
  return 1;
}

/* Reload the keys; a file changing while it is read is retried. On
 * failure, the old context stays and the new state of the files is
 * accepted for it: one warning per state. */
static void reload(s6net_tls_ctx **ctx, uint64_t *digest)
{
  for (unsigned int i = 0;; i++) {
    uint64_t d0 = s6net_tlsz_digest(fp, fplen);
    if (d0 == *digest) return;
    int code;
    char const *why;
    s6net_tls_ctx *t = s6net_tls_ctx_try(conf, env, &code, &why);
    uint64_t d1 = s6net_tlsz_digest(fp, fplen);
    if (d1 != d0 && i + 1 < RELOAD_TRIES) {
      if (t) s6net_tls_ctx_free(t);
      continue;
    }
    if (t) {
      s6net_tls_ctx_free(*ctx);
      *ctx = t;
      s6net_tls_spare(t);
      if (conf->verbosity >= 2) s6net_info("loaded renewed keys");
    } else
      s6net_warn("keeping the previous keys: %s", why);
    /* If the files moved while being read, d0 stays unlike what the next
     * s6-tlsd sees, which brings us back here. */
    *digest = d0;
    return;
  }
}

static pid_t fork_worker(s6net_tls_ctx *ctx, uint64_t digest, long life, int const *fds, s6net_tlsz_req const *r,
                         unsigned char const *req)
{
  pid_t pid = fork();
  if (pid) return pid;
  if (!fds) worker(ctx, digest, life);
  worker_init();
  close(zfd);
  close(wworker);
  serve(ctx, r, (char const *)req + S6NET_TLSZ_HDR + r->fplen, fds);
}

/* A request sent back by a worker of older keys. */
static void forwarded(s6net_tls_ctx **ctx, uint64_t *digest, unsigned char const *req, size_t len, int const *fds,
                      unsigned int nf)
{
  s6net_tlsz_req r;
  if (nf != S6NET_TLSZ_NFDS || s6net_tlsz_hdr_decode(req, len, &r) < 0) { close_fds(fds, nf); return; }
  reload(ctx, digest);
  if (fork_worker(*ctx, *digest, -1, fds, &r, req) < 0) {
    s6net_warnsys("unable to fork");
    (void)!write(fds[4], "?", 1);
  }
  close_fds(fds, nf);
}

/* Read what the workers said: taken, expired, or a request to serve
 * with renewed keys. */
static void drain(s6net_tls_ctx **ctx, uint64_t *digest, unsigned int *streak)
{
  for (unsigned int k = 0; k < 2 * POOL_MAX; k++) {
    int fds[S6NET_TLSZ_NFDS];
    unsigned int nf;
    long len = s6net_tlsz_recvfds(wmaster, msg, sizeof msg, fds, S6NET_TLSZ_NFDS, &nf, MSG_DONTWAIT);
    if (len < 0 && errno != EMSGSIZE) return;
    if (len < MSG_HDR) { close_fds(fds, nf); continue; }
    pid_t pid = (pid_t)s6net_u32_unpack_be(msg + 1);
    if (!idle_remove(pid)) { close_fds(fds, nf); continue; }
    if (msg[0] == 'T') *streak = 0;
    else if (msg[0] == 'F') forwarded(ctx, digest, msg + MSG_HDR, (size_t)len - MSG_HDR, fds, nf);
    else close_fds(fds, nf);
  }
}

/* Before serving: the ids in TLS_UID/TLS_GID must work, or every worker
 * would die at birth. */
static void probe_drop(void)
{
  pid_t pid = fork();
  if (pid < 0) s6net_diesys(111, "unable to fork");
  if (!pid) { s6net_tls_drop(env); _exit(0); }
  int st;
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) s6net_diesys(111, "unable to wait");
  if (!WIFEXITED(st) || WEXITSTATUS(st)) _exit(111);
}

#endif

int s6net_tlsz_serve(int z, s6net_tls_conf *c, char const *const *envp, int ready, unsigned int pool,
                     unsigned int tickets)
{
#ifdef __linux__
  pid_t parent = getppid();
  /* The zygote lives exactly as long as the keeper that started it. */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) s6net_diesys(111, "unable to set parent death signal");
  if (getppid() != parent) return 0;
  zfd = z;
  master = getpid();
  readyfd = ready;
  conf = c;
  env = envp;
  if (!s6net_tlsz_check(zfd)) s6net_die(100, "fd %d is not a UNIX seqpacket socket of ours", zfd);
  if (fcntl(zfd, F_SETFD, FD_CLOEXEC) < 0) s6net_diesys(111, "unable to set close-on-exec");
  fplen = s6net_tlsz_fingerprint(fp, sizeof fp, c->clientcert, c->snilevel, c->alpn, envp);
  if (!fplen) s6net_die(100, "too many or too long key variables");
  if (s6net_tls_tickets_start(tickets) < 0) s6net_diesys(111, "unable to set up session tickets");
  uint64_t digest = s6net_tlsz_digest(fp, fplen);
  s6net_tls_ctx *ctx = s6net_tls_ctx_new(c, envp);
  probe_drop();
  s6net_tls_warmup(ctx, c);
  s6net_tls_spare(ctx);
#ifdef __GLIBC__
  /* Give back and coalesce what the warm-up freed: otherwise every worker
   * starts by consolidating those free chunks, copying the pages. */
  malloc_trim(0);
#endif
  /* Every worker shares the code in a few huge pages instead of faulting
   * it in, page after page (s6-tlsd-io(1) ENVIRONMENT). */
  char const *ht = s6net_env_get(envp, "S6NET_TLS_HUGETEXT");
  unsigned long huge = ht && !strcmp(ht, "0") ? 0 : s6net_hugetext("s6-tlsd-io code");
  if (c->verbosity >= 2) {
    if (huge) s6net_info("code held in %lu KiB of huge pages", huge >> 10);
    else s6net_info("code left in small pages");
  }
  int w[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, w) < 0) s6net_diesys(111, "unable to create socketpair");
  wmaster = w[0];
  wworker = w[1];
  if (pipe2(sigp, O_CLOEXEC | O_NONBLOCK) < 0) s6net_diesys(111, "unable to create pipe");
  struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_RESTART };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, 0);
  signal(SIGPIPE, SIG_IGN);
  if (!pool) pool = 1;
  if (pool > POOL_MAX) pool = POOL_MAX;
  unsigned int streak = 0;
  long long holdoff = 0;
  for (;;) {
    long life = s6net_tls_tickets_tick();
    long long t = s6net_now_ms();
    int retry = -1;
    if (t >= holdoff) {
      while (nidle < pool) {
        pid_t pid = fork_worker(ctx, digest, life, 0, 0, 0);
        if (pid < 0) { s6net_warnsys("unable to fork"); retry = 100; break; }
        idle[nidle++] = pid;
      }
    } else if (nidle < pool) retry = (int)(holdoff - t);
    if (readyfd >= 0) {
      if (s6net_write_all(readyfd, "\n", 1) < 0) s6net_diesys(111, "unable to signal readiness");
      close(readyfd);
      readyfd = -1;
    }
    long to = retry;
    if (life >= 0 && (to < 0 || life < to)) to = life;
    if (to > 86400000) to = 86400000;
    struct pollfd p[2] = { { .fd = sigp[0], .events = POLLIN }, { .fd = wmaster, .events = POLLIN } };
    int n = poll(p, 2, (int)to);
    if (n < 0 && errno != EINTR) s6net_diesys(111, "unable to poll");
    if (n <= 0) continue;
    if (p[1].revents) drain(&ctx, &digest, &streak);
    if (p[0].revents) {
      char buf[64];
      while (read(sigp[0], buf, sizeof buf) > 0) ;
      int st;
      pid_t pid;
      while ((pid = waitpid(-1, &st, WNOHANG | WUNTRACED)) > 0) {
        if (WIFSTOPPED(st)) {
          /* Any process of TLS_UID (a worker gone bad, for one) can stop
           * idle workers; stopped, they take nothing, and with all of
           * them stopped every connection would wait. One still idle
           * once what the workers said is read is killed, then replaced
           * as any idle worker that dies. A worker that took its
           * connection is that connection's business. */
          drain(&ctx, &digest, &streak);
          if (idle_find(pid) >= 0) {
            kill(pid, SIGKILL);
            if (conf->verbosity) s6net_warn("idle worker %ld was stopped by signal %d: killed it", (long)pid, WSTOPSIG(st));
          }
          continue;
        }
        /* A worker says it is taken before it can exit: read what it
         * said before deciding that it died idle. */
        if (idle_find(pid) >= 0) drain(&ctx, &digest, &streak);
        if (!idle_remove(pid)) continue;
        /* An idle worker died without taking anything (killed, or its
         * drop failed): replace it, but not in a tight loop. */
        if (conf->verbosity >= 2) s6net_warn("idle worker %ld died", (long)pid);
        if (++streak > pool) holdoff = s6net_now_ms() + 1000;
      }
    }
  }
#else
  (void)z; (void)c; (void)envp; (void)ready; (void)pool; (void)tickets;
  s6net_die(100, "the zygote needs Linux");
#endif
}
