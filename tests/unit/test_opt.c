/* lib/core/opt: the option scanner every program uses. */
#include "unit.h"
#include "core/opt.h"

#define N(v) ((int)(sizeof v / sizeof *v) - 1)

static void test_clustered(void **state)
{
  (void)state;
  char const *argv[] = { "p", "-qv", "-Q", "x", 0 };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qQvt:"), 'q');
  assert_int_equal(g.ind, 1);
  assert_null(g.arg);
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qQvt:"), 'v');
  assert_int_equal(g.ind, 2);
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qQvt:"), 'Q');
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qQvt:"), -1);
  assert_int_equal(g.ind, 3);
}

static void test_argument(void **state)
{
  (void)state;
  /* attached, attached at the end of a bundle, separate, and a separate
   * one that looks like an option, or like the end of the options */
  char const *argv[] = { "p", "-t5", "-qt6", "-t", "7", "-t", "-q", "-t", "--", "-t", "", "x", 0 };
  char const *want[] = { "5", "6", "7", "-q", "--", "" };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  int q = 0;
  for (int i = 0; i < 6; i++) {
    int c = s6net_sgetopt_next(&g, N(argv), argv, "qt:");
    if (c == 'q') { q++; c = s6net_sgetopt_next(&g, N(argv), argv, "qt:"); }
    assert_int_equal(c, 't');
    assert_string_equal(g.arg, want[i]);
  }
  assert_int_equal(q, 1);
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qt:"), -1);
  assert_int_equal(g.ind, 11);
  assert_null(g.arg);
}

static void test_double_dash(void **state)
{
  (void)state;
  char const *argv[] = { "p", "-q", "--", "-v", "--", 0 };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qv"), 'q');
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qv"), -1);
  assert_int_equal(g.ind, 3);
  /* only the first "--" is eaten: the operands start at -v */
  char const *argv2[] = { "p", "--", "--", 0 };
  s6net_sgetopt g2 = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&g2, N(argv2), argv2, "qv"), -1);
  assert_int_equal(g2.ind, 2);
}

static void test_lone_dash(void **state)
{
  (void)state;
  char const *argv[] = { "p", "-q", "-", "-v", 0 };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qv"), 'q');
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qv"), -1);
  assert_int_equal(g.ind, 2);
}

static void test_missing_argument(void **state)
{
  (void)state;
  char const *argv[] = { "p", "-t", 0 };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qt:"), ':');
  assert_int_equal(g.opt, 't');
  assert_null(g.arg);
  char const *argv2[] = { "p", "-qt", 0 };
  s6net_sgetopt g2 = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&g2, N(argv2), argv2, "qt:"), 'q');
  assert_int_equal(s6net_sgetopt_next(&g2, N(argv2), argv2, "qt:"), ':');
  assert_int_equal(g2.opt, 't');
  assert_int_equal(g2.ind, 2);
  /* argc bounds the scan, not the terminating null */
  char const *argv3[] = { "p", "-t", "5", 0 };
  s6net_sgetopt g3 = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&g3, 2, argv3, "t:"), ':');
}

static void test_unknown(void **state)
{
  (void)state;
  char const *argv[] = { "p", "-xq", "-:", "-@", "--no-such-option", 0 };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qt:"), '?');
  assert_int_equal(g.opt, 'x');
  /* the rest of the bundle is still scanned */
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qt:"), 'q');
  /* ':' marks arguments in the spec; it is never an option */
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qt:"), '?');
  assert_int_equal(g.opt, ':');
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qt:"), '?');
  assert_int_equal(g.opt, '@');
  /* without a table, a long option is a bundle starting with '-' */
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qt:"), '?');
  assert_int_equal(g.opt, '-');
  assert_int_equal(g.ind, 4);
}

static void test_stops_at_operand(void **state)
{
  (void)state;
  char const *argv[] = { "p", "-q", "prog", "-v", "--", 0 };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qv"), 'q');
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qv"), -1);
  assert_int_equal(g.ind, 2);
  /* and stays stopped */
  assert_int_equal(s6net_sgetopt_next(&g, N(argv), argv, "qv"), -1);
  assert_int_equal(g.ind, 2);
  char const *argv2[] = { "p", "", "-q", 0 };
  s6net_sgetopt g2 = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&g2, N(argv2), argv2, "qv"), -1);
  assert_int_equal(g2.ind, 1);
  char const *argv3[] = { "p", 0 };
  s6net_sgetopt g3 = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&g3, N(argv3), argv3, "qv"), -1);
  assert_int_equal(g3.ind, 1);
}

