#include "unit.h"
#include "core/priv.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static void test_priv_drop(void **state)
{
  (void)state;
  if (geteuid() != 0) {
    /* Unprivileged: dropping to another uid must fail and say so. */
    assert_int_equal(s6net_priv_drop(getuid() + 1, (gid_t)-1, 0, (size_t)-1), -1);
    return;
  }
  pid_t pid = fork();
  if (!pid) {
    gid_t g[] = { 65533 };
    if (s6net_priv_drop(65534, 65534, g, 1) < 0) _exit(1);
    if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534) _exit(2);
    gid_t cur[8];
    int n = getgroups(8, cur);
    if (n != 1 || cur[0] != 65533) _exit(3);
    if (setuid(0) == 0) _exit(4);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  pid = fork();
  if (!pid) {
    char const *env[] = { "UID=65534", "GID=65534", "GIDLIST=65534,65533", 0 };
    if (s6net_priv_drop_env(env) < 0) _exit(1);
    _exit(getuid() == 65534 && getgid() == 65534 ? 0 : 2);
  }
  waitpid(pid, &st, 0);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  char const *bad[] = { "UID=abc", 0 };
  assert_int_equal(s6net_priv_drop_env(bad), -1);
  assert_int_equal(errno, EINVAL);
  char const *bad2[] = { "GIDLIST=1,,2", 0 };
  assert_int_equal(s6net_priv_drop_env(bad2), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_priv_drop),
  };
  return cmocka_run_group_tests_name("priv", tests, NULL, NULL);
}
