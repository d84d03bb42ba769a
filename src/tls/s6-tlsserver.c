/* s6-tlsserver: rewrite into
 *   s6-tcpserver ... ip port [s6-tcpserver-access ...] [proxy-server]
 *     s6-tlsd ... -- [s6-applyuidgid ... --] prog...
 * after starting the pre-initialised engine (zygote) that the s6-tlsd
 * instances hand their connections to; see s6-tlsserver(1). */
#include "tls/tls_cmdline.h"
#include "tls/tlsopt.h"
#include "tls/tls_zygote_msg.h"
#include "core/deadline.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/sig.h"
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define USAGE "[ -q | -Q | -v ] [ -1 ] [ -c maxconn ] [ -C localmaxconn ] [ -b backlog ] [ -w | -W ] [ -d | -D ] [ -r | -R ] [ -p | -P ] [ -H ] [ -h ] [ -l localname ] [ -B banner ] [ -t timeout ] [ -i rulesdir | -x rulesfile ] [ -Z | -z ] [ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -K kimeout ] [ -k snilevel ] [ -a alpnlist ] [ -u uid ] [ -g gid ] [ -G gidlist ] [ -U ] [ -L ] [ -X ] [ -T period ] [ -- ] ip port prog..."

extern char **environ;

#define MAXARGS 96
/* Where the zygote (s6-tlsd-io -X) finds its readiness pipe and its socket. */
#define ZYGOTE_READY_FD 3
#define ZYGOTE_FD 4
#define S6NET_TLSSERVER_PROXY_TIMEOUT "10000" /* ms, without -K; see -L in s6-tlsserver(1) */

typedef struct { char const *v[MAXARGS]; unsigned int n; } args;

static void push(args *a, char const *s)
{
  if (a->n >= MAXARGS - 1) s6net_die(100, "too many arguments");
  a->v[a->n++] = s;
}

static char const *sib(char const *name)
{
  static char buf[8][4200];
  static unsigned int n;
  if (n >= 8 || s6net_sibling(buf[n], sizeof buf[n], name) < 0) s6net_diesys(111, "unable to find %s", name);
  return buf[n++];
}

#ifdef __linux__
/* ---- the keeper ----------------------------------------------------------
 * A small process (no TLS library) forked before we become s6-tcpserver,
 * so it never holds the listening socket. It starts the zygote on zside,
 * reports the first readiness or failure, then replaces the zygote
 * whenever it dies. While none is serving, it answers every request
 * with '?' itself, so that s6-tlsd runs a fresh engine: nothing hangs. */

/* Restart at once, then back off (1 s, doubling, up to 30 s) while the
 * zygote keeps dying young. */
static long long backoff(unsigned int young)
{
  if (!young) return 0;
  return young > 5 ? 30000 : 1000LL << (young - 1);
}

static pid_t spawn_zygote(args const *zargs, int zside, int *readyr)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) { s6net_warnsys("unable to create pipe"); return -1; }
  s6net_fdmap map[2] = { { ZYGOTE_READY_FD, p[1] }, { ZYGOTE_FD, zside } };
  pid_t pid = s6net_spawn(zargs->v[0], zargs->v, (char const *const *)environ, map, 2, 0);
  close(p[1]);
  if (pid < 0) { s6net_warnsys("unable to spawn %s", zargs->v[0]); close(p[0]); return -1; }
  *readyr = p[0];
  return pid;
}

/* Connections handed back since the last zygote was ready: the first
 * one of an outage is logged, and the count when a zygote is back. */
static unsigned long handed;

/* A request no zygote will read: hand it back. 0, or -1 when every
 * sender is gone (then there is nothing more to read). */
