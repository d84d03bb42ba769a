/* Process-level core modules: fd, deadline, sig, spawn, exec, diag, priv. */
#include "unit.h"
#include "core/deadline.h"
#include "core/diag.h"
#include "core/exec.h"
#include "core/fd.h"
#include "core/priv.h"
#include "core/sig.h"
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

extern char **environ;

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

static void test_deadline(void **state)
{
  (void)state;
  assert_true(s6net_deadline_in(0) == S6NET_DEADLINE_NEVER);
  assert_int_equal(s6net_deadline_remaining(S6NET_DEADLINE_NEVER), -1);
  assert_false(s6net_deadline_passed(S6NET_DEADLINE_NEVER));
  s6net_deadline d = s6net_deadline_in(30);
  int r = s6net_deadline_remaining(d);
  assert_true(r >= 0 && r <= 30);
  int p[2];
  assert_int_equal(pipe(p), 0);
  struct pollfd pfd = { .fd = p[0], .events = POLLIN };
  int64_t t0 = s6net_now_ms();
  assert_int_equal(s6net_poll(&pfd, 1, d), 0); /* times out */
  assert_true(s6net_now_ms() - t0 >= 25);
  assert_true(s6net_deadline_passed(d));
  assert_int_equal(s6net_deadline_remaining(d), 0);
  assert_int_equal(write(p[1], "x", 1), 1);
  assert_int_equal(s6net_poll(&pfd, 1, s6net_deadline_in(1000)), 1);
  close(p[0]); close(p[1]);
}

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
  assert_int_equal(s6net_sig_ignore(SIGUSR1), 0);
  raise(SIGUSR1);
  assert_int_equal(s6net_selfpipe_read(), 0);
  assert_int_equal(s6net_sig_default(SIGUSR1), 0);
}

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
    assert_int_equal(WEXITSTATUS(st), 127);
  } else assert_int_equal(errno, ENOENT);
}

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
  assert_int_equal(WEXITSTATUS(st), 111);
  assert_string_equal(buf, "s6-test: warning: careful with 3\n"
                           "s6-test: fatal: unable to open /x: No such file or directory\n");
}

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
  assert_int_equal(WEXITSTATUS(st), 0);
  pid = fork();
  if (!pid) {
    char const *env[] = { "UID=65534", "GID=65534", "GIDLIST=65534,65533", 0 };
    if (s6net_priv_drop_env(env) < 0) _exit(1);
    _exit(getuid() == 65534 && getgid() == 65534 ? 0 : 2);
  }
  waitpid(pid, &st, 0);
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
    cmocka_unit_test(test_fd_move),
    cmocka_unit_test(test_deadline),
    cmocka_unit_test(test_selfpipe),
    cmocka_unit_test(test_spawn),
    cmocka_unit_test(test_sibling),
    cmocka_unit_test(test_exec_path),
    cmocka_unit_test(test_diag_format),
    cmocka_unit_test(test_priv_drop),
  };
  return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
