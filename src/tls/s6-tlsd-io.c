/* s6-tlsd-io: the server-side TLS engine. Network on fds 0/1, cleartext
 * on fdr/fdw. With -X it becomes the pre-initialised engine ("zygote")
 * that s6-tlsserver starts once: see s6-tlsd-io(1). */
#include "tls/tls.h"
#include "tls/tls_cmdline.h"
#include "tls/tlsopt.h"
#include "tls/tls_zygote_msg.h"
#include "core/diag.h"


#define USAGE "[ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -N caller ] [ -v verbosity ] [ -K kimeout ] [ -k snilevel ] [ -a alpnlist ] [ -d notif ] [ -X fd [ -P pool ] [ -T period ] ] [ -- ] fdr fdw"

extern char **environ;

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-tlsd-io";
  char const *const *envp = (char const *const *)environ;
  s6net_tls_engine_args a;
  s6net_tls_engine_start(&a, 1, argc, argv, USAGE, envp);
  if (a.zygote >= 0) return s6net_tlsz_serve(a.zygote, &a.conf, envp, a.notif, a.pool, a.tickets);
  int fds[4] = { (int)a.fdr, (int)a.fdw, 0, 1 };
  return s6net_tls_engine_once(&a.conf, fds, a.notif, envp);
}
