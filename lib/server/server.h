/* The accept loop of a UCSPI super-server, generic over the address family.
 *
 * s6-tcpserverd (TCP) and s6-ipcserverd (UNIX domain) share this loop: a
 * listening socket, a signalfd (or self-pipe) for signals; each accepted
 * connection is attributed to a "source" (an IP address or network
 * prefix, a uid, ...) chosen by an adapter; the global limit (-c) and the
 * per-source limit (-C) are enforced; a child is spawned with the socket on
 * fds 0 and 1 and an environment the adapter fills; children are reaped as
 * soon as SIGCHLD arrives.
 *
 * Nothing is allocated after s6net_server_new(): the connection table, the
 * pid index and the source counters are sized from maxconn at start (one
 * anonymous mapping whose pages appear as they are used), and each child's
 * environment is built in its connection slot. Free slots deeper than 16
 * in the free list give their pages back (madvise), so memory comes back
 * down after a burst.
 *
 * Children (Linux, x86_64 and aarch64): clone(CLONE_VM) from a stack
 * reserved in the connection's slot, so nothing is copied and the loop
 * goes on while the child executes; it gets the socket on fds 0 and 1,
 * default dispositions for the signals the loop traps, an empty signal
 * mask, and only the fds that were open without close-on-exec when the
 * server started (the loop's own fds are all close-on-exec). Elsewhere, or
 * under AddressSanitizer, vfork (spawn_backend.h). An execve failure is
 * reported when the child is reaped ("unable to spawn PROG: ...").
 *
 * Acceptors (cfg.acceptors > 0, same builds as clone): the loop does not
 * accept; it keeps that many processes blocked in accept(), each of which
 * admits its connection and becomes the child (see acceptors.c). Each
 * holds a connection slot; idle ones are not sent the SIGTERM of
 * SIGHUP/SIGQUIT and are killed when the loop exits.
 *
 * The files: loop.c follows one connection from accept to reap and names
 * the module of each step (internal.h lists them all).
 *
 * Limits.
 *   - At maxconn live children (acceptors included) the listening socket
 *     is no longer accepted from: extra clients wait in the kernel's
 *     backlog and are served when a child exits.
 *   - A connection whose source already has localmaxconn live children is
 *     accepted and closed at once (a warning at verbosity >= 1).
 *   - Optional rate limit: at most `rate` new connections per second per
 *     source (token bucket, bursts up to `rate`); over it, accepted and
 *     closed like localmaxconn.
 *
 * Signals (as the s6-tcpserverd and s6-ipcserverd pages document):
 *   SIGTERM exit 0; SIGHUP send SIGTERM then SIGCONT to every child;
 *   SIGQUIT the same, then exit 0; SIGABRT send SIGKILL to every child, then
 *   exit 0. SIGCHLD reaps.
 *
 * Log lines (stderr, through core/diag):
 *   verbosity >= 1: refused connections (over localmaxconn or rate, adapter
 *     refusals, spawn failures) as warnings;
 *   verbosity >= 2: "pid P from PEER connections N/MAX source K/LOCALMAX"
 *     for each child started, and "end pid P exit E|signal S connections
 *     N/MAX" for each child reaped. PEER is whatever adapter->fmt writes.
 *
 * Usage:
 *   s6net_server *s = s6net_server_new(&cfg, &adapter, ctx);
 *   s6net_server_setenv(s, i, "constant", 8);    // optional, once
 *   return s6net_server_run(s);                  // never returns on success
 */
#ifndef S6NET_SERVER_SERVER_H
#define S6NET_SERVER_SERVER_H

#include "core/addr.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#define S6NET_SERVER_MAXCONN 16384 /* upper bound for maxconn */
#define S6NET_SERVER_KEYMAX 24     /* bytes of a source key */
#define S6NET_SERVER_VALMAX 256    /* bytes of one environment value */
#define S6NET_SERVER_MAXVARS 8     /* variables an adapter sets per connection */

/* The number of pre-forked acceptors s6-tcpserverd keeps (fixed, as its
 * manual page says). One idle acceptor serves a sequential client; the
 * second is there while the loop starts the replacement of the one that
 * just took a connection, so that two clients arriving together both
 * find an acceptor blocked in accept(). More would cost each a process
 * and one of the maxconn places while idle, and every connection already
 * wakes an acceptor and then the loop: on a small machine extra ones only
 * wait for a CPU. */
