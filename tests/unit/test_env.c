#include "unit.h"
#include "core/env.h"

#include <errno.h>
#include <string.h>

static void test_merge(void **state)
{
  (void)state;
  char const *env[] = { "PATH=/bin", "A=1", "B=2", "TCPREMOTEHOST=old", 0 };
  char buf[256];
  char const *mods[8];
  char const *out[16];
  s6net_envmods m;
  s6net_envmods_init(&m, buf, sizeof buf, mods, 8);
  assert_int_equal(s6net_envmods_set(&m, "A", "one"), 0);
  assert_int_equal(s6net_envmods_set(&m, "TCPREMOTEHOST", NULL), 0);
  assert_int_equal(s6net_envmods_set(&m, "NEW", ""), 0);
  assert_int_equal(s6net_envmods_set(&m, "C", "x"), 0);
  assert_int_equal(s6net_envmods_set(&m, "C", "y"), 0); /* later wins */
  long n = s6net_env_merge(out, 16, env, m.mods, m.n);
  assert_int_equal(n, 5);
  assert_string_equal(out[0], "PATH=/bin");
  assert_string_equal(out[1], "B=2");
  assert_string_equal(out[2], "A=one");
  assert_string_equal(out[3], "NEW=");
  assert_string_equal(out[4], "C=y");
  assert_null(out[5]);
  assert_null(s6net_env_get(out, "TCPREMOTEHOST"));
  assert_string_equal(s6net_env_get(out, "NEW"), "");
}

static void test_prefix_names_do_not_match(void **state)
{
  (void)state;
  char const *env[] = { "AB=1", "A=2", 0 };
  char const *mods[] = { "A" };
  char const *out[4];
  assert_int_equal(s6net_env_merge(out, 4, env, mods, 1), 1);
  assert_string_equal(out[0], "AB=1");
  assert_null(s6net_env_get(env, "ABC"));
  assert_string_equal(s6net_env_get(env, "A"), "2");
}

static void test_overflow(void **state)
{
  (void)state;
  char buf[8];
  char const *mods[2];
  s6net_envmods m;
  s6net_envmods_init(&m, buf, sizeof buf, mods, 2);
  assert_int_equal(s6net_envmods_set(&m, "A", "12"), 0);   /* 5 bytes */
  assert_int_equal(s6net_envmods_set(&m, "B", "123"), -1); /* 6 more: no room */
  assert_int_equal(errno, ENOBUFS);
  assert_int_equal(s6net_envmods_set(&m, "B", NULL), 0);
  assert_int_equal(s6net_envmods_set(&m, "C", NULL), -1); /* no more slots */
  char const *env[] = { "X=1", "Y=2", 0 };
  char const *out[2];
  assert_int_equal(s6net_env_merge(out, 2, env, mods, 0), -1);
  assert_int_equal(errno, ENOBUFS);
  char const *out3[3];
  assert_int_equal(s6net_env_merge(out3, 3, env, mods, 0), 2);
}

static void test_packed(void **state)
{
  (void)state;
  char buf[4];
  char const *mods[4];
  s6net_envmods m;
  s6net_envmods_init(&m, buf, sizeof buf, mods, 4);
  static char const packed[] = "A=1\0B\0\0C=3";  /* empty entry skipped */
  assert_int_equal(s6net_envmods_addpacked(&m, packed, sizeof packed), 0);
  assert_int_equal(m.n, 3);
  assert_string_equal(mods[1], "B");
  s6net_envmods_init(&m, buf, sizeof buf, mods, 4);
  assert_int_equal(s6net_envmods_addpacked(&m, "A=1", 3), -1); /* unterminated */
  assert_int_equal(errno, EINVAL);
  s6net_envmods_init(&m, buf, sizeof buf, mods, 4);
  assert_int_equal(s6net_envmods_addpacked(&m, "a\0b\0c\0d\0e\0", 10), -1);
  assert_int_equal(errno, ENOBUFS);
  assert_int_equal(s6net_env_namelen("ABC=d=e"), 3);
  assert_int_equal(s6net_env_namelen("ABC"), 3);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_merge),
    cmocka_unit_test(test_prefix_names_do_not_match),
    cmocka_unit_test(test_overflow),
    cmocka_unit_test(test_packed),
  };
  return cmocka_run_group_tests_name("env", tests, NULL, NULL);
}
