/* Pre-forked acceptors (cfg.acceptors > 0, clone backend only).
 *
 * The loop does not accept: it keeps a few processes started with
 * clone(CLONE_VM) blocked in accept() on the listener, and each of them,
 * once it has a connection, admits it (srv_admit, as the loop would),
 * builds its environment and becomes the child with execve
 * (srv_child_exec). A sequential client then waits for one wake-up and
 * one exec, not for the loop's wake-up, accept and clone, then the
 * child's start (compare with bench/tcpserver/run.sh; s6-tcpserverd(1)).
 *
 * Every process, acceptor or connection, holds one slot, and the loop
 * starts an acceptor only while fewer than maxconn slots are held: at
 * maxconn connections there is no acceptor left, so extra clients wait
 * in the kernel's backlog as without acceptors. A connection refused
 * by -C or the rate limit is closed by its acceptor, which goes back to
 * accept().
 *
 * The source table, the rate table and the connection count are shared
 * by the acceptors and the loop's reaping, under a futex lock (srv_lock,
 * srv_unlock). An acceptor shares our thread pointer, so it makes raw
 * system calls only and never touches errno or stdio (sys_linux.h); it
 * writes its own log lines. It marks its slot ROLE_CONN under the lock
 * when it admits a connection, or leaves an accept() errno in its slot,
 * and wakes the loop through an eventfd: the loop then starts another
 * acceptor, or logs.
 *
 * The acceptors die with the loop (PR_SET_PDEATHSIG, cleared once a
 * connection is admitted: a connection outlives the server, as the
 * reference's do); when the loop exits on a signal it kills the idle
 * ones itself, and they are never sent the SIGTERM of SIGHUP or
 * SIGQUIT, which is for connections. */
#include "server/internal.h"

#ifdef USE_CLONE

#include "server/sys_linux.h"
#include "core/deadline.h"
#include "core/diag.h"
#include "core/fd.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RELEASE_MS 5000   /* longest wait at exit for our processes to let go of the listener */

/* From <linux/futex.h>, which musl-gcc cannot see. */
#ifndef FUTEX_WAIT_PRIVATE
#define FUTEX_WAIT_PRIVATE (0 | 128)
#define FUTEX_WAKE_PRIVATE (1 | 128)
#endif

#define LOCK_WAITERS 0x80000000u

int srv_acceptors_init(s6net_server *s)
{
  s->want = s->cfg.acceptors < s->cfg.maxconn ? s->cfg.acceptors : s->cfg.maxconn;
  if (s->want > MAX_ACCEPTORS) s->want = MAX_ACCEPTORS;
  s->self = getpid();
  s->evfd = -1;
  if (!s->want) return 0;
  /* The acceptors block in accept(): the listener stays blocking. */
  s->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->evfd < 0) return -1;
  return s6net_fd_block(s->cfg.fd);
}

/* ---- the lock ---- */

static void futex_wait(uint32_t *w, uint32_t v, long ms)
{
  struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
  srv_raw6(SYS_futex, (long)w, FUTEX_WAIT_PRIVATE, v, ms >= 0 ? (long)&ts : 0, 0, 0);
}

/* Whether the lock's holder is an acceptor that is dead: known dead
 * (dead_ci, being reaped), or exited and not yet reaped. Loop only. */
static int holder_dead(s6net_server *s, uint32_t v, long dead_ci)
{
  uint32_t o = v & ~LOCK_WAITERS;
  if (!o || o == SRV_LOOP || o > s->cfg.maxconn) return 0;
  if ((long)o - 1 == dead_ci) return 1;
  pid_t pid = s->conns[o - 1].pid;
  siginfo_t si;
  si.si_pid = 0;
  return pid > 0 && !waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == pid;
}

/* The holder of the lock was killed inside its critical section, which
 * may have left the source counts or nlive half-updated: count again the
 * connections of the live processes (their keys are complete: keylen is
 * set last, in one store). The dead holder's connection, if it had one,
 * is gone with it. Loop only, lock held; rare, so O(maxconn) is fine. */
