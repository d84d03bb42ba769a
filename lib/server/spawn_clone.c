/* Spawn backend: clone(CLONE_VM) (see spawn_backend.h for the choice).
 *
 * The child shares our memory, like a vfork child, so nothing is copied;
 * but unlike vfork we do not wait for its execve, so on two CPUs the next
 * accept overlaps this exec. The alternatives, as bench/tcpserver/run.sh
 * compared them when this backend was written: glibc's posix_spawn took
 * 1.6 to 2.6 times as long as vfork per spawn and reap (it maps and
 * unmaps a stack per child), vfork halved the concurrent rate of clone,
 * and fork() made each sequential connection about 1.7 times as long,
 * copying page tables.
 *
 * Since the child runs while we go on, everything it reads lives in its
 * connection slot until it is reaped: its stack, its argument block and
 * its environment. It makes system calls only (sys_linux.h).
 *
 * In this backend the server has no signal handler at all: the signals it
 * acts on (and SIGPIPE) stay blocked and are read from a signalfd, their
 * dispositions SIG_DFL. So nothing of ours can run in the child, and the
 * child only has to clear the inherited mask before its execve: four
 * system calls from clone to exec, none of them sigaction. */
#include "server/internal.h"

#ifdef USE_CLONE

#include "server/sys_linux.h"
#include "core/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

size_t srv_slot_layout(size_t nenv, size_t bufs, size_t *block)
{
  *block = (sizeof(childarg) + nenv * sizeof(char *) + bufs + 15) & ~(size_t)15;
  return (*block + CHILD_STACK + 4095) & ~(size_t)4095;
}

int srv_signals_init(s6net_server *s)
{
  /* Blocked and read from a signalfd; SIG_DFL, because an ignored
   * signal (a supervisor may have left one so) never reaches the
   * signalfd, and so that children start with default dispositions.
   * SIGPIPE is blocked rather than ignored: a write to a vanished
   * reader fails with EPIPE and the signal stays pending here, never
   * delivered, and a new process starts with nothing pending. */
  sigset_t set;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&set);
  for (size_t i = 0; i < SRV_NTRAPPED; i++) {
    sa.sa_flags = srv_trapped[i] == SIGCHLD ? SA_NOCLDSTOP : 0;
    if (sigaction(srv_trapped[i], &sa, 0) < 0) return -1;
    sigaddset(&set, srv_trapped[i]);
  }
  sa.sa_flags = 0;
  if (sigaction(SIGPIPE, &sa, 0) < 0) return -1;
  if (sigprocmask(SIG_BLOCK, &set, 0) < 0) return -1;
  s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (s->sigfd < 0) return -1;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  return sigprocmask(SIG_BLOCK, &set, 0);
}

/* The trapped signals stay blocked: nothing interrupts the wait. */
int srv_wait(s6net_server *s, struct pollfd *pfd, nfds_t n, int timeout)
{
  (void)s;
  int r;
  do r = poll(pfd, n, timeout);
  while (r < 0 && errno == EINTR);
  return r;
}

int srv_signals_read(s6net_server *s, int *sig, unsigned int max)
{
  struct signalfd_siginfo buf[8];
  if (max > sizeof buf / sizeof *buf) max = sizeof buf / sizeof *buf;
  ssize_t r;
  do r = read(s->sigfd, buf, max * sizeof *buf);
  while (r < 0 && errno == EINTR);
  if (r < 0) return errno == EAGAIN ? 0 : -1;
  r /= (ssize_t)sizeof *buf;
  for (ssize_t i = 0; i < r; i++) sig[i] = (int)buf[i].ssi_signo;
  return (int)r;
}

int s6net_server_sockname(int fd, struct sockaddr *sa, socklen_t *len)
{
  return (int)srv_raw3(SYS_getsockname, fd, (long)sa, (long)len);
}

static long child_execve(char const *path, char const *const *argv, char const *const *envp)
{
  return srv_raw3(SYS_execve, (long)path, (long)argv, (long)envp);
}

