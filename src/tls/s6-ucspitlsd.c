/* s6-ucspitlsd: server side of UCSPI-TLS (delayed TLS, e.g. STARTTLS).
 * The network is on fds 0/1; see s6-ucspitlsd(1) and ucspitls.h. */
#include "tls/ucspitls.h"
#include "tls/tls_cmdline.h"
#include "core/diag.h"

#define USAGE "[ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -Z | -z ] [ -v verbosity ] [ -K kimeout ] [ -k snilevel ] [ -a alpnlist ] [ -- ] prog..."

extern char **environ;

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-ucspitlsd";
  s6net_tls_conf c;
  s6net_tls_conf_init(&c, 1);
  s6net_ucspitls u = { .c = &c, .netr = 0, .netw = 1 };
  s6net_tls_wrapper_args a;
  int i = s6net_tls_wrapper_parse(argc, argv, &c, &a);
  if (i < 0) s6net_dieusage(USAGE);
  c.caller = s6net_prog;
  u.keepkeys = a.keepkeys;
  u.prog = argv + i;
  s6net_ucspitls_run(&u, (char const *const *)environ);
}
