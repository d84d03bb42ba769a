/* s6-tlsc-io: the client-side TLS engine. Cleartext on fds 0/1, network
 * on fdr/fdw. */
#include "tls/tls.h"
#include "tls/tlsopt.h"
#include "core/diag.h"
#include "core/num.h"

#include <stdio.h>
#include <string.h>

#define USAGE "[ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -N caller ] [ -v verbosity ] [ -K kimeout ] [ -k servername ] [ -a alpnlist ] [ -d notif ] [ --no-verify-cert ] [ -- ] fdr fdw"

extern char **environ;

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-tlsc-io";
  s6net_tls_conf c;
  s6net_tls_conf_init(&c, 0);
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  unsigned int notif = 0;
  int hasnotif = 0;
  char const *caller = 0;
  int opt;
  for (;;) {
    if (!g.pos && g.ind < argc && !strcmp(argv[g.ind], "--no-verify-cert")) { c.noverify = 1; g.ind++; continue; }
    if ((opt = s6net_sgetopt_next(&g, argc, argv, "SsJjYyN:v:K:k:d:a:")) == -1) break;
    switch (opt) {
      case 'S': c.closenotify = 1; break;
      case 's': c.closenotify = 0; break;
      case 'J': c.strict = 1; break;
      case 'j': c.strict = 0; break;
      case 'Y': c.clientcert = 0; break;
      case 'y': c.clientcert = 1; break;
      case 'v': if (s6net_scan_uint(g.arg, 0, 255, &c.verbosity) < 0) s6net_dieusage(USAGE); break;
      case 'K': if (s6net_scan_uint(g.arg, 0, 86400000, &c.kimeout) < 0) s6net_dieusage(USAGE); break;
      case 'k': c.servername = g.arg; break;
      case 'd': if (s6net_scan_uint(g.arg, 0, 65535, &notif) < 0) s6net_dieusage(USAGE); hasnotif = 1; break;
      case 'a': c.alpn = g.arg; break;
      case 'N': caller = g.arg; break;
      default: s6net_dieusage(USAGE);
    }
  }
  argc -= g.ind; argv += g.ind;
  /* Name the program the user ran too: "s6-tlsd: s6-tlsc-io: fatal: ..." */
  static char progbuf[128];
  if (caller && *caller && (size_t)snprintf(progbuf, sizeof progbuf, "%s: %s", caller, s6net_prog) < sizeof progbuf)
    s6net_prog = progbuf;
  unsigned int fdr, fdw;
  if (argc != 2 || s6net_scan_uint(argv[0], 0, 65535, &fdr) < 0 || s6net_scan_uint(argv[1], 0, 65535, &fdw) < 0)
    s6net_dieusage(USAGE);
  char const *const *envp = (char const *const *)environ;
  s6net_tls_ids_check(envp);
  char peer[80];
  c.peer = s6net_tls_peer_fmt(peer, sizeof peer, envp);
  s6net_tls_ctx *ctx = s6net_tls_ctx_new(&c, envp);
  s6net_tls_drop(envp);
  int fds[4] = { 0, 1, (int)fdr, (int)fdw };
  int r = s6net_tls_session(ctx, &c, fds, hasnotif ? (int)notif : -1);
  s6net_tls_ctx_free(ctx);
  return r;
}
