#include "unit.h"
#include "ipc/sudo.h"

#include <string.h>

/* The request Debian's s6-sudoc 2.11 sent for `s6-sudo -e sock sig`,
 * captured with strace: frame header, banner, counts, one argument. */
static unsigned char const debian_req[] =
  "\x00\x00\x00\x23\x00\x03"
  "s6-sudo a v1.0\n"
  "\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00"
  "sig";

static void test_parse_debian(void **state)
{
  (void)state;
  uint32_t len; uint16_t nfds;
  assert_int_equal(s6net_sudo_hdr_parse(debian_req, S6NET_SUDO_MAXPAYLOAD, &len, &nfds), 0);
  assert_int_equal(len, 35);
  assert_int_equal(nfds, 3);
  s6net_sudo_req r;
  assert_int_equal(s6net_sudo_req_parse((char const *)debian_req + 6, len, &r), S6NET_SUDO_OK);
  assert_int_equal(r.argc, 1);
  assert_int_equal(r.envc, 0);
  assert_string_equal(r.args, "sig");
}

static void test_pack_roundtrip(void **state)
{
  (void)state;
  char const *argv[] = { "a1", "a 2", "" };
  char const *env[] = { "A=1", "PATH=/usr/bin:/bin", "E=" };
  size_t len = s6net_sudo_req_len(argv, 3, env, 3);
  assert_int_equal(len, 31 + 3 + 4 + 1 + 4 + 19 + 3);
  char buf[256];
  assert_int_equal(s6net_sudo_req_pack(buf, argv, 3, env, 3), len);
  s6net_sudo_req r;
  assert_int_equal(s6net_sudo_req_parse(buf, len, &r), 0);
  assert_int_equal(r.argc, 3);
  assert_int_equal(r.envc, 3);
  char const *v[3];
  s6net_sudo_unpack_strings(r.args, 3, v);
  assert_string_equal(v[1], "a 2");
  assert_string_equal(v[2], "");
  s6net_sudo_unpack_strings(r.env, 3, v);
  assert_string_equal(v[1], "PATH=/usr/bin:/bin");
  /* Empty request: no arguments, no environment. */
  len = s6net_sudo_req_len(0, 0, 0, 0);
  assert_int_equal(len, 31);
  s6net_sudo_req_pack(buf, 0, 0, 0, 0);
  assert_int_equal(s6net_sudo_req_parse(buf, len, &r), 0);
  assert_int_equal(r.argc + r.envc, 0);
}

static void test_parse_hostile(void **state)
{
  (void)state;
  char const *argv[] = { "x", "yy" };
  char good[64], b[64];
  size_t len = s6net_sudo_req_pack(good, argv, 2, 0, 0);
  s6net_sudo_req r;
  assert_int_equal(s6net_sudo_req_parse(good, len, &r), 0);
  /* Every truncation is rejected, never read past. */
  for (size_t i = 0; i < len; i++)
    assert_true(s6net_sudo_req_parse(good, i, &r) < 0);
  /* Banner from the server side, or any other. */
  memcpy(b, good, len); b[7] = 'b';
  assert_int_equal(s6net_sudo_req_parse(b, len, &r), S6NET_SUDO_EBANNER);
  /* argc too large or too small. */
  memcpy(b, good, len); b[18] = 3;
  assert_int_equal(s6net_sudo_req_parse(b, len, &r), S6NET_SUDO_EBAD);
  memcpy(b, good, len); b[18] = 1;
  assert_int_equal(s6net_sudo_req_parse(b, len, &r), S6NET_SUDO_EBAD);
  /* Missing final NUL. */
  memcpy(b, good, len); b[len - 1] = 'z';
  assert_int_equal(s6net_sudo_req_parse(b, len, &r), S6NET_SUDO_EBAD);
  /* Lengths that overflow or disagree with the payload. */
  memcpy(b, good, len); memcpy(b + 23, "\xff\xff\xff\xff", 4);
  assert_int_equal(s6net_sudo_req_parse(b, len, &r), S6NET_SUDO_EBAD);
  memcpy(b, good, len); memcpy(b + 27, "\xff\xff\xff\xfb", 4);
  assert_int_equal(s6net_sudo_req_parse(b, len, &r), S6NET_SUDO_EBAD);
  memcpy(b, good, len); b[30] = 1;
  assert_int_equal(s6net_sudo_req_parse(b, len, &r), S6NET_SUDO_EBAD);
  /* Trailing garbage. */
  memcpy(b, good, len); b[len] = 0;
  assert_int_equal(s6net_sudo_req_parse(b, len + 1, &r), S6NET_SUDO_EBAD);
}

