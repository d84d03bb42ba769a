#include "unit.h"
#include "core/deadline.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

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

static void test_connect_deadline(void **state)
{
  (void)state;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(l >= 0);
  assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(l, 1), 0);
  assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  assert_int_equal(s6net_connect_deadline(fd, (struct sockaddr *)&sa, sizeof sa, s6net_deadline_in(2000)), 0);
  close(fd);
  close(l); /* nothing listens there any more */
  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  assert_int_equal(s6net_connect_deadline(fd, (struct sockaddr *)&sa, sizeof sa, s6net_deadline_in(2000)), -1);
  assert_int_equal(errno, ECONNREFUSED);
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_deadline),
    cmocka_unit_test(test_connect_deadline),
  };
  return cmocka_run_group_tests_name("deadline", tests, NULL, NULL);
}
