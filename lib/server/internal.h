/* The server's state and the functions its modules share. Not installed.
 *
 *   loop.c          the path of a connection, accept to reap (start there)
 *   setup.c         s6net_server_new: one mapping for everything, the
 *                   base environment, the program looked up once
 *   tables.c        source counts, rate buckets, the pid index
 *   spawn_backend.h the one interface to the two ways to start a child,
 *                   spawn_clone.c and spawn_vfork.c
 *   acceptors.c     the pre-forked acceptors and their futex lock
 *   listener.c      the listening socket and readiness for service
 *                   managers (socket activation, NOTIFY_SOCKET) */
#ifndef S6NET_SERVER_INTERNAL_H
#define S6NET_SERVER_INTERNAL_H

#include "server/server.h"
#include "server/spawn_backend.h"

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CHILD_STACK 32768 /* an acceptor formats a log line and the environment */
#define PAUSE_MS 100      /* back-off after EMFILE and friends */
#define WARM_SLOTS 16     /* free slots whose pages are kept; deeper ones are given back */

/* Acceptors kept blocked in accept() at most (cfg.acceptors is clamped
 * to it): each is a process with a slot, and each connection wakes one
 * acceptor and then the loop, so beyond the number of CPUs that can run
 * an acceptor and the loop at once more of them only wait. */
#define MAX_ACCEPTORS 8

enum { ROLE_CONN, ROLE_IDLE };

typedef struct {
  pid_t pid;
  /* The source key, not its table slot: removing another source's entry
   * moves colliding entries to other slots. keylen 0: no connection
   * counted (an acceptor that has not admitted one). */
  unsigned char key[S6NET_SERVER_KEYMAX];
  unsigned char keylen;
  unsigned char role;     /* with acceptors, the server's view of the process */
  unsigned char cold;     /* its pages were given back (see srv_slot_free) */
} conn;

typedef struct {
  char *buf;              /* "NAME=value" */
  size_t namelen;         /* including the '=' */
  unsigned char set;
} envslot;

struct s6net_server {
  s6net_server_config cfg;
  s6net_server_adapter const *a;
  void *ctx;
  int sigfd;
  sigset_t waitmask;      /* vfork backend: the mask while waiting in srv_wait */
  unsigned int nproc;     /* processes holding a slot (connections and acceptors) */
  unsigned int nlive;     /* connections counted in src (under lock with acceptors) */
  conn *conns;            /* maxconn entries */
  unsigned int *freelist; /* conn indices freed by reap, a stack */
  unsigned int nfree;
  unsigned int nfresh;    /* indices below this have been used once */
  unsigned int *pidtab;   /* pid -> conn index + 1, open addressing */
  size_t pidmask;
  s6net_server_srctab src;
  s6net_server_ratetab rate;
  char const **envp;      /* base + slots + NULL */
  size_t nbase;
  envslot *slots;         /* the values given with s6net_server_setenv */
  char *scratch;          /* without a slot area: this connection's "NAME=value" strings */
  size_t bufs;            /* room for every variable once, at its longest */
  char path[PATH_MAX];    /* the program, found at start */
  int pathsearch;         /* not found at start: each child searches PATH */
  int64_t pause_until;
  unsigned char *area;    /* maxconn slots of slotsize bytes (srv_slot_layout), or none */
  size_t slotsize;
  size_t slotblock;       /* the child's arguments, at the end of its slot */
  /* Acceptors (see acceptors.c). */
  unsigned int want;      /* idle acceptors to keep; 0 = the loop accepts */
  unsigned int nidle;     /* entries of idle */
  unsigned int idle[MAX_ACCEPTORS]; /* slots of the acceptors last seen idle */
  int evfd;               /* eventfd: an acceptor has news for the loop */
  int clonefail;          /* the last attempt to start an acceptor failed */
  pid_t self;
  uint32_t lock;          /* futex: 0 free, else owner (slot + 1) | LOCK_WAITERS */
  char const *notify;     /* NOTIFY_SOCKET of cfg.envp, or NULL */
};