static void test_hdr(void **state)
{
  (void)state;
  unsigned char h[6];
  uint32_t len; uint16_t n;
  s6net_sudo_hdr_pack(h, 1000, 3);
  assert_memory_equal(h, "\x00\x00\x03\xe8\x00\x03", 6);
  assert_int_equal(s6net_sudo_hdr_parse(h, 1000, &len, &n), 0);
  assert_int_equal(s6net_sudo_hdr_parse(h, 999, &len, &n), S6NET_SUDO_EBAD);
  s6net_sudo_hdr_pack(h, 30, 3);
  assert_int_equal(s6net_sudo_hdr_parse(h, 1000, &len, &n), S6NET_SUDO_EBAD);
  s6net_sudo_hdr_pack(h, 0xffffffffu, 3);
  assert_int_equal(s6net_sudo_hdr_parse(h, S6NET_SUDO_MAXPAYLOAD, &len, &n), S6NET_SUDO_EBAD);
}

static void test_env_filter(void **state)
{
  (void)state;
  char const *senv[] = { "PATH=/bin", "EMPTY=", "OTHER=", "SET=server", "=", "E2=", 0 };
  static char const cenv[] = "EMPTY=fromclient\0SET=client\0NEW=x\0PATH=/evil\0EMPTYX=no\0E2=first\0E2=second\0OTHERWISE=1\0EMPT=z";
  char const *mods[8];
  long n = s6net_sudo_env_filter(senv, cenv, sizeof cenv, 9, mods, 8);
  assert_int_equal(n, 2);
  assert_string_equal(mods[0], "EMPTY=fromclient");
  assert_string_equal(mods[1], "E2=second");
  assert_int_equal(s6net_sudo_env_filter(senv, cenv, sizeof cenv, 9, mods, 1), -1);
  /* A client "VAR" with no '=' never matches "VAR=". */
  static char const c2[] = "OTHER\0OTHER=";
  n = s6net_sudo_env_filter(senv, c2, sizeof c2, 2, mods, 8);
  assert_int_equal(n, 1);
  assert_string_equal(mods[0], "OTHER=");
  assert_int_equal(s6net_sudo_env_filter(senv, "", 0, 0, mods, 8), 0);
}

static void test_status(void **state)
{
  (void)state;
  assert_int_equal(s6net_sudo_status_exitcode(s6net_sudo_status_encode(1, 0)), 0);
  assert_int_equal(s6net_sudo_status_exitcode(s6net_sudo_status_encode(1, 7)), 7);
  assert_int_equal(s6net_sudo_status_exitcode(s6net_sudo_status_encode(1, 255)), 255);
  assert_int_equal(s6net_sudo_status_exitcode(s6net_sudo_status_encode(0, 15)), 143);
  assert_int_equal(s6net_sudo_status_exitcode(s6net_sudo_status_encode(0, 9)), 137);
  assert_int_equal(s6net_sudo_status_exitcode(s6net_sudo_status_encode(0, 11 | 0x80)), 139);
  /* What Debian's s6-sudod sent: 0x500 for exit 5, 0xf for SIGTERM. */
  assert_int_equal(s6net_sudo_status_exitcode(0x500), 5);
  assert_int_equal(s6net_sudo_status_exitcode(0xf), 143);
  assert_int_equal(s6net_sudo_status_exitcode(0x137f), -1);   /* stopped */
  assert_int_equal(s6net_sudo_status_exitcode(0x01020304), -1);
  assert_int_equal(s6net_sudo_status_exitcode(0x0580), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_debian),
    cmocka_unit_test(test_pack_roundtrip),
    cmocka_unit_test(test_parse_hostile),
    cmocka_unit_test(test_hdr),
    cmocka_unit_test(test_env_filter),
    cmocka_unit_test(test_status),
  };
  return cmocka_run_group_tests(tests, 0, 0);
}
