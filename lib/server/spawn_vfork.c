/* Spawn backend: vfork (see spawn_backend.h for the choice), wherever
 * the clone backend is not compiled: other systems and architectures,
 * sanitizer builds, S6NET_SERVER_NO_CLONE.
 *
 * The loop waits until the child has made its exec (or failed it: then
 * the spawn fails here, and no exit status is left to report at reap).
 * Signals come through the self-pipe, its handlers being the only code
 * of ours a signal can run, and only inside srv_wait; the child sets
 * them back to SIG_DFL before it unblocks anything. */
#include "server/internal.h"

#ifndef USE_CLONE

#include "core/exec.h"
#include "core/sig.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

size_t srv_slot_layout(size_t nenv, size_t bufs, size_t *block)
{
  (void)nenv; (void)bufs;
  *block = 0;
  return 0;
}

int srv_signals_init(s6net_server *s)
{
  s->sigfd = s6net_selfpipe_init();
  if (s->sigfd < 0) return -1;
  for (size_t i = 0; i < SRV_NTRAPPED; i++)
    if (s6net_selfpipe_trap(srv_trapped[i]) < 0) return -1;
  /* The trapped signals are blocked except inside srv_wait, which waits
   * with the mask we were started with minus them (a supervisor that
   * left SIGTERM blocked must not make us unstoppable). With the
   * handlers free to run anywhere, a storm of signals kept the loop in
   * them and away from accept (tests/stress, signal storm). */
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < SRV_NTRAPPED; i++) sigaddset(&set, srv_trapped[i]);
  if (sigprocmask(SIG_BLOCK, &set, &s->waitmask) < 0) return -1;
  for (size_t i = 0; i < SRV_NTRAPPED; i++) sigdelset(&s->waitmask, srv_trapped[i]);
  /* A reader that went away (readiness pipe, log pipe) is an error to
   * report or a line lost, not a silent death. */
  return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0;
}

int srv_wait(s6net_server *s, struct pollfd *pfd, nfds_t n, int timeout)
{
  struct timespec ts, *tp = 0;
  if (timeout >= 0) {
    ts.tv_sec = timeout / 1000;
    ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
    tp = &ts;
  }
  int r = ppoll(pfd, n, tp, &s->waitmask);
  /* Interrupted: the handler wrote to the self-pipe. Look once more,
   * without waiting and with the signals blocked, so that the caller
   * sees the self-pipe and whatever else is ready. */
  if (r < 0 && errno == EINTR) {
    do r = poll(pfd, n, 0);
    while (r < 0 && errno == EINTR);
  }
  return r;
}

int srv_signals_read(s6net_server *s, int *sig, unsigned int max)
{
  unsigned char buf[64];
  if (max > sizeof buf) max = sizeof buf;
  ssize_t r;
  do r = read(s->sigfd, buf, max);
  while (r < 0 && errno == EINTR);
  if (r < 0) return errno == EAGAIN ? 0 : -1;
  for (ssize_t i = 0; i < r; i++) sig[i] = buf[i];
  return (int)r;
}

/* No acceptors here: errno may tell the caller why. */
int s6net_server_sockname(int fd, struct sockaddr *sa, socklen_t *len)
{
  return getsockname(fd, sa, len) < 0 ? -errno : 0;
}

char *srv_env_room(s6net_server const *s, unsigned int ci)
{
  (void)ci;
  return s->scratch;
}

static volatile int child_errno;

pid_t srv_spawn(s6net_server *s, int fd, unsigned int ci, s6net_server_env const *e)
{
  sigset_t all, old;
  pid_t pid;
  char const *const *argv = s->cfg.argv;
  char const *const *envp = s->envp;
  char const *path = s->path;
  (void)ci;
  srv_fill_env(s, e, s->envp);
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  child_errno = 0;
  pid = vfork();
  if (!pid) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < SRV_NTRAPPED; i++) sigaction(srv_trapped[i], &sa, 0);
    sigaction(SIGPIPE, &sa, 0);   /* ignored by the server only */
    if ((fd == 0 || dup2(fd, 0) == 0) && (fd == 1 || dup2(fd, 1) == 1)) {
      sigset_t empty;
      sigemptyset(&empty);
      sigprocmask(SIG_SETMASK, &empty, 0);
      if (s->pathsearch) s6net_exec_search(argv[0], argv, envp);
      else execve(path, (char *const *)argv, (char *const *)envp);
    }
    child_errno = errno ? errno : EIO;
    _exit(127);
  }
  int err = errno;
  sigprocmask(SIG_SETMASK, &old, 0);
  if (pid < 0) { errno = err; return -1; }
  if (child_errno) {
    err = child_errno;
    while (waitpid(pid, 0, 0) < 0 && errno == EINTR) ;
    errno = err;
    return -1;
  }
  return pid;
}

int srv_spawn_error(s6net_server const *s, unsigned int ci)
{
  (void)s; (void)ci;
  return 0;
}

#endif
