#include "server/server.h"

#include "core/deadline.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/sig.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The clone child needs raw system calls (see child_main): x86_64 and
 * aarch64 have them below; elsewhere vfork serves. */
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__)) \
 && !defined(__SANITIZE_ADDRESS__) && !defined(S6NET_SERVER_NO_CLONE)
#define USE_CLONE 1
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#endif

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

#define PATHMAX 4096
#define CHILD_STACK 32768 /* an acceptor formats a log line and the environment */
#define ACCEPT_BURST 16   /* accepts per wakeup: keeps signals serviced under a flood */
#define PAUSE_MS 100      /* back-off after EMFILE and friends */
#define RELEASE_MS 5000   /* longest wait at exit for our processes to let go of the listener */
#define MAX_ACCEPTORS 8
#define WARM_SLOTS 16     /* free slots whose pages are kept; deeper ones are given back */

enum { ROLE_CONN, ROLE_IDLE };

typedef struct {
  pid_t pid;
  /* The source key, not its table slot: removing another source's entry
   * moves colliding entries to other slots. keylen 0: no connection
   * counted (an acceptor that has not admitted one). */
  unsigned char key[S6NET_SERVER_KEYMAX];
  unsigned char keylen;
  unsigned char role;     /* with acceptors, the server's view of the process */
  unsigned char cold;     /* its pages were given back (see slot_free) */
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
  char *scratch;          /* without clone: this connection's "NAME=value" strings */
  size_t bufs;            /* room for every variable once, at its longest */
  char path[PATHMAX];     /* resolved program path */
  int pathsearch;         /* not found at start: each child searches PATH */
  int64_t pause_until;
  unsigned char *area;    /* USE_CLONE: maxconn slots of slotsize bytes */
  size_t slotsize;
  size_t slotblock;       /* the child's arguments, at the end of its slot */
  /* Acceptors (USE_CLONE only; see the comment above acceptor_main). */
  unsigned int want;      /* idle acceptors to keep; 0 = the loop accepts */
  unsigned int nidle;     /* entries of idle */
  unsigned int idle[MAX_ACCEPTORS]; /* slots of the acceptors last seen idle */
  int evfd;               /* eventfd: an acceptor has news for the loop */
  int clonefail;          /* the last attempt to start an acceptor failed */
  pid_t self;
  uint32_t lock;          /* futex: 0 free, else owner (slot + 1) | LOCK_WAITERS */
  char const *notify;     /* NOTIFY_SOCKET of cfg.envp, or NULL */
};

/* ---- hashing and tables ------------------------------------------------ */

unsigned int s6net_server_hash(unsigned int seed, unsigned char const *key, unsigned int len)
{
  uint32_t h = 2166136261u ^ seed;
  for (unsigned int i = 0; i < len; i++) { h ^= key[i]; h *= 16777619u; }
  /* FNV alone mixes the last bytes poorly into the low bits we index with. */
  h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
  return h;
}

unsigned int s6net_server_ipkey(unsigned char *key, s6net_ip46 const *ip, unsigned int bits4, unsigned int bits6)
{
  unsigned int len = ip->is6 ? 16 : 4;
  key[0] = ip->is6 ? 6 : 4;
  memcpy(key + 1, ip->ip, len);
  s6net_ip_mask(key + 1, len, ip->is6 ? bits6 : bits4);
  return len + 1;
}

size_t s6net_server_src_find(s6net_server_srctab const *t, unsigned char const *key, unsigned int keylen)
{
  size_t i = s6net_server_hash(t->seed, key, keylen) & t->mask;
  for (;;) {
    s6net_server_srcent const *e = t->tab + i;
    if (!e->keylen) return i;
    if (e->keylen == keylen && !memcmp(e->key, key, keylen)) return i;
    i = (i + 1) & t->mask;
  }
}

void s6net_server_src_delete(s6net_server_srctab *t, size_t i)
{
  size_t j = i;
  for (;;) {
    j = (j + 1) & t->mask;
    s6net_server_srcent *e = t->tab + j;
    if (!e->keylen) break;
    size_t k = s6net_server_hash(t->seed, e->key, e->keylen) & t->mask;
    /* e stays if its home k lies cyclically in (i, j]. */
    if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
    t->tab[i] = *e;
    i = j;
  }
  t->tab[i].keylen = 0;
  t->tab[i].count = 0;
}

#define RATE_PROBES 32

int s6net_server_rate_take(s6net_server_ratetab *t, unsigned char const *key, unsigned int keylen, long long now)
{
  size_t i = s6net_server_hash(t->seed, key, keylen) & t->mask;
  s6net_server_rateent *reuse = 0;
  unsigned int cap = t->rate * 1000u;
  for (unsigned int n = 0; n < RATE_PROBES; n++, i = (i + 1) & t->mask) {
    s6net_server_rateent *e = t->tab + i;
    if (e->keylen == keylen && !memcmp(e->key, key, keylen)) {
      long long dt = now - e->last;
      if (dt < 0) dt = 0;
      unsigned long long tok = e->tokens + (unsigned long long)dt * t->rate;
      e->tokens = tok > cap ? cap : (unsigned int)tok;
      e->last = now;
      if (e->tokens < 1000) return 0;
      e->tokens -= 1000;
      return 1;
    }
    if (!reuse && (!e->keylen || now - e->last >= 1000)) reuse = e;
    if (!e->keylen) break; /* the key cannot be further along */
  }
  if (!reuse) return 1;
  memcpy(reuse->key, key, keylen);
  reuse->keylen = (unsigned char)keylen;
  reuse->last = now;
  reuse->tokens = cap - 1000;
  return 1;
}

static size_t pid_slot(s6net_server const *s, pid_t pid)
{
  return ((uint32_t)pid * 2654435761u) & s->pidmask;
}

static void pid_insert(s6net_server *s, pid_t pid, unsigned int ci)
{
  size_t i = pid_slot(s, pid);
  while (s->pidtab[i]) i = (i + 1) & s->pidmask;
  s->pidtab[i] = ci + 1;
}

