#include "unit.h"
#include "tcprules/tcprules.h"

#include <string.h>

static s6net_tcprules_rule r;

static int parse(char const *s)
{
  return s6net_tcprules_parse(s, strlen(s), &r);
}

static void keys(char const *line, int allow, char const *const *want, size_t n)
{
  if (parse(line) != S6NET_TCPRULES_RULE) fail_msg("rejected %s: %s", line, r.why ? r.why : "?");
  assert_int_equal(r.allow, allow);
  assert_int_equal(r.nkeys, n);
  for (size_t i = 0; i < n; i++) assert_string_equal(r.keys[i], want[i]);
}

static void test_ip4(void **state)
{
  (void)state;
  keys("1.2.3.4:allow", 1, (char const *[]){ "ip4/1.2.3.4_32" }, 1);
  keys("10.:deny", 0, (char const *[]){ "ip4/10.0.0.0_8" }, 1);
  keys("192.168.:allow", 1, (char const *[]){ "ip4/192.168.0.0_16" }, 1);
  keys("192.168.1.:allow", 1, (char const *[]){ "ip4/192.168.1.0_24" }, 1);
  assert_int_equal(parse("1.2.3.4\r"), S6NET_TCPRULES_BAD);
  keys("1.2.3.4:deny\r", 0, (char const *[]){ "ip4/1.2.3.4_32" }, 1);
}

static void test_ranges(void **state)
{
  (void)state;
  keys("1.2.3.40-47:allow", 1, (char const *[]){ "ip4/1.2.3.40_29" }, 1);
  keys("1.2.3.5-5:allow", 1, (char const *[]){ "ip4/1.2.3.5_32" }, 1);
  keys("1.2.3.50-100:deny", 0, (char const *[]){
    "ip4/1.2.3.50_31", "ip4/1.2.3.52_30", "ip4/1.2.3.56_29", "ip4/1.2.3.64_27",
    "ip4/1.2.3.96_30", "ip4/1.2.3.100_32" }, 6);
  keys("1.2.3.0-255:allow", 1, (char const *[]){ "ip4/1.2.3.0_24" }, 1);
  assert_int_equal(parse("1.2.3.9-4:allow"), S6NET_TCPRULES_BAD);
  assert_int_equal(parse("1.2.3.1-256:allow"), S6NET_TCPRULES_BAD);
  assert_int_equal(parse("1.2.-3:allow"), S6NET_TCPRULES_BAD);
}

static void test_ip6_and_names(void **state)
{
  (void)state;
  keys("::1:allow", 1, (char const *[]){ "ip6/::1_128" }, 1);
  keys("2001:DB8::5:deny", 0, (char const *[]){ "ip6/2001:db8::5_128" }, 1);
  assert_int_equal(parse("2001:db8:allow"), S6NET_TCPRULES_BAD); /* neither address nor prefix */
  keys("2001:db8:::allow", 1, (char const *[]){ "ip6/2001:db8::_128" }, 1);
  keys("2001:db8::allow", 1, (char const *[]){ "ip6/2001:db8::_32" }, 1);
  keys("=Host.Example.COM:allow", 1, (char const *[]){ "reversedns/host.example.com" }, 1);
  keys("=.example.com:deny", 0, (char const *[]){ "reversedns/example.com" }, 1);
  keys(":deny", 0, (char const *[]){ "ip4/0.0.0.0_0", "ip6/::_0" }, 2);
  assert_int_equal(parse("=:allow"), S6NET_TCPRULES_UNSUPPORTED);
  assert_int_equal(parse("joe@1.2.3.4:allow"), S6NET_TCPRULES_UNSUPPORTED);
  assert_int_equal(parse("=bad..name:allow"), S6NET_TCPRULES_BAD);
  assert_int_equal(parse("=bad name:allow"), S6NET_TCPRULES_BAD);
}

static void test_env(void **state)
{
  (void)state;
  assert_int_equal(parse("127.0.0.1:allow,RELAYCLIENT=\"\",TCPREMOTEHOST=/x,y/,A=b"), S6NET_TCPRULES_RULE);
  assert_int_equal(r.envlen, sizeof "RELAYCLIENT=\0TCPREMOTEHOST=x,y\0A=b" );
  assert_memory_equal(r.env, "RELAYCLIENT=\0TCPREMOTEHOST=x,y\0A=b", r.envlen);
  /* a deny rule carries no environment */
  assert_int_equal(parse("1.2.3.4:deny,X=\"1\""), S6NET_TCPRULES_RULE);
  assert_int_equal(r.envlen, 0);
  assert_int_equal(parse("1.2.3.4:allow,X=\"unterminated"), S6NET_TCPRULES_BAD);
  assert_int_equal(parse("1.2.3.4:allow,=1"), S6NET_TCPRULES_BAD);
  assert_int_equal(parse("1.2.3.4:allow,NOEQUALS"), S6NET_TCPRULES_BAD);
  assert_int_equal(parse("1.2.3.4:allowed"), S6NET_TCPRULES_BAD);
  assert_int_equal(parse("1.2.3.4:maybe"), S6NET_TCPRULES_BAD);
  assert_int_equal(parse("1.2.3.4"), S6NET_TCPRULES_BAD);
}

static void test_skip_and_hostile(void **state)
{
  (void)state;
  assert_int_equal(parse(""), S6NET_TCPRULES_SKIP);
  assert_int_equal(parse("   "), S6NET_TCPRULES_SKIP);
  assert_int_equal(parse("# comment: allow"), S6NET_TCPRULES_SKIP);
  assert_int_equal(parse("1.2.3.4.5:allow"), S6NET_TCPRULES_BAD);
  assert_int_equal(parse("256.1.1.1:allow"), S6NET_TCPRULES_BAD);
  assert_int_equal(parse("1.2.3:allow"), S6NET_TCPRULES_BAD);
  char big[8000];
  memset(big, 'A', sizeof big);
  memcpy(big, "1.2.3.4:allow,X=", 16);
  assert_int_equal(s6net_tcprules_parse(big, sizeof big, &r), S6NET_TCPRULES_BAD);
  assert_int_equal(s6net_tcprules_parse("1.2.3.4:allow,X=\0", 18, &r), S6NET_TCPRULES_BAD);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ip4),
    cmocka_unit_test(test_ranges),
    cmocka_unit_test(test_ip6_and_names),
    cmocka_unit_test(test_env),
    cmocka_unit_test(test_skip_and_hostile),
  };
  return cmocka_run_group_tests_name("tcprules", tests, NULL, NULL);
}
