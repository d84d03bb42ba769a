/* lib/tls/tls_cmdline: the engine's command line, built and parsed back
 * for every option; what the engine and the wrappers refuse; the engine's
 * fd layout. */
#include "unit.h"
#include "tls/tls_cmdline.h"

#include <string.h>

static char *join(char const *const *argv)
{
  static char out[512];
  size_t n = 0;
  out[0] = 0;
  for (; *argv; argv++) {
    size_t l = strlen(*argv);
    assert_true(n + l + 2 < sizeof out);
    if (n) out[n++] = ' ';
    memcpy(out + n, *argv, l + 1);
    n += l;
  }
  return out;
}

static size_t build(s6net_tls_engine_args const *a, char const **argv)
{
  static char buf[S6NET_TLS_ENGINE_BUFLEN];
  return s6net_tls_engine_argv(a, argv, S6NET_TLS_ENGINE_ARGC_MAX, buf, sizeof buf);
}

static void same_string(char const *a, char const *b)
{
  if (!a || !b) assert_ptr_equal(a, b);
  else assert_string_equal(a, b);
}

/* Build a's command line, parse it back, and compare every field. */
static void round_trip(s6net_tls_engine_args const *a)
{
  char const *argv[S6NET_TLS_ENGINE_ARGC_MAX];
  size_t n = build(a, argv);
  assert_true(n > 0);
  assert_null(argv[n]);
  s6net_tls_engine_args b;
  s6net_tls_engine_args_init(&b, a->conf.server);
  assert_int_equal(s6net_tls_engine_parse((int)n, argv, &b), 0);
  s6net_tls_conf const *x = &a->conf, *y = &b.conf;
  assert_int_equal(x->server, y->server);
  assert_int_equal(x->closenotify, y->closenotify);
  assert_int_equal(x->strict, y->strict);
  assert_int_equal(x->clientcert, y->clientcert);
  assert_int_equal(x->noverify, y->noverify);
  assert_int_equal(x->verbosity, y->verbosity);
  assert_int_equal(x->kimeout, y->kimeout);
  assert_int_equal(x->snilevel, y->snilevel);
  same_string(x->servername, y->servername);
  same_string(x->alpn, y->alpn);
  same_string(x->caller, y->caller);
  assert_int_equal(a->notif, b.notif);
  assert_int_equal(a->zygote, b.zygote);
  if (a->zygote >= 0) {
    assert_int_equal(a->pool, b.pool);
    assert_int_equal(a->tickets, b.tickets);
  } else {
    assert_int_equal(a->fdr, b.fdr);
    assert_int_equal(a->fdw, b.fdw);
  }
}

static void engine(s6net_tls_engine_args *a, int server)
{
  s6net_tls_engine_args_init(a, server);
  a->fdr = 3;
  a->fdw = 4;
}

static void test_argv_server(void **state)
{
  (void)state;
  s6net_tls_engine_args a;
  char const *argv[S6NET_TLS_ENGINE_ARGC_MAX];
  engine(&a, 1);
  assert_int_equal(build(&a, argv), 7);
  assert_string_equal(join(argv), "s6-tlsd-io -s -j -v1 -- 3 4");
  a.conf.closenotify = 1; a.conf.strict = 1; a.conf.clientcert = S6NET_TLS_CERT_REQUIRED;
  a.conf.snilevel = 2; a.conf.kimeout = 5000; a.conf.verbosity = 0; a.conf.alpn = "smtp";
  a.conf.caller = "s6-tlsd"; a.notif = 5;
  build(&a, argv);
  assert_string_equal(join(argv), "s6-tlsd-io -S -J -y -k2 -N s6-tlsd -v0 -K5000 -a smtp -d5 -- 3 4");
  a.conf.clientcert = S6NET_TLS_CERT_OPTIONAL; a.notif = -1;
  build(&a, argv);
  assert_string_equal(join(argv), "s6-tlsd-io -S -J -Y -k2 -N s6-tlsd -v0 -K5000 -a smtp -- 3 4");
  /* The zygote: no fds after the options; -X apart, as ps shows it. */
  engine(&a, 1);
  a.zygote = 4; a.notif = 3; a.conf.caller = "s6-tlsserver"; a.tickets = 0;
  build(&a, argv);
  assert_string_equal(join(argv), "s6-tlsd-io -s -j -N s6-tlsserver -v1 -d3 -X 4 -P8 -T0");
}