/* Remove pid from the index; returns its conn index or -1 if unknown. */
static long pid_remove(s6net_server *s, pid_t pid)
{
  size_t i = pid_slot(s, pid);
  for (;; i = (i + 1) & s->pidmask) {
    if (!s->pidtab[i]) return -1;
    if (s->conns[s->pidtab[i] - 1].pid == pid) break;
  }
  long ci = (long)s->pidtab[i] - 1;
  size_t j = i;
  for (;;) {
    j = (j + 1) & s->pidmask;
    if (!s->pidtab[j]) break;
    size_t k = pid_slot(s, s->conns[s->pidtab[j] - 1].pid);
    if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
    s->pidtab[i] = s->pidtab[j];
    i = j;
  }
  s->pidtab[i] = 0;
  return ci;
}

/* One more connection from key, whose entry is (or goes) in slot i of
 * the source table (s6net_server_src_find). */
static void src_add(s6net_server_srctab *t, size_t i, unsigned char const *key, unsigned int keylen)
{
  s6net_server_srcent *e = t->tab + i;
  if (!e->keylen) {
    memcpy(e->key, key, keylen);
    e->keylen = (unsigned char)keylen;
  }
  e->count++;
}

/* Take back the connection counted in c, if any (with acceptors, under
 * the lock). 1 if there was one. */
static int uncount(s6net_server *s, conn *c)
{
  if (!c->keylen) return 0;
  size_t si = s6net_server_src_find(&s->src, c->key, c->keylen);
  if (s->src.tab[si].keylen && !--s->src.tab[si].count) s6net_server_src_delete(&s->src, si);
  s->nlive--;
  c->keylen = 0;
  return 1;
}

/* ---- set-up --------------------------------------------------------------- */

static size_t pow2_at_least(size_t n)
{
  size_t p = 16;
  while (p < n) p <<= 1;
  return p;
}

/* Whether entry is one of the adapter's variables (set per connection),
 * or NOTIFY_SOCKET, which is for the server alone: a child that sent
 * its own READY=1 would speak for the server. */
static int is_var(s6net_server_adapter const *a, char const *entry)
{
  size_t l = s6net_env_namelen(entry);
  if (l == 13 && !memcmp(entry, "NOTIFY_SOCKET", 13)) return 1;
  for (unsigned int i = 0; i < a->nvars; i++)
    if (strlen(a->vars[i]) == l && !memcmp(a->vars[i], entry, l)) return 1;
  return 0;
}

/* Look the program up once, in the PATH the children get (core/exec.h),
 * rather than trying every PATH entry with a failing execve for every
 * connection. Not found (yet): each child searches by the same rule. */
static void resolve(s6net_server *s)
{
  if (s6net_path_find(s->cfg.argv[0], s6net_path_get(s->envp), s->path, sizeof s->path) < 0) {
    s->pathsearch = 1;
    s->path[0] = 0;
  }
}

static int const trapped[] = { SIGCHLD, SIGTERM, SIGHUP, SIGQUIT, SIGABRT };
#define NTRAPPED (sizeof trapped / sizeof *trapped)

/* ---- spawning --------------------------------------------------------------- */

struct s6net_server_env {
  s6net_server const *s;
  unsigned char set[S6NET_SERVER_MAXVARS];   /* 0 default, 1 str[i], 2 absent */
  char const *str[S6NET_SERVER_MAXVARS];     /* "NAME=value" */
  char *buf;              /* where the strings go: room for every variable once */
  size_t used, cap;
};

/* Nothing set yet; the strings go to buf (the child's slot, or scratch). */
static void env_start(s6net_server_env *e, s6net_server const *s, char *buf)
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
static void fill_env(s6net_server const *s, s6net_server_env const *e, char const **envp)
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

#ifdef USE_CLONE

/* The child is started with clone(CLONE_VM): it shares our memory, like
 * a vfork child, so nothing is copied; but unlike vfork we do not wait
 * for its execve, so on two CPUs the next accept overlaps this exec.
 * Measured on a 2-vCPU VM (bench/tcpserver): glibc's posix_spawn spent
 * 220-350 us per spawn+reap (it maps and unmaps a stack per child), vfork
 * 135 us but halved the concurrent rate, fork() lost 90 us per
 * sequential connection copying page tables.
 *
 * Since the child runs while we go on, everything it reads lives in its
 * connection slot until it is reaped: its stack, its argument block and
 * its environment. It makes system calls only.
 *
 * In this mode the server has no signal handler at all: the signals it
 * acts on (and SIGPIPE) stay blocked and are read from a signalfd, their
 * dispositions SIG_DFL. So nothing of ours can run in the child, and the
 * child only has to clear the inherited mask before its execve: four
 * system calls from clone to exec, none of them sigaction. */

typedef struct {
  s6net_server *s;
  unsigned int ci;
  char const *path;
  char const *const *argv;
  char const *const *envp;
  int fd;
  int lfd;                /* the listener, closed before the exec */
  int pathsearch;
  volatile int dropped;   /* the child no longer holds the listener (see release_listener) */
  volatile int err;       /* the child's execve error, read at reap */
  int warn;               /* an acceptor's accept() errno: transient, to log */
  volatile int fatal;     /* ... or fatal: the loop dies with it */
} childarg;

/* The child shares our thread pointer, hence our errno: a libc call
 * failing in it (execve of a missing program) would overwrite the errno
 * we are about to test after poll() or accept(), and we died of
 * "unable to poll: No such file or directory". So the calls that can
 * fail are made raw, returning -errno and touching no memory of ours. */
