/* s6-clockview: show the local time before and after a 12-byte adjustment
 * read on stdin. Touches nothing. */
#include "clock/clock.h"
#include "core/diag.h"
#include "core/fd.h"

#include <stdio.h>
#include <time.h>

static void fmt_local(char *buf, size_t len, s6net_clk const *t)
{
  struct tm tm;
  time_t s = (time_t)t->sec;
  char date[64];
  if ((int64_t)s != t->sec || !localtime_r(&s, &tm) || !strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm))
    s6net_die(100, "invalid adjustment on stdin: resulting time out of range");
  snprintf(buf, len, "%s.%09u", date, t->nano);
}

int main(int argc, char const *const *argv)
{
  (void)argv;
  s6net_prog = "s6-clockview";
  if (argc > 1) s6net_dieusage("");
  unsigned char buf[S6NET_CLOCKADJ_LEN];
  s6net_clk adj, now, after;
  ssize_t r = s6net_read_full(0, buf, sizeof buf);
  if (r < 0) s6net_diesys(111, "unable to read the adjustment from stdin");
  if ((size_t)r < sizeof buf)
    s6net_die(111, "unable to read the adjustment from stdin: got %zd bytes, expected 12", r);
  if (s6net_clockadj_unpack(buf, &adj) < 0)
    s6net_die(100, "invalid adjustment on stdin: nanoseconds out of range");
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  s6net_clk_from_timespec(&now, &ts);
  after = now;
  if (s6net_clk_add(&after, &adj) < 0)
    s6net_die(100, "invalid adjustment on stdin: resulting time out of range");
  char b1[96], b2[96];
  fmt_local(b1, sizeof b1, &now);
  fmt_local(b2, sizeof b2, &after);
  if (printf("before: %s\nafter:  %s\n", b1, b2) < 0 || fflush(stdout) == EOF)
    s6net_diesys(111, "unable to write to stdout");
  return 0;
}
