/* How the server starts a connection's child: one backend per build,
 * chosen here and nowhere else.
 *
 *   spawn_clone.c (USE_CLONE): Linux on x86_64 and aarch64. The child is
 *     started with clone(CLONE_VM) on a stack in its connection slot and
 *     makes raw system calls only (sys_linux.h); the loop goes on at once.
 *     Signals are read from a signalfd. The pre-forked acceptors
 *     (acceptors.c) exist in this backend only.
 *   spawn_vfork.c (everywhere else, and under AddressSanitizer or with
 *     S6NET_SERVER_NO_CLONE): vfork, the loop waiting for the exec.
 *     Signals come through the self-pipe.
 *
 * Both give the child the connection on fds 0 and 1, default
 * dispositions for the signals the loop traps and for SIGPIPE, an empty
 * signal mask, and the program found by the rule of core/exec.h. */
#ifndef S6NET_SERVER_SPAWN_BACKEND_H
#define S6NET_SERVER_SPAWN_BACKEND_H

#include "server/server.h"

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__)) \
 && !defined(__SANITIZE_ADDRESS__) && !defined(S6NET_SERVER_NO_CLONE)
#define USE_CLONE 1
#endif

/* Bytes of a connection slot in the server's area (its child's stack,
 * arguments and environment), the arguments' block at its end in *block;
 * 0 if the backend keeps nothing per slot. nenv: entries of a child's
 * envp, NULL included; bufs: bytes of its variables' strings. */
size_t srv_slot_layout(size_t nenv, size_t bufs, size_t *block);

/* Trap the signals of srv_trapped (and keep SIGPIPE from killing the
 * server) so that srv_signals_read sees them; s->sigfd is the fd to poll.
 * -1 with errno on failure. */
int srv_signals_init(s6net_server *s);

/* Wait, as poll(2), until one of pfd[0..n) is ready or timeout ms have
 * passed; pfd[0] is s->sigfd. The loop's only blocking wait, and the only
 * place where a trapped signal can interrupt the server: a signal storm
 * then costs one wake-up per wait and never keeps the loop from the
 * rest of its work. -1 with errno on failure (never EINTR). */
int srv_wait(s6net_server *s, struct pollfd *pfd, nfds_t n, int timeout);

/* The signals caught since the last call, at most max of them, into sig:
 * how many, 0 if none, -1 with errno on a read error (not EINTR). */
int srv_signals_read(s6net_server *s, int *sig, unsigned int max);

/* Where the environment strings of slot ci's next child are built. */
char *srv_env_room(s6net_server const *s, unsigned int ci);

/* Start the child of connection fd in slot ci, with the environment e
 * (its strings in srv_env_room). The pid, or -1 with errno. */
pid_t srv_spawn(s6net_server *s, int fd, unsigned int ci, s6net_server_env const *e);

/* Slot ci's child failed to exec with this errno (0 if not, or not
 * known): asked at reap. */
int srv_spawn_error(s6net_server const *s, unsigned int ci);

#ifdef USE_CLONE

/* What the clone backend shares with the acceptors. */

/* A process's arguments, at the very end of its slot. */
typedef struct {
  s6net_server *s;
  unsigned int ci;
  char const *path;
  char const *const *argv;
  char const *const *envp;
  int fd;
  int lfd;                /* the listener, closed before the exec */
  int pathsearch;
  volatile int dropped;   /* the child no longer holds the listener (see acceptors.c) */
  volatile int err;       /* the child's execve error, read at reap */
  int warn;               /* an acceptor's accept() errno: transient, to log */
  volatile int fatal;     /* ... or fatal: the loop dies with it */
} childarg;

childarg *srv_slot_args(s6net_server const *s, unsigned int ci);

/* Slot ci's childarg with its environment filled in for connection fd
 * (e's strings already in the slot: srv_env_start with srv_env_room). */
childarg *srv_slot_prepare(s6net_server *s, unsigned int ci, int fd, s6net_server_env const *e);

/* In the child: the connection on fds 0 and 1, the listener let go of,
 * an empty mask, exec. Leaves its error in c->err and exits 127. */
_Noreturn void srv_child_exec(childarg *c);

#endif

#endif
