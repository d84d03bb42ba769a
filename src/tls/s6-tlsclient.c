/* s6-tlsclient: rewrite into
 *   s6-tcpclient ... host port s6-tlsc ... -- prog... */
#include "tls/tlsopt.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "[ -q | -Q | -v ] [ -4 | -6 ] [ -d | -D ] [ -r | -R ] [ -h ] [ -H ] [ -n | -N ] [ -t timeout ] [ -l localname ] [ -T timeoutconn ] [ -i localip ] [ -p localport ] [ -P 1|2 ] [ -Z | -z ] [ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -k servername ] [ -K kimeout ] [ -a alpnlist ] [ --no-verify-cert ] [ -- ] host port prog..."

extern char **environ;

#define MAXARGS 64

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-tlsclient";
  char const *tcp[MAXARGS], *tls[MAXARGS];
  unsigned int ntcp = 0, ntls = 0;
  static char optbuf[MAXARGS][3];
  unsigned int nob = 0;
  char const *servername = 0;
  int nodns = 0, verbosity = 1, noverify = 0;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  for (;;) {
    if (!g.pos && g.ind < argc && !strcmp(argv[g.ind], "--no-verify-cert")) {
      if (ntls < MAXARGS - 8) tls[ntls++] = argv[g.ind];
      noverify = 1;
      g.ind++;
      continue;
    }
    int opt = s6net_sgetopt_next(&g, argc, argv, "qQv46dDrRhHnNt:l:T:i:p:P:ZzSsJjYyk:K:a:");
    if (opt == -1) break;
    if (nob >= MAXARGS || ntcp >= MAXARGS - 8 || ntls >= MAXARGS - 8) s6net_dieusage(USAGE);
    char *o = optbuf[nob++];
    o[0] = '-'; o[1] = (char)opt; o[2] = 0;
    switch (opt) {
      case 'q': verbosity = 0; tcp[ntcp++] = o; break;
      case 'Q': verbosity = 1; tcp[ntcp++] = o; break;
      case 'v': verbosity = 2; tcp[ntcp++] = o; break;
      case 'H': nodns = 1; tcp[ntcp++] = o; break;
      case '4': case '6': case 'd': case 'D': case 'r': case 'R': case 'h': case 'n': case 'N':
        tcp[ntcp++] = o; break;
      case 't': case 'l': case 'T': case 'i': case 'p': case 'P':
        tcp[ntcp++] = o; tcp[ntcp++] = g.arg; break;
      case 'Z': case 'z': case 'S': case 's': case 'J': case 'j': case 'Y': case 'y':
        tls[ntls++] = o; break;
      case 'k': servername = g.arg; break;
      case 'K': case 'a': tls[ntls++] = o; tls[ntls++] = g.arg; break;
      default: s6net_dieusage(USAGE);
    }
  }
  argc -= g.ind; argv += g.ind;
  if (argc < 3) s6net_dieusage(USAGE);
  /* Without trust anchors the engine could only refuse the server: say
   * so now, before a connection is made for nothing. */
  if (!noverify && !s6net_env_get((char const *const *)environ, "CADIR") && !s6net_env_get((char const *const *)environ, "CAFILE"))
    s6net_die(100, "CADIR or CAFILE must be set to verify the server (or use --no-verify-cert)");
  /* SNI and name verification default to the host we connect to, unless
   * -H says that name is not to be trusted as a DNS name. */
  if (!servername && !nodns) servername = argv[0];

  char tcppath[4200], tlspath[4200];
  if (s6net_sibling(tcppath, sizeof tcppath, "s6-tcpclient") < 0 ||
      s6net_sibling(tlspath, sizeof tlspath, "s6-tlsc") < 0)
    s6net_diesys(111, "unable to find siblings");
  size_t total = 1 + ntcp + 2 + 1 + 1 + ntls + 2 + 1 + (size_t)(argc - 2) + 1;
  char const **v = malloc(total * sizeof *v);
  if (!v) s6net_diesys(111, "unable to allocate");
  size_t n = 0;
  v[n++] = tcppath;
  for (unsigned int i = 0; i < ntcp; i++) v[n++] = tcp[i];
  v[n++] = argv[0];
  v[n++] = argv[1];
  v[n++] = tlspath;
  v[n++] = verbosity == 0 ? "-v0" : verbosity == 2 ? "-v2" : "-v1";
  for (unsigned int i = 0; i < ntls; i++) v[n++] = tls[i];
  if (servername) { v[n++] = "-k"; v[n++] = servername; }
  v[n++] = "--";
  for (int i = 2; i < argc; i++) v[n++] = argv[i];
  v[n] = 0;
  execve(v[0], (char *const *)v, environ);
  s6net_diesys(111, "unable to exec %s", v[0]);
}
