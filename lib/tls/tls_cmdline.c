#include "tls/tls_cmdline.h"
#include "tls/tlsopt.h"
#include "core/diag.h"
#include "core/num.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#define PIPE_SIZE 262144

void s6net_tls_engine_args_init(s6net_tls_engine_args *a, int server)
{
  memset(a, 0, sizeof *a);
  s6net_tls_conf_init(&a->conf, server);
  a->notif = -1;
  a->zygote = -1;
  a->pool = 8;
  a->tickets = 3600;
}

void s6net_tls_engine_args_conn(s6net_tls_engine_args *a, s6net_tls_conf const *c, int notify)
{
  s6net_tls_engine_args_init(a, c->server);
  a->conf = *c;
  a->notif = notify ? S6NET_TLS_ENGINE_NOTIF : -1;
  a->fdr = S6NET_TLS_ENGINE_FDR;
  a->fdw = S6NET_TLS_ENGINE_FDW;
}

/* ---- building ------------------------------------------------------- */

typedef struct {
  char const **argv;
  size_t max, n;
  char *buf;
  size_t buflen, used;
  int full;
} builder;

static void arg(builder *b, char const *s)
{
  if (b->n + 1 >= b->max) { b->full = 1; return; }
  b->argv[b->n++] = s;
}

/* One argument: prefix and v formatted into the buffer. */
static void num(builder *b, char const *prefix, unsigned int v)
{
  size_t left = b->buflen - b->used;
  int n = b->used < b->buflen ? snprintf(b->buf + b->used, left, "%s%u", prefix, v) : -1;
  if (n < 0 || (size_t)n >= left) { b->full = 1; return; }
  arg(b, b->buf + b->used);
  b->used += (size_t)n + 1;
}

size_t s6net_tls_engine_argv(s6net_tls_engine_args const *a, char const **argv, size_t max, char *buf,
                             size_t buflen)
{
  s6net_tls_conf const *c = &a->conf;
  builder b = { .argv = argv, .max = max, .buf = buf, .buflen = buflen };
  arg(&b, c->server ? "s6-tlsd-io" : "s6-tlsc-io");
  arg(&b, c->closenotify ? "-S" : "-s");
  arg(&b, c->strict ? "-J" : "-j");
  if (c->server) {
    if (c->clientcert) arg(&b, c->clientcert == S6NET_TLS_CERT_REQUIRED ? "-y" : "-Y");
    if (c->snilevel) num(&b, "-k", c->snilevel);
  } else {
    arg(&b, c->clientcert ? "-y" : "-Y");
    if (c->servername) { arg(&b, "-k"); arg(&b, c->servername); }
    if (c->noverify) arg(&b, "--no-verify-cert");
  }
  if (c->caller) { arg(&b, "-N"); arg(&b, c->caller); }
  num(&b, "-v", c->verbosity);
  if (c->kimeout) num(&b, "-K", c->kimeout);
  if (c->alpn) { arg(&b, "-a"); arg(&b, c->alpn); }
  if (a->notif >= 0) num(&b, "-d", (unsigned int)a->notif);
  if (c->server && a->zygote >= 0) {
    arg(&b, "-X");
    num(&b, "", (unsigned int)a->zygote);
    num(&b, "-P", a->pool);
    num(&b, "-T", a->tickets);
  } else {
    arg(&b, "--");
    num(&b, "", a->fdr);
    num(&b, "", a->fdw);
  }
  if (b.full) return 0;
  argv[b.n] = 0;
  return b.n;
}

/* ---- parsing -------------------------------------------------------- */

/* The options the engine and the wrappers share. 1 if opt was one of
 * them and its value is good, 0 if it is not one of them, -1 if its
 * value is bad. The wrappers (checked) also refuse a bad ALPN list and
 * an empty server name, before anything starts; the engine leaves them
 * to the context, which says what is wrong. */
static int common_opt(s6net_tls_conf *c, int opt, char const *v, int checked)
{
  switch (opt) {
    case 'S': c->closenotify = 1; return 1;
    case 's': c->closenotify = 0; return 1;
    case 'J': c->strict = 1; return 1;
    case 'j': c->strict = 0; return 1;
    /* Server: client certificate optional (-Y) or required (-y).
     * Client: send no certificate (-Y) or send one (-y). */
    case 'Y': c->clientcert = c->server ? S6NET_TLS_CERT_OPTIONAL : 0; return 1;
    case 'y': c->clientcert = c->server ? S6NET_TLS_CERT_REQUIRED : 1; return 1;
    case 'v': return s6net_scan_uint(v, 0, 255, &c->verbosity) < 0 ? -1 : 1;
    case 'K': return s6net_scan_uint(v, 0, 86400000, &c->kimeout) < 0 ? -1 : 1;
    case 'k':
      if (c->server) return s6net_scan_uint(v, 0, 255, &c->snilevel) < 0 ? -1 : 1;
      if (checked && !*v) return -1;
      c->servername = v;
      return 1;
    case 'a':
      if (checked) {
        unsigned char tmp[256];
        if (s6net_tls_alpn_wire(tmp, sizeof tmp, v) < 0) return -1;
      }
      c->alpn = v;
      return 1;
    default: return 0;
  }
}

