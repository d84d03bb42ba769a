/* s6-tlsd-io: the server-side TLS engine. Network on fds 0/1, cleartext
 * on fdr/fdw. With -X it becomes the pre-initialised engine ("zygote")
 * that s6-tlsserver starts once: see s6-tlsd-io(1). */
#include "tls/tls.h"
#include "tls/tls_cmdline.h"
#include "tls/tlsopt.h"
#include "tls/tls_zygote_msg.h"
#include "core/diag.h"

#include <stdio.h>

#define USAGE "[ -S | -s ] [ -J | -j ] [ -Y | -y ] [ -N caller ] [ -v verbosity ] [ -K kimeout ] [ -k snilevel ] [ -a alpnlist ] [ -d notif ] [ -X fd [ -P pool ] [ -T period ] ] [ -- ] fdr fdw"

extern char **environ;

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-tlsd-io";
  s6net_tls_engine_args a;
  s6net_tls_engine_args_init(&a, 1);
  if (s6net_tls_engine_parse(argc, argv, &a) < 0) s6net_dieusage(USAGE);
  s6net_tls_conf *c = &a.conf;
  /* Name the program the user ran too: "s6-tlsd: s6-tlsd-io: fatal: ..." */
  static char progbuf[128];
  if (c->caller && *c->caller && (size_t)snprintf(progbuf, sizeof progbuf, "%s: %s", c->caller, s6net_prog) < sizeof progbuf)
    s6net_prog = progbuf;
  char const *const *envp = (char const *const *)environ;
  s6net_tls_ids_check(envp);
  if (a.zygote >= 0) return s6net_tlsz_serve(a.zygote, c, envp, a.notif, a.pool, a.tickets);
  char peer[80];
  c->peer = s6net_tls_peer_fmt(peer, sizeof peer, envp);
  s6net_tls_ctx *ctx = s6net_tls_ctx_new(c, envp);
  s6net_tls_drop(envp);
  int fds[4] = { (int)a.fdr, (int)a.fdw, 0, 1 };
  int r = s6net_tls_session(ctx, c, fds, a.notif);
  s6net_tls_ctx_free(ctx);
  return r;
}