static void test_reentrant(void **state)
{
  (void)state;
  /* two scans interleaved do not disturb each other */
  char const *a[] = { "p", "-qv", "x", 0 };
  char const *b[] = { "p", "-t", "1", "-v", 0 };
  s6net_sgetopt ga = S6NET_SGETOPT_INIT, gb = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next(&ga, N(a), a, "qvt:"), 'q');
  assert_int_equal(s6net_sgetopt_next(&gb, N(b), b, "qvt:"), 't');
  assert_int_equal(s6net_sgetopt_next(&ga, N(a), a, "qvt:"), 'v');
  assert_int_equal(s6net_sgetopt_next(&gb, N(b), b, "qvt:"), 'v');
  assert_int_equal(s6net_sgetopt_next(&ga, N(a), a, "qvt:"), -1);
  assert_int_equal(s6net_sgetopt_next(&gb, N(b), b, "qvt:"), -1);
  assert_int_equal(ga.ind, 2);
  assert_int_equal(gb.ind, 4);
}

static s6net_sgetopt_long const longs[] = {
  { "only-v1", '1' }, { "only-v2", '2' }, { "udp", 'u' }, { "uniq", 'q' }, { 0, 0 }
};

static int next_long(s6net_sgetopt *g, int argc, char const *const *argv)
{
  return s6net_sgetopt_next_long(g, argc, argv, "12ut:", longs);
}

static void test_long(void **state)
{
  (void)state;
  char const *argv[] = { "p", "--only-v2", "-1u", "--udp", "--only-v1", "-t", "--udp", "--ud", "--", "--udp", 0 };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  assert_int_equal(next_long(&g, N(argv), argv), '2');
  assert_int_equal(next_long(&g, N(argv), argv), '1');
  assert_int_equal(next_long(&g, N(argv), argv), 'u');
  assert_int_equal(next_long(&g, N(argv), argv), 'u');
  assert_int_equal(next_long(&g, N(argv), argv), '1');
  /* an option's argument is never taken for a long option */
  assert_int_equal(next_long(&g, N(argv), argv), 't');
  assert_string_equal(g.arg, "--udp");
  /* an unambiguous prefix, as with getopt_long */
  assert_int_equal(next_long(&g, N(argv), argv), 'u');
  assert_null(g.arg);
  assert_int_equal(next_long(&g, N(argv), argv), -1);
  assert_int_equal(g.ind, 9);

  char const *argv2[] = { "p", "--udp", "prog", "--udp", 0 };
  s6net_sgetopt g2 = S6NET_SGETOPT_INIT;
  assert_int_equal(next_long(&g2, N(argv2), argv2), 'u');
  assert_int_equal(next_long(&g2, N(argv2), argv2), -1);
  assert_int_equal(g2.ind, 2);

  char const *argv3[] = { "p", "-", 0 };
  s6net_sgetopt g3 = S6NET_SGETOPT_INIT;
  assert_int_equal(next_long(&g3, N(argv3), argv3), -1);
  assert_int_equal(g3.ind, 1);
}

static void test_long_bad(void **state)
{
  (void)state;
  /* ambiguous ("only-v" fits two), unknown, with a value, empty prefix
   * of nothing, prefix of two names for different options */
  static char const *const bad[] = { "--only-v", "--only", "--bogus", "--udp=1", "--only-v1x", "--u", "--=" };
  for (unsigned int i = 0; i < sizeof bad / sizeof *bad; i++) {
    char const *argv[] = { "p", bad[i], "-1", 0 };
    s6net_sgetopt g = S6NET_SGETOPT_INIT;
    int c = next_long(&g, N(argv), argv);
    if (c != '?') fail_msg("%s gave %d", bad[i], c);
    assert_int_equal(g.opt, '-');
    assert_int_equal(g.ind, 2);
    assert_null(g.arg);
  }
  /* a prefix shared by entries for one option is not ambiguous */
  static s6net_sgetopt_long const same[] = { { "verbose", 'v' }, { "verbosity", 'v' }, { 0, 0 } };
  char const *argv[] = { "p", "--verb", 0 };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next_long(&g, N(argv), argv, "v", same), 'v');
  /* an exact name wins over a longer one it is a prefix of */
  static s6net_sgetopt_long const ex[] = { { "udpx", 'x' }, { "udp", 'u' }, { 0, 0 } };
  char const *argv2[] = { "p", "--udp", 0 };
  s6net_sgetopt g2 = S6NET_SGETOPT_INIT;
  assert_int_equal(s6net_sgetopt_next_long(&g2, N(argv2), argv2, "ux", ex), 'u');
}

int main(void)
{
  struct CMUnitTest const tests[] = {
    cmocka_unit_test(test_clustered),
    cmocka_unit_test(test_argument),
    cmocka_unit_test(test_double_dash),
    cmocka_unit_test(test_lone_dash),
    cmocka_unit_test(test_missing_argument),
    cmocka_unit_test(test_unknown),
    cmocka_unit_test(test_stops_at_operand),
    cmocka_unit_test(test_reentrant),
    cmocka_unit_test(test_long),
    cmocka_unit_test(test_long_bad),
  };
  return cmocka_run_group_tests(tests, 0, 0);
}
