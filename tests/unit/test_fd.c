#include "unit.h"
#include "core/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static void test_fd_move(void **state)
{
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(s6net_fd_cloexec(p[0]), 0);
  assert_true(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
  assert_int_equal(s6net_fd_move(p[0], p[0]), 0); /* clears cloexec */
  assert_false(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
  int target = 40;
  assert_int_equal(s6net_fd_move(target, p[1]), 0);
  assert_int_equal(fcntl(p[1], F_GETFD), -1);   /* old one closed */
  assert_int_equal(s6net_write_all(target, "hello", 5), 0);
  close(target);
  char buf[16];
  assert_int_equal(s6net_read_full(p[0], buf, sizeof buf), 5); /* stops at EOF */
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(s6net_fd_nonblock(p[0]), 0);
  assert_true(fcntl(p[0], F_GETFL) & O_NONBLOCK);
  assert_int_equal(s6net_fd_block(p[0]), 0);
  assert_false(fcntl(p[0], F_GETFL) & O_NONBLOCK);
  close(p[0]);
  assert_int_equal(s6net_fd_move(50, 49), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fd_move),
  };
  return cmocka_run_group_tests_name("fd", tests, NULL, NULL);
}