static int refuse(int zside, int verbosity, short revents)
{
  static unsigned char buf[S6NET_TLSZ_REQMAX];
  int fds[8];
  unsigned int nf;
  long n = s6net_tlsz_recvfds(zside, buf, sizeof buf, fds, 8, &nf, MSG_DONTWAIT);
  if (n < 0 && errno != EMSGSIZE) return 0;
  if (!n && !nf && revents & POLLHUP) return -1;
  if (nf == S6NET_TLSZ_NFDS) {
    (void)!send(fds[4], "?", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (!handed++ && verbosity)
      s6net_warn("no TLS zygote is running: connections get fresh engines until one is");
  }
  for (unsigned int i = 0; i < nf; i++) close(fds[i]);
  return 0;
}

_Noreturn static void keeper(args const *zargs, int zside, int tell, pid_t parent, int verbosity)
{
  /* We go with the super-server, and the zygote goes with us. */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent) _exit(111);
  prctl(PR_SET_NAME, "s6-tls-keeper");
  /* Out of the way of the fds the zygote gets (3 and 4). */
  int hz = fcntl(zside, F_DUPFD_CLOEXEC, 10);
  if (hz < 0) s6net_diesys(111, "unable to duplicate fd");
  close(zside);
  zside = hz;
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) { dup2(null, 0); dup2(null, 1); if (null > 1) close(null); }
  int ksig = s6net_selfpipe_init();
  if (ksig < 0 || s6net_selfpipe_trap(SIGCHLD) < 0) s6net_diesys(111, "unable to set up the self-pipe");
  signal(SIGPIPE, SIG_IGN);
  pid_t pid = -1;
  int readyr = -1, orphan = 0;
  long long started = 0, respawn = 0;
  unsigned int young = 0; /* deaths in a row of zygotes that lived less than a minute */
  for (;;) {
    if (pid < 0 && s6net_now_ms() >= respawn) {
      pid = spawn_zygote(zargs, zside, &readyr);
      started = s6net_now_ms();
      if (pid < 0) {
        if (tell >= 0) _exit(111);
        respawn = s6net_now_ms() + backoff(young++);
      }
    }
    struct pollfd p[3] = { { .fd = ksig, .events = POLLIN }, { .fd = readyr, .events = POLLIN },
                           { .fd = !orphan && (pid < 0 || readyr >= 0) ? zside : -1, .events = POLLIN } };
    long long to = pid < 0 ? respawn - s6net_now_ms() : -1;
    if (pid < 0 && to < 0) to = 0;
    if (poll(p, 3, (int)to) < 0 && errno != EINTR) s6net_diesys(111, "unable to poll");
    if (readyr >= 0 && p[1].revents) {
      char c;
      ssize_t r = read(readyr, &c, 1);
      if (r < 0 && errno == EINTR) continue;
      close(readyr);
      readyr = -1;
      if (r == 1 && tell >= 0) {
        if (s6net_write_all(tell, "\n", 1) < 0) _exit(111);
        close(tell);
        tell = -1;
      }
      if (r == 1 && handed) {
        if (verbosity) s6net_warn("TLS zygote pid %ld is ready: %lu connections got fresh engines meanwhile", (long)pid, handed);
        handed = 0;
      }
    }
    if (p[2].revents && refuse(zside, verbosity, p[2].revents) < 0) orphan = 1;
    if (p[0].revents) {
      while (s6net_selfpipe_read() > 0) ;
      int st;
      if (pid < 0 || waitpid(pid, &st, WNOHANG) != pid) continue;
      pid_t dead = pid;
      pid = -1;
      if (readyr >= 0) { close(readyr); readyr = -1; }
      if (tell >= 0) {
        /* Never ready: the keys are bad at start-up; exit as it did. */
        if (WIFEXITED(st)) _exit(WEXITSTATUS(st) ? WEXITSTATUS(st) : 111);
        s6net_die(111, "s6-tlsd-io killed by signal %d", WTERMSIG(st));
      }
      if (WIFEXITED(st)) s6net_warn("TLS zygote pid %ld exited with code %d, restarting it", (long)dead, WEXITSTATUS(st));
      else s6net_warn("TLS zygote pid %ld killed by signal %d, restarting it", (long)dead, WTERMSIG(st));
      long long now = s6net_now_ms();
      if (now - started >= 60000) young = 0;
      respawn = now + backoff(young++);
    }
  }
}

/* Fork the keeper and wait until the zygote's keys are loaded. On
 * failure, exit with its code: a bad key is reported once, at start-up. */
