#include "unit.h"
#include "core/num.h"

#include <errno.h>
#include <limits.h>

static void test_ull(void **state)
{
  (void)state;
  unsigned long long u;
  assert_int_equal(s6net_scan_ull("0", 0, 10, &u), 0);
  assert_int_equal(u, 0);
  assert_int_equal(s6net_scan_ull("18446744073709551615", 0, ULLONG_MAX, &u), 0);
  assert_true(u == ULLONG_MAX);
  errno = 0;
  assert_int_equal(s6net_scan_ull("18446744073709551616", 0, ULLONG_MAX, &u), -1);
  assert_int_equal(errno, ERANGE);
  assert_int_equal(s6net_scan_ull("99999999999999999999999999", 0, ULLONG_MAX, &u), -1);
  assert_int_equal(errno, ERANGE);
  assert_int_equal(s6net_scan_ull("11", 0, 10, &u), -1);
  assert_int_equal(errno, ERANGE);
  assert_int_equal(s6net_scan_ull("4", 5, 10, &u), -1);
  assert_int_equal(errno, ERANGE);
  static char const *const bad[] = { "", " 1", "1 ", "+1", "-1", "0x10", "1e3", "1.5", "12a", "\t3" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    errno = 0;
    if (s6net_scan_ull(bad[i], 0, ULLONG_MAX, &u) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(errno, EINVAL);
  }
  assert_int_equal(s6net_scan_ull(NULL, 0, 1, &u), -1);
}

static void test_uint_port(void **state)
{
  (void)state;
  unsigned int v;
  uint16_t p;
  assert_int_equal(s6net_scan_uint("16384", 1, 16384, &v), 0);
  assert_int_equal(v, 16384);
  assert_int_equal(s6net_scan_uint("16385", 1, 16384, &v), -1);
  assert_int_equal(s6net_scan_uint("0", 1, 16384, &v), -1);
  assert_int_equal(s6net_scan_port("65535", &p), 0);
  assert_int_equal(p, 65535);
  assert_int_equal(s6net_scan_port("0", &p), 0);
  assert_int_equal(s6net_scan_port("65536", &p), -1);
  assert_int_equal(s6net_scan_port("http", &p), -1);
  assert_int_equal(s6net_scan_port("-1", &p), -1);
}

static void test_idlist(void **state)
{
  (void)state;
  gid_t g[4];
  size_t n = 99;
  assert_int_equal(s6net_scan_idlist("", g, 4, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(s6net_scan_idlist("0,10,65534", g, 4, &n), 0);
  assert_int_equal(n, 3);
  assert_int_equal(g[2], 65534);
  assert_int_equal(s6net_scan_idlist("1,2,3,4,5", g, 4, &n), -1);
  assert_int_equal(errno, ERANGE);
  static char const *const bad[] = { ",", "1,", ",1", "1,,2", "a", "1;2", "1 ,2", "-1" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (s6net_scan_idlist(bad[i], g, 4, &n) != -1) fail_msg("accepted \"%s\"", bad[i]);
  assert_int_equal(s6net_scan_idlist("4294967296", g, 4, &n), -1);
}

static void test_fmt(void **state)
{
  (void)state;
  char buf[22];
  assert_int_equal(s6net_fmt_ull(buf, 0), 1);
  assert_string_equal(buf, "0");
  s6net_fmt_ull(buf, ULLONG_MAX);
  assert_string_equal(buf, "18446744073709551615");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ull),
    cmocka_unit_test(test_uint_port),
    cmocka_unit_test(test_idlist),
    cmocka_unit_test(test_fmt),
  };
  return cmocka_run_group_tests_name("num", tests, NULL, NULL);
}
