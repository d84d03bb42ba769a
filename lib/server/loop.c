/* The server's loop: the path of one connection, top to bottom.
 *
 *   1. accept   accept_some (below): the loop accepts, at most
 *               ACCEPT_BURST per wake-up. With acceptors, each acceptor
 *               accepts by itself (acceptor_main in acceptors.c) and
 *               takes steps 2-4 the same way, in its own process.
 *   2. admit    srv_admit (below): the adapter names the source, the -C
 *               and -R limits are checked, the connection is counted
 *               (tables.c holds the counts).
 *   3. spawn    handle_conn (below): the environment is built in the
 *               connection's slot, then srv_spawn starts the child with
 *               the backend of this build (spawn_backend.h: clone or
 *               vfork).
 *   4. exec     in the child (srv_child_exec in spawn_clone.c, the vfork
 *               child in spawn_vfork.c): the connection on fds 0 and 1,
 *               execve of the program found at start (setup.c) or
 *               searched by the rule of core/exec.h.
 *   5. reap     reap (below), on SIGCHLD: the count is taken back, the
 *               slot freed, the end logged.
 *
 * run() polls the signals and the listener (or, with acceptors, their
 * eventfd); handle_signals acts on SIGTERM, SIGHUP, SIGQUIT and SIGABRT
 * and reaps. The tables are shared with acceptors under srv_lock. */
#include "server/internal.h"

#include "core/deadline.h"
#include "core/diag.h"
#include "core/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define ACCEPT_BURST 16   /* accepts per wakeup: keeps signals serviced under a flood */

int const srv_trapped[SRV_NTRAPPED] = { SIGCHLD, SIGTERM, SIGHUP, SIGQUIT, SIGABRT };

/* ---- slots ---- */

unsigned int srv_slot_get(s6net_server const *s)
{
  return s->nfree ? s->freelist[s->nfree - 1] : s->nfresh;
}

void srv_slot_take(s6net_server *s, unsigned int ci, pid_t pid)
{
  if (s->nfree) s->nfree--; else s->nfresh++;
  s->conns[ci].cold = 0;
  s->conns[ci].pid = pid;
  srv_pid_insert(s, pid, ci);
  s->nproc++;
}

/* Slot ci is free again. The free list is a stack, so the slots reused
 * are the ones freed last; a slot that sinks WARM_SLOTS deep has not been
 * needed for a while, and its pages (stack and environment) go back to
 * the kernel: after a burst of connections the server's memory comes
 * back down to what it serves, instead of keeping the pages of every
 * slot the burst used (up to maxconn of them). */
static void slot_free(s6net_server *s, unsigned int ci)
{
  s->freelist[s->nfree++] = ci;
  if (s->slotsize && s->nfree > WARM_SLOTS) {
    unsigned int c = s->freelist[s->nfree - 1 - WARM_SLOTS];
    if (!s->conns[c].cold) {
      madvise(s->area + (size_t)c * s->slotsize, s->slotsize, MADV_DONTNEED);
      s->conns[c].cold = 1;
    }
  }
}

/* ---- log lines ----
 * By the loop through core/diag, by an acceptor with a raw write of the
 * same line (errno is the loop's, so acceptors have no ": reason"). Not
 * inlined: their buffers would otherwise sit in the acceptor's frame on
 * every connection and push its stack into a second page per slot. */

__attribute__((noinline)) static void say(int inchild, char const *kind, char const *msg)
{
  if (inchild) srv_child_say(kind, msg);
  else if (kind[0] == 'i') s6net_info("%s", msg);
  else s6net_warn("%s", msg);
}

__attribute__((noinline)) void srv_refuse(s6net_server *s, s6net_server_peer const *p, char const *why, int inchild)
{
  if (s->cfg.verbosity >= 1) {
    char peer[256], msg[400];
    s->a->fmt(s->ctx, p, peer, sizeof peer);
    snprintf(msg, sizeof msg, "refused %s: %s", peer, why);
    say(inchild, "warning", msg);
  }
}

__attribute__((noinline)) void srv_started(s6net_server *s, s6net_server_peer const *p, pid_t pid, unsigned int live, long count, int inchild)
{
  char peer[256], msg[400];
  s->a->fmt(s->ctx, p, peer, sizeof peer);
  snprintf(msg, sizeof msg, "pid %ld from %s connections %u/%u source %u/%u", (long)pid, peer,
           live, s->cfg.maxconn, (unsigned int)count + 1, s->cfg.localmaxconn);
  say(inchild, "info", msg);
}