/* The client's only long option, accepted wherever an option may be. */
static int no_verify(s6net_tls_conf *c, s6net_sgetopt *g, int argc, char const *const *argv)
{
  if (c->server || g->pos || g->ind >= argc || strcmp(argv[g->ind], "--no-verify-cert")) return 0;
  c->noverify = 1;
  g->ind++;
  return 1;
}

/* The next option that only the caller knows: the shared ones are
 * handled here. 0 at the end of the options, -1 on a bad value. */
static int next_opt(s6net_tls_conf *c, s6net_sgetopt *g, int argc, char const *const *argv, char const *spec,
                    int checked)
{
  for (;;) {
    if (no_verify(c, g, argc, argv)) continue;
    int opt = s6net_sgetopt_next(g, argc, argv, spec);
    if (opt == -1) return 0;
    int r = common_opt(c, opt, g->arg, checked);
    if (r < 0) return -1;
    if (!r) return opt;
  }
}

static int scan_fd(char const *s, unsigned int *fd)
{
  return s6net_scan_uint(s, 0, 65535, fd);
}

int s6net_tls_engine_parse(int argc, char const *const *argv, s6net_tls_engine_args *a)
{
  s6net_tls_conf *c = &a->conf;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  char const *spec = c->server ? "SsJjYyN:v:K:k:d:a:X:P:T:" : "SsJjYyN:v:K:k:d:a:";
  unsigned int u;
  int opt;
  while ((opt = next_opt(c, &g, argc, argv, spec, 0))) {   /* -1 goes to default */
    switch (opt) {
      case 'N': c->caller = g.arg; break;
      case 'd': if (scan_fd(g.arg, &u) < 0) return -1; a->notif = (int)u; break;
      case 'X': if (scan_fd(g.arg, &u) < 0) return -1; a->zygote = (int)u; break;
      case 'P': if (s6net_scan_uint(g.arg, 1, 256, &a->pool) < 0) return -1; break;
      case 'T': if (s6net_scan_uint(g.arg, 0, 604800, &a->tickets) < 0) return -1; break;
      default: return -1;
    }
  }
  argc -= g.ind;
  argv += g.ind;
  if (a->zygote >= 0) return argc ? -1 : 0;
  if (argc != 2 || scan_fd(argv[0], &a->fdr) < 0 || scan_fd(argv[1], &a->fdw) < 0) return -1;
  return 0;
}

int s6net_tls_wrapper_parse(int argc, char const *const *argv, s6net_tls_conf *c, s6net_tls_wrapper_args *w)
{
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  char const *spec = c->server ? "SsJjYyZzv:K:k:a:" : "SsJjYyZzv:K:k:a:6:7:";
  w->keepkeys = 0;
  w->rfd = 6;
  w->wfd = 7;
  int opt;
  while ((opt = next_opt(c, &g, argc, argv, spec, 1))) {   /* -1 goes to default */
    switch (opt) {
      case 'Z': w->keepkeys = 1; break;
      case 'z': w->keepkeys = 0; break;
      case '6': if (scan_fd(g.arg, &w->rfd) < 0) return -1; break;
      case '7': if (scan_fd(g.arg, &w->wfd) < 0) return -1; break;
      default: return -1;
    }
  }
  if (g.ind >= argc || (!c->server && w->rfd == w->wfd)) return -1;
  return g.ind;
}

/* ---- the engine's surroundings -------------------------------------- */

unsigned int s6net_tls_engine_fdmap(s6net_fdmap map[5], int server, int netr, int netw, int clr, int clw, int notif)
{
  unsigned int n = 0;
  /* The server engine sits on the network like any UCSPI server
   * program; the client engine, on the application's side. */
  map[n++] = (s6net_fdmap){ 0, server ? netr : clr };
  map[n++] = (s6net_fdmap){ 1, server ? netw : clw };
  map[n++] = (s6net_fdmap){ S6NET_TLS_ENGINE_FDR, server ? clr : netr };
  map[n++] = (s6net_fdmap){ S6NET_TLS_ENGINE_FDW, server ? clw : netw };
  if (notif >= 0) map[n++] = (s6net_fdmap){ S6NET_TLS_ENGINE_NOTIF, notif };
  return n;
}

void s6net_tls_pipe_size(int fd)
{
#ifdef F_SETPIPE_SZ
  fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
#else
  (void)fd;
#endif
}

void s6net_tls_engine_start(s6net_tls_engine_args *a, int server, int argc, char const *const *argv,
                            char const *usage, char const *const *envp)
{
  s6net_tls_engine_args_init(a, server);
  if (s6net_tls_engine_parse(argc, argv, a) < 0) s6net_dieusage(usage);
  /* Name the program the user ran too: "s6-tlsd: s6-tlsd-io: fatal: ..." */
  static char progbuf[128];
  char const *caller = a->conf.caller;
  if (caller && *caller && (size_t)snprintf(progbuf, sizeof progbuf, "%s: %s", caller, s6net_prog) < sizeof progbuf)
    s6net_prog = progbuf;
  s6net_tls_ids_check(envp);
}
