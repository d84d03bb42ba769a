/* UTC <-> TAI through the leap-second table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock/clock.h"

#define LEAP2017 1483228800LL /* 2017-01-01 00:00:00 UTC */

static void test_offsets(void **state)
{
  (void)state;
  assert_int_equal(s6net_leap_offset_utc(0), 10);
  assert_int_equal(s6net_leap_offset_utc(-1000000000LL), 10);
  assert_int_equal(s6net_leap_offset_utc(63072000), 10);      /* 1972-01-01 */
  assert_int_equal(s6net_leap_offset_utc(78796799), 10);      /* 1972-06-30 23:59:59 */
  assert_int_equal(s6net_leap_offset_utc(78796800), 11);      /* 1972-07-01 */
  assert_int_equal(s6net_leap_offset_utc(LEAP2017 - 1), 36);
  assert_int_equal(s6net_leap_offset_utc(LEAP2017), 37);
  assert_int_equal(s6net_leap_offset_utc(1795000000), 37);    /* 2026 */
}

static void test_table_shape(void **state)
{
  (void)state;
  assert_true(s6net_leap_table_len >= 28);
  assert_int_equal(s6net_leap_table[0].offset, 10);
  for (size_t i = 1; i < s6net_leap_table_len; i++) {
    assert_true(s6net_leap_table[i].ntp > s6net_leap_table[i - 1].ntp);
    assert_int_equal(s6net_leap_table[i].offset, s6net_leap_table[i - 1].offset + 1);
    /* Leap seconds happen at midnight UTC. */
    assert_int_equal(s6net_leap_table[i].ntp % 86400, 0);
  }
  assert_true(s6net_leap_table_expires > s6net_leap_table[s6net_leap_table_len - 1].ntp);
}

static void test_round_trip(void **state)
{
  (void)state;
  s6net_clk u = { LEAP2017, 5 }, t, back;
  int leap;
  t = s6net_utc_to_tai(&u);
  assert_true(t.sec == LEAP2017 + 37);
  assert_int_equal(t.nano, 5);
  back = s6net_tai_to_utc(&t, &leap);
  assert_true(back.sec == LEAP2017 && !leap);
  /* 2016-12-31 23:59:59 UTC is TAI +36. */
  u.sec = LEAP2017 - 1;
  t = s6net_utc_to_tai(&u);
  assert_true(t.sec == LEAP2017 + 35);
  back = s6net_tai_to_utc(&t, &leap);
  assert_true(back.sec == LEAP2017 - 1 && !leap);
  /* The inserted 23:59:60 (TAI +36 past the last 23:59:59) comes back as
   * 23:59:59, flagged. */
  t.sec = LEAP2017 + 36;
  back = s6net_tai_to_utc(&t, &leap);
  assert_true(back.sec == LEAP2017 - 1 && leap);
  /* 1970: the TAI64 convention of 10 seconds. */
  u.sec = 0;
  t = s6net_utc_to_tai(&u);
  assert_true(t.sec == 10);
  back = s6net_tai_to_utc(&t, NULL);
  assert_true(back.sec == 0);
  /* Absurd inputs saturate instead of wrapping. */
  u.sec = INT64_MAX;
  t = s6net_utc_to_tai(&u);
  assert_true(t.sec == INT64_MAX);
  t.sec = INT64_MIN;
  back = s6net_tai_to_utc(&t, NULL);
  assert_true(back.sec == INT64_MIN);
}

static void test_every_leap(void **state)
{
  (void)state;
  for (size_t i = 1; i < s6net_leap_table_len; i++) {
    int64_t utc = (int64_t)s6net_leap_table[i].ntp - 2208988800LL;
    int leap;
    s6net_clk t = { utc + s6net_leap_table[i].offset - 1, 0 };
    s6net_clk b = s6net_tai_to_utc(&t, &leap);
    assert_true(leap && b.sec == utc - 1);
    t.sec++;
    b = s6net_tai_to_utc(&t, &leap);
    assert_true(!leap && b.sec == utc);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_offsets),
    cmocka_unit_test(test_table_shape),
    cmocka_unit_test(test_round_trip),
    cmocka_unit_test(test_every_leap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
