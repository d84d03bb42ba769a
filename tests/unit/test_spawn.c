#include "unit.h"
#include "core/spawn.h"
#include "core/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static void test_spawn(void **state)
{
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  char const *argv[] = { "sh", "-c", "echo \"$FOO\"; exit 7", 0 };
  char const *envp[] = { "FOO=bar", "PATH=/usr/bin:/bin", 0 };
  s6net_fdmap map[] = { { 1, p[1] } };
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  pid_t pid = s6net_spawn("sh", argv, envp, map, 1, &def);
  assert_true(pid > 0);
  close(p[1]);
  char buf[16];
  assert_int_equal(s6net_read_full(p[0], buf, sizeof buf), 4);
  assert_memory_equal(buf, "bar\n", 4);
  close(p[0]);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 7);
  char const *nope[] = { "/nonexistent/prog", 0 };
  errno = 0;
  pid = s6net_spawn(nope[0], nope, envp, 0, 0, 0);
  if (pid > 0) { /* some libcs report exec failure as exit 127 */
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 127);
  } else assert_int_equal(errno, ENOENT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_spawn),
  };
  return cmocka_run_group_tests_name("spawn", tests, NULL, NULL);
}