static void test_argv_client(void **state)
{
  (void)state;
  s6net_tls_engine_args a;
  char const *argv[S6NET_TLS_ENGINE_ARGC_MAX];
  engine(&a, 0);
  a.notif = 5;
  build(&a, argv);
  assert_string_equal(join(argv), "s6-tlsc-io -s -j -Y -v1 -d5 -- 3 4");
  a.conf.clientcert = 1; a.conf.servername = "-odd.example"; a.conf.noverify = 1; a.conf.kimeout = 1;
  a.notif = -1;
  build(&a, argv);
  assert_string_equal(join(argv), "s6-tlsc-io -s -j -y -k -odd.example --no-verify-cert -v1 -K1 -- 3 4");
  /* A client engine is never a zygote. */
  a.zygote = 4;
  build(&a, argv);
  assert_string_equal(join(argv), "s6-tlsc-io -s -j -y -k -odd.example --no-verify-cert -v1 -K1 -- 3 4");
}

static void test_argv_room(void **state)
{
  (void)state;
  s6net_tls_engine_args a;
  char const *argv[S6NET_TLS_ENGINE_ARGC_MAX];
  char buf[S6NET_TLS_ENGINE_BUFLEN];
  engine(&a, 1);
  /* Every number at its widest still fits in the advertised room. */
  a.conf.verbosity = 4294967295u; a.conf.kimeout = 4294967295u; a.conf.snilevel = 4294967295u;
  a.conf.clientcert = S6NET_TLS_CERT_REQUIRED; a.conf.caller = "x"; a.conf.alpn = "h2"; a.conf.closenotify = 1;
  a.notif = 65535; a.fdr = 4294967295u; a.fdw = 4294967295u;
  assert_true(s6net_tls_engine_argv(&a, argv, S6NET_TLS_ENGINE_ARGC_MAX, buf, sizeof buf) > 0);
  a.zygote = 65535; a.pool = 4294967295u; a.tickets = 4294967295u;
  assert_true(s6net_tls_engine_argv(&a, argv, S6NET_TLS_ENGINE_ARGC_MAX, buf, sizeof buf) > 0);
  /* Too small: refused, never truncated. */
  engine(&a, 1);
  a.notif = 5;
  assert_int_equal(s6net_tls_engine_argv(&a, argv, 8, buf, sizeof buf), 0);
  assert_int_equal(s6net_tls_engine_argv(&a, argv, 9, buf, sizeof buf), 8);
  assert_int_equal(s6net_tls_engine_argv(&a, argv, S6NET_TLS_ENGINE_ARGC_MAX, buf, 6), 0);
  assert_int_equal(s6net_tls_engine_argv(&a, argv, S6NET_TLS_ENGINE_ARGC_MAX, buf, 11), 0);
  assert_int_equal(s6net_tls_engine_argv(&a, argv, S6NET_TLS_ENGINE_ARGC_MAX, buf, 12), 8);
}

static void test_round_trip(void **state)
{
  (void)state;
  s6net_tls_engine_args a;
  for (int server = 0; server < 2; server++) {
    engine(&a, server);
    round_trip(&a);
    /* One option at a time, then all together. */
    engine(&a, server); a.conf.closenotify = 1; round_trip(&a);
    engine(&a, server); a.conf.strict = 1; round_trip(&a);
    engine(&a, server); a.conf.clientcert = server ? S6NET_TLS_CERT_OPTIONAL : 1; round_trip(&a);
    engine(&a, server); a.conf.clientcert = server ? S6NET_TLS_CERT_REQUIRED : 1; round_trip(&a);
    engine(&a, server); a.conf.verbosity = 0; round_trip(&a);
    engine(&a, server); a.conf.verbosity = 255; round_trip(&a);
    engine(&a, server); a.conf.kimeout = 86400000; round_trip(&a);
    engine(&a, server); a.conf.alpn = "h2,http/1.1"; round_trip(&a);
    engine(&a, server); a.conf.caller = "s6-ucspitlsd"; round_trip(&a);
    engine(&a, server); a.notif = 0; round_trip(&a);
    engine(&a, server); a.notif = 65535; round_trip(&a);
    engine(&a, server); a.fdr = 0; a.fdw = 65535; round_trip(&a);
    if (server) {
      engine(&a, server); a.conf.snilevel = 255; round_trip(&a);
      engine(&a, server); a.zygote = 4; round_trip(&a);
      engine(&a, server); a.zygote = 0; a.pool = 1; a.tickets = 0; round_trip(&a);
      engine(&a, server); a.zygote = 65535; a.pool = 256; a.tickets = 604800; round_trip(&a);
    } else {
      engine(&a, server); a.conf.servername = "example.org"; round_trip(&a);
      engine(&a, server); a.conf.servername = "-k"; round_trip(&a);
      engine(&a, server); a.conf.noverify = 1; round_trip(&a);
    }
    engine(&a, server);
    a.conf.closenotify = 1; a.conf.strict = 1; a.conf.clientcert = server ? S6NET_TLS_CERT_REQUIRED : 1;
    a.conf.verbosity = 3; a.conf.kimeout = 1; a.conf.alpn = "x"; a.conf.caller = "--"; a.notif = 9;
    if (server) a.conf.snilevel = 1;
    else { a.conf.servername = "192.0.2.1"; a.conf.noverify = 1; }
    round_trip(&a);
  }
}