static long raw6(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return r;
#else
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile ("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
#endif
}

static long raw3(long n, long a, long b, long c)
{
  return raw6(n, a, b, c, 0, 0, 0);
}

int s6net_server_sockname(int fd, struct sockaddr *sa, socklen_t *len)
{
  return (int)raw3(SYS_getsockname, fd, (long)sa, (long)len);
}

static long child_execve(char const *path, char const *const *argv, char const *const *envp)
{
  return raw3(SYS_execve, (long)path, (long)argv, (long)envp);
}

/* s6net_exec_search (core/exec.h) with raw system calls: the same
 * candidates, in the PATH of the child's environment. Not inlined: its
 * buffer (and the stack probes that come with it) stays off the stack of
 * the children that do not search PATH. */
__attribute__((noinline)) static long child_execvp(char const *name, char const *const *argv, char const *const *envp)
{
  char buf[PATHMAX];
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
static _Noreturn void child_exec(childarg *c)
{
  int fd = c->fd;
  long r = fd == 0 ? raw3(SYS_fcntl, 0, F_SETFD, 0) : raw3(SYS_dup3, fd, 0, 0);
  if (r >= 0) r = fd == 1 ? raw3(SYS_fcntl, 1, F_SETFD, 0) : raw3(SYS_dup3, fd, 1, 0);
  if (c->lfd > 1 && c->lfd != fd) raw3(SYS_close, c->lfd, 0, 0);
  __atomic_store_n(&c->dropped, 1, __ATOMIC_RELEASE);
  if (r >= 0) {
    sigset_t empty;
    sigemptyset(&empty);
    raw6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&empty, 0, _NSIG / 8, 0, 0);
    r = c->pathsearch ? child_execvp(c->argv[0], c->argv, c->envp) : child_execve(c->path, c->argv, c->envp);
  }
  c->err = r < 0 ? (int)-r : EIO;
  raw3(SYS_exit, 127, 0, 0);
  for (;;) ;
}

static int child_main(void *varg)
{
  child_exec(varg);
}

/* The arguments at the very end of slot ci, the stack growing down right
 * below them: one child usually touches a single page of its slot, so the
 * slots used at the busiest moment cost 4 kB each. */
static childarg *slot_args(s6net_server const *s, unsigned int ci)
{
  return (childarg *)(s->area + (size_t)(ci + 1) * s->slotsize - s->slotblock);
}

static char const **slot_envp(s6net_server const *s, unsigned int ci)
{
  return (char const **)((unsigned char *)slot_args(s, ci) + sizeof(childarg));
}

/* Where the environment strings of slot ci's child go. */
static char *env_room(s6net_server const *s, unsigned int ci)
{
  return (char *)(slot_envp(s, ci) + s->nbase + s->a->nvars + 1);
}

/* Slot ci's childarg with its environment filled in for connection fd
 * (e's strings already in the slot: env_start with env_room). */
static childarg *slot_prepare(s6net_server *s, unsigned int ci, int fd, s6net_server_env const *e)
{
  childarg *c = slot_args(s, ci);
  char const **envp = slot_envp(s, ci);
  fill_env(s, e, envp);
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

static pid_t spawn(s6net_server *s, int fd, unsigned int ci, s6net_server_env const *e)
{
  childarg *c = slot_prepare(s, ci, fd, e);
  return clone(child_main, c, CLONE_VM | SIGCHLD, c);
}

/* The child's exec error, if any; called at reap. */
static int spawn_error(s6net_server *s, unsigned int ci)
{
  return slot_args(s, ci)->err;
}

#else

static volatile int child_errno;

static pid_t spawn(s6net_server *s, int fd, unsigned int ci, s6net_server_env const *e)
{
  sigset_t all, old;
  pid_t pid;
  char const *const *argv = s->cfg.argv;
  char const *const *envp = s->envp;
  char const *path = s->path;
  (void)ci;
  fill_env(s, e, s->envp);
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  child_errno = 0;
  pid = vfork();
  if (!pid) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < NTRAPPED; i++) sigaction(trapped[i], &sa, 0);
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

static int spawn_error(s6net_server *s, unsigned int ci) { (void)s; (void)ci; return 0; }

#endif

#ifndef USE_CLONE
static char *env_room(s6net_server const *s, unsigned int ci)
{
  (void)ci;
  return s->scratch;
}

/* No acceptors here: errno may tell the caller why. */
int s6net_server_sockname(int fd, struct sockaddr *sa, socklen_t *len)
{
  return getsockname(fd, sa, len) < 0 ? -errno : 0;
}
#endif

/* Everything lives in one anonymous mapping made at start: no malloc in
 * the server at all (less code and fewer pages touched: idle RSS), and
 * pages of the tables only appear once used. */
static size_t carve(size_t *off, size_t size)
{
  size_t o = (*off + 15) & ~(size_t)15;
  *off = o + size;
  return o;
}

s6net_server *s6net_server_new(s6net_server_config const *cfg, s6net_server_adapter const *a, void *ctx)
{
  if (!cfg->maxconn || cfg->maxconn > S6NET_SERVER_MAXCONN || !cfg->localmaxconn
   || cfg->localmaxconn > cfg->maxconn || !cfg->argv || !cfg->argv[0] || cfg->rate > 1000000
   || (a->nvars && !a->vars) || a->nvars > S6NET_SERVER_MAXVARS) {
    errno = EINVAL;
    return 0;
  }
  size_t nbase = 0, bufs = 0;
  for (char const *const *e = cfg->envp; e && *e; e++) if (!is_var(a, *e)) nbase++;
  for (unsigned int i = 0; i < a->nvars; i++) bufs += strlen(a->vars[i]) + 2 + S6NET_SERVER_VALMAX;
  size_t ptab = pow2_at_least((size_t)cfg->maxconn * 2);
  size_t rtab = cfg->rate ? pow2_at_least((size_t)cfg->maxconn * 4 < 1024 ? 1024 : (size_t)cfg->maxconn * 4) : 0;
  size_t off = 0;
  size_t o_s = carve(&off, sizeof(s6net_server));
  size_t o_conns = carve(&off, cfg->maxconn * sizeof(conn));
  size_t o_free = carve(&off, cfg->maxconn * sizeof(unsigned int));
  size_t o_pid = carve(&off, ptab * sizeof(unsigned int));
  size_t o_src = carve(&off, ptab * sizeof(s6net_server_srcent));
  size_t o_rate = carve(&off, rtab * sizeof(s6net_server_rateent));
  size_t o_envp = carve(&off, (nbase + a->nvars + 1) * sizeof(char const *));
  size_t o_slots = carve(&off, a->nvars * sizeof(envslot));
  size_t o_bufs = carve(&off, bufs);
  size_t o_scratch = carve(&off, bufs);
  size_t slotsize = 0, slotblock = 0, o_area = off;
#ifdef USE_CLONE
  slotblock = (sizeof(childarg) + (nbase + a->nvars + 1) * sizeof(char *) + bufs + 15) & ~(size_t)15;
  slotsize = (slotblock + CHILD_STACK + 4095) & ~(size_t)4095;
  o_area = (off + 4095) & ~(size_t)4095;
  off = o_area + slotsize * cfg->maxconn;
#endif
  unsigned char *m = mmap(0, off, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return 0;
  s6net_server *s = (s6net_server *)(m + o_s);
  s->cfg = *cfg;
  s->a = a;
  s->ctx = ctx;
  s->conns = (conn *)(m + o_conns);
  s->freelist = (unsigned int *)(m + o_free);
  s->pidtab = (unsigned int *)(m + o_pid);
  s->src.tab = (s6net_server_srcent *)(m + o_src);
  s->envp = (char const **)(m + o_envp);
  s->slots = (envslot *)(m + o_slots);
  s->scratch = (char *)(m + o_scratch);
  s->bufs = bufs;
  if (rtab) s->rate.tab = (s6net_server_rateent *)(m + o_rate);
  s->area = m + o_area;
  s->slotsize = slotsize;
  s->slotblock = slotblock;
  s->pidmask = ptab - 1;
  s->src.mask = ptab - 1;
  {
    /* Seeded so that a client cannot choose addresses that all collide. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->src.seed = (unsigned int)ts.tv_nsec ^ ((unsigned int)getpid() << 16) ^ (unsigned int)(uintptr_t)m;
  }
  if (rtab) {
    s->rate.mask = rtab - 1;
    s->rate.seed = s->src.seed * 2654435761u + 1;
    s->rate.rate = cfg->rate;
  }
  for (char const *const *e = cfg->envp; e && *e; e++) {
    if (!is_var(a, *e)) s->envp[s->nbase++] = *e;
    else if (!strncmp(*e, "NOTIFY_SOCKET=", 14) && (*e)[14]) s->notify = *e + 14;
  }
  s->envp[s->nbase] = 0;
  {
    char *buf = (char *)(m + o_bufs);
    for (unsigned int i = 0; i < a->nvars; i++) {
      size_t l = strlen(a->vars[i]);
      s->slots[i].buf = buf;
      memcpy(buf, a->vars[i], l);
      buf[l] = '=';
      s->slots[i].namelen = l + 1;
      buf += l + 2 + S6NET_SERVER_VALMAX;
    }
  }
  resolve(s);

#ifdef USE_CLONE
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
    for (size_t i = 0; i < NTRAPPED; i++) {
      sa.sa_flags = trapped[i] == SIGCHLD ? SA_NOCLDSTOP : 0;
      if (sigaction(trapped[i], &sa, 0) < 0) return 0;
      sigaddset(&set, trapped[i]);
    }
    sa.sa_flags = 0;
    if (sigaction(SIGPIPE, &sa, 0) < 0) return 0;
    if (sigprocmask(SIG_BLOCK, &set, 0) < 0) return 0;
    s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sigfd < 0) return 0;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (sigprocmask(SIG_BLOCK, &set, 0) < 0) return 0;
  }
#else
  s->sigfd = s6net_selfpipe_init();
  if (s->sigfd < 0) return 0;
  for (size_t i = 0; i < NTRAPPED; i++)
    if (s6net_selfpipe_trap(trapped[i]) < 0) return 0;
  {
    /* A signal mask is inherited across exec: a supervisor that left
     * SIGTERM blocked must not make us unstoppable. */
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < NTRAPPED; i++) sigaddset(&set, trapped[i]);
    if (sigprocmask(SIG_UNBLOCK, &set, 0) < 0) return 0;
  }
#endif
#ifdef USE_CLONE
  s->want = cfg->acceptors < cfg->maxconn ? cfg->acceptors : cfg->maxconn;
  if (s->want > MAX_ACCEPTORS) s->want = MAX_ACCEPTORS;
  s->self = getpid();
  s->evfd = -1;
  if (s->want) {
    /* The acceptors block in accept(): the listener stays blocking. */
    s->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->evfd < 0) return 0;
    if (s6net_fd_block(cfg->fd) < 0) return 0;
    return s;
  }
#endif
  if (s6net_fd_nonblock(cfg->fd) < 0) return 0;
  return s;
}

int s6net_server_setenv(s6net_server *s, unsigned int i, char const *val, size_t len)
{
  if (i >= s->a->nvars) { errno = EINVAL; return -1; }
  envslot *e = s->slots + i;
  if (!val) { e->set = 0; return 0; }
  if (len > S6NET_SERVER_VALMAX) { errno = ENAMETOOLONG; return -1; }
  memcpy(e->buf + e->namelen, val, len);
  e->buf[e->namelen + len] = 0;
  e->set = 1;
  return 0;
}

/* ---- acceptors ------------------------------------------------------------ */

/* With acceptors (cfg.acceptors > 0, USE_CLONE builds), the loop does not
 * accept: it keeps a few processes started with clone(CLONE_VM) blocked
 * in accept() on the listener, and each of them, once it has a
 * connection, counts it, builds its environment and becomes the child
 * with execve. A sequential client then waits for one wake-up and one
 * exec, not for the loop's wake-up, accept and clone, then the child's
 * start: on a 2-vCPU VM the median connect-to-close time of a minimal
 * handler went from 128 to 109 us (bench/tcpserver; s6-tcpserverd(1)).
 *
 * Every process, acceptor or connection, holds one slot, and the loop
 * starts an acceptor only while fewer than maxconn slots are held: at
 * maxconn connections there is no acceptor left, so extra clients wait
 * in the kernel's backlog as without acceptors. A connection refused
 * by -C or the rate limit is closed by its acceptor, which goes back to
 * accept().
 *
 * The source table, the rate table and the connection count are shared
 * by the acceptors and the loop's reaping, under a futex lock. An
 * acceptor shares our thread pointer, so it makes raw system calls only
 * and never touches errno or stdio (see raw6); it writes its own log
 * lines. It marks its slot ROLE_CONN under the lock when it admits a
 * connection, or leaves an accept() errno in its slot, and wakes the loop
 * through an eventfd: the loop then starts another acceptor, or logs.
 *
 * The acceptors die with the loop (PR_SET_PDEATHSIG, cleared once a
 * connection is admitted: a connection outlives the server, as the
 * reference's do); when the loop exits on a signal it kills the idle
 * ones itself, and they are never sent the SIGTERM of SIGHUP or
 * SIGQUIT, which is for connections. */

#ifdef USE_CLONE

/* From <linux/futex.h>, which musl-gcc cannot see. */
#ifndef FUTEX_WAIT_PRIVATE
#define FUTEX_WAIT_PRIVATE (0 | 128)
#define FUTEX_WAKE_PRIVATE (1 | 128)
#endif

#define LOCK_WAITERS 0x80000000u
#define LOOP_OWNER 0x7fffffffu


static void futex_wait(uint32_t *w, uint32_t v, long ms)
{
  struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
  raw6(SYS_futex, (long)w, FUTEX_WAIT_PRIVATE, v, ms >= 0 ? (long)&ts : 0, 0, 0);
}

/* Whether the lock's holder is an acceptor that is dead: known dead
 * (dead_ci, being reaped), or exited and not yet reaped. Loop only. */
static int holder_dead(s6net_server *s, uint32_t v, long dead_ci)
{
  uint32_t o = v & ~LOCK_WAITERS;
  if (!o || o == LOOP_OWNER || o > s->cfg.maxconn) return 0;
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
    src_add(&s->src, s6net_server_src_find(&s->src, c->key, c->keylen), c->key, c->keylen);
    n++;
  }
  s->nlive = n;
}

