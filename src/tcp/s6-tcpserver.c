/* s6-tcpserver: the UCSPI front end. Checks its whole command line (so
 * that mistakes exit 100 here, with one line), then rewrites itself into
 *   s6-tcpserver-socketbinder [-b backlog] ip port \
 *     [s6-applyuidgid -U -u -g -G ...] \
 *     s6-tcpserverd [-1] -v N -c N -C N [-P ..] [-R ..] prog...
 * Every sibling is run by absolute path from our own directory (never
 * from PATH, where Debian's s6 has programs of the same names); the
 * s6-applyuidgid link is only there when a privilege option is given.
 * Under systemd socket activation (LISTEN_PID is ours) the socket is
 * already bound: the binder is left out (-b, ip and port are checked,
 * then unused) and s6-tcpserverd takes the socket from fd 3. */
#include "core/addr.h"
#include "core/diag.h"
#include "core/exec.h"
#include "core/num.h"
#include "core/opt.h"
#include "server/server.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "[ -q | -Q | -v ] [ -1 ] [ -c maxconn ] [ -C localmaxconn ] [ -b backlog ] [ -P v4bits,v6bits ] [ -R rate ] [ -G gidlist ] [ -g gid ] [ -u uid ] [ -U ] ip port prog..."
#define MAXPRIV 32

extern char **environ;

static unsigned int scan_opt(char const *s, unsigned int min, unsigned int max, char const *what)
{
  unsigned int u;
  if (s6net_scan_uint(s, min, max, &u) < 0)
    s6net_die(100, "invalid %s: %s (must be %u to %u)", what, s, min, max);
  return u;
}

