/* s6-tlsc-io: the client-side TLS engine. Cleartext on fds 0/1, network
 * on fdr/fdw. */
#include "tls/tls.h"
#include "tls/tls_cmdline.h"
#include "tls/tlsopt.h"
#include "core/diag.h"

#include <stdio.h>

#define USAGE "[ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -N caller ] [ -v verbosity ] [ -K kimeout ] [ -k servername ] [ -a alpnlist ] [ -d notif ] [ --no-verify-cert ] [ -- ] fdr fdw"

extern char **environ;

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-tlsc-io";
  s6net_tls_engine_args a;
  s6net_tls_engine_args_init(&a, 0);
  if (s6net_tls_engine_parse(argc, argv, &a) < 0) s6net_dieusage(USAGE);
  s6net_tls_conf *c = &a.conf;
  /* Name the program the user ran too: "s6-tlsc: s6-tlsc-io: fatal: ..." */
  static char progbuf[128];
  if (c->caller && *c->caller && (size_t)snprintf(progbuf, sizeof progbuf, "%s: %s", c->caller, s6net_prog) < sizeof progbuf)
    s6net_prog = progbuf;
  char const *const *envp = (char const *const *)environ;
  s6net_tls_ids_check(envp);
  char peer[80];
  c->peer = s6net_tls_peer_fmt(peer, sizeof peer, envp);
  s6net_tls_ctx *ctx = s6net_tls_ctx_new(c, envp);
  s6net_tls_drop(envp);
  int fds[4] = { 0, 1, (int)a.fdr, (int)a.fdw };
  int r = s6net_tls_session(ctx, c, fds, a.notif);
  s6net_tls_ctx_free(ctx);
  return r;
}
