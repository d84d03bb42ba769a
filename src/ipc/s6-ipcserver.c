/* s6-ipcserver [-1] [-q|-Q|-v] [-d|-D] [-P|-p] [-a perms] [-c maxconn]
 *   [-C localmaxconn] [-b backlog] [-G gidlist] [-g gid] [-u uid] [-U] path prog...
 * Rewrite into the chain
 *   s6-ipcserver-socketbinder [-d|-D] [-b backlog] [-a perms] path
 *   [s6-applyuidgid [-U] [-u uid] [-g gid] [-G gidlist]]
 *   s6-ipcserverd [-1] -v N [-P|-p] [-c maxconn] [-C localmaxconn] prog...
 * with every link one of our siblings named by full path, never a
 * same-named program found in PATH. Options are checked by the program
 * that uses them; this one only routes them. */
#include "core/diag.h"
#include "core/exec.h"

#include <stdlib.h>
#include <unistd.h>

#define USAGE "[ -1 ] [ -q | -Q | -v ] [ -d | -D ] [ -P | -p ] [ -a perms ] [ -c maxconn ] [ -C localmaxconn ] [ -b backlog ] [ -G gidlist ] [ -g gid ] [ -u uid ] [ -U ] path prog..."

extern char **environ;

int main(int argc, char **argv)
{
  s6net_prog = "s6-ipcserver";
  opterr = 0;
  char const *verb = "1", *perms = 0, *maxconn = 0, *localmax = 0, *backlog = 0;
  char const *gidlist = 0, *gid = 0, *uid = 0;
  int ready = 0, norebind = 0, nocreds = 0, fromenv = 0, opt;
  while ((opt = getopt(argc, argv, "+1qQvdDPpa:c:C:b:G:g:u:U")) != -1) {
    switch (opt) {
      case '1': ready = 1; break;
      case 'q': verb = "0"; break;
      case 'Q': verb = "1"; break;
      case 'v': verb = "2"; break;
      case 'd': norebind = 0; break;
      case 'D': norebind = 1; break;
      case 'P': nocreds = 1; break;
      case 'p': nocreds = 0; break;
      case 'a': perms = optarg; break;
      case 'c': maxconn = optarg; break;
      case 'C': localmax = optarg; break;
      case 'b': backlog = optarg; break;
      case 'G': gidlist = optarg; break;
      case 'g': gid = optarg; break;
      case 'u': uid = optarg; break;
      case 'U': fromenv = 1; break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (argc - optind < 2) s6net_dieusage(USAGE);

  static char binder[4200], apply[4200], daemon[4200];
  if (s6net_sibling(binder, sizeof binder, "s6-ipcserver-socketbinder") < 0
   || s6net_sibling(apply, sizeof apply, "s6-applyuidgid") < 0
   || s6net_sibling(daemon, sizeof daemon, "s6-ipcserverd") < 0)
    s6net_diesys(111, "unable to locate sibling programs");

  size_t nprog = (size_t)(argc - optind - 1);
  char const **av = malloc(sizeof(char *) * (40 + nprog));
  if (!av) s6net_diesys(111, "unable to allocate the command line");
  size_t n = 0;
  av[n++] = "s6-ipcserver-socketbinder";
  av[n++] = norebind ? "-D" : "-d";
  if (backlog) { av[n++] = "-b"; av[n++] = backlog; }
  if (perms) { av[n++] = "-a"; av[n++] = perms; }
  av[n++] = "--";
  av[n++] = argv[optind];
  if (fromenv || uid || gid || gidlist) {
    av[n++] = apply;
    if (fromenv) av[n++] = "-U";
    if (uid) { av[n++] = "-u"; av[n++] = uid; }
    if (gid) { av[n++] = "-g"; av[n++] = gid; }
    if (gidlist) { av[n++] = "-G"; av[n++] = gidlist; }
    av[n++] = "--";
  }
  av[n++] = daemon;
  if (ready) av[n++] = "-1";
  av[n++] = "-v"; av[n++] = verb;
  av[n++] = nocreds ? "-P" : "-p";
  if (maxconn) { av[n++] = "-c"; av[n++] = maxconn; }
  if (localmax) { av[n++] = "-C"; av[n++] = localmax; }
  av[n++] = "--";
  for (size_t i = 0; i < nprog; i++) av[n++] = argv[optind + 1 + i];
  av[n] = 0;
  s6net_exec_sibling("s6-ipcserver-socketbinder", av, (char const *const *)environ);
  s6net_diesys(111, "unable to exec %s", binder);
}
