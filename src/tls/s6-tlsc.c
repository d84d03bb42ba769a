/* s6-tlsc: client-side TLS for a UCSPI client program. */
#include "tls/tls_wrapper.h"
#include "tls/tls_cmdline.h"
#include "core/diag.h"

#define USAGE "[ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -Z | -z ] [ -v verbosity ] [ -K kimeout ] [ -k servername ] [ -a alpnlist ] [ -6 rfd ] [ -7 wfd ] [ --no-verify-cert ] [ -- ] prog..."

extern char **environ;

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-tlsc";
  s6net_tls_conf c;
  s6net_tls_conf_init(&c, 0);
  s6net_tlswrap w = { .c = &c };
  s6net_tls_wrapper_args a;
  int i = s6net_tls_wrapper_parse(argc, argv, &c, &a);
  if (i < 0) s6net_dieusage(USAGE);
  c.caller = s6net_prog;
  w.keepkeys = a.keepkeys;
  w.netr = w.appr = (int)a.rfd;
  w.netw = w.appw = (int)a.wfd;
  w.prog = argv + i;
  s6net_tlswrap_run(&w, (char const *const *)environ);
}
