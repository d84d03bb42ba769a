#include "core/diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char const *s6net_prog = "s6net";

struct line { char buf[2048]; size_t len; };

static void add(struct line *l, char const *s)
{
  while (*s && l->len < sizeof l->buf - 1) l->buf[l->len++] = *s++;
}

static void vline(struct line *l, char const *kind, char const *fmt, va_list ap, int err)
{
  char msg[1900];
  l->len = 0;
  add(l, s6net_prog);
  add(l, ": ");
  add(l, kind);
  add(l, ": ");
  if (vsnprintf(msg, sizeof msg, fmt, ap) >= 0) add(l, msg);
  if (err) { add(l, ": "); add(l, strerror(err)); }
  l->buf[l->len++] = '\n';
}

/* One write() per message so that lines from concurrent processes sharing
 * a log pipe never interleave. */
static void emit(char const *kind, char const *fmt, va_list ap, int err)
{
  struct line l;
  vline(&l, kind, fmt, ap, err);
  while (write(2, l.buf, l.len) < 0 && errno == EINTR) ;
}

size_t s6net_diag_line(char *buf, size_t size, char const *kind, char const *fmt, ...)
{
  struct line l;
  va_list ap;
  va_start(ap, fmt);
  vline(&l, kind, fmt, ap, 0);
  va_end(ap);
  if (!size) return 0;
  if (l.len > size) { l.len = size; l.buf[size - 1] = '\n'; }
  memcpy(buf, l.buf, l.len);
  return l.len;
}

void s6net_die(int code, char const *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  emit("fatal", fmt, ap, 0);
  va_end(ap);
  _exit(code);
}

void s6net_diesys(int code, char const *fmt, ...)
{
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  emit("fatal", fmt, ap, e ? e : EIO);
  va_end(ap);
  _exit(code);
}

void s6net_dieusage(char const *usage)
{
  char buf[1024];
  int n = snprintf(buf, sizeof buf, "%s: usage: %s %s\n", s6net_prog, s6net_prog, usage);
  if (n > 0) {
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    while (write(2, buf, len) < 0 && errno == EINTR) ;
  }
  _exit(100);
}

void s6net_warn(char const *fmt, ...)
{
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  emit("warning", fmt, ap, 0);
  va_end(ap);
  errno = e;
}

void s6net_warnsys(char const *fmt, ...)
{
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  emit("warning", fmt, ap, e ? e : EIO);
  va_end(ap);
  errno = e;
}

void s6net_info(char const *fmt, ...)
{
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  emit("info", fmt, ap, 0);
  va_end(ap);
  errno = e;
}