/* me: the slot + 1 of an acceptor, or LOOP_OWNER. The loop waits in
 * steps of 20 ms and takes the lock over from a holder that died in it
 * (a SIGKILL from outside): nobody else would ever release it. */
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
    if (me != LOOP_OWNER) { futex_wait(w, v, -1); continue; }
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
    raw6(SYS_futex, (long)&s->lock, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

static void acceptor_wake(s6net_server *s)
{
  uint64_t one = 1;
  raw3(SYS_write, s->evfd, (long)&one, sizeof one);
}

#define LOCK(s, me) do { if ((s)->want) lock_take((s), (me), -1); } while (0)
#define UNLOCK(s) do { if ((s)->want) lock_give(s); } while (0)

#else

#define LOCK(s, me) do { (void)(me); } while (0)
#define UNLOCK(s) do { } while (0)

#endif

/* ---- admitting a connection ------------------------------------------------ */

/* A log line: by the loop through core/diag, by an acceptor with a raw
 * write of the same line (errno is the loop's, so acceptors have no
 * ": reason"). The log helpers are not inlined: their buffers (1-2 kB)
 * would otherwise sit in the acceptor's frame on every connection and
 * push its stack into a second page per slot. */
__attribute__((noinline)) static void say(int inchild, char const *kind, char const *msg)
{
#ifdef USE_CLONE
  if (inchild) {
    char line[600];
    size_t n = s6net_diag_line(line, sizeof line, kind, "%s", msg);
    raw3(SYS_write, 2, (long)line, (long)n);
    return;
  }
#else
  (void)inchild;
#endif
  if (kind[0] == 'i') s6net_info("%s", msg);
  else s6net_warn("%s", msg);
}

__attribute__((noinline)) static void refuse(s6net_server *s, s6net_server_peer const *p, char const *why, int inchild)
{
  if (s->cfg.verbosity >= 1) {
    char peer[256], msg[400];
    s->a->fmt(s->ctx, p, peer, sizeof peer);
    snprintf(msg, sizeof msg, "refused %s: %s", peer, why);
    say(inchild, "warning", msg);
  }
}

/* Take back the count of admit() (spawn or environment failure). */
static void unadmit(s6net_server *s, unsigned int ci, uint32_t me)
{
  LOCK(s, me);
  uncount(s, s->conns + ci);
  UNLOCK(s);
}

/* The limits, then the count in slot ci's name. me: the acceptor's slot
 * + 1, or 0 in the loop. Returns the number of connections from this
 * source before this one, or -1 if refused (logged). *live gets the
 * number of connections, this one included. */
static long admit(s6net_server *s, s6net_server_peer *p, unsigned int ci, uint32_t me, unsigned int *live)
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
  LOCK(s, me);
  size_t si = s6net_server_src_find(&s->src, p->key, p->keylen);
  unsigned int count = s->src.tab[si].count;
  if (count >= s->cfg.localmaxconn) {
    UNLOCK(s);
    snprintf(why, sizeof why, "too many connections from this source (%u/%u)", count, s->cfg.localmaxconn);
    refuse(s, p, why, inchild);
    return -1;
  }
  if (s->cfg.rate && !s6net_server_rate_take(&s->rate, p->key, p->keylen, s6net_now_ms())) {
    UNLOCK(s);
    snprintf(why, sizeof why, "over %u connections per second from this source", s->cfg.rate);
    refuse(s, p, why, inchild);
    return -1;
  }
  conn *c = s->conns + ci;
  memcpy(c->key, p->key, p->keylen);
  src_add(&s->src, si, p->key, p->keylen);
  *live = ++s->nlive;
  c->keylen = (unsigned char)p->keylen;   /* last: see recount() */
  /* Under the lock: once the loop holds it, every admitted connection
   * shows (see shutdown_acceptors). */
  if (inchild) __atomic_store_n(&c->role, ROLE_CONN, __ATOMIC_RELAXED);
  UNLOCK(s);
#ifdef USE_CLONE
  if (inchild) acceptor_wake(s);  /* the loop starts the next acceptor */
#endif
  return count;
}

