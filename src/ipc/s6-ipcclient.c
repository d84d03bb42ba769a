/* s6-ipcclient [-q|-Q|-v] [-p localpath] [-l localname] path prog...
 * Connect to the UNIX domain socket at path and exec prog with the
 * connection on fds 6 (read) and 7 (write), PROTO=IPC and IPCLOCALPATH. */
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/fd.h"
#include "core/opt.h"
#include "ipc/ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define USAGE "[ -q | -Q | -v ] [ -p localpath ] [ -l localname ] path prog..."

extern char **environ;

int main(int argc, char **argv)
{
  s6net_prog = "s6-ipcclient";
  int verbosity = 1, opt;
  char const *localpath = 0, *localname = 0;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "qQvp:l:")) != -1) {
    switch (opt) {
      case 'q': verbosity = 0; break;
      case 'Q': verbosity = 1; break;
      case 'v': verbosity = 2; break;
      case 'p': localpath = g.arg; break;
      case 'l': localname = g.arg; break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (argc - g.ind < 2) s6net_dieusage(USAGE);
  char const *path = argv[g.ind];
  char const *const *prog = (char const *const *)argv + g.ind + 1;

  int inbind;
  int s = s6net_ipc_connect(path, localpath, &inbind);
  if (s < 0)
    s6net_diesys(errno == ENAMETOOLONG || errno == EINVAL ? 100 : 111, "unable to %s %s",
                 inbind ? "bind to" : "connect to", inbind ? localpath : path);
  if (verbosity >= 2) s6net_info("connected to %s", path);
  if (s6net_fd_move(6, s) < 0 || dup2(6, 7) < 0) s6net_diesys(111, "unable to move the socket to fds 6 and 7");

  /* Debian's s6-ipcclient sets IPCLOCALPATH even when empty; scripts
   * written against it may rely on the variable existing. */
  char const *local = localname ? localname : localpath ? localpath : "";
  char buf[4200];
  char const *mods[2];
  s6net_envmods m;
  s6net_envmods_init(&m, buf, sizeof buf, mods, 2);
  if (s6net_envmods_set(&m, "PROTO", "IPC") < 0 || s6net_envmods_set(&m, "IPCLOCALPATH", local) < 0)
    s6net_die(100, "local name too long");
  size_t n = 0;
  while (environ[n]) n++;
  char const **envp = malloc(sizeof(char *) * (n + 3));
  if (!envp || s6net_env_merge(envp, n + 3, (char const *const *)environ, m.mods, m.n) < 0)
    s6net_diesys(111, "unable to build the environment");
  s6net_exec(prog, envp);
  s6net_diesys(111, "unable to exec %s", prog[0]);
}
