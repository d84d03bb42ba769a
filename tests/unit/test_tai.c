#include "unit.h"
#include "core/tai.h"

#include <errno.h>

static void test_pack(void **state)
{
  (void)state;
  unsigned char b[12];
  s6net_tai64n t = { S6NET_TAI64_OFFSET + 10, 999999999 }, u;
  s6net_tai64n_pack(b, &t);
  assert_memory_equal(b, "\x40\0\0\0\0\0\0\x0a\x3b\x9a\xc9\xff", 12);
  assert_int_equal(s6net_tai64n_unpack(b, &u), 0);
  assert_true(u.sec == t.sec);
  assert_int_equal(u.nano, t.nano);
  b[8] = 0x3b; b[9] = 0x9a; b[10] = 0xca; b[11] = 0x00; /* exactly 10^9 */
  assert_int_equal(s6net_tai64n_unpack(b, &u), -1);
  assert_int_equal(errno, EINVAL);
}

static void test_be(void **state)
{
  (void)state;
  unsigned char b[8];
  s6net_u64_pack_be(b, 0x0102030405060708ULL);
  assert_memory_equal(b, "\1\2\3\4\5\6\7\x08", 8);
  assert_true(s6net_u64_unpack_be(b) == 0x0102030405060708ULL);
  s6net_u32_pack_be(b, 0xdeadbeefu);
  assert_true(s6net_u32_unpack_be(b) == 0xdeadbeefu);
  s6net_u16_pack_be(b, 0xfffe);
  assert_memory_equal(b, "\xff\xfe", 2);
  assert_int_equal(s6net_u16_unpack_be(b), 0xfffe);
  /* a negative adjustment wraps modulo 2^64 */
  s6net_u64_pack_be(b, (uint64_t)-1);
  assert_memory_equal(b, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pack),
    cmocka_unit_test(test_be),
  };
  return cmocka_run_group_tests_name("tai", tests, NULL, NULL);
}
