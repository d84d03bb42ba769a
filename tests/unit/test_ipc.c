#include "unit.h"
#include "ipc/ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static void test_addr(void **state)
{
  (void)state;
  struct sockaddr_un sa;
  char longp[200];
  assert_true(s6net_ipc_addr(&sa, "/tmp/x") > 0);
  assert_string_equal(sa.sun_path, "/tmp/x");
  memset(longp, 'a', sizeof longp - 1); longp[sizeof longp - 1] = 0;
  errno = 0;
  assert_int_equal(s6net_ipc_addr(&sa, longp), 0);
  assert_int_equal(errno, ENAMETOOLONG);
  assert_int_equal(s6net_ipc_addr(&sa, ""), 0);
  assert_int_equal(errno, EINVAL);
}

static void test_fdpass(void **state)
{
  (void)state;
  int sv[2], p[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(pipe(p), 0);
  int send3[3] = { p[0], p[1], p[1] };
  assert_int_equal(s6net_ipc_sendfds(sv[0], "hello", 5, send3, 3), 5);
  char buf[16];
  int fds[3];
  unsigned int n = 0;
  int extra = 0;
  assert_int_equal(s6net_ipc_recvfds(sv[1], buf, sizeof buf, fds, 3, &n, &extra, 0), 5);
  assert_int_equal(n, 3);
  assert_int_equal(extra, 0);
  assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
  /* The received write end really is the pipe. */
  assert_int_equal(write(fds[1], "z", 1), 1);
  assert_int_equal(read(p[0], buf, 1), 1);
  assert_int_equal(buf[0], 'z');
  for (int i = 0; i < 3; i++) close(fds[i]);

  /* More descriptors than wanted: the extras are closed, not leaked. */
  int lowest = dup(0); close(lowest);
  assert_int_equal(s6net_ipc_sendfds(sv[0], "x", 1, send3, 3), 1);
  n = 0; extra = 0;
  assert_int_equal(s6net_ipc_recvfds(sv[1], buf, sizeof buf, fds, 1, &n, &extra, 0), 1);
  assert_int_equal(n, 1);
  assert_int_equal(extra, 1);
  close(fds[0]);
  assert_false(is_open(lowest));
  assert_false(is_open(lowest + 1));
  assert_false(is_open(lowest + 2));
  close(p[0]); close(p[1]); close(sv[0]); close(sv[1]);
}

static void test_peercred(void **state)
{
  (void)state;
  int sv[2];
  uid_t u; gid_t g; pid_t pid;
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(s6net_ipc_peercred(sv[0], &u, &g, &pid), 0);
  assert_int_equal(u, geteuid());
  assert_int_equal(g, getegid());
  assert_int_equal(pid, getpid());
  close(sv[0]); close(sv[1]);
  int fd = open("/dev/null", O_RDONLY);
  assert_int_equal(s6net_ipc_peercred(fd, &u, &g, 0), -1);
  close(fd);
}

static void test_exact(void **state)
{
  (void)state;
  int sv[2];
  char buf[8];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  assert_int_equal(s6net_ipc_write_all(sv[0], "abc", 3, s6net_deadline_in(1000)), 0);
  assert_int_equal(s6net_ipc_read_exact(sv[1], buf, 3, s6net_deadline_in(1000)), 1);
  assert_memory_equal(buf, "abc", 3);
  /* Nothing more comes: a deadline, not a hang. */
  assert_int_equal(s6net_ipc_read_exact(sv[1], buf, 1, s6net_deadline_in(20)), -1);
  assert_int_equal(errno, ETIMEDOUT);
  close(sv[0]);
  assert_int_equal(s6net_ipc_read_exact(sv[1], buf, 1, s6net_deadline_in(1000)), 0);
  close(sv[1]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_addr),
    cmocka_unit_test(test_fdpass),
    cmocka_unit_test(test_peercred),
    cmocka_unit_test(test_exact),
  };
  return cmocka_run_group_tests(tests, 0, 0);
}