struct s6net_server_env {
  s6net_server const *s;
  unsigned char set[S6NET_SERVER_MAXVARS];   /* 0 default, 1 str[i], 2 absent */
  char const *str[S6NET_SERVER_MAXVARS];     /* "NAME=value" */
  char *buf;              /* where the strings go: room for every variable once */
  size_t used, cap;
};

/* The signals the loop acts on (loop.c). */
extern int const srv_trapped[];
#define SRV_NTRAPPED 5

/* ---- tables.c ---- */
void srv_pid_insert(s6net_server *s, pid_t pid, unsigned int ci);
/* Remove pid from the index; returns its conn index or -1 if unknown. */
long srv_pid_remove(s6net_server *s, pid_t pid);
/* One more connection from key, whose entry is (or goes) in slot i of
 * the source table (s6net_server_src_find). */
void srv_src_add(s6net_server_srctab *t, size_t i, unsigned char const *key, unsigned int keylen);
/* Take back the connection counted in c, if any (with acceptors, under
 * the lock). 1 if there was one. */
int srv_uncount(s6net_server *s, conn *c);

/* ---- loop.c: the steps the acceptors take too ---- */
long srv_admit(s6net_server *s, s6net_server_peer *p, unsigned int ci, uint32_t me, unsigned int *live);
void srv_unadmit(s6net_server *s, unsigned int ci, uint32_t me);
void srv_refuse(s6net_server *s, s6net_server_peer const *p, char const *why, int inchild);
void srv_started(s6net_server *s, s6net_server_peer const *p, pid_t pid, unsigned int live, long count, int inchild);
void srv_env_start(s6net_server_env *e, s6net_server const *s, char *buf);
void srv_fill_env(s6net_server const *s, s6net_server_env const *e, char const **envp);
unsigned int srv_slot_get(s6net_server const *s);
void srv_slot_take(s6net_server *s, unsigned int ci, pid_t pid);

enum { ACCEPT_RETRY, ACCEPT_BACKOFF, ACCEPT_FATAL };
int srv_accept_error(int e);

/* ---- listener.c ---- */
void srv_notify_ready(char const *path);

/* ---- acceptors.c (clone backend only; no-ops elsewhere) ----
 * The lock guards the source and rate tables and nlive while acceptors
 * run (s->want > 0); without them srv_lock and srv_unlock do nothing.
 * me: an acceptor's slot + 1, or SRV_LOOP for the loop; dead_ci: the
 * slot the loop is reaping, or -1. */
#define SRV_LOOP 0x7fffffffu

#ifdef USE_CLONE
int srv_acceptors_init(s6net_server *s);
void srv_lock(s6net_server *s, uint32_t me, long dead_ci);
void srv_unlock(s6net_server *s);
void srv_replenish(s6net_server *s);
void srv_sync_acceptors(s6net_server *s);
void srv_shutdown_acceptors(s6net_server *s);
void srv_acceptor_gone(s6net_server *s, unsigned int ci);
/* A log line written by an acceptor, which may not use stdio. */
void srv_child_say(char const *kind, char const *msg);
#else
static inline int srv_acceptors_init(s6net_server *s) { s->want = 0; return 0; }
static inline void srv_lock(s6net_server *s, uint32_t me, long dead_ci) { (void)s; (void)me; (void)dead_ci; }
static inline void srv_unlock(s6net_server *s) { (void)s; }
static inline void srv_replenish(s6net_server *s) { (void)s; }
static inline void srv_sync_acceptors(s6net_server *s) { (void)s; }
/* A vfork child has made its exec (and let go of the listener: fd 0 is
 * replaced, the other fds are close-on-exec) by the time the loop goes on. */
static inline void srv_shutdown_acceptors(s6net_server *s) { (void)s; }
static inline void srv_acceptor_gone(s6net_server *s, unsigned int ci) { (void)s; (void)ci; }
static inline void srv_child_say(char const *kind, char const *msg) { (void)kind; (void)msg; }
#endif

#endif
