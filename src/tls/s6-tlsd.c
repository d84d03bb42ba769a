/* s6-tlsd: server-side TLS for a UCSPI server program. */
#include "tls/tls_wrapper.h"
#include "tls/tls_cmdline.h"
#include "core/diag.h"

#define USAGE "[ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -Z | -z ] [ -v verbosity ] [ -K kimeout ] [ -k snilevel ] [ -a alpnlist ] [ -- ] prog..."

extern char **environ;

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-tlsd";
  s6net_tls_conf c;
  s6net_tls_conf_init(&c, 1);
  s6net_tlswrap w = { .c = &c, .netr = 0, .netw = 1, .appr = 0, .appw = 1 };
  s6net_tls_wrapper_args a;
  int i = s6net_tls_wrapper_parse(argc, argv, &c, &a);
  if (i < 0) s6net_dieusage(USAGE);
  c.caller = s6net_prog;
  w.keepkeys = a.keepkeys;
  w.prog = argv + i;
  s6net_tlswrap_run(&w, (char const *const *)environ);
}
