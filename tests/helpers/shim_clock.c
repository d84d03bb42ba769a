/* LD_PRELOAD shim for the clock tests: every call that could change the
 * system clock is replaced by one that records the request and changes
 * nothing. The real functions are never called, not even on error paths.
 *   S6NET_SHIM_CLOCK_FILE   append one line per call:
 *                           "clock_settime CLOCKID SEC NSEC",
 *                           "settimeofday SEC USEC", "adjtime SEC USEC",
 *                           "adjtimex MODES", "clock_adjtime CLOCKID MODES"
 *   S6NET_SHIM_CLOCK_ERRNO  if set to a number, fail with that errno */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

static int record(char const *line)
{
  char const *path = getenv("S6NET_SHIM_CLOCK_FILE");
  char const *e = getenv("S6NET_SHIM_CLOCK_ERRNO");
  if (path) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      size_t len = strlen(line);
      ssize_t w = write(fd, line, len);
      (void)w;
      close(fd);
    }
  }
  if (e && *e) {
    errno = atoi(e);
    return -1;
  }
  return 0;
}

int clock_settime(clockid_t id, struct timespec const *tp)
{
  char buf[128];
  snprintf(buf, sizeof buf, "clock_settime %d %lld %ld\n", (int)id, (long long)tp->tv_sec, (long)tp->tv_nsec);
  return record(buf);
}

int settimeofday(struct timeval const *tv, struct timezone const *tz)
{
  char buf[128];
  (void)tz;
  if (tv) snprintf(buf, sizeof buf, "settimeofday %lld %ld\n", (long long)tv->tv_sec, (long)tv->tv_usec);
  else snprintf(buf, sizeof buf, "settimeofday - -\n");
  return record(buf);
}

int adjtime(struct timeval const *delta, struct timeval *olddelta)
{
  char buf[128];
  if (olddelta) memset(olddelta, 0, sizeof *olddelta);
  if (!delta) return 0;
  snprintf(buf, sizeof buf, "adjtime %lld %ld\n", (long long)delta->tv_sec, (long)delta->tv_usec);
  return record(buf);
}

int adjtimex(struct timex *t)
{
  char buf[64];
  snprintf(buf, sizeof buf, "adjtimex %u\n", t->modes);
  return record(buf) < 0 ? -1 : TIME_OK;
}

int ntp_adjtime(struct timex *t)
{
  return adjtimex(t);
}

int clock_adjtime(clockid_t id, struct timex *t)
{
  char buf[64];
  snprintf(buf, sizeof buf, "clock_adjtime %d %u\n", (int)id, t->modes);
  return record(buf) < 0 ? -1 : TIME_OK;
}
