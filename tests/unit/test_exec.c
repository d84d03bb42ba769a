#include "unit.h"
#include "core/exec.h"
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
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
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  char const *argv[] = { "no-such-program-s6net", 0 };
  char const *envp[] = { "PATH=/usr/bin:/bin", 0 };
  assert_int_equal(s6net_exec(argv, envp), -1);
  assert_int_equal(errno, ENOENT);
}

/* Every candidate of name in path, "|"-joined, skipped ones as "-". */
static char const *candidates(char const *path, char const *name, size_t len)
{
  static char out[1024];
  char buf[64];
  int r;
  out[0] = 0;
  while ((r = s6net_path_next(&path, name, buf, len < sizeof buf ? len : sizeof buf))) {
    if (out[0]) strcat(out, "|");
    strcat(out, r > 0 ? buf : "-");
  }
  return out;
}

/* The one rule of core/exec.h: empty entries (leading, doubled,
 * trailing, or the whole PATH) are the current directory; a name with a
 * '/' is not searched; an empty name has no candidate; a candidate too
 * long is passed over, and the search goes on. */
static void test_path_next(void **state)
{
  (void)state;
  assert_string_equal(candidates("/a:/b", "x", 64), "/a/x|/b/x");
  assert_string_equal(candidates(":/a", "x", 64), "./x|/a/x");
  assert_string_equal(candidates("/a::/b", "x", 64), "/a/x|./x|/b/x");
  assert_string_equal(candidates("/a:", "x", 64), "/a/x|./x");
  assert_string_equal(candidates("", "x", 64), "./x");
  assert_string_equal(candidates("/a:/b", "d/x", 64), "d/x");
  assert_string_equal(candidates("/a:/b", "/bin/x", 64), "/bin/x");
  assert_string_equal(candidates("/a:/b", "", 64), "");
  /* "/long/x" needs 8 bytes with its NUL */
  assert_string_equal(candidates("/long:/b", "x", 7), "-|/b/x");
  assert_string_equal(candidates("/long:/b", "x", 8), "/long/x|/b/x");
  assert_string_equal(candidates("/a", "toolong/x", 9), "-");
  char const *pos = 0;
  char buf[8];
  assert_int_equal(s6net_path_next(&pos, "x", buf, sizeof buf), 0);
}

static void test_path_get(void **state)
{
  (void)state;
  char const *with[] = { "A=1", "PATH=/p:/q", 0 };
  char const *empty[] = { "PATH=", 0 };
  char const *without[] = { "A=1", 0 };
  assert_string_equal(s6net_path_get(with), "/p:/q");
  assert_string_equal(s6net_path_get(empty), "");
  assert_string_equal(s6net_path_get(without), S6NET_DEFAULT_PATH);
  assert_string_equal(s6net_path_get(0), S6NET_DEFAULT_PATH);
}

/* A scratch directory with an executable "s6net-prog" and a
 * non-executable "s6net-data"; removed by rmscratch. */
static void mkscratch(char *dir, size_t len)
{
  snprintf(dir, len, "/tmp/s6net-test-exec.XXXXXX");
  assert_non_null(mkdtemp(dir));
  char f[256];
  snprintf(f, sizeof f, "%s/s6net-prog", dir);
  int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "#!/bin/sh\nexit 42\n", 18), 18);
  close(fd);
  snprintf(f, sizeof f, "%s/s6net-data", dir);
  fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  close(fd);
}

static void rmscratch(char const *dir)
{
  char f[256];
  snprintf(f, sizeof f, "%s/s6net-prog", dir);
  unlink(f);
  snprintf(f, sizeof f, "%s/s6net-data", dir);
  unlink(f);
  rmdir(dir);
}

static void test_path_find(void **state)
{
  (void)state;
  char dir[64], path[200], buf[256], want[256];
  mkscratch(dir, sizeof dir);
  snprintf(path, sizeof path, "/nonexistent::%s", dir);
  snprintf(want, sizeof want, "%s/s6net-prog", dir);
  assert_int_equal(s6net_path_find("s6net-prog", path, buf, sizeof buf), 0);
  assert_string_equal(buf, want);
  errno = 0;
  assert_int_equal(s6net_path_find("s6net-data", path, buf, sizeof buf), -1);
  assert_int_equal(errno, EACCES);
  assert_int_equal(s6net_path_find("s6net-none", path, buf, sizeof buf), -1);
  assert_int_equal(errno, ENOENT);
  /* a directory is not a program */
  assert_int_equal(s6net_path_find("tmp", "/", buf, sizeof buf), -1);
  assert_int_equal(errno, ENOENT);
  rmscratch(dir);
}

/* The PATH searched is the one of the environment given, never ours: the
 * program is only in the child's PATH for s6net_spawn (posix_spawnp
 * searched ours), and only in ours for s6net_exec (whose envp has no
 * PATH: the default applies). */
static void test_path_is_the_childs(void **state)
{
  (void)state;
  char dir[64], path[100];
  mkscratch(dir, sizeof dir);
  snprintf(path, sizeof path, "PATH=%s", dir);
  char const *argv[] = { "s6net-prog", 0 };
  char const *envp[] = { path, 0 };
  pid_t pid = s6net_spawn("s6net-prog", argv, envp, 0, 0, 0);
  assert_true(pid > 0);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 42);

  pid = fork();
  assert_true(pid >= 0);
  if (!pid) {
    char const *nopath[] = { "A=1", 0 };
    setenv("PATH", dir, 1);
    s6net_exec(argv, nopath);
    _exit(errno == ENOENT ? 0 : 1);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  rmscratch(dir);
}

/* An empty PATH entry is the current directory for s6net_exec too. */
static void test_exec_empty_entry(void **state)
{
  (void)state;
  char dir[64];
  mkscratch(dir, sizeof dir);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (!pid) {
    char const *argv[] = { "s6net-prog", 0 };
    char const *envp[] = { "PATH=/nonexistent:", 0 };
    if (chdir(dir) < 0) _exit(98);
    s6net_exec(argv, envp);
    _exit(99);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 42);
  rmscratch(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sibling),
    cmocka_unit_test(test_sibling_privdir),
    cmocka_unit_test(test_exec_path),
    cmocka_unit_test(test_path_next),
    cmocka_unit_test(test_path_get),
    cmocka_unit_test(test_path_find),
    cmocka_unit_test(test_path_is_the_childs),
    cmocka_unit_test(test_exec_empty_entry),
  };
  return cmocka_run_group_tests_name("exec", tests, NULL, NULL);
}