/* ---- 1. accept ---- */

/* What to do when accept() failed with e (other than EAGAIN): the
 * network errors Linux passes on from the new connection are retried at
 * once; running out of descriptors or memory backs off PAUSE_MS. */
int srv_accept_error(int e)
{
  switch (e) {
    case EINTR: case ECONNABORTED: case EPROTO: case EPERM:
    case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN: case ENONET:
    case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH: case ETIMEDOUT:
      return ACCEPT_RETRY;
    case EMFILE: case ENFILE: case ENOBUFS: case ENOMEM:
      return ACCEPT_BACKOFF;
    default:
      return ACCEPT_FATAL;
  }
}

static void handle_conn(s6net_server *s, s6net_server_peer *p);

/* Without acceptors: up to ACCEPT_BURST connections, each handled and
 * closed (the child has its copy) before the next. */
static void accept_some(s6net_server *s)
{
  s6net_server_peer p;
  for (unsigned int n = 0; n < ACCEPT_BURST && s->nproc < s->cfg.maxconn; n++) {
    p.salen = sizeof p.sa;
#ifdef SOCK_CLOEXEC
    p.fd = accept4(s->cfg.fd, (struct sockaddr *)&p.sa, &p.salen, SOCK_CLOEXEC);
#else
    p.fd = accept(s->cfg.fd, (struct sockaddr *)&p.sa, &p.salen);
    if (p.fd >= 0) s6net_fd_cloexec(p.fd);
#endif
    if (p.fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      switch (srv_accept_error(errno)) {
        case ACCEPT_RETRY:
          continue;
        case ACCEPT_BACKOFF:
          if (s->cfg.verbosity >= 1) s6net_warnsys("unable to accept");
          s->pause_until = s6net_now_ms() + PAUSE_MS;
          return;
        default:
          s6net_diesys(111, "unable to accept");
      }
    }
#ifndef __linux__
    /* Elsewhere accept() may hand the listener's O_NONBLOCK down. */
    s6net_fd_block(p.fd);
#endif
    handle_conn(s, &p);
    close(p.fd);
  }
}

/* ---- 2. admit ---- */

/* The limits, then the count in slot ci's name. me: the acceptor's slot
 * + 1, or 0 in the loop. Returns the number of connections from this
 * source before this one, or -1 if refused (logged). *live gets the
 * number of connections, this one included. */
long srv_admit(s6net_server *s, s6net_server_peer *p, unsigned int ci, uint32_t me, unsigned int *live)
{
  char why[96];
  int inchild = me != 0;
  if (s->a->source(s->ctx, p) < 0 || !p->keylen || p->keylen > S6NET_SERVER_KEYMAX) {
    if (s->cfg.verbosity >= 1) {
      if (inchild) say(1, "warning", "unable to identify the source of a connection");
      else s6net_warnsys("unable to identify the source of a connection");
    }
    return -1;
  }
  srv_lock(s, inchild ? me : SRV_LOOP, -1);
  size_t si = s6net_server_src_find(&s->src, p->key, p->keylen);
  unsigned int count = s->src.tab[si].count;
  if (count >= s->cfg.localmaxconn) {
    srv_unlock(s);
    snprintf(why, sizeof why, "too many connections from this source (%u/%u)", count, s->cfg.localmaxconn);
    srv_refuse(s, p, why, inchild);
    return -1;
  }
  if (s->cfg.rate && !s6net_server_rate_take(&s->rate, p->key, p->keylen, s6net_now_ms())) {
    srv_unlock(s);
    snprintf(why, sizeof why, "over %u connections per second from this source", s->cfg.rate);
    srv_refuse(s, p, why, inchild);
    return -1;
  }
  conn *c = s->conns + ci;
  memcpy(c->key, p->key, p->keylen);
  srv_src_add(&s->src, si, p->key, p->keylen);
  *live = ++s->nlive;
  c->keylen = (unsigned char)p->keylen;   /* last: see recount() in acceptors.c */
  /* Under the lock: once the loop holds it, every admitted connection
   * shows (see srv_shutdown_acceptors). */
  if (inchild) __atomic_store_n(&c->role, ROLE_CONN, __ATOMIC_RELAXED);
  srv_unlock(s);
  return count;
}

