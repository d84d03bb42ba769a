/* s6-applyuidgid [ -z ] [ -u uid ] [ -g gid ] [ -G gidlist ] [ -U ] prog...
 * Drop to the given ids (setgroups, setgid, setuid, each verified), then
 * exec prog. The privilege-dropping link of the chains that s6-tcpserver,
 * s6-ipcserver and s6-tlsserver rewrite themselves into; shipped here so
 * that those chains need no other package. */
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/num.h"
#include "core/opt.h"
#include "core/priv.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define USAGE "[ -z ] [ -u uid ] [ -g gid ] [ -G gidlist ] [ -U ] prog..."
#define MAXGROUPS 256

extern char **environ;

int main(int argc, char const *const *argv)
{
  uid_t uid = (uid_t)-1;
  gid_t gid = (gid_t)-1;
  gid_t groups[MAXGROUPS];
  size_t ngroups = (size_t)-1;
  int unexport = 0;
  unsigned long long u;
  char const *s;
  s6net_prog = "s6-applyuidgid";

  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  int opt;
  while ((opt = s6net_sgetopt_next(&g, argc, argv, "zu:g:G:U")) != -1) {
    char const *arg = g.arg;
    switch (opt) {
      case 'z': unexport = 1; break;
      case 'u':
        if (s6net_scan_ull(arg, 0, (uid_t)-2, &u) < 0) s6net_die(100, "invalid uid: %s", arg);
        uid = (uid_t)u; break;
      case 'g':
        if (s6net_scan_ull(arg, 0, (gid_t)-2, &u) < 0) s6net_die(100, "invalid gid: %s", arg);
        gid = (gid_t)u; break;
      case 'G':
        if (s6net_scan_idlist(arg, groups, MAXGROUPS, &ngroups) < 0) s6net_die(100, "invalid gid list: %s", arg);
        break;
      case 'U':
        /* Values from the environment; options given later override them.
         * UID and GID are both required: silently staying root, or
         * keeping group 0, because a variable is missing would be the
         * worst outcome of a mistake in a run script. */
        if (!(s = getenv("UID"))) s6net_die(100, "-U given but UID not set");
        if (s6net_scan_ull(s, 0, (uid_t)-2, &u) < 0) s6net_die(100, "invalid UID: %s", s);
        uid = (uid_t)u;
        if (!(s = getenv("GID"))) s6net_die(100, "-U given but GID not set");
        if (s6net_scan_ull(s, 0, (gid_t)-2, &u) < 0) s6net_die(100, "invalid GID: %s", s);
        gid = (gid_t)u;
        if ((s = getenv("GIDLIST")) && s6net_scan_idlist(s, groups, MAXGROUPS, &ngroups) < 0)
          s6net_die(100, "invalid GIDLIST: %s", s);
        break;
      default: s6net_dieusage(USAGE);
    }
  }
  int i = g.ind;
  if (i >= argc) s6net_dieusage(USAGE);

  if (s6net_priv_drop(uid, gid, groups, ngroups) < 0)
    s6net_diesys(111, "unable to drop privileges");

  char const *const *envp = (char const *const *)environ;
  char const *newenv[4096];
  if (unexport) {
    static char const *const unset[] = { "UID", "GID", "GIDLIST" };
    if (s6net_env_merge(newenv, sizeof newenv / sizeof *newenv, envp, unset, 3) < 0)
      s6net_die(111, "unable to build the environment: too many variables");
    envp = newenv;
  }
  s6net_exec(argv + i, envp);
  s6net_diesys(errno == ENOENT ? 127 : 126, "unable to exec %s", argv[i]);
}
