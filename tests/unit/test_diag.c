#include "unit.h"
#include "core/diag.h"
#include "core/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static void test_diag_format(void **state)
{
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  if (!pid) {
    dup2(p[1], 2);
    s6net_prog = "s6-test";
    s6net_warn("careful with %d", 3);
    errno = ENOENT;
    s6net_diesys(111, "unable to open %s", "/x");
  }
  close(p[1]);
  char buf[512];
  ssize_t n = s6net_read_full(p[0], buf, sizeof buf - 1);
  buf[n] = 0;
  close(p[0]);
  int st;
  waitpid(pid, &st, 0);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 111);
  assert_string_equal(buf, "s6-test: warning: careful with 3\n"
                           "s6-test: fatal: unable to open /x: No such file or directory\n");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_diag_format),
  };
  return cmocka_run_group_tests_name("diag", tests, NULL, NULL);
}