#define S6NET_SERVER_ACCEPTORS 2

/* One accepted connection, as the adapter sees it. */
typedef struct {
  int fd;                        /* the connection (close-on-exec in the server) */
  struct sockaddr_storage sa;    /* peer address returned by accept() */
  socklen_t salen;
  unsigned char key[S6NET_SERVER_KEYMAX]; /* source key, set by adapter->source */
  unsigned int keylen;           /* 1..S6NET_SERVER_KEYMAX */
  unsigned long long aux[4];     /* the adapter's own: what source() parsed, for env() and fmt() */
} s6net_server_peer;

typedef struct s6net_server s6net_server;

/* One connection's values of the adapter's variables, filled by
 * adapter->env with s6net_server_env_set; a variable it leaves alone
 * keeps the value given with s6net_server_setenv (or stays absent). The
 * values are written straight where the child's environment lives. */
typedef struct s6net_server_env s6net_server_env;

/* Give variable i this connection's value val[0..len), or (val NULL)
 * leave it out. -1 (ENAMETOOLONG) if len > S6NET_SERVER_VALMAX, (EINVAL)
 * if i is not a variable of the adapter, (ENOBUFS) once more than
 * S6NET_SERVER_VALMAX bytes per variable have been given. Touches errno
 * only on failure. */
int s6net_server_env_set(s6net_server_env *e, unsigned int i, char const *val, size_t len);

/* getsockname(2) made so that a pre-forked acceptor (see acceptors
 * below) may call it: returns 0 or -errno. In builds with acceptors it
 * never writes errno; elsewhere errno is also set on failure. */
int s6net_server_sockname(int fd, struct sockaddr *sa, socklen_t *len);

/* What the address family contributes. Callbacks are called in the order
 * source, env, fmt for one connection, and must keep what they parse in
 * the peer, not in ctx: with acceptors they run in several processes at
 * once that share our memory. Then they must also leave errno, stdio and
 * malloc alone (formatting into the given buffers is fine). */
typedef struct {
  /* Names of the variables the adapter sets per connection. Inherited
   * variables of these names are dropped from the children's environment;
   * a variable is present only while s6net_server_setenv gave it a value. */
  char const *const *vars;
  unsigned int nvars;
  /* Derive p->key / p->keylen (connections with equal keys count as one
   * source). Return 0, or -1 with errno set to refuse the connection. */
  int (*source)(void *ctx, s6net_server_peer *p);
  /* Set this connection's variables with s6net_server_env_set. connnum is
   * the number of live connections from the same source, this one
   * excluded (TCPCONNNUM is that; IPCCONNNUM is connnum + 1). Return 0,
   * or -1 with errno set to refuse the connection. */
  int (*env)(void *ctx, s6net_server_env *e, s6net_server_peer const *p, unsigned int connnum);
  /* Describe the peer for log lines ("127.0.0.1:1234", "uid 0 gid 0"):
   * NUL-terminated, at most len - 1 bytes. Only called once source()
   * has succeeded. */
  void (*fmt)(void *ctx, s6net_server_peer const *p, char *buf, size_t len);
} s6net_server_adapter;

typedef struct {
  int fd;                     /* listening socket; made non-blocking (blocking with acceptors) */
  unsigned int maxconn;       /* 1..S6NET_SERVER_MAXCONN */
  unsigned int localmaxconn;  /* 1..maxconn */
  unsigned int rate;          /* new connections per second per source; 0 = no limit */
  unsigned int verbosity;     /* 0 quiet, 1 warnings, 2 per-connection info */
  char const *ready;          /* if non-NULL: written to fd 1 before the loop,
                                 then fd 1 is pointed at /dev/null */
  char const *const *argv;    /* the program to spawn (argv[0] searched in the
                                 children's PATH once, at start: core/exec.h) */
  char const *const *envp;    /* base environment of the children */
  unsigned int acceptors;     /* pre-forked acceptors to keep (Linux, x86_64 and
                                 aarch64, no ASan), at most 8; 0 = the loop
                                 accepts. See S6NET_SERVER_ACCEPTORS. */
  char const *acceptor_name;  /* their process name (comm, up to 15 bytes) */
} s6net_server_config;

/* Allocate the tables, build the base environment, trap the signals.
 * NULL with errno set on failure (EINVAL for a bad config). */