__attribute__((noinline)) static void started(s6net_server *s, s6net_server_peer const *p, pid_t pid, unsigned int live, long count, int inchild)
{
  char peer[256], msg[400];
  s->a->fmt(s->ctx, p, peer, sizeof peer);
  snprintf(msg, sizeof msg, "pid %ld from %s connections %u/%u source %u/%u", (long)pid, peer,
           live, s->cfg.maxconn, (unsigned int)count + 1, s->cfg.localmaxconn);
  say(inchild, "info", msg);
}

/* ---- children ------------------------------------------------------------- */

enum { ACCEPT_RETRY, ACCEPT_BACKOFF, ACCEPT_FATAL };

/* What to do when accept() failed with e (other than EAGAIN): the
 * network errors Linux passes on from the new connection are retried at
 * once; running out of descriptors or memory backs off PAUSE_MS. */
static int accept_error(int e)
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

static unsigned int slot_get(s6net_server *s)
{
  return s->nfree ? s->freelist[s->nfree - 1] : s->nfresh;
}

/* Slot ci is free again. The free list is a stack, so the slots reused
 * are the ones freed last; a slot that sinks WARM_SLOTS deep has not been
 * needed for a while, and its pages (stack and environment, 4-8 kB) go
 * back to the kernel: after a burst of connections the server's memory
 * comes back down to what it serves, instead of keeping the pages of
 * every slot the burst used (up to maxconn of them). */
