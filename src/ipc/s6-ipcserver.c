/* s6-ipcserver [-1] [-q|-Q|-v] [-d|-D] [-P|-p] [-a perms] [-c maxconn]
 *   [-C localmaxconn] [-b backlog] [-G gidlist] [-g gid] [-u uid] [-U] path prog...
 * Rewrite into the chain
 *   s6-ipcserver-socketbinder [-d|-D] [-b backlog] [-a perms] path
 *   [s6-applyuidgid [-U] [-u uid] [-g gid] [-G gidlist]]
 *   s6-ipcserverd [-1] -v N [-P|-p] [-c maxconn] [-C localmaxconn] prog...
 * with every link one of our siblings named by full path, never a
 * same-named program found in PATH. Every option is checked here as
 * well, with the rules of the program that uses it, before anything is
 * run: a mistake exits 100 with one line and leaves no socket file
 * behind (the binder would otherwise create it before the daemon saw
 * the mistake). */
#include "core/diag.h"
#include "core/exec.h"
#include "core/num.h"
#include "core/opt.h"

#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define USAGE "[ -1 ] [ -q | -Q | -v ] [ -d | -D ] [ -P | -p ] [ -a perms ] [ -c maxconn ] [ -C localmaxconn ] [ -b backlog ] [ -G gidlist ] [ -g gid ] [ -u uid ] [ -U ] path prog..."

#define MAXCONN_LIMIT 1000   /* s6-ipcserverd's bound for -c and -C */
#define BACKLOG_LIMIT (1u << 20) /* s6-ipcserver-socketbinder's for -b */
#define MAXGROUPS 256        /* s6-applyuidgid's for -G and GIDLIST */

extern char **environ;

static void scan_opt(char const *s, unsigned int min, unsigned int max, char const *what)
{
  unsigned int u;
  if (s6net_scan_uint(s, min, max, &u) < 0)
    s6net_die(100, "invalid %s: %s (must be %u to %u)", what, s, min, max);
}

/* Octal 0 to 0777, as s6-ipcserver-socketbinder takes it. */
static void scan_perms(char const *s)
{
  char const *p = s;
  unsigned int v = 0;
  if (!*p) goto bad;
  for (; *p; p++) {
    if (*p < '0' || *p > '7' || v > 0777) goto bad;
    v = v * 8 + (unsigned int)(*p - '0');
  }
  if (v <= 0777) return;
 bad:
  s6net_die(100, "invalid perms: %s (must be octal, 0 to 0777)", s);
}

static void scan_id(char const *s, char const *what)
{
  unsigned long long x;
  if (s6net_scan_ull(s, 0, (uid_t)-2, &x) < 0) s6net_die(100, "invalid %s: %s", what, s);
}

static void scan_groups(char const *s, char const *what)
{
  gid_t list[MAXGROUPS];
  size_t n;
  if (s6net_scan_idlist(s, list, MAXGROUPS, &n) < 0) s6net_die(100, "invalid %s: %s", what, s);
}

int main(int argc, char **argv)
{
  s6net_prog = "s6-ipcserver";
  char const *verb = "1", *perms = 0, *maxconn = 0, *localmax = 0, *backlog = 0;
  char const *gidlist = 0, *gid = 0, *uid = 0;
  int ready = 0, norebind = 0, nocreds = 0, fromenv = 0, opt;
  s6net_sgetopt sg = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&sg, argc, (char const *const *)argv, "1qQvdDPpa:c:C:b:G:g:u:U")) != -1) {
    switch (opt) {
      case '1': ready = 1; break;
      case 'q': verb = "0"; break;
      case 'Q': verb = "1"; break;
      case 'v': verb = "2"; break;
      case 'd': norebind = 0; break;
      case 'D': norebind = 1; break;
      case 'P': nocreds = 1; break;
      case 'p': nocreds = 0; break;
      case 'a': scan_perms(sg.arg); perms = sg.arg; break;
      case 'c': scan_opt(sg.arg, 1, MAXCONN_LIMIT, "maxconn"); maxconn = sg.arg; break;
      case 'C': scan_opt(sg.arg, 1, MAXCONN_LIMIT, "localmaxconn"); localmax = sg.arg; break;
      /* 0 would leave the socket not listening, and s6-ipcserverd
       * would refuse it once the socket file exists. */
      case 'b': scan_opt(sg.arg, 1, BACKLOG_LIMIT, "backlog"); backlog = sg.arg; break;
      case 'G': scan_groups(sg.arg, "gidlist"); gidlist = sg.arg; break;
      case 'g': scan_id(sg.arg, "gid"); gid = sg.arg; break;
      case 'u': scan_id(sg.arg, "uid"); uid = sg.arg; break;
      case 'U': fromenv = 1; break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (argc - sg.ind < 2 || !*argv[sg.ind] || !*argv[sg.ind + 1]) s6net_dieusage(USAGE);
  if (fromenv) {
    /* s6-applyuidgid -U needs both, and would only say so once the
     * socket is bound. */
    char const *u = getenv("UID"), *g = getenv("GID"), *l = getenv("GIDLIST");
    if (!u) s6net_die(100, "-U given but UID not set");
    if (!g) s6net_die(100, "-U given but GID not set");
    scan_id(u, "UID");
    scan_id(g, "GID");
    if (l) scan_groups(l, "GIDLIST");
  }

  static char binder[4200], apply[4200], daemon[4200];
  if (s6net_sibling(binder, sizeof binder, "s6-ipcserver-socketbinder") < 0
   || s6net_sibling(apply, sizeof apply, "s6-applyuidgid") < 0
   || s6net_sibling(daemon, sizeof daemon, "s6-ipcserverd") < 0)
    s6net_diesys(111, "unable to locate sibling programs");

  size_t nprog = (size_t)(argc - sg.ind - 1);
  char const **av = malloc(sizeof(char *) * (40 + nprog));
  if (!av) s6net_diesys(111, "unable to allocate the command line");
  size_t n = 0;
  av[n++] = "s6-ipcserver-socketbinder";
  av[n++] = norebind ? "-D" : "-d";
  if (backlog) { av[n++] = "-b"; av[n++] = backlog; }
  if (perms) { av[n++] = "-a"; av[n++] = perms; }
  av[n++] = "--";
  av[n++] = argv[sg.ind];
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
  for (size_t i = 0; i < nprog; i++) av[n++] = argv[sg.ind + 1 + i];
  av[n] = 0;
  s6net_exec_sibling("s6-ipcserver-socketbinder", av, (char const *const *)environ);
  s6net_diesys(111, "unable to exec %s", binder);
}
