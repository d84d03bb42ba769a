/* s6-sudo [-q|-Q|-v] [-p bindpath] [-l localname] [-e] [-t timeoutconn]
 *         [-T timeoutrun] path [args...]
 * Convenience front end: exec s6-ipcclient path s6-sudoc args. Both are
 * our own siblings, named by full path, so that a same-named program
 * earlier in PATH (Debian's s6) is never picked up by mistake. */
#include "core/diag.h"
#include "core/exec.h"
#include "core/num.h"
#include "core/opt.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define USAGE "[ -q | -Q | -v ] [ -p bindpath ] [ -l localname ] [ -e ] [ -t timeoutconn ] [ -T timeoutrun ] path [ args... ]"

extern char **environ;

int main(int argc, char **argv)
{
  s6net_prog = "s6-sudo";
  char const *cli[8], *sudoc[8];
  unsigned int ncli = 0, nsudoc = 0, dummy;
  char const *verb = 0, *p = 0, *l = 0, *t = 0, *T = 0;
  int noenv = 0, opt;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "qQvp:l:et:T:")) != -1) {
    switch (opt) {
      case 'q': verb = "-q"; break;
      case 'Q': verb = "-Q"; break;
      case 'v': verb = "-v"; break;
      case 'p': p = g.arg; break;
      case 'l': l = g.arg; break;
      case 'e': noenv = 1; break;
      case 't': if (s6net_scan_uint(g.arg, 0, UINT32_MAX / 2, &dummy) < 0) s6net_dieusage(USAGE); t = g.arg; break;
      case 'T': if (s6net_scan_uint(g.arg, 0, UINT32_MAX / 2, &dummy) < 0) s6net_dieusage(USAGE); T = g.arg; break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (argc - g.ind < 1) s6net_dieusage(USAGE);

  static char clipath[4200], sudocpath[4200];
  if (s6net_sibling(clipath, sizeof clipath, "s6-ipcclient") < 0
   || s6net_sibling(sudocpath, sizeof sudocpath, "s6-sudoc") < 0)
    s6net_diesys(111, "unable to locate sibling programs");

  cli[ncli++] = "s6-ipcclient";
  if (verb) cli[ncli++] = verb;
  if (p) { cli[ncli++] = "-p"; cli[ncli++] = p; }
  if (l) { cli[ncli++] = "-l"; cli[ncli++] = l; }
  cli[ncli++] = "--";
  cli[ncli++] = argv[g.ind];
  sudoc[nsudoc++] = sudocpath;
  if (noenv) sudoc[nsudoc++] = "-e";
  if (t) { sudoc[nsudoc++] = "-t"; sudoc[nsudoc++] = t; }
  if (T) { sudoc[nsudoc++] = "-T"; sudoc[nsudoc++] = T; }
  sudoc[nsudoc++] = "--";

  size_t nargs = (size_t)(argc - g.ind - 1);
  char const **av = malloc(sizeof(char *) * (ncli + nsudoc + nargs + 1));
  if (!av) s6net_diesys(111, "unable to allocate the command line");
  size_t n = 0;
  for (unsigned int i = 0; i < ncli; i++) av[n++] = cli[i];
  for (unsigned int i = 0; i < nsudoc; i++) av[n++] = sudoc[i];
  for (size_t i = 0; i < nargs; i++) av[n++] = argv[g.ind + 1 + i];
  av[n] = 0;
  s6net_exec_sibling("s6-ipcclient", av, (char const *const *)environ);
  s6net_diesys(111, "unable to exec %s", clipath);
}
