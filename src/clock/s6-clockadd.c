/* s6-clockadd: read a 12-byte adjustment on stdin and step the clock. */
#include "clock/clock.h"
#include "core/diag.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/opt.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define USAGE "[ -f ] [ -e errmax ]"
/* Year 10000: beyond it, no clock (or kernel) means what we would set. */
#define MAXTIME 253402300800LL

/* "-0.250000000" rather than the raw {-1, 750000000}. */
static char const *fmt_adj(char *buf, size_t len, s6net_clk const *d)
{
  uint64_t s = (uint64_t)d->sec;
  uint32_t n = d->nano;
  int neg = d->sec < 0;
  if (neg) {
    s = (uint64_t)(-(d->sec + 1));
    if (n) n = 1000000000u - n; else s++;
  }
  snprintf(buf, len, "%s%llu.%09u", neg ? "-" : "+", (unsigned long long)s, n);
  return buf;
}

int main(int argc, char const *const *argv)
{
  unsigned int errmax = 2000;
  int force = 0, c;
  s6net_prog = "s6-clockadd";
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((c = s6net_sgetopt_next(&g, argc, argv, "fe:")) != -1) {
    switch (c) {
      case 'f': force = 1; break;
      case 'e':
        if (s6net_scan_uint(g.arg, 0, 0xffffffffu, &errmax) < 0) {
          s6net_die(100, "invalid -e argument: %s", g.arg);
        }
        break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (g.ind != argc) s6net_dieusage(USAGE);

  unsigned char buf[S6NET_CLOCKADJ_LEN];
  s6net_clk adj, t;
  ssize_t r = s6net_read_full(0, buf, sizeof buf);
  if (r < 0) s6net_diesys(111, "unable to read the adjustment from stdin");
  if ((size_t)r < sizeof buf)
    s6net_die(111, "unable to read the adjustment from stdin: got %zd bytes, expected 12", r);
  if (s6net_clockadj_unpack(buf, &adj) < 0)
    s6net_die(100, "invalid adjustment on stdin: nanoseconds out of range");
  if (s6net_clk_exceeds_ms(&adj, errmax)) {
    char b[32];
    if (!force)
      s6net_die(1, "refusing to adjust the clock by %s s: more than %u ms (use -f to force)",
                fmt_adj(b, sizeof b, &adj), errmax);
    s6net_warn("adjusting the clock by %s s: more than %u ms, forced by -f",
               fmt_adj(b, sizeof b, &adj), errmax);
  }
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) < 0) s6net_diesys(111, "unable to read the system clock");
  s6net_clk_from_timespec(&t, &ts);
  if (s6net_clk_add(&t, &adj) < 0 || t.sec < 0 || t.sec >= MAXTIME || s6net_clk_to_timespec(&ts, &t) < 0)
    s6net_die(100, "invalid adjustment on stdin: resulting time out of range (before 1970 or after 9999)");
  if (clock_settime(CLOCK_REALTIME, &ts) < 0) s6net_diesys(111, "unable to set the system clock");
  return 0;
}
