/* Clock arithmetic, the 12-byte clock pipe, TAI64NA and the estimator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "clock/clock.h"

static void adj_bytes(s6net_clk d, char const *hex12)
{
  unsigned char out[12], want[12];
  for (int i = 0; i < 12; i++) {
    unsigned int b;
    sscanf(hex12 + 2 * i, "%2x", &b);
    want[i] = (unsigned char)b;
  }
  s6net_clockadj_pack(out, &d);
  assert_memory_equal(out, want, 12);
  s6net_clk back;
  assert_int_equal(s6net_clockadj_unpack(out, &back), 0);
  assert_true(back.sec == d.sec);
  assert_int_equal(back.nano, d.nano);
}

static void test_clockadj_vectors(void **state)
{
  (void)state;
  adj_bytes((s6net_clk){ 0, 0 }, "000000000000000000000000");
  adj_bytes((s6net_clk){ 3600, 250000000 }, "0000000000000e100ee6b280");
  /* Negative adjustments wrap modulo 2^64; nanoseconds are always added. */
  adj_bytes((s6net_clk){ -86400, 0 }, "fffffffffffeae8000000000");
  adj_bytes((s6net_clk){ -1, 750000000 }, "ffffffffffffffff2cb41780");
  adj_bytes((s6net_clk){ INT64_MIN, 999999999 }, "80000000000000003b9ac9ff");
}

static void test_clockadj_bad(void **state)
{
  (void)state;
  unsigned char in[12] = { 0 };
  s6net_clk d = { 7, 7 };
  in[8] = 0x3b; in[9] = 0x9a; in[10] = 0xca; in[11] = 0x00; /* exactly 10^9 */
  assert_int_equal(s6net_clockadj_unpack(in, &d), -1);
  memset(in + 8, 0xff, 4);
  assert_int_equal(s6net_clockadj_unpack(in, &d), -1);
  assert_true(d.sec == 7);
}

static void test_from_ns(void **state)
{
  (void)state;
  s6net_clk t = s6net_clk_from_ns(-1);
  assert_true(t.sec == -1);
  assert_int_equal(t.nano, 999999999);
  t = s6net_clk_from_ns(-250000000);
  assert_true(t.sec == -1);
  assert_int_equal(t.nano, 750000000);
  t = s6net_clk_from_ns(3600250000000LL);
  assert_true(t.sec == 3600);
  assert_int_equal(t.nano, 250000000);
  t = s6net_clk_from_ns(-86400000000000LL);
  assert_true(t.sec == -86400);
  assert_int_equal(t.nano, 0);
}

static void test_diff_add(void **state)
{
  (void)state;
  s6net_clk a = { 100, 100 }, b = { 99, 999999999 };
  int64_t ns;
  assert_int_equal(s6net_clk_diff_ns(&a, &b, &ns), 0);
  assert_true(ns == 101);
  assert_int_equal(s6net_clk_diff_ns(&b, &a, &ns), 0);
  assert_true(ns == -101);
  s6net_clk big = { INT64_MAX, 0 }, small = { INT64_MIN, 0 };
  assert_int_equal(s6net_clk_diff_ns(&big, &small, &ns), -1);
  s6net_clk far = { 5000000000LL, 0 }, zero = { 0, 0 };
  assert_int_equal(s6net_clk_diff_ns(&far, &zero, &ns), -1);
  /* Just inside +-146 years is fine. */
  s6net_clk y100 = { 3155760000LL, 5 };
  assert_int_equal(s6net_clk_diff_ns(&zero, &y100, &ns), 0);
  assert_true(ns == -3155760000000000005LL);

  s6net_clk t = { 10, 900000000 };
  s6net_clk d = s6net_clk_from_ns(200000000);
  assert_int_equal(s6net_clk_add(&t, &d), 0);
  assert_true(t.sec == 11);
  assert_int_equal(t.nano, 100000000);
  d = s6net_clk_from_ns(-11200000000LL);
  assert_int_equal(s6net_clk_add(&t, &d), 0);
  assert_true(t.sec == -1);
  assert_int_equal(t.nano, 900000000);
  s6net_clk m = { INT64_MAX, 999999999 }, one = { 0, 1 };
  assert_int_equal(s6net_clk_add(&m, &one), -1);
  assert_true(m.sec == INT64_MAX);
}