static int parse(int server, char const *const *argv)
{
  s6net_tls_engine_args a;
  s6net_tls_engine_args_init(&a, server);
  int argc = 0;
  while (argv[argc]) argc++;
  return s6net_tls_engine_parse(argc, argv, &a);
}

#define P(server, ...) parse(server, (char const *const[]){ "e", __VA_ARGS__, 0 })

static void test_engine_refuses(void **state)
{
  (void)state;
  for (int s = 0; s < 2; s++) {
    assert_int_equal(P(s, "3", "4"), 0);
    assert_int_equal(P(s, "--", "3", "4"), 0);
    assert_int_equal(P(s, "-Sj", "-v2", "--", "3", "4"), 0);
    /* The two fds, and nothing else. */
    assert_int_equal(P(s, "3"), -1);
    assert_int_equal(P(s, "3", "4", "5"), -1);
    assert_int_equal(P(s, "3", "x"), -1);
    assert_int_equal(P(s, "3", "65536"), -1);
    assert_int_equal(P(s, "-1", "4"), -1);
    /* Values out of range, missing, unknown options. */
    assert_int_equal(P(s, "-v256", "3", "4"), -1);
    assert_int_equal(P(s, "-vx", "3", "4"), -1);
    assert_int_equal(P(s, "-K86400001", "3", "4"), -1);
    assert_int_equal(P(s, "-d65536", "3", "4"), -1);
    assert_int_equal(P(s, "-Z", "3", "4"), -1);
    assert_int_equal(P(s, "-6", "3", "3", "4"), -1);
    assert_int_equal(P(s, "3", "4", "-v"), -1);
    assert_int_equal(P(s, "-v"), -1);
  }
  assert_int_equal(P(1, "-k256", "3", "4"), -1);
  assert_int_equal(P(1, "-kx", "3", "4"), -1);
  assert_int_equal(P(1, "-P0", "-X4"), -1);
  assert_int_equal(P(1, "-P257", "-X4"), -1);
  assert_int_equal(P(1, "-T604801", "-X4"), -1);
  assert_int_equal(P(1, "-X65536"), -1);
  /* The zygote takes no fds after its options. */
  assert_int_equal(P(1, "-X", "4"), 0);
  assert_int_equal(P(1, "-X", "4", "3", "4"), -1);
  /* Server only: the zygote's options and --no-verify-cert. */
  assert_int_equal(P(0, "-X", "4"), -1);
  assert_int_equal(P(0, "-P8", "3", "4"), -1);
  assert_int_equal(P(0, "-T0", "3", "4"), -1);
  assert_int_equal(P(1, "--no-verify-cert", "3", "4"), -1);
  assert_int_equal(P(0, "--no-verify-cert", "3", "4"), 0);
  /* The engine leaves the ALPN list and the name to the context. */
  assert_int_equal(P(0, "-k", "", "-a", "", "3", "4"), 0);
  assert_int_equal(P(1, "-a", ",", "3", "4"), 0);
}

