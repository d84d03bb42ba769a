#include "unit.h"
#include "core/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void test_sibling(void **state)
{
  (void)state;
  char buf[4200], self[4096];
  ssize_t r = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(r > 0);
  self[r] = 0;
  *strrchr(self, '/') = 0;
  assert_int_equal(s6net_sibling(buf, sizeof buf, "s6-tcpserverd"), 0);
  assert_int_equal(strncmp(buf, self, strlen(self)), 0);
  assert_string_equal(buf + strlen(self), "/s6-tcpserverd");
  assert_int_equal(s6net_sibling(buf, 8, "s6-tcpserverd"), -1);
  assert_int_equal(errno, ENAMETOOLONG);
}
/* A program in DIR/../libexec/s6net wins over one of the same name in
 * DIR (an install next to Debian's s6), for the names Debian's s6 also
 * ships only; a non-executable file there is passed over. The directory
 * is made next to this test's own and removed again. */
static void test_sibling_privdir(void **state)
{
  (void)state;
  char self[4096], priv[4300], file[4400], buf[4400];
  ssize_t r = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(r > 0);
  self[r] = 0;
  *strrchr(self, '/') = 0;
  snprintf(priv, sizeof priv, "%s/../libexec", self);
  int made_libexec = mkdir(priv, 0755) == 0;
  snprintf(priv, sizeof priv, "%s/../libexec/s6net", self);
  int made_priv = mkdir(priv, 0755) == 0;
  snprintf(file, sizeof file, "%s/s6-sudod", priv);
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(s6net_sibling(buf, sizeof buf, "s6-sudod"), 0);
  assert_string_equal(strrchr(buf, '/'), "/s6-sudod");
  assert_null(strstr(buf, "/libexec/")); /* not executable: DIR serves */
  assert_int_equal(chmod(file, 0755), 0);
  assert_int_equal(s6net_sibling(buf, sizeof buf, "s6-sudod"), 0);
  assert_string_equal(buf, file);
  /* a name Debian's s6 does not ship is never looked for there */
  char other[4400];
  snprintf(other, sizeof other, "%s/s6-tlsd-io", priv);
  assert_int_equal(rename(file, other), 0);
  assert_int_equal(s6net_sibling(buf, sizeof buf, "s6-tlsd-io"), 0);
  assert_null(strstr(buf, "/libexec/"));
  unlink(other);
  if (made_priv) rmdir(priv);
  if (made_libexec) { snprintf(priv, sizeof priv, "%s/../libexec", self); rmdir(priv); }
}

static void test_exec_path(void **state)
{
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (!pid) {
    char const *argv[] = { "true", 0 };
    char const *envp[] = { "PATH=/nonexistent:/usr/bin:/bin", 0 };
    s6net_exec(argv, envp);
    _exit(99);
  }
  int st;
  waitpid(pid, &st, 0);
  assert_int_equal(WEXITSTATUS(st), 0);
  char const *argv[] = { "no-such-program-s6net", 0 };
  char const *envp[] = { "PATH=/usr/bin:/bin", 0 };
  assert_int_equal(s6net_exec(argv, envp), -1);
  assert_int_equal(errno, ENOENT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sibling),
    cmocka_unit_test(test_sibling_privdir),
    cmocka_unit_test(test_exec_path),
  };
  return cmocka_run_group_tests_name("exec", tests, NULL, NULL);
}