static void slot_free(s6net_server *s, unsigned int ci)
{
  s->freelist[s->nfree++] = ci;
#ifdef USE_CLONE
  if (s->nfree > WARM_SLOTS) {
    unsigned int c = s->freelist[s->nfree - 1 - WARM_SLOTS];
    if (!s->conns[c].cold) {
      madvise(s->area + (size_t)c * s->slotsize, s->slotsize, MADV_DONTNEED);
      s->conns[c].cold = 1;
    }
  }
#endif
}

static void slot_take(s6net_server *s, unsigned int ci, pid_t pid)
{
  if (s->nfree) s->nfree--; else s->nfresh++;
  s->conns[ci].cold = 0;
  s->conns[ci].pid = pid;
  pid_insert(s, pid, ci);
  s->nproc++;
}

#ifdef USE_CLONE

/* 1 to accept again, 0 to exit (the loop is told why). */
static int accept_failed(s6net_server *s, unsigned int ci, int e)
{
  if (e == EAGAIN) {
    /* Somebody made the listener non-blocking: wait for a client. */
    struct pollfd pf = { .fd = s->cfg.fd, .events = POLLIN };
    raw6(SYS_ppoll, (long)&pf, 1, 0, 0, 0, 0);
    return 1;
  }
  switch (accept_error(e)) {
    case ACCEPT_RETRY:
      return 1;
    case ACCEPT_BACKOFF: {
      struct timespec ts = { .tv_sec = 0, .tv_nsec = PAUSE_MS * 1000000L };
      if (s->cfg.verbosity >= 1) { slot_args(s, ci)->warn = e; acceptor_wake(s); }
      raw3(SYS_nanosleep, (long)&ts, 0, 0);
      return 1;
    }
    default:
      slot_args(s, ci)->fatal = e;
      acceptor_wake(s);
      return 0;
  }
}

static int acceptor_main(void *varg)
{
  childarg *c = varg;
  s6net_server *s = c->s;
  unsigned int ci = c->ci, live = 0;
  s6net_server_peer p;
  long count;
  /* An acceptor outliving the loop would go on serving unchecked. */
  raw3(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0);
  if (raw3(SYS_getppid, 0, 0, 0) != s->self) raw3(SYS_exit, 0, 0, 0);
  if (s->cfg.acceptor_name) raw3(SYS_prctl, PR_SET_NAME, (long)s->cfg.acceptor_name, 0);
  for (;;) {
    p.salen = sizeof p.sa;
    long fd = raw6(SYS_accept4, s->cfg.fd, (long)&p.sa, (long)&p.salen, SOCK_CLOEXEC, 0, 0);
    if (fd < 0) {
      if (accept_failed(s, ci, (int)-fd)) continue;
      raw3(SYS_exit, 0, 0, 0);
    }
    p.fd = (int)fd;
    count = admit(s, &p, ci, ci + 1, &live);
    if (count >= 0) {
      s6net_server_env e;
      env_start(&e, s, env_room(s, ci));
      if (s->a->env(s->ctx, &e, &p, (unsigned int)count) >= 0) {
        raw3(SYS_prctl, PR_SET_PDEATHSIG, 0, 0);
        slot_prepare(s, ci, p.fd, &e);
        if (s->cfg.verbosity >= 2) started(s, &p, (pid_t)raw3(SYS_getpid, 0, 0, 0), live, count, 1);
        child_exec(c);
      }
      unadmit(s, ci, ci + 1);
      refuse(s, &p, "unable to set up the environment", 1);
      /* The loop was told this one was taken: it has started another. */
      raw3(SYS_close, p.fd, 0, 0);
      raw3(SYS_exit, 0, 0, 0);
    }
    raw3(SYS_close, p.fd, 0, 0);
  }
}

static void sync_acceptors(s6net_server *s);

/* Whether the process in slot ci may still hold the listener: an
 * acceptor, or a child that has not reached child_exec's close, and has
 * not exited (a zombie has let go of its fds). */
static int holds_listener(s6net_server *s, unsigned int ci)
{
  conn const *c = s->conns + ci;
  siginfo_t si;
  if (__atomic_load_n(&c->role, __ATOMIC_RELAXED) != ROLE_IDLE
   && __atomic_load_n(&slot_args(s, ci)->dropped, __ATOMIC_ACQUIRE)) return 0;
  si.si_pid = 0;
  if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) return 0;
  return si.si_pid != c->pid;
}

/* Before the loop exits: wait until no process of ours holds the
 * listener, so that once the server is gone, so is the socket, and a
 * client is refused rather than queued for nobody. Idle acceptors are
 * killed; the others are a clone away from child_exec. Bounded by
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

/* Keep want idle acceptors while slots remain. */
static void replenish(s6net_server *s)
{
  while (s->nidle < s->want && s->nproc < s->cfg.maxconn && !s->pause_until) {
    unsigned int ci = slot_get(s);
    childarg *c = slot_args(s, ci);
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
    slot_take(s, ci, pid);
    s->idle[s->nidle++] = ci;
  }
}

