/* lib/tls/ucspitls: command bytes, the engine command line, the
 * application's environment. */
#include "unit.h"
#include "tls/ucspitls.h"
#include "tls/tlsopt.h"

#include <string.h>

static void test_command(void **state)
{
  (void)state;
  assert_int_equal(s6net_ucspitls_command('y'), 1);
  assert_int_equal(s6net_ucspitls_command('Y'), 2);
  for (unsigned int c = 0; c < 256; c++)
    if (c != 'y' && c != 'Y') assert_int_equal(s6net_ucspitls_command((unsigned char)c), 0);
}

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

static void test_argv_server(void **state)
{
  (void)state;
  s6net_tls_conf c;
  char const *argv[24];
  char buf[64];
  s6net_tls_conf_init(&c, 1);
  assert_int_equal(s6net_ucspitls_engine_argv(argv, 24, buf, sizeof buf, &c, 0), 7);
  assert_string_equal(join(argv), "s6-tlsd-io -s -j -v1 -- 3 4");
  c.closenotify = 1; c.strict = 1; c.clientcert = S6NET_TLS_CERT_REQUIRED;
  c.snilevel = 2; c.kimeout = 5000; c.verbosity = 0; c.alpn = "smtp";
  assert_true(s6net_ucspitls_engine_argv(argv, 24, buf, sizeof buf, &c, 1) > 0);
  assert_string_equal(join(argv), "s6-tlsd-io -S -J -y -k2 -v0 -K5000 -a smtp -d5 -- 3 4");
  c.clientcert = S6NET_TLS_CERT_OPTIONAL;
  s6net_ucspitls_engine_argv(argv, 24, buf, sizeof buf, &c, 0);
  assert_string_equal(join(argv), "s6-tlsd-io -S -J -Y -k2 -v0 -K5000 -a smtp -- 3 4");
  /* Too small: refused, never truncated. */
  assert_int_equal(s6net_ucspitls_engine_argv(argv, 8, buf, sizeof buf, &c, 1), 0);
  assert_int_equal(s6net_ucspitls_engine_argv(argv, 24, buf, 6, &c, 1), 0);
}

static void test_argv_client(void **state)
{
  (void)state;
  s6net_tls_conf c;
  char const *argv[24];
  char buf[64];
  s6net_tls_conf_init(&c, 0);
  s6net_ucspitls_engine_argv(argv, 24, buf, sizeof buf, &c, 1);
  assert_string_equal(join(argv), "s6-tlsc-io -s -j -Y -v1 -d5 -- 3 4");
  c.clientcert = 1; c.servername = "-odd.example"; c.noverify = 1; c.kimeout = 1;
  s6net_ucspitls_engine_argv(argv, 24, buf, sizeof buf, &c, 0);
  assert_string_equal(join(argv), "s6-tlsc-io -s -j -y -k -odd.example --no-verify-cert -v1 -K1 -- 3 4");
}

static void test_appenv(void **state)
{
  (void)state;
  char const *env[] = { "PATH=/bin", "KEYFILE=/k", "CERTFILE=/c", "CAFILE=/ca", "CADIR=/d",
                        "KEYFILE:a.example=/ka", "CERTFILE:a.example=/ca", "TLS_UID=1", "TLS_GID=2",
                        "SSLCTLFD=99", "SSLREADFD", "KEYFILEX=keep", "X=1", 0 };
  char const *out[32];
  char buf[64];
  long n = s6net_ucspitls_appenv(out, 32, buf, sizeof buf, env, 0, 3, 4, 5);
  assert_int_equal(n, 6);
  assert_string_equal(out[0], "PATH=/bin");
  assert_string_equal(out[1], "KEYFILEX=keep");
  assert_string_equal(out[2], "X=1");
  assert_string_equal(out[3], "SSLCTLFD=3");
  assert_string_equal(out[4], "SSLREADFD=4");
  assert_string_equal(out[5], "SSLWRITEFD=5");
  assert_null(out[6]);
  n = s6net_ucspitls_appenv(out, 32, buf, sizeof buf, env, 1, 7, 8, 9);
  assert_int_equal(n, 14);
  assert_string_equal(out[1], "KEYFILE=/k");
  assert_string_equal(out[13], "SSLWRITEFD=9");
  /* Exactly enough room: 6 entries + NULL; one less fails. */
  assert_int_equal(s6net_ucspitls_appenv(out, 7, buf, sizeof buf, env, 0, 3, 4, 5), 6);
  assert_int_equal(s6net_ucspitls_appenv(out, 6, buf, sizeof buf, env, 0, 3, 4, 5), -1);
  assert_int_equal(s6net_ucspitls_appenv(out, 32, buf, 20, env, 0, 3, 4, 5), -1);
  char const *empty[] = { 0 };
  assert_int_equal(s6net_ucspitls_appenv(out, 4, buf, sizeof buf, empty, 0, 65535, 0, 1), 3);
  assert_string_equal(out[0], "SSLCTLFD=65535");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_command),
    cmocka_unit_test(test_argv_server),
    cmocka_unit_test(test_argv_client),
    cmocka_unit_test(test_appenv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
