#include "core/deadline.h"

#include <errno.h>
#include <time.h>

int64_t s6net_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

s6net_deadline s6net_deadline_in(unsigned int ms)
{
  return ms ? s6net_now_ms() + ms : S6NET_DEADLINE_NEVER;
}

int s6net_deadline_remaining(s6net_deadline d)
{
  if (d == S6NET_DEADLINE_NEVER) return -1;
  int64_t r = d - s6net_now_ms();
  if (r < 0) return 0;
  return r > 0x7fffffff ? 0x7fffffff : (int)r;
}

int s6net_deadline_passed(s6net_deadline d)
{
  return d != S6NET_DEADLINE_NEVER && s6net_now_ms() >= d;
}

int s6net_poll(struct pollfd *fds, nfds_t n, s6net_deadline d)
{
  for (;;) {
    int r = poll(fds, n, s6net_deadline_remaining(d));
    if (r >= 0 || errno != EINTR) return r;
  }
}

int s6net_connect_deadline(int fd, struct sockaddr const *sa, socklen_t len, s6net_deadline d)
{
  if (connect(fd, sa, len) == 0) return 0;
  if (errno != EINPROGRESS && errno != EINTR) return -1;
  struct pollfd p = { .fd = fd, .events = POLLOUT, .revents = 0 };
  int r = s6net_poll(&p, 1, d);
  if (r < 0) return -1;
  if (!r) { errno = ETIMEDOUT; return -1; }
  int err = 0;
  socklen_t el = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) return -1;
  if (err) { errno = err; return -1; }
  return 0;
}