/* Take back the count of srv_admit (spawn or environment failure). */
void srv_unadmit(s6net_server *s, unsigned int ci, uint32_t me)
{
  srv_lock(s, me ? me : SRV_LOOP, -1);
  srv_uncount(s, s->conns + ci);
  srv_unlock(s);
}

/* ---- 3. spawn: the environment, then the backend ---- */

/* Nothing set yet; the strings go to buf (srv_env_room). */
void srv_env_start(s6net_server_env *e, s6net_server const *s, char *buf)
{
  e->s = s;
  memset(e->set, 0, sizeof e->set);
  e->buf = buf;
  e->used = 0;
  e->cap = s->bufs;
}

int s6net_server_env_set(s6net_server_env *e, unsigned int i, char const *val, size_t len)
{
  if (i >= e->s->a->nvars) { errno = EINVAL; return -1; }
  if (!val) { e->set[i] = 2; return 0; }
  if (len > S6NET_SERVER_VALMAX) { errno = ENAMETOOLONG; return -1; }
  size_t nl = e->s->slots[i].namelen;
  if (e->used + nl + len + 1 > e->cap) { errno = ENOBUFS; return -1; }
  char *d = e->buf + e->used;
  memcpy(d, e->s->slots[i].buf, nl);
  memcpy(d + nl, val, len);
  d[nl + len] = 0;
  e->str[i] = d;
  e->set[i] = 1;
  e->used += nl + len + 1;
  return 0;
}

/* The children's environment into envp (base + variables + NULL): the
 * value e set, or else the one of s6net_server_setenv. No libc call that
 * could touch errno. */
void srv_fill_env(s6net_server const *s, s6net_server_env const *e, char const **envp)
{
  size_t n = s->nbase;
  if (envp != s->envp) memcpy(envp, s->envp, s->nbase * sizeof *envp);
  for (unsigned int i = 0; i < s->a->nvars; i++) {
    unsigned char how = e ? e->set[i] : 0;
    if (how == 1) envp[n++] = e->str[i];
    else if (!how && s->slots[i].set) envp[n++] = s->slots[i].buf;
  }
  envp[n] = 0;
}

/* Steps 2 to 4 for one connection accepted by the loop. */
static void handle_conn(s6net_server *s, s6net_server_peer *p)
{
  unsigned int ci = srv_slot_get(s), live = 0;
  long count = srv_admit(s, p, ci, 0, &live);
  if (count < 0) return;
  s6net_server_env e;
  srv_env_start(&e, s, srv_env_room(s, ci));
  if (s->a->env(s->ctx, &e, p, (unsigned int)count) < 0) {
    int err = errno;
    srv_unadmit(s, ci, 0);
    if (s->cfg.verbosity >= 1) {
      char peer[256];
      s->a->fmt(s->ctx, p, peer, sizeof peer);
      errno = err;
      s6net_warnsys("refused %s: unable to set up the environment", peer);
    }
    return;
  }
  /* nproc < maxconn here, so a slot is free; it is taken once spawned. */
  pid_t pid = srv_spawn(s, p->fd, ci, &e);   /* 4. exec: in the child */
  if (pid < 0) {
    int err = errno;
    srv_unadmit(s, ci, 0);
    errno = err;
    if (s->cfg.verbosity >= 1) s6net_warnsys("unable to spawn %s", s->cfg.argv[0]);
    return;
  }
  s->conns[ci].role = ROLE_CONN;
  srv_slot_take(s, ci, pid);
  if (s->cfg.verbosity >= 2) srv_started(s, p, pid, live, count, 0);
}

/* ---- 5. reap ---- */