int main(int argc, char **argv)
{
  s6net_prog = "s6-tcpserver";
  char const *verb = "1", *maxc = "40", *localc = 0, *backlog = 0, *prefix = 0, *rate = 0;
  char const *priv[MAXPRIV * 2];
  unsigned int npriv = 0;
  unsigned int maxconn = 40, localmaxconn = 40;
  int ready = 0, opt;
  /* -g without a group list must not keep root's supplementary groups. */
  char const *lastgid = 0;
  int haslist = 0;
  s6net_sgetopt sg = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&sg, argc, (char const *const *)argv, "qQv1c:C:b:P:R:G:g:u:U")) != -1) {
    unsigned long long x;
    gid_t list[256];
    size_t n;
    switch (opt) {
      case 'q': verb = "0"; break;
      case 'Q': verb = "1"; break;
      case 'v': verb = "2"; break;
      case '1': ready = 1; break;
      case 'c': maxconn = scan_opt(sg.arg, 1, S6NET_SERVER_MAXCONN, "maxconn"); maxc = sg.arg; break;
      case 'C': localmaxconn = scan_opt(sg.arg, 1, S6NET_SERVER_MAXCONN, "localmaxconn"); localc = sg.arg; break;
      /* 0 would leave the socket not listening (the binder's -b 0). */
      case 'b': scan_opt(sg.arg, 1, INT_MAX, "backlog"); backlog = sg.arg; break;
      case 'R': scan_opt(sg.arg, 1, 1000000, "rate"); rate = sg.arg; break;
      case 'P': {
        char const *comma = strchr(sg.arg, ',');
        unsigned int b;
        char tmp[16];
        size_t l = comma ? (size_t)(comma - sg.arg) : sizeof tmp;
        if (l >= sizeof tmp) s6net_die(100, "invalid prefix lengths: %s (must be v4bits,v6bits)", sg.arg);
        memcpy(tmp, sg.arg, l);
        tmp[l] = 0;
        if (s6net_scan_uint(tmp, 0, 32, &b) < 0 || s6net_scan_uint(comma + 1, 0, 128, &b) < 0)
          s6net_die(100, "invalid prefix lengths: %s (must be 0..32,0..128)", sg.arg);
        prefix = sg.arg;
        break;
      }
      case 'u': case 'g':
        if (s6net_scan_ull(sg.arg, 0, (uid_t)-2, &x) < 0) s6net_die(100, "invalid %s: %s", opt == 'u' ? "uid" : "gid", sg.arg);
        if (opt == 'g') lastgid = sg.arg;
        goto addpriv;
      case 'G':
        if (s6net_scan_idlist(sg.arg, list, 256, &n) < 0) s6net_die(100, "invalid gidlist: %s", sg.arg);
        haslist = 1;
        goto addpriv;
      case 'U': {
        char const *u = getenv("UID"), *g = getenv("GID"), *l = getenv("GIDLIST");
        /* Silently staying root because the variables are missing would
         * be the worst outcome of a typo in a run script; s6-applyuidgid
         * wants both, and would only say so once the socket is bound. */
        if (!u) s6net_die(100, "-U given but UID not set");
        if (!g) s6net_die(100, "-U given but GID not set");
        if (s6net_scan_ull(u, 0, (uid_t)-2, &x) < 0) s6net_die(100, "invalid UID: %s", u);
        if (s6net_scan_ull(g, 0, (gid_t)-2, &x) < 0) s6net_die(100, "invalid GID: %s", g);
        if (l && s6net_scan_idlist(l, list, 256, &n) < 0) s6net_die(100, "invalid GIDLIST: %s", l);
        if (g) lastgid = g;
        if (l) haslist = 1;
      }
      /* fall through */
      addpriv:
        if (npriv >= MAXPRIV) s6net_die(100, "too many privilege options");
        priv[2 * npriv] = opt == 'U' ? "-U" : opt == 'u' ? "-u" : opt == 'g' ? "-g" : "-G";
        priv[2 * npriv + 1] = opt == 'U' ? 0 : sg.arg;
        npriv++;
        break;
      default: s6net_dieusage(USAGE);
    }
  }
  argc -= sg.ind;
  argv += sg.ind;
  if (argc < 3 || !*argv[2]) s6net_dieusage(USAGE);
  s6net_ip46 ip;
  uint16_t port;
  if (s6net_ip46_scan(argv[0], &ip) < 0) s6net_die(100, "invalid IP address: %s", argv[0]);
  if (s6net_scan_port(argv[1], &port) < 0) s6net_die(100, "invalid port: %s", argv[1]);
  if (localc && localmaxconn > maxconn)
    s6net_die(100, "invalid localmaxconn: %u (must not exceed maxconn %u)", localmaxconn, maxconn);
  char lbuf[24];
  if (!localc) {
    s6net_fmt_ull(lbuf, localmaxconn > maxconn ? maxconn : localmaxconn);
    localc = lbuf;
  }

  char dpath[4200], apath[4200];
  if (s6net_sibling(dpath, sizeof dpath, "s6-tcpserverd") < 0
   || s6net_sibling(apath, sizeof apath, "s6-applyuidgid") < 0) s6net_diesys(111, "unable to locate our siblings");
  char const **nargv = malloc(sizeof *nargv * ((size_t)argc + 32 + 2 * MAXPRIV));
  if (!nargv) s6net_diesys(111, "unable to allocate");
  size_t m = 0;
  int activated = 0;
  {
    char const *lpid = getenv("LISTEN_PID");
    unsigned long long x;
    activated = lpid && getenv("LISTEN_FDS") && !s6net_scan_ull(lpid, 1, INT_MAX, &x) && (pid_t)x == getpid();
  }
  char const *first = activated ? npriv ? "s6-applyuidgid" : "s6-tcpserverd" : "s6-tcpserver-socketbinder";
  if (!activated) {
    nargv[m++] = "s6-tcpserver-socketbinder";
    if (backlog) { nargv[m++] = "-b"; nargv[m++] = backlog; }
    nargv[m++] = "--";
    nargv[m++] = argv[0];
    nargv[m++] = argv[1];
  }
  if (npriv) {
    nargv[m++] = apath;
    for (unsigned int i = 0; i < npriv; i++) {
      nargv[m++] = priv[2 * i];
      if (priv[2 * i + 1]) nargv[m++] = priv[2 * i + 1];
    }
    if (lastgid && !haslist) { nargv[m++] = "-G"; nargv[m++] = lastgid; }
    nargv[m++] = "--";
  }
  nargv[m++] = dpath;
  if (ready) nargv[m++] = "-1";
  nargv[m++] = "-v"; nargv[m++] = verb;
  nargv[m++] = "-c"; nargv[m++] = maxc;
  nargv[m++] = "-C"; nargv[m++] = localc;
  if (prefix) { nargv[m++] = "-P"; nargv[m++] = prefix; }
  if (rate) { nargv[m++] = "-R"; nargv[m++] = rate; }
  nargv[m++] = "--";
  for (int i = 2; i < argc; i++) nargv[m++] = argv[i];
  nargv[m] = 0;
  if (!ready) {
    /* The page: s6-tcpserver closes its stdout, -1 or not (with -1,
     * s6-tcpserverd does it after the port line). /dev/null keeps fd 1
     * taken, so no later open() lands there. */
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) s6net_diesys(111, "unable to open /dev/null");
    if (fd != 1) {
      if (dup2(fd, 1) < 0) s6net_diesys(111, "unable to redirect stdout");
      close(fd);
    } else if (fcntl(1, F_SETFD, 0) < 0) s6net_diesys(111, "unable to redirect stdout");
  }
  s6net_exec_sibling(first, nargv, (char const *const *)environ);
  s6net_diesys(111, "unable to exec %s", first);
}
