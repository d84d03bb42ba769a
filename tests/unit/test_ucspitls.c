/* lib/tls/ucspitls: command bytes, the application's environment (the
 * engine's command line is in test_tls_cmdline.c). */
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
    cmocka_unit_test(test_appenv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
