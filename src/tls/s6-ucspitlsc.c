/* s6-ucspitlsc: client side of UCSPI-TLS (delayed TLS, e.g. STARTTLS).
 * The network is on fds 6/7 (-6/-7); see s6-ucspitlsc(1) and ucspitls.h. */
#include "tls/ucspitls.h"
#include "tls/tlsopt.h"
#include "core/diag.h"
#include "core/num.h"

#include <string.h>

#define USAGE "[ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -Z | -z ] [ -v verbosity ] [ -K kimeout ] [ -k servername ] [ -a alpnlist ] [ -6 rfd ] [ -7 wfd ] [ --no-verify-cert ] [ -- ] prog..."

extern char **environ;

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-ucspitlsc";
  s6net_tls_conf c;
  s6net_tls_conf_init(&c, 0);
  unsigned int rfd = 6, wfd = 7;
  s6net_ucspitls u = { .c = &c };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  int opt;
  for (;;) {
    if (!g.pos && g.ind < argc && !strcmp(argv[g.ind], "--no-verify-cert")) { c.noverify = 1; g.ind++; continue; }
    if ((opt = s6net_sgetopt_next(&g, argc, argv, "SsJjYyZzv:K:k:a:6:7:")) == -1) break;
    switch (opt) {
      case 'S': c.closenotify = 1; break;
      case 's': c.closenotify = 0; break;
      case 'J': c.strict = 1; break;
      case 'j': c.strict = 0; break;
      case 'Y': c.clientcert = 0; break;
      case 'y': c.clientcert = 1; break;
      case 'Z': u.keepkeys = 1; break;
      case 'z': u.keepkeys = 0; break;
      case 'v': if (s6net_scan_uint(g.arg, 0, 255, &c.verbosity) < 0) s6net_dieusage(USAGE); break;
      case 'K': if (s6net_scan_uint(g.arg, 0, 86400000, &c.kimeout) < 0) s6net_dieusage(USAGE); break;
      case 'k': if (!*g.arg) s6net_dieusage(USAGE); c.servername = g.arg; break;
      case 'a':
        {
          unsigned char tmp[256];
          if (s6net_tls_alpn_wire(tmp, sizeof tmp, g.arg) < 0) s6net_dieusage(USAGE);
          c.alpn = g.arg;
        }
        break;
      case '6': if (s6net_scan_uint(g.arg, 0, 65535, &rfd) < 0) s6net_dieusage(USAGE); break;
      case '7': if (s6net_scan_uint(g.arg, 0, 65535, &wfd) < 0) s6net_dieusage(USAGE); break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (g.ind >= argc || rfd == wfd) s6net_dieusage(USAGE);
  u.netr = (int)rfd;
  u.netw = (int)wfd;
  u.prog = argv + g.ind;
  s6net_ucspitls_run(&u, (char const *const *)environ);
}
