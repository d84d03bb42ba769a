/* s6net_tls_hostname_ok: which client SNI values may reach the
 * application as SSL_TLS_SNI_SERVERNAME; s6net_tls_peer_fmt: the peer's
 * address in the engine's messages; s6net_tls_sni_ext_name: the name in a
 * ClientHello's server_name extension. */
#include "unit.h"
#include "tls/tlsopt.h"

#include <string.h>

static int ok(char const *s)
{
  return s6net_tls_hostname_ok(s, strlen(s));
}

static void test_valid(void **state)
{
  (void)state;
  assert_true(ok("localhost"));
  assert_true(ok("a"));
  assert_true(ok("www.example.com"));
  assert_true(ok("Mixed-Case.Example.ORG"));
  assert_true(ok("xn--bcher-kva.example"));
  assert_true(ok("1.2.3.4"));  /* all-digit labels are LDH too */
  assert_true(ok("a-b.c-d"));
  char l63[64];
  memset(l63, 'a', 63);
  l63[63] = 0;
  assert_true(ok(l63));
  /* 253 bytes: 63+1+63+1+63+1+61 */
  char n253[254];
  memset(n253, 'b', 253);
  n253[63] = n253[127] = n253[191] = '.';
  n253[253] = 0;
  assert_true(ok(n253));
}

static void test_invalid(void **state)
{
  (void)state;
  assert_false(ok(""));
  assert_false(ok("."));
  assert_false(ok("example.com."));   /* no trailing dot in SNI (RFC 6066) */
  assert_false(ok(".example.com"));
  assert_false(ok("a..b"));
  assert_false(ok("-a.b"));
  assert_false(ok("a-.b"));
  assert_false(ok("a.b-"));
  assert_false(ok("a_b.example"));
  assert_false(ok("a b"));
  assert_false(ok("evil\n.example"));
  assert_false(ok("x\033[2J"));
  assert_false(ok("caf\xc3\xa9.example"));
  assert_false(ok("*.example.com"));
  assert_false(ok("a/b"));
  assert_false(s6net_tls_hostname_ok("ab\0cd", 5));  /* trailing garbage after a NUL */
  assert_false(s6net_tls_hostname_ok("abc", 0));
  char l64[65];
  memset(l64, 'a', 64);
  l64[64] = 0;
  assert_false(ok(l64));
  char n254[255];
  memset(n254, 'b', 254);
  n254[63] = n254[127] = n254[191] = '.';
  n254[254] = 0;
  assert_false(ok(n254));
}

static void test_peer(void **state)
{
  (void)state;
  char buf[64];
  char const *e4[] = { "PROTO=TCP", "TCPREMOTEIP=192.0.2.7", "TCPREMOTEPORT=51234", 0 };
  assert_string_equal(s6net_tls_peer_fmt(buf, sizeof buf, e4), "192.0.2.7:51234");
  char const *e6[] = { "TCPREMOTEPORT=443", "TCPREMOTEIP=2001:db8::1", 0 };
  assert_string_equal(s6net_tls_peer_fmt(buf, sizeof buf, e6), "[2001:db8::1]:443");
  char const *noport[] = { "TCPREMOTEIP=192.0.2.7", 0 };
  assert_string_equal(s6net_tls_peer_fmt(buf, sizeof buf, noport), "192.0.2.7");
  char const *other[] = { "PROTO=SCTP", "TCPREMOTEIP=x", "SCTPREMOTEIP=192.0.2.8", "SCTPREMOTEPORT=9", 0 };
  assert_string_equal(s6net_tls_peer_fmt(buf, sizeof buf, other), "192.0.2.8:9");
  char const *none[] = { "PATH=/bin", "TCPREMOTEIPX=1", 0 };
  assert_null(s6net_tls_peer_fmt(buf, sizeof buf, none));
  char const *empty[] = { 0 };
  assert_null(s6net_tls_peer_fmt(buf, sizeof buf, empty));
  /* Too long: refused, never truncated. */
  assert_null(s6net_tls_peer_fmt(buf, 10, e4));
}

static void test_sni_ext(void **state)
{
  (void)state;
  char const *n;
  size_t l;
  static unsigned char const one[] = { 0, 12, 0, 0, 9, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e' };
  assert_int_equal(s6net_tls_sni_ext_name(one, sizeof one, &n, &l), 0);
  assert_int_equal(l, 9);
  assert_memory_equal(n, "a.example", 9);
  /* An entry of another type first is skipped. */
  static unsigned char const two[] = { 0, 10, 7, 0, 2, 'x', 'y', 0, 0, 2, 'o', 'k' };
  assert_int_equal(s6net_tls_sni_ext_name(two, sizeof two, &n, &l), 0);
  assert_int_equal(l, 2);
  assert_memory_equal(n, "ok", 2);
  /* Malformed: list length off by one either way, entry past the end,
   * truncated header, no host_name at all. */
  static unsigned char const b1[] = { 0, 13, 0, 0, 9, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e' };
  static unsigned char const b2[] = { 0, 11, 0, 0, 9, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e' };
  static unsigned char const b3[] = { 0, 5, 0, 0, 9, 'a', 'b' };
  static unsigned char const b4[] = { 0, 2, 0, 0 };
  static unsigned char const b5[] = { 0, 5, 7, 0, 2, 'x', 'y' };
  assert_int_equal(s6net_tls_sni_ext_name(b1, sizeof b1, &n, &l), -1);
  assert_int_equal(s6net_tls_sni_ext_name(b2, sizeof b2, &n, &l), -1);
  assert_int_equal(s6net_tls_sni_ext_name(b3, sizeof b3, &n, &l), -1);
  assert_int_equal(s6net_tls_sni_ext_name(b4, sizeof b4, &n, &l), -1);
  assert_int_equal(s6net_tls_sni_ext_name(b5, sizeof b5, &n, &l), -1);
  assert_int_equal(s6net_tls_sni_ext_name(one, 1, &n, &l), -1);
  assert_int_equal(s6net_tls_sni_ext_name(one, 0, &n, &l), -1);
}

int main(void)
{
  struct CMUnitTest const tests[] = {
    cmocka_unit_test(test_valid),
    cmocka_unit_test(test_invalid),
    cmocka_unit_test(test_peer),
    cmocka_unit_test(test_sni_ext),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