static void start_zygote(args const *zargs, int zside, int cside, int verbosity)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) s6net_diesys(111, "unable to create pipe");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) s6net_diesys(111, "unable to fork");
  if (!pid) {
    close(p[0]);
    close(cside);
    keeper(zargs, zside, p[1], parent, verbosity);
  }
  close(p[1]);
  char c;
  ssize_t r;
  do r = read(p[0], &c, 1); while (r < 0 && errno == EINTR);
  close(p[0]);
  if (r == 1) return;
  int st;
  if (waitpid(pid, &st, 0) < 0) s6net_diesys(111, "unable to wait for the TLS zygote");
  if (WIFEXITED(st)) _exit(WEXITSTATUS(st) ? WEXITSTATUS(st) : 111);
  s6net_die(111, "s6-tlsd-io killed by signal %d", WTERMSIG(st));
}

#endif

static int keys_set(char const *const *envp, char const *snilevel)
{
  int haspair = s6net_env_get(envp, "KEYFILE") && s6net_env_get(envp, "CERTFILE");
  if (!snilevel || !strcmp(snilevel, "0")) return haspair;
  for (; *envp; envp++) if (!strncmp(*envp, "KEYFILE:", 8)) return 1;
  return haspair;
}

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-tlsserver";
  args tcp = { .n = 0 }, acc = { .n = 0 }, tls = { .n = 0 }, uid = { .n = 0 }, zy = { .n = 0 };
  int verbosity = 1, useaccess = 0, proxy = 0, nozygote = 0, useuid = 0;
  unsigned int tickets = 3600;
  char const *alpn = 0, *snilevel = 0, *certmode = 0;
  char const *kimeout = 0;
  char vbuf[16];
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  int opt;
  static char optbuf[MAXARGS][3];
  unsigned int nob = 0;
  while ((opt = s6net_sgetopt_next(&g, argc, argv, "qQv1c:C:b:wWdDrRpPHhl:B:t:i:x:ZzSsJjYyK:k:a:u:g:G:ULXT:")) != -1) {
    char *o = optbuf[nob < MAXARGS - 1 ? nob++ : nob];
    o[0] = '-'; o[1] = (char)opt; o[2] = 0;
    switch (opt) {
      case 'q': verbosity = 0; break;
      case 'Q': verbosity = 1; break;
      case 'v': verbosity = 2; break;
      case '1': push(&tcp, o); break;
      case 'c': case 'C': case 'b': push(&tcp, o); push(&tcp, g.arg); break;
      case 'w': case 'W': case 'd': case 'D': case 'r': case 'R': case 'p': case 'P': case 'H': case 'h':
        push(&acc, o); useaccess = 1; break;
      case 'l': case 'B': case 't': case 'i': case 'x':
        push(&acc, o); push(&acc, g.arg); useaccess = 1; break;
      case 'Z': case 'z': case 'S': case 's': case 'J': case 'j':
        push(&tls, o); break;
      case 'Y': case 'y': push(&tls, o); certmode = o; break;
      case 'K': push(&tls, o); push(&tls, g.arg); kimeout = g.arg; break;
      case 'k': push(&tls, o); push(&tls, g.arg); snilevel = g.arg; break;
      case 'a': push(&tls, o); push(&tls, g.arg); alpn = g.arg; break;
      case 'u': case 'g': case 'G': push(&uid, o); push(&uid, g.arg); useuid = 1; break;
      case 'U': push(&uid, "-Uz"); useuid = 1; break;
      case 'L': proxy = 1; break;
      case 'X': nozygote = 1; break;
      case 'T': if (s6net_scan_uint(g.arg, 0, 604800, &tickets) < 0) s6net_dieusage(USAGE); break;
      default: s6net_dieusage(USAGE);
    }
  }
  argc -= g.ind; argv += g.ind;
  if (argc < 3) s6net_dieusage(USAGE);
  if (!keys_set((char const *const *)environ, snilevel))
    s6net_die(100, "KEYFILE and CERTFILE must be set");
  s6net_tls_ids_check((char const *const *)environ);

  args out = { .n = 0 };
  push(&out, sib("s6-tcpserver"));
  push(&out, verbosity == 0 ? "-q" : verbosity == 2 ? "-v" : "-Q");
  for (unsigned int i = 0; i < tcp.n; i++) push(&out, tcp.v[i]);
  push(&out, argv[0]);
  push(&out, argv[1]);
  if (useaccess) {
    push(&out, sib("s6-tcpserver-access"));
    if (verbosity != 1) push(&out, verbosity ? "-v2" : "-v0");
    for (unsigned int i = 0; i < acc.n; i++) push(&out, acc.v[i]);
  }
  /* A client that connects and sends nothing must not hold a slot: the
   * PROXY header gets the handshake's time limit (both in ms). */
  if (proxy) {
    push(&out, sib("proxy-server"));
    push(&out, "-t");
    push(&out, kimeout ? kimeout : S6NET_TLSSERVER_PROXY_TIMEOUT);
  }
  push(&out, sib("s6-tlsd"));
  snprintf(vbuf, sizeof vbuf, "-v%d", verbosity);
  push(&out, vbuf);
  for (unsigned int i = 0; i < tls.n; i++) push(&out, tls.v[i]);
  push(&out, "--");
  if (useuid) {
    push(&out, sib("s6-applyuidgid"));
    for (unsigned int i = 0; i < uid.n; i++) push(&out, uid.v[i]);
    push(&out, "--");
  }
  size_t nout = out.n;
  size_t total = nout + (size_t)(argc - 2) + 1;
  char const **full = malloc(total * sizeof *full);
  if (!full) s6net_diesys(111, "unable to allocate");
  memcpy(full, out.v, nout * sizeof *full);
  for (int i = 2; i < argc; i++) full[nout++] = argv[i];
  full[nout] = 0;

  char const *const *envp = (char const *const *)environ;
  char const **env = (char const **)environ;
  /* With -L the TLS layer sees the proxied endpoints only after
   * proxy-server; the zygote does not care, it serves any connection. */
  if (!nozygote) {
#ifdef __linux__
    /* The rendezvous is an inherited socketpair: there is no name that
     * another process could bind first, connect to, or take over. */
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) s6net_diesys(111, "unable to create socketpair");
    static char envbuf[64], zbuf[S6NET_TLS_ENGINE_BUFLEN];
    char const *zargv[S6NET_TLS_ENGINE_ARGC_MAX];
    s6net_tls_engine_args za;
    s6net_tls_engine_args_init(&za, 1);
    za.conf.caller = "s6-tlsserver";
    za.conf.verbosity = (unsigned int)verbosity;
    if (certmode) za.conf.clientcert = certmode[1] == 'y' ? S6NET_TLS_CERT_REQUIRED : S6NET_TLS_CERT_OPTIONAL;
    if (snilevel && s6net_scan_uint(snilevel, 0, 255, &za.conf.snilevel) < 0) s6net_dieusage(USAGE);
    za.conf.alpn = alpn;
    za.notif = ZYGOTE_READY_FD;
    za.zygote = ZYGOTE_FD;
    za.tickets = tickets;
    if (!s6net_tls_engine_argv(&za, zargv, S6NET_TLS_ENGINE_ARGC_MAX, zbuf, sizeof zbuf))
      s6net_die(111, "unable to build the engine command line");
    push(&zy, sib(zargv[0]));
    for (char const *const *z = zargv + 1; *z; z++) push(&zy, *z);
    zy.v[zy.n] = 0;
    start_zygote(&zy, sp[0], sp[1], verbosity);
    close(sp[0]);
    /* Inherited by the chain down to s6-tlsd, which marks it
     * close-on-exec before anything else. */
    int cfd = fcntl(sp[1], F_DUPFD, 100);
    if (cfd >= 0) close(sp[1]);
    else if (fcntl(sp[1], F_SETFD, 0) == 0) cfd = sp[1]; /* a low fd limit */
    else s6net_diesys(111, "unable to make the zygote socket inheritable");
    snprintf(envbuf, sizeof envbuf, "%s=%d", S6NET_TLSZ_ENV, cfd);
    size_t ne = 0;
    while (envp[ne]) ne++;
    env = malloc((ne + 2) * sizeof *env);
    if (!env) s6net_diesys(111, "unable to allocate");
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
      if (strncmp(envp[i], S6NET_TLSZ_ENV "=", sizeof S6NET_TLSZ_ENV)) env[k++] = envp[i];
    env[k++] = envbuf;
    env[k] = 0;
#else
    /* No zygote here (s6-tlsserver(1), CAVEATS): as with -X. */
    (void)envp; (void)certmode; (void)alpn; (void)tickets; (void)zy;
#endif
  }
  execve(full[0], (char *const *)full, (char *const *)env);
  s6net_diesys(111, "unable to exec %s", full[0]);
}
