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
