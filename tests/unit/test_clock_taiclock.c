/* TAICLOCK request and reply packets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "clock/taiclock.h"

static unsigned char const cookie[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void test_request(void **state)
{
  (void)state;
  unsigned char buf[28];
  s6net_tai64na now = { 0x4000000068000025ULL, 999999999, 0 };
  s6net_taiclock_request(buf, &now, cookie);
  static unsigned char const want[28] = {
    'c', 't', 'a', 'i', 0x40, 0, 0, 0, 0x68, 0, 0, 0x25, 0x3b, 0x9a, 0xc9, 0xff,
    0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
  assert_memory_equal(buf, want, 28);
  assert_true(s6net_taiclock_is_request(buf, 28));
  assert_true(s6net_taiclock_is_request(buf, 20));
  assert_false(s6net_taiclock_is_request(buf, 19));
  assert_false(s6net_taiclock_is_request(buf, 0));
  buf[0] = 's';
  assert_false(s6net_taiclock_is_request(buf, 28));
}

static void test_answer_reply(void **state)
{
  (void)state;
  unsigned char buf[28];
  s6net_tai64na mine = { 0x4000000068000025ULL, 1, 0 }, srv = { 0x4000000068000026ULL, 42, 7 }, got;
  s6net_taiclock_request(buf, &mine, cookie);
  s6net_taiclock_answer(buf, &srv);
  assert_memory_equal(buf, "stai", 4);
  assert_memory_equal(buf + 20, cookie, 8);
  assert_int_equal(s6net_taiclock_reply(buf, 28, cookie, &got), S6NET_TAICLOCK_OK);
  assert_true(got.label == srv.label && got.nano == 42 && got.atto == 7);
  /* Longer replies are fine (the bytes after ours are ignored). */
  unsigned char big[40] = { 0 };
  memcpy(big, buf, 28);
  assert_int_equal(s6net_taiclock_reply(big, 40, cookie, &got), S6NET_TAICLOCK_OK);
}

static void test_hostile_replies(void **state)
{
  (void)state;
  unsigned char buf[28], other[8] = { 9 };
  s6net_tai64na t = { 0x4000000068000025ULL, 0, 0 }, got;
  s6net_taiclock_request(buf, &t, cookie);
  /* An echo of our own request is not an answer. */
  assert_int_equal(s6net_taiclock_reply(buf, 28, cookie, &got), S6NET_TAICLOCK_BADMAGIC);
  s6net_taiclock_answer(buf, &t);
  for (size_t n = 0; n < 28; n++)
    assert_int_equal(s6net_taiclock_reply(buf, n, cookie, &got), S6NET_TAICLOCK_SHORT);
  assert_int_equal(s6net_taiclock_reply(buf, 28, other, &got), S6NET_TAICLOCK_BADCOOKIE);
  buf[12] = 0xff; /* nanoseconds >= 10^9 */
  assert_int_equal(s6net_taiclock_reply(buf, 28, cookie, &got), S6NET_TAICLOCK_BADTIME);
  buf[12] = 0; buf[4] = 0x80; /* reserved label */
  assert_int_equal(s6net_taiclock_reply(buf, 28, cookie, &got), S6NET_TAICLOCK_BADTIME);
  for (int v = 0; v <= S6NET_TAICLOCK_BADTIME; v++)
    assert_true(strlen(s6net_taiclock_verdict_str((s6net_taiclock_verdict)v)) > 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_request),
    cmocka_unit_test(test_answer_reply),
    cmocka_unit_test(test_hostile_replies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
