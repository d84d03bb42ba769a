#include "tls/tlsargs.h"
#include "tls/tlsopt.h"
#include "core/diag.h"
#include "core/num.h"

#include <string.h>

int s6net_tlsargs_parse(int argc, char const *const *argv, s6net_tls_conf *c, s6net_tlsargs *a, char const *usage)
{
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  char const *spec = c->server ? "SsJjYyZzv:K:k:a:" : "SsJjYyZzv:K:k:a:6:7:";
  a->keepkeys = 0;
  c->caller = s6net_prog;
  a->rfd = 6;
  a->wfd = 7;
  for (;;) {
    if (!c->server && !g.pos && g.ind < argc && !strcmp(argv[g.ind], "--no-verify-cert")) {
      c->noverify = 1;
      g.ind++;
      continue;
    }
    int opt = s6net_sgetopt_next(&g, argc, argv, spec);
    if (opt == -1) break;
    switch (opt) {
      case 'S': c->closenotify = 1; break;
      case 's': c->closenotify = 0; break;
      case 'J': c->strict = 1; break;
      case 'j': c->strict = 0; break;
      /* Server: client certificate optional (-Y) or required (-y).
       * Client: send no certificate (-Y) or send one (-y). */
      case 'Y': c->clientcert = c->server ? S6NET_TLS_CERT_OPTIONAL : 0; break;
      case 'y': c->clientcert = c->server ? S6NET_TLS_CERT_REQUIRED : 1; break;
      case 'Z': a->keepkeys = 1; break;
      case 'z': a->keepkeys = 0; break;
      case 'v': if (s6net_scan_uint(g.arg, 0, 255, &c->verbosity) < 0) s6net_dieusage(usage); break;
      case 'K': if (s6net_scan_uint(g.arg, 0, 86400000, &c->kimeout) < 0) s6net_dieusage(usage); break;
      case 'k':
        if (c->server) { if (s6net_scan_uint(g.arg, 0, 255, &c->snilevel) < 0) s6net_dieusage(usage); }
        else { if (!*g.arg) s6net_dieusage(usage); c->servername = g.arg; }
        break;
      case 'a':
        {
          unsigned char tmp[256];
          if (s6net_tls_alpn_wire(tmp, sizeof tmp, g.arg) < 0) s6net_dieusage(usage);
          c->alpn = g.arg;
        }
        break;
      case '6': if (s6net_scan_uint(g.arg, 0, 65535, &a->rfd) < 0) s6net_dieusage(usage); break;
      case '7': if (s6net_scan_uint(g.arg, 0, 65535, &a->wfd) < 0) s6net_dieusage(usage); break;
      default: s6net_dieusage(usage);
    }
  }
  if (g.ind >= argc || (!c->server && a->rfd == a->wfd)) s6net_dieusage(usage);
  return g.ind;
}
