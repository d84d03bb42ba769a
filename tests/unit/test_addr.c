#include "unit.h"
#include "core/addr.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

static void roundtrip6(char const *in, char const *canon)
{
  unsigned char ip[16];
  char buf[S6NET_IP6_FMTLEN];
  if (s6net_ip6_scan(in, ip) != 0) fail_msg("rejected %s", in);
  s6net_ip6_fmt(buf, ip);
  assert_string_equal(buf, canon);
}

static void test_ip4_good(void **state)
{
  (void)state;
  unsigned char ip[4];
  char buf[S6NET_IP4_FMTLEN];
  assert_int_equal(s6net_ip4_scan("192.168.1.6", ip), 0);
  assert_memory_equal(ip, "\xc0\xa8\x01\x06", 4);
  assert_int_equal(s6net_ip4_fmt(buf, ip), 11);
  assert_string_equal(buf, "192.168.1.6");
  assert_int_equal(s6net_ip4_scan("0.0.0.0", ip), 0);
  assert_int_equal(s6net_ip4_scan("255.255.255.255", ip), 0);
  s6net_ip4_fmt(buf, ip);
  assert_string_equal(buf, "255.255.255.255");
}

static void test_ip4_bad(void **state)
{
  (void)state;
  static char const *const bad[] = {
    "", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "01.2.3.4",
    "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.-4", "1.2.3.4/8", "0x1.2.3.4", "1.2.3.1000",
    "1.2.3.4\n", "a.b.c.d",
  };
  unsigned char ip[4] = { 9, 9, 9, 9 };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    errno = 0;
    if (s6net_ip4_scan(bad[i], ip) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(errno, EINVAL);
  }
  assert_memory_equal(ip, "\x09\x09\x09\x09", 4); /* untouched on failure */
  assert_int_equal(s6net_ip4_scan(NULL, ip), -1);
}

static void test_ip6_canonical(void **state)
{
  (void)state;
  /* RFC 5952 section 4 cases */
  roundtrip6("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
  roundtrip6("2001:DB8::1", "2001:db8::1");
  roundtrip6("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");      /* first of equal runs */
  roundtrip6("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");  /* single 0 not compressed */
  roundtrip6("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");           /* longest run wins */
  roundtrip6("::", "::");
  roundtrip6("::1", "::1");
  roundtrip6("1::", "1::");
  roundtrip6("0:0:0:0:0:0:0:0", "::");
  roundtrip6("1:0:0:0:0:0:0:0", "1::");
  roundtrip6("0:0:0:0:0:0:0:1", "::1");
  roundtrip6("fe80::1:2", "fe80::1:2");
  roundtrip6("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
  roundtrip6("2a00:1450:4002:803::1000", "2a00:1450:4002:803::1000");
  roundtrip6("::ffff:192.0.2.1", "::ffff:192.0.2.1");
  roundtrip6("::ffff:c000:0201", "::ffff:192.0.2.1");
  roundtrip6("64:ff9b::192.0.2.33", "64:ff9b::c000:221");
  roundtrip6("1:0:0:2:0:0:0:3", "1:0:0:2::3");
  roundtrip6("0:0:1:0:0:0:0:0", "0:0:1::");
}

static void test_ip6_bad(void **state)
{
  (void)state;
  static char const *const bad[] = {
    "", ":", ":::", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
    ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "g::1",
    "1.2.3.4::", "::1.2.3", "::1.2.3.4.5", "::256.1.1.1", "1:2:3:4:5:6:7:1.2.3.4", " ::1",
    "::1 ", "::1%eth0", "[::1]", "1:2:3:4:5:6:1.2.3.4:8",
  };
  unsigned char ip[16];
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    errno = 0;
    if (s6net_ip6_scan(bad[i], ip) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(errno, EINVAL);
  }
}

static void test_ip46(void **state)
{
  (void)state;
  s6net_ip46 a;
  char buf[S6NET_IP46_FMTLEN];
  assert_int_equal(s6net_ip46_scan("10.0.0.1", &a), 0);
  assert_false(a.is6);
  assert_int_equal(s6net_ip46_scan("::1", &a), 0);
  assert_true(a.is6);
  s6net_ip46_fmt(buf, &a);
  assert_string_equal(buf, "::1");
  assert_int_equal(s6net_ip46_scan("localhost", &a), -1);
}

static void test_mask(void **state)
{
  (void)state;
  unsigned char ip[4] = { 192, 168, 1, 7 };
  s6net_ip_mask(ip, 4, 31);
  assert_memory_equal(ip, "\xc0\xa8\x01\x06", 4);
  s6net_ip_mask(ip, 4, 20);
  assert_memory_equal(ip, "\xc0\xa8\x00\x00", 4);
  s6net_ip_mask(ip, 4, 0);
  assert_memory_equal(ip, "\0\0\0\0", 4);
  unsigned char ip6[16];
  memset(ip6, 0xff, 16);
  s6net_ip_mask(ip6, 16, 125);
  assert_int_equal(ip6[15], 0xf8);
  assert_int_equal(ip6[14], 0xff);
  memset(ip6, 0xff, 16);
  s6net_ip_mask(ip6, 16, 128);
  assert_int_equal(ip6[15], 0xff);
}

static void test_sockaddr(void **state)
{
  (void)state;
  struct sockaddr_storage ss;
  s6net_ip46 a, b;
  uint16_t port = 0;
  s6net_ip46_scan("127.0.0.1", &a);
  socklen_t len = s6net_sockaddr_make(&ss, &a, 4242);
  assert_int_equal(len, sizeof(struct sockaddr_in));
  assert_int_equal(s6net_sockaddr_get((struct sockaddr *)&ss, len, &b, &port), 0);
  assert_int_equal(port, 4242);
  assert_false(b.is6);
  assert_memory_equal(b.ip, a.ip, 4);

  /* v4-mapped comes back as plain IPv4 */
  s6net_ip46_scan("::ffff:10.1.2.3", &a);
  len = s6net_sockaddr_make(&ss, &a, 80);
  assert_int_equal(len, sizeof(struct sockaddr_in6));
  assert_int_equal(s6net_sockaddr_get((struct sockaddr *)&ss, len, &b, &port), 0);
  assert_false(b.is6);
  assert_memory_equal(b.ip, "\x0a\x01\x02\x03", 4);

  s6net_ip46_scan("2001:db8::5", &a);
  len = s6net_sockaddr_make(&ss, &a, 65535);
  assert_int_equal(s6net_sockaddr_get((struct sockaddr *)&ss, len, &b, &port), 0);
  assert_true(b.is6);
  assert_int_equal(port, 65535);

  /* truncated length and unknown family are refused */
  assert_int_equal(s6net_sockaddr_get((struct sockaddr *)&ss, 8, &b, &port), -1);
  ss.ss_family = AF_UNIX;
  assert_int_equal(s6net_sockaddr_get((struct sockaddr *)&ss, sizeof ss, &b, &port), -1);
  assert_int_equal(errno, EAFNOSUPPORT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ip4_good),
    cmocka_unit_test(test_ip4_bad),
    cmocka_unit_test(test_ip6_canonical),
    cmocka_unit_test(test_ip6_bad),
    cmocka_unit_test(test_ip46),
    cmocka_unit_test(test_mask),
    cmocka_unit_test(test_sockaddr),
  };
  return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