static void test_exceeds(void **state)
{
  (void)state;
  s6net_clk d = { -3, 0 };
  assert_true(s6net_clk_exceeds_ms(&d, 2999));
  assert_false(s6net_clk_exceeds_ms(&d, 3000));
  d = (s6net_clk){ -1, 500000000 }; /* -0.5 s */
  assert_false(s6net_clk_exceeds_ms(&d, 500));
  assert_true(s6net_clk_exceeds_ms(&d, 499));
  d = (s6net_clk){ 2, 1 };
  assert_true(s6net_clk_exceeds_ms(&d, 2000));
  assert_false(s6net_clk_exceeds_ms(&d, 2001));
  d = (s6net_clk){ INT64_MIN, 0 };
  assert_true(s6net_clk_exceeds_ms(&d, UINT64_MAX));
  d = (s6net_clk){ 0, 0 };
  assert_false(s6net_clk_exceeds_ms(&d, 0));
}

static void test_tai64na(void **state)
{
  (void)state;
  unsigned char buf[16];
  s6net_tai64na t = { 0x400000005a7b3c2dULL, 123456789, 5 }, u;
  s6net_tai64na_pack(buf, &t);
  static unsigned char const want[16] = { 0x40, 0, 0, 0, 0x5a, 0x7b, 0x3c, 0x2d,
                                          0x07, 0x5b, 0xcd, 0x15, 0, 0, 0, 5 };
  assert_memory_equal(buf, want, 16);
  assert_int_equal(s6net_tai64na_unpack(buf, &u), 0);
  assert_true(u.label == t.label && u.nano == t.nano && u.atto == t.atto);
  s6net_clk c;
  s6net_tai64na_to_clk(&c, &u);
  assert_true(c.sec == 0x5a7b3c2d);
  /* Before 1970 TAI: labels below 2^62. */
  s6net_clk neg = { -5, 1 };
  s6net_tai64na_from_clk(&t, &neg);
  assert_true(t.label == 0x3ffffffffffffffbULL);
  s6net_tai64na_to_clk(&c, &t);
  assert_true(c.sec == -5);
  buf[0] = 0x80; /* reserved label */
  assert_int_equal(s6net_tai64na_unpack(buf, &u), -1);
  buf[0] = 0x40; buf[12] = 0x3b; buf[13] = 0x9a; buf[14] = 0xca; buf[15] = 0;
  assert_int_equal(s6net_tai64na_unpack(buf, &u), -1);
}

static void test_estimate(void **state)
{
  (void)state;
  s6net_clock_sample s[5] = {
    { 1000, 50 }, { -3000000000LL, 900 }, { 1200, 40 }, { 1100, 60 }, { 99999, 800 },
  };
  int64_t off, err;
  assert_int_equal(s6net_clock_estimate(s, 5, &off, &err), 0);
  /* The three best (errors 40, 50, 60) are averaged; the outliers ignored. */
  assert_true(off == 1100);
  assert_true(err == 60);
  s6net_clock_sample one = { -7, 3 };
  assert_int_equal(s6net_clock_estimate(&one, 1, &off, &err), 0);
  assert_true(off == -7 && err == 3);
  assert_int_equal(s6net_clock_estimate(s, 0, &off, &err), -1);
  /* Offsets near the limit do not overflow the mean. */
  s6net_clock_sample h[2] = { { S6NET_CLK_DIFF_MAX, 1 }, { S6NET_CLK_DIFF_MAX, 1 } };
  assert_int_equal(s6net_clock_estimate(h, 2, &off, &err), 0);
  assert_true(off == S6NET_CLK_DIFF_MAX);
  s6net_clock_sample n[2] = { { -S6NET_CLK_DIFF_MAX, 1 }, { -3, 2 } };
  assert_int_equal(s6net_clock_estimate(n, 2, &off, &err), 0);
  assert_true(off == -S6NET_CLK_DIFF_MAX);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_clockadj_vectors),
    cmocka_unit_test(test_clockadj_bad),
    cmocka_unit_test(test_from_ns),
    cmocka_unit_test(test_diff_add),
    cmocka_unit_test(test_exceeds),
    cmocka_unit_test(test_tai64na),
    cmocka_unit_test(test_estimate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
