/* NTP timestamps (eras, the 2036 rollover), SNTPv4 packets, reply checks
 * and the offset computation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "clock/sntp.h"

#define ERA1 2085978496LL /* Unix time of NTP era 1, 2036-02-07 06:28:16 UTC */

static uint64_t ntp(uint32_t sec, uint32_t frac)
{
  return (uint64_t)sec << 32 | frac;
}

static void test_ntp_from_clk(void **state)
{
  (void)state;
  s6net_clk t = { 0, 0 };
  assert_true(s6net_ntp_from_clk(&t) == ntp(2208988800u, 0));
  t.nano = 500000000;
  assert_true(s6net_ntp_from_clk(&t) == ntp(2208988800u, 0x80000000u));
  t = (s6net_clk){ ERA1 - 1, 999999999 };
  assert_true(s6net_ntp_from_clk(&t) >> 32 == 0xffffffffu);
  t = (s6net_clk){ ERA1, 0 };
  assert_true(s6net_ntp_from_clk(&t) == 0);
  t = (s6net_clk){ ERA1 + 1, 250000000 };
  assert_true(s6net_ntp_from_clk(&t) == ntp(1, 0x40000000u));
}

static void test_ntp_to_clk_eras(void **state)
{
  (void)state;
  s6net_clk t;
  s6net_ntp_to_clk(&t, ntp(2208988800u, 0x80000000u), 0);
  assert_true(t.sec == 0);
  assert_int_equal(t.nano, 500000000);
  /* Era 1 seconds 0, seen from just before the rollover. */
  s6net_ntp_to_clk(&t, ntp(0, 0), ERA1 - 10);
  assert_true(t.sec == ERA1);
  /* Era 0's last second, seen from just after the rollover. */
  s6net_ntp_to_clk(&t, ntp(0xffffffffu, 0), ERA1 + 10);
  assert_true(t.sec == ERA1 - 1);
  /* Far into era 1 (2100), pivot also there. */
  s6net_ntp_to_clk(&t, ntp((uint32_t)(4102444800LL + 2208988800LL), 0), 4102444000LL);
  assert_true(t.sec == 4102444800LL);
  /* The window is +-68 years around the pivot: a 2013-set clock reads
   * 2047 right. */
  s6net_ntp_to_clk(&t, ntp((uint32_t)(2429913600LL + 2208988800LL), 0), 1356998400LL);
  assert_true(t.sec == 2429913600LL);
  /* Nanosecond rounding never reaches 10^9. */
  s6net_ntp_to_clk(&t, ntp(5, 0xffffffffu), 0);
  assert_int_equal(t.nano, 999999999);
}

static void test_ntp_nano_round_trip(void **state)
{
  (void)state;
  static uint32_t const nanos[] = { 0, 1, 2, 499999999, 500000000, 999999998, 999999999, 123456789 };
  for (size_t i = 0; i < sizeof nanos / sizeof nanos[0]; i++) {
    s6net_clk t = { 1700000000, nanos[i] }, u;
    s6net_ntp_to_clk(&u, s6net_ntp_from_clk(&t), 1700000000);
    assert_true(u.sec == t.sec);
    assert_int_equal(u.nano, t.nano);
  }
}

static void test_pack_unpack(void **state)
{
  (void)state;
  unsigned char buf[48];
  s6net_sntp_request(buf, ntp(0xe0000000u, 0x12345678u));
  assert_int_equal(buf[0], 0x23);
  for (int i = 1; i < 40; i++) assert_int_equal(buf[i], 0);
  assert_int_equal(buf[40], 0xe0);
  assert_int_equal(buf[47], 0x78);
  s6net_sntp p = { .li = 3, .vn = 4, .mode = 4, .stratum = 2, .poll = -6, .precision = -20,
                   .root_delay = 0x00010000u, .root_dispersion = 0x8000u, .refid = 0x7f000001u,
                   .reference = 1, .originate = 2, .receive = 3, .transmit = 4 }, q;
  s6net_sntp_pack(buf, &p);
  assert_int_equal(buf[0], 0xe4);
  assert_int_equal(s6net_sntp_unpack(buf, 48, &q), 48);
  assert_int_equal(q.li, 3);
  assert_int_equal(q.vn, 4);
  assert_int_equal(q.mode, 4);
  assert_int_equal(q.poll, -6);
  assert_int_equal(q.precision, -20);
  assert_true(q.root_delay == p.root_delay && q.root_dispersion == p.root_dispersion);
  assert_true(q.refid == p.refid && q.reference == 1 && q.originate == 2);
  assert_true(q.receive == 3 && q.transmit == 4);
  /* Extension fields after the header are ignored; short is refused. */
  unsigned char big[68] = { 0 };
  memcpy(big, buf, 48);
  assert_int_equal(s6net_sntp_unpack(big, sizeof big, &q), 48);
  assert_int_equal(s6net_sntp_unpack(buf, 47, &q), 0);
  assert_int_equal(s6net_sntp_unpack(buf, 0, &q), 0);
}

static s6net_sntp good(uint64_t sent)
{
  s6net_sntp r = { .li = 0, .vn = 4, .mode = 4, .stratum = 3, .originate = sent,
                   .receive = ntp(3900000000u, 0), .transmit = ntp(3900000000u, 1) };
  return r;
}