/* Before the loop exits: once it holds the lock, every acceptor that
 * admitted a connection shows it; the others are killed (a client one of
 * them has just accepted sees its connection reset, as those in the
 * backlog do when the listener closes). Then wait for the listener to
 * be ours alone (release_listener), with or without acceptors. */
static void shutdown_acceptors(s6net_server *s)
{
  if (s->want) {
    s->want = 0;
    lock_take(s, LOOP_OWNER, -1);
    sync_acceptors(s);
    for (unsigned int i = 0; i < s->nidle; i++) kill(s->conns[s->idle[i]].pid, SIGKILL);
    lock_give(s);
  }
  release_listener(s);
}

static void acceptor_fatal(s6net_server *s, int e)
{
  shutdown_acceptors(s);
  errno = e;
  s6net_diesys(111, "unable to accept");
}

/* What the acceptors have to say: warnings, a fatal error, which of
 * them are no longer idle. */
static void sync_acceptors(s6net_server *s)
{
  uint64_t v;
  if (read(s->evfd, &v, sizeof v) < 0) { /* nothing new, or already read */ }
  for (unsigned int i = 0; i < s->nidle;) {
    unsigned int ci = s->idle[i];
    childarg *c = slot_args(s, ci);
    int w = __atomic_exchange_n(&c->warn, 0, __ATOMIC_RELAXED);
    if (w) { errno = w; s6net_warnsys("unable to accept"); }
    if (c->fatal) acceptor_fatal(s, c->fatal);
    if (__atomic_load_n(&s->conns[ci].role, __ATOMIC_RELAXED) != ROLE_IDLE) s->idle[i] = s->idle[--s->nidle];
    else i++;
  }
}

/* Slot ci's process is gone: out of the idle list if it was there. */
static void acceptor_gone(s6net_server *s, unsigned int ci)
{
  for (unsigned int i = 0; i < s->nidle; i++)
    if (s->idle[i] == ci) { s->idle[i] = s->idle[--s->nidle]; break; }
  if (s->conns[ci].role == ROLE_IDLE && slot_args(s, ci)->fatal) acceptor_fatal(s, slot_args(s, ci)->fatal);
}

#else

static void replenish(s6net_server *s) { (void)s; }
/* vfork children have made their exec (and dropped the
 * listener: fd 0 is replaced, other fds are close-on-exec) by the time
 * the loop goes on. */
static void shutdown_acceptors(s6net_server *s) { (void)s; }
static void sync_acceptors(s6net_server *s) { (void)s; }
static void acceptor_gone(s6net_server *s, unsigned int ci) { (void)s; (void)ci; }

#endif

