/* s6-tlsd-io: the server-side TLS engine. Network on fds 0/1, cleartext
 * on fdr/fdw. With -X it becomes the pre-initialised engine ("zygote")
 * that s6-tlsserver starts once: see s6-tlsd-io(1). */
#include "tls/tls.h"
#include "tls/tlsopt.h"
#include "tls/tlsz.h"
#include "core/diag.h"
#include "core/num.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "[ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -N caller ] [ -v verbosity ] [ -K kimeout ] [ -k snilevel ] [ -a alpnlist ] [ -d notif ] [ -X fd [ -P pool ] [ -T period ] ] [ -- ] fdr fdw"

extern char **environ;

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-tlsd-io";
  s6net_tls_conf c;
  s6net_tls_conf_init(&c, 1);
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  unsigned int notif = 0;
  int hasnotif = 0;
  unsigned int zygote = 0, tickets = 3600;
  int haszygote = 0;
  char const *caller = 0;
  unsigned int pool = 8;
  int opt;
  while ((opt = s6net_sgetopt_next(&g, argc, argv, "SsJjYyN:v:K:k:d:a:X:P:T:")) != -1) {
    switch (opt) {
      case 'S': c.closenotify = 1; break;
      case 's': c.closenotify = 0; break;
      case 'J': c.strict = 1; break;
      case 'j': c.strict = 0; break;
      case 'Y': c.clientcert = S6NET_TLS_CERT_OPTIONAL; break;
      case 'y': c.clientcert = S6NET_TLS_CERT_REQUIRED; break;
      case 'v': if (s6net_scan_uint(g.arg, 0, 255, &c.verbosity) < 0) s6net_dieusage(USAGE); break;
      case 'K': if (s6net_scan_uint(g.arg, 0, 86400000, &c.kimeout) < 0) s6net_dieusage(USAGE); break;
      case 'k': if (s6net_scan_uint(g.arg, 0, 255, &c.snilevel) < 0) s6net_dieusage(USAGE); break;
      case 'd': if (s6net_scan_uint(g.arg, 0, 65535, &notif) < 0) s6net_dieusage(USAGE); hasnotif = 1; break;
      case 'a': c.alpn = g.arg; break;
      case 'X': if (s6net_scan_uint(g.arg, 0, 65535, &zygote) < 0) s6net_dieusage(USAGE); haszygote = 1; break;
      case 'N': caller = g.arg; break;
      case 'P': if (s6net_scan_uint(g.arg, 1, 256, &pool) < 0) s6net_dieusage(USAGE); break;
      case 'T': if (s6net_scan_uint(g.arg, 0, 604800, &tickets) < 0) s6net_dieusage(USAGE); break;
      default: s6net_dieusage(USAGE);
    }
  }
  argc -= g.ind; argv += g.ind;
  /* Name the program the user ran too: "s6-tlsd: s6-tlsd-io: fatal: ..." */
  static char progbuf[128];
  if (caller && *caller && (size_t)snprintf(progbuf, sizeof progbuf, "%s: %s", caller, s6net_prog) < sizeof progbuf)
    s6net_prog = progbuf;
  char const *const *envp = (char const *const *)environ;
  s6net_tls_ids_check(envp);
  if (haszygote) {
    if (argc) s6net_dieusage(USAGE);
    return s6net_tlsz_serve((int)zygote, &c, envp, hasnotif ? (int)notif : -1, pool, tickets);
  }
  unsigned int fdr, fdw;
  if (argc != 2 || s6net_scan_uint(argv[0], 0, 65535, &fdr) < 0 || s6net_scan_uint(argv[1], 0, 65535, &fdw) < 0)
    s6net_dieusage(USAGE);
  char peer[80];
  c.peer = s6net_tls_peer_fmt(peer, sizeof peer, envp);
  s6net_tls_ctx *ctx = s6net_tls_ctx_new(&c, envp);
  s6net_tls_drop(envp);
  int fds[4] = { (int)fdr, (int)fdw, 0, 1 };
  int r = s6net_tls_session(ctx, &c, fds, hasnotif ? (int)notif : -1);
  s6net_tls_ctx_free(ctx);
  return r;
}
