/* s6-tlsc-io: the client-side TLS engine. Cleartext on fds 0/1, network
 * on fdr/fdw. */
#include "tls/tls.h"
#include "tls/tls_cmdline.h"
#include "tls/tlsopt.h"
#include "core/diag.h"


#define USAGE "[ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -N caller ] [ -v verbosity ] [ -K kimeout ] [ -k servername ] [ -a alpnlist ] [ -d notif ] [ --no-verify-cert ] [ -- ] fdr fdw"

extern char **environ;

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-tlsc-io";
  char const *const *envp = (char const *const *)environ;
  s6net_tls_engine_args a;
  s6net_tls_engine_start(&a, 0, argc, argv, USAGE, envp);
  int fds[4] = { 0, 1, (int)a.fdr, (int)a.fdw };
  return s6net_tls_engine_once(&a.conf, fds, a.notif, envp);
}
