#include "unit.h"
#include "core/sig.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static void test_selfpipe(void **state)
{
  (void)state;
  int fd = s6net_selfpipe_init();
  assert_true(fd >= 0);
  assert_int_equal(s6net_selfpipe_init(), fd); /* idempotent */
  assert_int_equal(s6net_selfpipe_trap(SIGUSR1), 0);
  assert_int_equal(s6net_selfpipe_read(), 0);
  raise(SIGUSR1);
  assert_int_equal(s6net_selfpipe_read(), SIGUSR1);
  assert_int_equal(s6net_selfpipe_read(), 0);
  assert_true(signal(SIGUSR1, SIG_IGN) != SIG_ERR);
  raise(SIGUSR1);
  assert_int_equal(s6net_selfpipe_read(), 0);
  assert_true(signal(SIGUSR1, SIG_DFL) != SIG_ERR);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_selfpipe),
  };
  return cmocka_run_group_tests_name("sig", tests, NULL, NULL);
}