static void recount(s6net_server *s, unsigned int dead_ci)
{
  unsigned int n = 0;
  memset(s->src.tab, 0, (s->src.mask + 1) * sizeof *s->src.tab);
  s->conns[dead_ci].keylen = 0;
  for (size_t i = 0; i <= s->pidmask; i++) {
    if (!s->pidtab[i]) continue;
    conn const *c = s->conns + s->pidtab[i] - 1;
    if (!c->keylen) continue;
    srv_src_add(&s->src, s6net_server_src_find(&s->src, c->key, c->keylen), c->key, c->keylen);
    n++;
  }
  s->nlive = n;
}

/* The loop waits in steps of 20 ms and takes the lock over from a holder
 * that died in it (a SIGKILL from outside): nobody else would ever
 * release it. */
static void lock_take(s6net_server *s, uint32_t me, long dead_ci)
{
  uint32_t *w = &s->lock, v = 0;
  if (__atomic_compare_exchange_n(w, &v, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
  for (;;) {
    v = __atomic_load_n(w, __ATOMIC_RELAXED);
    if (!v) {
      if (__atomic_compare_exchange_n(w, &v, me | LOCK_WAITERS, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
      continue;
    }
    if (!(v & LOCK_WAITERS)) {
      if (!__atomic_compare_exchange_n(w, &v, v | LOCK_WAITERS, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) continue;
      v |= LOCK_WAITERS;
    }
    if (me != SRV_LOOP) { futex_wait(w, v, -1); continue; }
    if (holder_dead(s, v, dead_ci)
     && __atomic_compare_exchange_n(w, &v, me | LOCK_WAITERS, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      recount(s, (v & ~LOCK_WAITERS) - 1);
      /* The process being reaped is out of the pid index already, so
       * not in the new counts: nothing left to take back for it. */
      if (dead_ci >= 0) s->conns[dead_ci].keylen = 0;
      return;
    }
    futex_wait(w, v, 20);
  }
}

static void lock_give(s6net_server *s)
{
  if (__atomic_exchange_n(&s->lock, 0, __ATOMIC_RELEASE) & LOCK_WAITERS)
    srv_raw6(SYS_futex, (long)&s->lock, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

void srv_lock(s6net_server *s, uint32_t me, long dead_ci)
{
  if (s->want) lock_take(s, me, dead_ci);
}

void srv_unlock(s6net_server *s)
{
  if (s->want) lock_give(s);
}

/* ---- an acceptor ---- */

static void acceptor_wake(s6net_server *s)
{
  uint64_t one = 1;
  srv_raw3(SYS_write, s->evfd, (long)&one, sizeof one);
}

void srv_child_say(char const *kind, char const *msg)
{
  char line[600];
  size_t n = s6net_diag_line(line, sizeof line, kind, "%s", msg);
  srv_raw3(SYS_write, 2, (long)line, (long)n);
}

/* 1 to accept again, 0 to exit (the loop is told why). */
static int accept_failed(s6net_server *s, unsigned int ci, int e)
{
  if (e == EAGAIN) {
    /* Somebody made the listener non-blocking: wait for a client. */
    struct pollfd pf = { .fd = s->cfg.fd, .events = POLLIN };
    srv_raw6(SYS_ppoll, (long)&pf, 1, 0, 0, 0, 0);
    return 1;
  }
  switch (srv_accept_error(e)) {
    case ACCEPT_RETRY:
      return 1;
    case ACCEPT_BACKOFF: {
      struct timespec ts = { .tv_sec = 0, .tv_nsec = PAUSE_MS * 1000000L };
      if (s->cfg.verbosity >= 1) { srv_slot_args(s, ci)->warn = e; acceptor_wake(s); }
      srv_raw3(SYS_nanosleep, (long)&ts, 0, 0);
      return 1;
    }
    default:
      srv_slot_args(s, ci)->fatal = e;
      acceptor_wake(s);
      return 0;
  }
}

/* Signals sent to an idle acceptor (a kill by hand, a process-group
 * kill, a terminal's SIGHUP or SIGINT) were for the server's own process,
 * which holds them blocked like the loop: left pending, they would be
 * delivered to the connection's program at its exec and end it. Dropped
 * here, bounded (each pass takes at least one). */
static void drop_pending(void)
{
  sigset_t set;
  struct timespec zero = { 0, 0 };
  sigemptyset(&set);
  if (srv_raw3(SYS_rt_sigpending, (long)&set, _NSIG / 8, 0) < 0 || sigisemptyset(&set)) return;
  for (int i = 0; i < 64; i++)
    if (srv_raw6(SYS_rt_sigtimedwait, (long)&set, 0, (long)&zero, _NSIG / 8, 0, 0) < 0) break;
}

/* accept, admit, set up the environment, exec: the steps of the loop's
 * handle_conn (loop.c), in the acceptor's own process. */
static int acceptor_main(void *varg)
{
  childarg *c = varg;
  s6net_server *s = c->s;
  unsigned int ci = c->ci, live = 0;
  s6net_server_peer p;
  long count;
  /* An acceptor outliving the loop would go on serving unchecked. */
  srv_raw3(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0);
  if (srv_raw3(SYS_getppid, 0, 0, 0) != s->self) srv_raw3(SYS_exit, 0, 0, 0);
  if (s->cfg.acceptor_name) srv_raw3(SYS_prctl, PR_SET_NAME, (long)s->cfg.acceptor_name, 0);
  for (;;) {
    p.salen = sizeof p.sa;
    long fd = srv_raw6(SYS_accept4, s->cfg.fd, (long)&p.sa, (long)&p.salen, SOCK_CLOEXEC, 0, 0);
    if (fd < 0) {
      if (accept_failed(s, ci, (int)-fd)) continue;
      srv_raw3(SYS_exit, 0, 0, 0);
    }
    p.fd = (int)fd;
    count = srv_admit(s, &p, ci, ci + 1, &live);
    if (count >= 0) {
      acceptor_wake(s);  /* taken: the loop starts the next acceptor */
      s6net_server_env e;
      srv_env_start(&e, s, srv_env_room(s, ci));
      if (s->a->env(s->ctx, &e, &p, (unsigned int)count) >= 0) {
        srv_raw3(SYS_prctl, PR_SET_PDEATHSIG, 0, 0);
        drop_pending();
        srv_slot_prepare(s, ci, p.fd, &e);
        if (s->cfg.verbosity >= 2) srv_started(s, &p, (pid_t)srv_raw3(SYS_getpid, 0, 0, 0), live, count, 1);
        srv_child_exec(c);
      }
      srv_unadmit(s, ci, ci + 1);
      srv_refuse(s, &p, "unable to set up the environment", 1);
      /* The loop was told this one was taken: it has started another. */
      srv_raw3(SYS_close, p.fd, 0, 0);
      srv_raw3(SYS_exit, 0, 0, 0);
    }
    srv_raw3(SYS_close, p.fd, 0, 0);
  }
}

/* ---- the loop's side ---- */

/* Whether the process in slot ci may still hold the listener: an
 * acceptor, or a child that has not reached srv_child_exec's close, and
 * has not exited (a zombie has let go of its fds). */
static int holds_listener(s6net_server *s, unsigned int ci)
{
  conn const *c = s->conns + ci;
  siginfo_t si;
  if (__atomic_load_n(&c->role, __ATOMIC_RELAXED) != ROLE_IDLE
   && __atomic_load_n(&srv_slot_args(s, ci)->dropped, __ATOMIC_ACQUIRE)) return 0;
  si.si_pid = 0;
  if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) return 0;
  return si.si_pid != c->pid;
}

/* Before the loop exits: wait until no process of ours holds the
 * listener, so that once the server is gone, so is the socket, and a
 * client is refused rather than queued for nobody. Idle acceptors are
 * killed; the others are a clone away from srv_child_exec. Bounded by
 * RELEASE_MS, in case a process is stuck in the kernel. */
static void release_listener(s6net_server *s)
{
  int64_t deadline = s6net_now_ms() + RELEASE_MS;
  for (size_t i = 0; i <= s->pidmask; i++) {
    if (!s->pidtab[i]) continue;
    conn const *c = s->conns + s->pidtab[i] - 1;
    if (__atomic_load_n(&c->role, __ATOMIC_RELAXED) == ROLE_IDLE) kill(c->pid, SIGKILL);
  }
  for (size_t i = 0; i <= s->pidmask; i++) {
    if (!s->pidtab[i]) continue;
    while (holds_listener(s, s->pidtab[i] - 1)) {
      struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000 };
      if (s6net_now_ms() >= deadline) {
        if (s->cfg.verbosity >= 1)
          s6net_warn("exiting while pid %ld still holds the listener", (long)s->conns[s->pidtab[i] - 1].pid);
        return;
      }
      nanosleep(&ts, 0);
    }
  }
}

void srv_replenish(s6net_server *s)
{
  while (s->nidle < s->want && s->nproc < s->cfg.maxconn && !s->pause_until) {
    unsigned int ci = srv_slot_get(s);
    childarg *c = srv_slot_args(s, ci);
    /* Before clone: the acceptor may admit a connection before we run again. */
    s->conns[ci].keylen = 0;
    s->conns[ci].role = ROLE_IDLE;
    c->s = s;
    c->ci = ci;
    c->err = c->warn = c->fatal = c->dropped = 0;
    pid_t pid = clone(acceptor_main, c, CLONE_VM | SIGCHLD, c);
    if (pid < 0) {
      /* Retried every PAUSE_MS (the process limit, memory). Said once
       * each time no acceptor is left idle, clients then waiting in the
       * backlog; with one idle, the server still serves. */
      s->conns[ci].role = ROLE_CONN;
      if (!s->nidle) {
        if (s->cfg.verbosity >= 1 && !s->clonefail) s6net_warnsys("unable to start an acceptor");
        s->clonefail = 1;
      }
      s->pause_until = s6net_now_ms() + PAUSE_MS;
      return;
    }
    s->clonefail = 0;
    srv_slot_take(s, ci, pid);
    s->idle[s->nidle++] = ci;
  }
}

/* Before the loop exits: once it holds the lock, every acceptor that
 * admitted a connection shows it; the others are killed (a client one of
 * them has just accepted sees its connection reset, as those in the
 * backlog do when the listener closes). Then wait for the listener to
 * be ours alone (release_listener), with or without acceptors. */
void srv_shutdown_acceptors(s6net_server *s)
{
  if (s->want) {
    /* First: a fatal error found by srv_sync_acceptors comes back here. */
    s->want = 0;
    lock_take(s, SRV_LOOP, -1);
    srv_sync_acceptors(s);
    for (unsigned int i = 0; i < s->nidle; i++) kill(s->conns[s->idle[i]].pid, SIGKILL);
    lock_give(s);
  }
  release_listener(s);
}

static void acceptor_fatal(s6net_server *s, int e)
{
  srv_shutdown_acceptors(s);
  errno = e;
  s6net_diesys(111, "unable to accept");
}

void srv_sync_acceptors(s6net_server *s)
{
  uint64_t v;
  if (read(s->evfd, &v, sizeof v) < 0) { /* nothing new, or already read */ }
  for (unsigned int i = 0; i < s->nidle;) {
    unsigned int ci = s->idle[i];
    childarg *c = srv_slot_args(s, ci);
    int w = __atomic_exchange_n(&c->warn, 0, __ATOMIC_RELAXED);
    if (w) { errno = w; s6net_warnsys("unable to accept"); }
    if (c->fatal) acceptor_fatal(s, c->fatal);
    if (__atomic_load_n(&s->conns[ci].role, __ATOMIC_RELAXED) != ROLE_IDLE) s->idle[i] = s->idle[--s->nidle];
    else i++;
  }
}

void srv_acceptor_gone(s6net_server *s, unsigned int ci)
{
  for (unsigned int i = 0; i < s->nidle; i++)
    if (s->idle[i] == ci) { s->idle[i] = s->idle[--s->nidle]; break; }
  if (s->conns[ci].role == ROLE_IDLE && srv_slot_args(s, ci)->fatal) acceptor_fatal(s, srv_slot_args(s, ci)->fatal);
}

#endif