static void killall(s6net_server *s, int sig)
{
  if (s->want) sync_acceptors(s);
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

static void reap(s6net_server *s)
{
  for (;;) {
    int wstat;
    pid_t pid = waitpid(-1, &wstat, WNOHANG);
    if (pid <= 0) break;
    long ci = pid_remove(s, pid);
    if (ci < 0) continue; /* not one of ours (inherited across exec) */
    conn *c = s->conns + ci;
    if (s->want) acceptor_gone(s, (unsigned int)ci);
#ifdef USE_CLONE
    if (s->want) lock_take(s, LOOP_OWNER, ci);
#endif
    int counted = uncount(s, c);
    unsigned int live = s->nlive;
    UNLOCK(s);
    int serr = spawn_error(s, (unsigned int)ci);
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

/* Returns -1 to keep running, else the exit code. */
static int handle_signals(s6net_server *s)
{
#ifdef USE_CLONE
  struct signalfd_siginfo buf[8];
  size_t const unit = sizeof *buf;
#define SIGNO(i) ((int)buf[i].ssi_signo)
#else
  unsigned char buf[64];
  size_t const unit = 1;
#define SIGNO(i) ((int)buf[i])
#endif
  int chld = 0, ret = -1;
  for (;;) {
    ssize_t r = read(s->sigfd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    r /= (ssize_t)unit;
    for (ssize_t i = 0; i < r; i++) {
      switch (SIGNO(i)) {
        case SIGCHLD: chld = 1; break;
        case SIGTERM: ret = 0; break;
        case SIGHUP: killall(s, SIGTERM); break;
        case SIGQUIT: killall(s, SIGTERM); ret = 0; break;
        case SIGABRT: killall(s, SIGKILL); ret = 0; break;
        default: break;
      }
    }
    if ((size_t)r < sizeof buf / unit) break;
  }
#undef SIGNO
  if (chld) reap(s);
  return ret;
}

/* Without acceptors: one connection accepted by the loop. */
static void handle_conn(s6net_server *s, s6net_server_peer *p)
{
  unsigned int ci = slot_get(s), live = 0;
  long count = admit(s, p, ci, 0, &live);
  if (count < 0) return;
  s6net_server_env e;
  env_start(&e, s, env_room(s, ci));
  if (s->a->env(s->ctx, &e, p, (unsigned int)count) < 0) {
    int err = errno;
    unadmit(s, ci, 0);
    if (s->cfg.verbosity >= 1) {
      char peer[256];
      s->a->fmt(s->ctx, p, peer, sizeof peer);
      errno = err;
      s6net_warnsys("refused %s: unable to set up the environment", peer);
    }
    return;
  }
  /* nproc < maxconn here, so a slot is free; it is taken once spawned. */
  pid_t pid = spawn(s, p->fd, ci, &e);
  if (pid < 0) {
    int err = errno;
    unadmit(s, ci, 0);
    errno = err;
    if (s->cfg.verbosity >= 1) s6net_warnsys("unable to spawn %s", s->cfg.argv[0]);
    return;
  }
  s->conns[ci].role = ROLE_CONN;
  slot_take(s, ci, pid);
  if (s->cfg.verbosity >= 2) started(s, p, pid, live, count, 0);
}

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
      switch (accept_error(errno)) {
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

socklen_t s6net_server_notify_addr(struct sockaddr_un *sa, char const *path)
{
  size_t l = strlen(path);
  /* A path needs room for its NUL; an abstract name has none. */
  if (l < 2 || (path[0] == '/' ? l >= sizeof sa->sun_path : path[0] != '@' || l > sizeof sa->sun_path)) return 0;
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, path, l);
  if (path[0] == '@') sa->sun_path[0] = 0;
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l + (path[0] == '/'));
}

/* systemd's readiness protocol: one "READY=1" datagram to the AF_UNIX
 * socket path (or abstract name, '@' for the leading NUL) of
 * NOTIFY_SOCKET. A failure is one warning: the server serves anyway. */
static void sd_notify_ready(char const *path)
{
  static char const msg[] = "READY=1";
  struct sockaddr_un sa;
  socklen_t salen = s6net_server_notify_addr(&sa, path);
  if (!salen) {
    s6net_warn("unable to notify readiness: unsupported NOTIFY_SOCKET: %s", path);
    return;
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) { s6net_warnsys("unable to notify readiness: unable to create a socket"); return; }
  ssize_t r;
  do r = sendto(fd, msg, sizeof msg - 1, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
  while (r < 0 && errno == EINTR);
  if (r < 0) s6net_warnsys("unable to notify readiness to %s", path);
  close(fd);
}

int s6net_server_run(s6net_server *s)
{
  /* A reader that went away (readiness pipe, log pipe) is an error to
   * report or a line lost, not a silent death by SIGPIPE. */
#ifndef USE_CLONE
  signal(SIGPIPE, SIG_IGN);   /* with a signalfd, it is blocked (see s6net_server_new) */
#endif
  if (s->cfg.ready) {
    /* Everything that can fail comes before the notification: a server
     * that said it was ready must not die right after. */
    size_t len = strlen(s->cfg.ready);
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) s6net_diesys(111, "unable to open /dev/null");
    if (s6net_write_all(1, s->cfg.ready, len) < 0) s6net_diesys(111, "unable to write readiness notification");
    if (fd != 1) { if (dup2(fd, 1) < 0) s6net_diesys(111, "unable to dup2"); close(fd); }
  }
  if (s->notify) sd_notify_ready(s->notify);
  int acceptors = s->want > 0;   /* always 0 without USE_CLONE */
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
    if (acceptors) { replenish(s); n = 2; }
    else if (!s->pause_until && s->nproc < s->cfg.maxconn) n = 2;
    pfd[1].revents = 0;
    int r = poll(pfd, n, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      s6net_diesys(111, "unable to poll");
    }
    /* New connections first: when a child's exit and the next client
     * arrive together (a sequential client), the reaping is not on
     * anybody's critical path but the spawn is. */
    if (n == 2 && pfd[1].revents) {
      if (acceptors) sync_acceptors(s);
      else accept_some(s);
    }
    if (pfd[0].revents) {
      int ret = handle_signals(s);
      if (ret >= 0) { shutdown_acceptors(s); return ret; }
    }
  }
}

/* fd (named what in messages) must be a listening stream socket of
 * domain (AF_INET: IPv4 or IPv6). */
static void check_listener(int fd, char const *what, int domain)
{
  int acc = 0, type = 0, dom = 0;
  socklen_t olen = sizeof acc;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &olen) < 0) {
    if (errno == ENOTSOCK || errno == EBADF) s6net_die(100, "%s is not a socket", what);
    s6net_diesys(111, "unable to getsockopt on %s", what);
  }
  olen = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) < 0) s6net_diesys(111, "unable to getsockopt on %s", what);
  if (type != SOCK_STREAM || !acc) s6net_die(100, "%s is not a listening stream socket", what);
#ifdef SO_DOMAIN
  olen = sizeof dom;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &olen) < 0) s6net_diesys(111, "unable to getsockopt on %s", what);
#else
  {
    struct sockaddr_storage ss;
    olen = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &olen) < 0) s6net_diesys(111, "unable to getsockname on %s", what);
    dom = ss.ss_family;
  }
#endif
  if (domain == AF_UNIX ? dom != AF_UNIX : dom != AF_INET && dom != AF_INET6)
    s6net_die(100, "%s is not %s socket", what, domain == AF_UNIX ? "a UNIX domain" : "an IPv4 or IPv6");
}

int s6net_server_listen_fds(char const *pid, char const *fds, pid_t self)
{
  unsigned long long n;
  if (!pid || !fds || s6net_scan_ull(pid, 1, INT32_MAX, &n) < 0 || (pid_t)n != self) return -1;
  if (s6net_scan_ull(fds, 0, INT32_MAX, &n) < 0) return -2;
  return (int)n;
}

int s6net_server_listener(int domain)
{
  char const *fds = getenv("LISTEN_FDS");
  int n = s6net_server_listen_fds(getenv("LISTEN_PID"), fds, getpid()), fd = 0;
  if (n == -2) s6net_die(100, "invalid LISTEN_FDS: %s", fds);
  if (n >= 0) {
    if (n != 1)
      s6net_die(100, "socket activation passed %d sockets (LISTEN_FDS), only one is supported", n);
    fd = 3;
    check_listener(fd, "fd 3 (LISTEN_FDS)", domain);
    if (s6net_fd_cloexec(fd) < 0) s6net_diesys(111, "unable to make fd 3 close-on-exec");
  }
  /* Not for our children, whose pid is not LISTEN_PID anyway. */
  if (unsetenv("LISTEN_PID") < 0 || unsetenv("LISTEN_FDS") < 0 || unsetenv("LISTEN_FDNAMES") < 0)
    s6net_diesys(111, "unable to unset the socket activation variables");
  if (fd) {
    /* fd 0 may be closed under a service manager: keep 0-2 taken, so
     * that no connection or fd of ours lands there. */
    if (s6net_fd_ensure012() < 0) s6net_diesys(111, "unable to open /dev/null");
    return fd;
  }
  check_listener(0, "stdin", domain);
  return 0;
}