static int wparse(int server, char const *const *argv, s6net_tls_conf *c, s6net_tls_wrapper_args *w)
{
  s6net_tls_conf_init(c, server);
  int argc = 0;
  while (argv[argc]) argc++;
  return s6net_tls_wrapper_parse(argc, argv, c, w);
}

#define W(server, ...) wparse(server, (char const *const[]){ "w", __VA_ARGS__, 0 }, &c, &w)

static void test_wrapper(void **state)
{
  (void)state;
  s6net_tls_conf c;
  s6net_tls_wrapper_args w;
  assert_int_equal(W(1, "prog"), 1);
  assert_int_equal(w.keepkeys, 0);
  assert_null(c.caller);
  assert_int_equal(W(1, "-SJyZ", "-v0", "-K5", "-k2", "-a", "h2,x", "--", "prog", "-y"), 8);
  assert_true(c.closenotify && c.strict && w.keepkeys);
  assert_int_equal(c.clientcert, S6NET_TLS_CERT_REQUIRED);
  assert_int_equal(c.verbosity, 0);
  assert_int_equal(c.kimeout, 5);
  assert_int_equal(c.snilevel, 2);
  assert_string_equal(c.alpn, "h2,x");
  assert_int_equal(W(1, "-Y", "-Zz", "prog"), 3);
  assert_int_equal(c.clientcert, S6NET_TLS_CERT_OPTIONAL);
  assert_int_equal(w.keepkeys, 0);
  assert_int_equal(W(0, "prog"), 1);
  assert_int_equal(w.rfd, 6);
  assert_int_equal(w.wfd, 7);
  assert_int_equal(W(0, "-y", "-k", "a.example", "--no-verify-cert", "-6", "0", "-71", "prog"), 8);
  assert_int_equal(c.clientcert, 1);
  assert_string_equal(c.servername, "a.example");
  assert_true(c.noverify);
  assert_int_equal(w.rfd, 0);
  assert_int_equal(w.wfd, 1);
  /* Refused: no program, a bad value, the same fd twice, the other
   * side's options, and what only the engine takes. */
  assert_int_equal(W(1, "-S"), -1);
  assert_int_equal(W(0, "--"), -1);
  assert_int_equal(W(1, "-a", "", "prog"), -1);
  assert_int_equal(W(1, "-a", "a,,b", "prog"), -1);
  assert_int_equal(W(0, "-k", "", "prog"), -1);
  assert_int_equal(W(1, "-k256", "prog"), -1);
  assert_int_equal(W(1, "-v256", "prog"), -1);
  assert_int_equal(W(1, "-K86400001", "prog"), -1);
  assert_int_equal(W(0, "-6", "7", "prog"), -1);
  assert_int_equal(W(0, "-665536", "prog"), -1);
  assert_int_equal(W(1, "-6", "3", "prog"), -1);
  assert_int_equal(W(1, "--no-verify-cert", "prog"), -1);
  assert_int_equal(W(1, "-N", "x", "prog"), -1);
  assert_int_equal(W(1, "-d5", "prog"), -1);
  assert_int_equal(W(1, "-X4", "prog"), -1);
}

static void test_fdmap(void **state)
{
  (void)state;
  s6net_fdmap m[5];
  assert_int_equal(s6net_tls_engine_fdmap(m, 1, 10, 11, 12, 13, -1), 4);
  int const srv[4][2] = { { 0, 10 }, { 1, 11 }, { 3, 12 }, { 4, 13 } };
  for (int i = 0; i < 4; i++) { assert_int_equal(m[i].to, srv[i][0]); assert_int_equal(m[i].from, srv[i][1]); }
  assert_int_equal(s6net_tls_engine_fdmap(m, 0, 10, 11, 12, 13, 14), 5);
  int const cli[5][2] = { { 0, 12 }, { 1, 13 }, { 3, 10 }, { 4, 11 }, { 5, 14 } };
  for (int i = 0; i < 5; i++) { assert_int_equal(m[i].to, cli[i][0]); assert_int_equal(m[i].from, cli[i][1]); }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_argv_server),
    cmocka_unit_test(test_argv_client),
    cmocka_unit_test(test_argv_room),
    cmocka_unit_test(test_round_trip),
    cmocka_unit_test(test_engine_refuses),
    cmocka_unit_test(test_wrapper),
    cmocka_unit_test(test_fdmap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
