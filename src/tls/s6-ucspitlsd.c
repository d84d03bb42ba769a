/* s6-ucspitlsd: server side of UCSPI-TLS (delayed TLS, e.g. STARTTLS).
 * The network is on fds 0/1; see s6-ucspitlsd(1) and ucspitls.h. */
#include "tls/ucspitls.h"
#include "tls/tlsopt.h"
#include "core/diag.h"
#include "core/num.h"

#define USAGE "[ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -Z | -z ] [ -v verbosity ] [ -K kimeout ] [ -k snilevel ] [ -a alpnlist ] [ -- ] prog..."

extern char **environ;

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-ucspitlsd";
  s6net_tls_conf c;
  s6net_tls_conf_init(&c, 1);
  s6net_ucspitls u = { .c = &c, .netr = 0, .netw = 1 };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  int opt;
  while ((opt = s6net_sgetopt_next(&g, argc, argv, "SsJjYyZzv:K:k:a:")) != -1) {
    switch (opt) {
      case 'S': c.closenotify = 1; break;
      case 's': c.closenotify = 0; break;
      case 'J': c.strict = 1; break;
      case 'j': c.strict = 0; break;
      case 'Y': c.clientcert = S6NET_TLS_CERT_OPTIONAL; break;
      case 'y': c.clientcert = S6NET_TLS_CERT_REQUIRED; break;
      case 'Z': u.keepkeys = 1; break;
      case 'z': u.keepkeys = 0; break;
      case 'v': if (s6net_scan_uint(g.arg, 0, 255, &c.verbosity) < 0) s6net_dieusage(USAGE); break;
      case 'K': if (s6net_scan_uint(g.arg, 0, 86400000, &c.kimeout) < 0) s6net_dieusage(USAGE); break;
      case 'k': if (s6net_scan_uint(g.arg, 0, 255, &c.snilevel) < 0) s6net_dieusage(USAGE); break;
      case 'a':
        {
          unsigned char tmp[256];
          if (s6net_tls_alpn_wire(tmp, sizeof tmp, g.arg) < 0) s6net_dieusage(USAGE);
          c.alpn = g.arg;
        }
        break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (g.ind >= argc) s6net_dieusage(USAGE);
  u.prog = argv + g.ind;
  s6net_ucspitls_run(&u, (char const *const *)environ);
}