static void test_check(void **state)
{
  (void)state;
  uint64_t sent = ntp(3900000000u, 0xdeadbeefu);
  s6net_sntp r = good(sent);
  assert_int_equal(s6net_sntp_check(&r, sent), S6NET_SNTP_OK);
  r.vn = 3;
  assert_int_equal(s6net_sntp_check(&r, sent), S6NET_SNTP_OK);
  assert_int_equal(s6net_sntp_check(&r, sent + 1), S6NET_SNTP_BADORIGIN);
  r = good(sent); r.mode = 3;
  assert_int_equal(s6net_sntp_check(&r, sent), S6NET_SNTP_BADMODE);
  r = good(sent); r.mode = 5;
  assert_int_equal(s6net_sntp_check(&r, sent), S6NET_SNTP_BADMODE);
  r = good(sent); r.vn = 2;
  assert_int_equal(s6net_sntp_check(&r, sent), S6NET_SNTP_BADVERSION);
  r = good(sent); r.stratum = 0; r.li = 3; r.refid = 0x52415445u; /* RATE */
  assert_int_equal(s6net_sntp_check(&r, sent), S6NET_SNTP_KOD);
  char code[5];
  s6net_sntp_kiss_code(code, &r);
  assert_string_equal(code, "RATE");
  r.refid = 0x00410a42u;
  s6net_sntp_kiss_code(code, &r);
  assert_string_equal(code, "?A?B");
  r = good(sent); r.li = 3;
  assert_int_equal(s6net_sntp_check(&r, sent), S6NET_SNTP_UNSYNC);
  r = good(sent); r.stratum = 16;
  assert_int_equal(s6net_sntp_check(&r, sent), S6NET_SNTP_UNSYNC);
  r = good(sent); r.transmit = 0;
  assert_int_equal(s6net_sntp_check(&r, sent), S6NET_SNTP_ZEROTIME);
  r = good(sent); r.receive = 0;
  assert_int_equal(s6net_sntp_check(&r, sent), S6NET_SNTP_ZEROTIME);
  /* A forged packet with the wrong originate is not ours, whatever else. */
  r = good(sent); r.stratum = 0;
  assert_int_equal(s6net_sntp_check(&r, 0), S6NET_SNTP_BADORIGIN);
  for (int v = 0; v <= S6NET_SNTP_ZEROTIME; v++)
    assert_true(strlen(s6net_sntp_verdict_str((s6net_sntp_verdict)v)) > 0);
}

static void set(s6net_sntp *r, int64_t rsec, uint32_t rnano, int64_t tsec, uint32_t tnano)
{
  s6net_clk a = { rsec, rnano }, b = { tsec, tnano };
  r->receive = s6net_ntp_from_clk(&a);
  r->transmit = s6net_ntp_from_clk(&b);
}

static void test_sample(void **state)
{
  (void)state;
  s6net_sntp r = good(0);
  s6net_clock_sample s;
  int64_t delay;
  s6net_clk t1 = { 1000, 0 }, t4 = { 1000, 4000000 };
  /* Server +3600.25 s: T2 = T1 + 1.5 ms + off, T3 = T2 + 1 ms, T4 = T3 +
   * 1.5 ms - off: 3 ms on the wire, 1 ms in the server. */
  set(&r, 4600, 251500000, 4600, 252500000);
  assert_int_equal(s6net_sntp_sample(&r, &t1, &t4, &s, &delay), 0);
  assert_true(delay > 2999990 && delay < 3000010);
  assert_true(s.offset > 3600249999990LL && s.offset < 3600250000010LL);
  assert_true(s.error > 1499990 && s.error < 1500010);
  /* Server a day behind. */
  set(&r, 1000 - 86400, 1500000, 1000 - 86400, 2500000);
  assert_int_equal(s6net_sntp_sample(&r, &t1, &t4, &s, &delay), 0);
  assert_true(s.offset > -86400000000010LL && s.offset < -86399999999990LL);
  /* Root distance adds to the error: 1 s root delay / 2 + 0.5 s dispersion. */
  r.root_delay = 0x00010000u;
  r.root_dispersion = 0x00008000u;
  assert_int_equal(s6net_sntp_sample(&r, &t1, &t4, &s, &delay), 0);
  assert_true(s.error > 1001499990 && s.error < 1001500010);
  /* Across the 2036 rollover: we are 0.5 s before it, the server 1 s ahead. */
  r = good(0);
  t1 = (s6net_clk){ ERA1 - 1, 500000000 };
  t4 = (s6net_clk){ ERA1 - 1, 500000000 };
  set(&r, ERA1, 500000000, ERA1, 500000000);
  assert_true(r.receive >> 32 == 0);
  assert_int_equal(s6net_sntp_sample(&r, &t1, &t4, &s, &delay), 0);
  assert_true(s.offset == 1000000000LL || s.offset == 999999999LL || s.offset == 1000000001LL);
  /* A server whose transmit precedes its receive, or who claims more
   * processing time than the whole round trip, is lying. */
  t1 = (s6net_clk){ 1000, 0 }; t4 = (s6net_clk){ 1000, 4000000 };
  set(&r, 1000, 3000000, 1000, 1000000);
  assert_int_equal(s6net_sntp_sample(&r, &t1, &t4, &s, &delay), -1);
  set(&r, 1000, 0, 1000, 9000000);
  assert_int_equal(s6net_sntp_sample(&r, &t1, &t4, &s, &delay), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ntp_from_clk),
    cmocka_unit_test(test_ntp_to_clk_eras),
    cmocka_unit_test(test_ntp_nano_round_trip),
    cmocka_unit_test(test_pack_unpack),
    cmocka_unit_test(test_check),
    cmocka_unit_test(test_sample),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
