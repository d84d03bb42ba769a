#include "unit.h"
#include "core/tai.h"

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
    cmocka_unit_test(test_be),
  };
  return cmocka_run_group_tests_name("tai", tests, NULL, NULL);
}
