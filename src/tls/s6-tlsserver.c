/* s6-tlsserver: rewrite into
 *   s6-tcpserver ... ip port [s6-tcpserver-access ...] [proxy-server]
 *     s6-tlsd ... -- [s6-applyuidgid ... --] prog...
 * after starting the pre-initialised engine (zygote) that the s6-tlsd
 * instances hand their connections to; see s6-tlsserver(1). */
#include "tls/tlsopt.h"
#include "tls/tlsz.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/num.h"
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/wait.h>

#define USAGE "[ -q | -Q | -v ] [ -1 ] [ -c maxconn ] [ -C localmaxconn ] [ -b backlog ] [ -w | -W ] [ -d | -D ] [ -r | -R ] [ -p | -P ] [ -H ] [ -h ] [ -l localname ] [ -B banner ] [ -t timeout ] [ -i rulesdir | -x rulesfile ] [ -Z | -z ] [ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -K kimeout ] [ -k snilevel ] [ -a alpnlist ] [ -u uid ] [ -g gid ] [ -G gidlist ] [ -U ] [ -L ] [ -X ] [ -T period ] [ -- ] ip port prog..."

extern char **environ;

#define MAXARGS 96
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

/* Start the zygote and wait until its keys are loaded. On failure, exit
 * with its code: a bad key is reported once, at start-up. */
static void start_zygote(args const *zargs)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) s6net_diesys(111, "unable to create pipe");
  s6net_fdmap map[1] = { { 3, p[1] } };
  pid_t pid = s6net_spawn(zargs->v[0], zargs->v, (char const *const *)environ, map, 1, 0);
  if (pid < 0) s6net_diesys(111, "unable to spawn %s", zargs->v[0]);
  close(p[1]);
  char c;
  ssize_t r;
  do r = read(p[0], &c, 1); while (r < 0 && errno == EINTR);
  close(p[0]);
  if (r == 1) return;
  int st;
  if (waitpid(pid, &st, 0) < 0) s6net_diesys(111, "unable to wait for s6-tlsd-io");
  if (WIFEXITED(st)) _exit(WEXITSTATUS(st) ? WEXITSTATUS(st) : 111);
  s6net_die(111, "s6-tlsd-io killed by signal %d", WTERMSIG(st));
}

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
  char const *alpn = 0, *snilevel = 0, *certmode = 0, *tperiod = 0;
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
      case 'T':
        {
          unsigned int t;
          if (s6net_scan_uint(g.arg, 0, 604800, &t) < 0) s6net_dieusage(USAGE);
          tperiod = g.arg;
        }
        break;
      default: s6net_dieusage(USAGE);
    }
  }
  argc -= g.ind; argv += g.ind;
  if (argc < 3) s6net_dieusage(USAGE);
  if (!keys_set((char const *const *)environ, snilevel))
    s6net_die(100, "KEYFILE and CERTFILE must be set");

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
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) s6net_diesys(111, "unable to get random bytes");
    static char name[64], envbuf[96];
    snprintf(name, sizeof name, "s6net-tlsd/%ld/%02x%02x%02x%02x%02x%02x%02x%02x", (long)getpid(),
             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    push(&zy, sib("s6-tlsd-io"));
    push(&zy, "-X"); push(&zy, name);
    push(&zy, "-N"); push(&zy, "s6-tlsserver");
    push(&zy, "-d3");
    push(&zy, vbuf);
    if (certmode) push(&zy, certmode);
    if (snilevel) { push(&zy, "-k"); push(&zy, snilevel); }
    if (alpn) { push(&zy, "-a"); push(&zy, alpn); }
    if (tperiod) { push(&zy, "-T"); push(&zy, tperiod); }
    zy.v[zy.n] = 0;
    start_zygote(&zy);
    snprintf(envbuf, sizeof envbuf, "%s=%s", S6NET_TLSZ_ENV, name);
    size_t ne = 0;
    while (envp[ne]) ne++;
    env = malloc((ne + 2) * sizeof *env);
    if (!env) s6net_diesys(111, "unable to allocate");
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
      if (strncmp(envp[i], S6NET_TLSZ_ENV "=", sizeof S6NET_TLSZ_ENV)) env[k++] = envp[i];
    env[k++] = envbuf;
    env[k] = 0;
#endif
  }
  execve(full[0], (char *const *)full, (char *const *)env);
  s6net_diesys(111, "unable to exec %s", full[0]);
}