/* s6net_exec_search (core/exec.h) with raw system calls: the same
 * candidates, in the PATH of the child's environment. Not inlined: its
 * buffer (and the stack probes that come with it) stays off the stack of
 * the children that do not search PATH. */
__attribute__((noinline)) static long child_execvp(char const *name, char const *const *argv, char const *const *envp)
{
  char buf[PATH_MAX];
  char const *path = s6net_path_get(envp);
  long e = -ENOENT, r;
  int n;
  while ((n = s6net_path_next(&path, name, buf, sizeof buf))) {
    if (n < 0) continue;
    r = child_execve(buf, argv, envp);
    if (r != -ENOENT && r != -ENOTDIR) e = r;
  }
  return e;
}

/* The connection on fd: onto 0 and 1, an empty mask, exec. fd is
 * close-on-exec; if it is 0 or 1 already, that flag is cleared instead.
 * The listener (fd 0, replaced here, or close-on-exec elsewhere) is let
 * go of before the exec, and the loop is told: a server on its way out
 * waits for that, so no child keeps the listener past the server's exit. */
_Noreturn void srv_child_exec(childarg *c)
{
  int fd = c->fd;
  long r = fd == 0 ? srv_raw3(SYS_fcntl, 0, F_SETFD, 0) : srv_raw3(SYS_dup3, fd, 0, 0);
  if (r >= 0) r = fd == 1 ? srv_raw3(SYS_fcntl, 1, F_SETFD, 0) : srv_raw3(SYS_dup3, fd, 1, 0);
  if (c->lfd > 1 && c->lfd != fd) srv_raw3(SYS_close, c->lfd, 0, 0);
  __atomic_store_n(&c->dropped, 1, __ATOMIC_RELEASE);
  if (r >= 0) {
    sigset_t empty;
    sigemptyset(&empty);
    srv_raw6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&empty, 0, _NSIG / 8, 0, 0);
    r = c->pathsearch ? child_execvp(c->argv[0], c->argv, c->envp) : child_execve(c->path, c->argv, c->envp);
  }
  c->err = r < 0 ? (int)-r : EIO;
  srv_raw3(SYS_exit, 127, 0, 0);
  for (;;) ;
}

static int child_main(void *varg)
{
  srv_child_exec(varg);
}

/* The arguments at the very end of slot ci, the stack growing down right
 * below them: one child usually touches a single page of its slot, so the
 * slots used at the busiest moment cost one page each. */
childarg *srv_slot_args(s6net_server const *s, unsigned int ci)
{
  return (childarg *)(s->area + (size_t)(ci + 1) * s->slotsize - s->slotblock);
}

static char const **slot_envp(s6net_server const *s, unsigned int ci)
{
  return (char const **)((unsigned char *)srv_slot_args(s, ci) + sizeof(childarg));
}

char *srv_env_room(s6net_server const *s, unsigned int ci)
{
  return (char *)(slot_envp(s, ci) + s->nbase + s->a->nvars + 1);
}

childarg *srv_slot_prepare(s6net_server *s, unsigned int ci, int fd, s6net_server_env const *e)
{
  childarg *c = srv_slot_args(s, ci);
  char const **envp = slot_envp(s, ci);
  srv_fill_env(s, e, envp);
  c->path = s->path;
  c->argv = s->cfg.argv;
  c->envp = envp;
  c->fd = fd;
  c->lfd = s->cfg.fd;
  c->pathsearch = s->pathsearch;
  c->err = 0;
  c->dropped = 0;
  return c;
}

pid_t srv_spawn(s6net_server *s, int fd, unsigned int ci, s6net_server_env const *e)
{
  childarg *c = srv_slot_prepare(s, ci, fd, e);
  return clone(child_main, c, CLONE_VM | SIGCHLD, c);
}

int srv_spawn_error(s6net_server const *s, unsigned int ci)
{
  return srv_slot_args(s, ci)->err;
}

#endif