s6net_server *s6net_server_new(s6net_server_config const *cfg, s6net_server_adapter const *a, void *ctx);

/* Give variable number i (index in adapter->vars) the value val[0..len)
 * for the next spawns; val NULL unsets it. Values persist until changed,
 * so constants can be set once before s6net_server_run. -1 (ENAMETOOLONG)
 * if len > S6NET_SERVER_VALMAX, (EINVAL) if i is out of range. */
int s6net_server_setenv(s6net_server *s, unsigned int i, char const *val, size_t len);

/* Run the accept loop. Returns the exit code when a signal asks to exit
 * (0); dies with 111 on an unrecoverable error. */
int s6net_server_run(s6net_server *s);
/* The listening socket of both super-servers, returned: fd 3 under
 * systemd socket activation (LISTEN_PID is our pid and LISTEN_FDS is 1;
 * any other count dies 100), made close-on-exec; else fd 0. It must be
 * a listening stream socket of domain (AF_UNIX, or AF_INET for IPv4 or
 * IPv6): die 100 if it is anything else, 111 if it cannot be asked.
 * LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are unset in every case, so
 * no child sees them. Call it before opening anything, so that a closed
 * fd 0 is not taken by one of our own fds.
 *
 * Readiness: when the children's environment (cfg.envp) has
 * NOTIFY_SOCKET, s6net_server_run sends "READY=1" there (systemd's
 * sd_notify; a path, or '@' for an abstract name) right after the -1
 * notification, and the variable is left out of the children's
 * environment. A failure to notify is a warning. */
int s6net_server_listener(int domain);

/* --- building blocks, exposed for unit tests --------------------------- */

/* Source counters: open addressing over a power-of-two table. */
typedef struct {
  unsigned char key[S6NET_SERVER_KEYMAX];
  unsigned char keylen;       /* 0 = empty slot */
  unsigned int count;
} s6net_server_srcent;

typedef struct {
  s6net_server_srcent *tab;
  size_t mask;
  unsigned int seed;
} s6net_server_srctab;

/* Slot of key, or of the empty slot where it would go. */
size_t s6net_server_src_find(s6net_server_srctab const *t, unsigned char const *key, unsigned int keylen);
/* Remove the entry in slot i, keeping every probe chain intact. */
void s6net_server_src_delete(s6net_server_srctab *t, size_t i);

/* Per-source token buckets for the rate limit. Entries are never deleted:
 * a bucket idle for a second is full again, so its slot can be reused. */
typedef struct {
  unsigned char key[S6NET_SERVER_KEYMAX];
  unsigned char keylen;
  long long last;             /* ms of the last refill */
  unsigned int tokens;        /* thousandths of a connection */
} s6net_server_rateent;

typedef struct {
  s6net_server_rateent *tab;
  size_t mask;
  unsigned int seed;
  unsigned int rate;
} s6net_server_ratetab;

/* 1 if a new connection from key is allowed at time now (ms), 0 if over
 * the limit. A full table (an attack from very many sources within one
 * second) admits the connection rather than refusing every new source. */
int s6net_server_rate_take(s6net_server_ratetab *t, unsigned char const *key, unsigned int keylen, long long now);

/* Source key of an IP address for the TCP-like adapters: family byte,
 * then the address masked to bits4 (IPv4) or bits6 (IPv6) bits, so that
 * with bits6 = 64 a whole IPv6 /64 is one source. Returns the key length
 * (5 or 17); key needs S6NET_SERVER_KEYMAX bytes. */
unsigned int s6net_server_ipkey(unsigned char *key, s6net_ip46 const *ip, unsigned int bits4, unsigned int bits6);

unsigned int s6net_server_hash(unsigned int seed, unsigned char const *key, unsigned int len);

/* Socket activation as LISTEN_PID and LISTEN_FDS (either may be NULL)
 * tell it to process self: -1 not for us (unset, not a pid, another
 * pid), -2 for us but LISTEN_FDS is not a number, else the number of
 * sockets passed from fd 3 on. */
int s6net_server_listen_fds(char const *pid, char const *fds, pid_t self);

/* sa for the NOTIFY_SOCKET value path: "/a/path", or "@name" for the
 * abstract name "\0name". Returns the length to give sendto(), or 0 for
 * anything else (relative, empty, "@" alone, too long). */
socklen_t s6net_server_notify_addr(struct sockaddr_un *sa, char const *path);

#endif