static void reap(s6net_server *s)
{
  for (;;) {
    int wstat;
    pid_t pid = waitpid(-1, &wstat, WNOHANG);
    if (pid <= 0) break;
    long ci = srv_pid_remove(s, pid);
    if (ci < 0) continue; /* not one of ours (inherited across exec) */
    conn *c = s->conns + ci;
    if (s->want) srv_acceptor_gone(s, (unsigned int)ci);
    srv_lock(s, SRV_LOOP, ci);
    int counted = srv_uncount(s, c);
    unsigned int live = s->nlive;
    srv_unlock(s);
    int serr = srv_spawn_error(s, (unsigned int)ci);
    slot_free(s, (unsigned int)ci);
    s->nproc--;
    if (!counted) continue; /* an acceptor that had no connection */
    if (serr && s->cfg.verbosity >= 1) {
      errno = serr;
      s6net_warnsys("unable to spawn %s", s->cfg.argv[0]);
    }
    if (s->cfg.verbosity >= 2) {
      if (WIFSIGNALED(wstat))
        s6net_info("end pid %ld signal %d connections %u/%u", (long)pid, WTERMSIG(wstat), live, s->cfg.maxconn);
      else
        s6net_info("end pid %ld exit %d connections %u/%u", (long)pid, WEXITSTATUS(wstat), live, s->cfg.maxconn);
    }
  }
}

/* ---- signals and the loop ---- */

static void killall(s6net_server *s, int sig)
{
  if (s->want) srv_sync_acceptors(s);
  for (size_t i = 0; i <= s->pidmask; i++) {
    if (!s->pidtab[i]) continue;
    conn const *c = s->conns + s->pidtab[i] - 1;
    /* Idle acceptors are ours, not connections (SIGABRT kills them too:
     * the loop exits right after). */
    if (__atomic_load_n(&c->role, __ATOMIC_RELAXED) == ROLE_IDLE && sig != SIGKILL) continue;
    kill(c->pid, sig);
    if (sig == SIGTERM) kill(c->pid, SIGCONT);
  }
}

/* Returns -1 to keep running, else the exit code. */
static int handle_signals(s6net_server *s)
{
  int sig[8], chld = 0, ret = -1, r;
  do {
    r = srv_signals_read(s, sig, sizeof sig / sizeof *sig);
    for (int i = 0; i < r; i++) {
      switch (sig[i]) {
        case SIGCHLD: chld = 1; break;
        case SIGTERM: ret = 0; break;
        case SIGHUP: killall(s, SIGTERM); break;
        case SIGQUIT: killall(s, SIGTERM); ret = 0; break;
        case SIGABRT: killall(s, SIGKILL); ret = 0; break;
        default: break;
      }
    }
  } while (r == (int)(sizeof sig / sizeof *sig));
  if (chld) reap(s);
  return ret;
}

int s6net_server_run(s6net_server *s)
{
  if (s->cfg.ready) {
    /* Everything that can fail comes before the notification: a server
     * that said it was ready must not die right after. */
    size_t len = strlen(s->cfg.ready);
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) s6net_diesys(111, "unable to open /dev/null");
    if (s6net_write_all(1, s->cfg.ready, len) < 0) s6net_diesys(111, "unable to write readiness notification");
    if (fd != 1) { if (dup2(fd, 1) < 0) s6net_diesys(111, "unable to dup2"); close(fd); }
  }
  if (s->notify) srv_notify_ready(s->notify);
  int acceptors = s->want > 0;   /* always 0 with the vfork backend */
  struct pollfd pfd[2];
  pfd[0].fd = s->sigfd;
  pfd[0].events = POLLIN;
  pfd[1].fd = acceptors ? s->evfd : s->cfg.fd;
  pfd[1].events = POLLIN;
  for (;;) {
    int timeout = -1;
    nfds_t n = 1;
    if (s->pause_until) {
      int64_t left = s->pause_until - s6net_now_ms();
      if (left <= 0) s->pause_until = 0;
      else timeout = (int)left;
    }
    if (acceptors) { srv_replenish(s); n = 2; }
    else if (!s->pause_until && s->nproc < s->cfg.maxconn) n = 2;
    pfd[1].revents = 0;
    if (srv_wait(s, pfd, n, timeout) < 0) s6net_diesys(111, "unable to poll");
    /* New connections first: when a child's exit and the next client
     * arrive together (a sequential client), the reaping is not on
     * anybody's critical path but the spawn is. */
    if (n == 2 && pfd[1].revents) {
      if (acceptors) srv_sync_acceptors(s);
      else accept_some(s);
    }
    if (pfd[0].revents) {
      int ret = handle_signals(s);
      if (ret >= 0) { srv_shutdown_acceptors(s); return ret; }
    }
  }
}
