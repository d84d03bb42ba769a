#include "clock/clock.h"
#include "core/tai.h"

#include <errno.h>
#include <stdlib.h>

#define NS 1000000000LL

/* Two's complement reinterpretation without implementation-defined casts. */
static int64_t u64_to_s64(uint64_t u)
{
  if (u < ((uint64_t)1 << 63)) return (int64_t)u;
  return -(int64_t)(~u) - 1;
}

int s6net_clk_diff_ns(s6net_clk const *a, s6net_clk const *b, int64_t *ns)
{
  int64_t ds;
  if (__builtin_sub_overflow(a->sec, b->sec, &ds)) goto range;
  /* |ds| * 10^9 must stay below 2^62 (with one second to spare). */
  if (ds > S6NET_CLK_DIFF_MAX / NS - 1 || ds < -(S6NET_CLK_DIFF_MAX / NS - 1)) goto range;
  *ns = ds * NS + ((int64_t)a->nano - (int64_t)b->nano);
  return 0;
range:
  errno = ERANGE;
  return -1;
}

s6net_clk s6net_clk_from_ns(int64_t ns)
{
  s6net_clk t;
  int64_t q = ns / NS, r = ns % NS;
  if (r < 0) { r += NS; q--; }
  t.sec = q;
  t.nano = (uint32_t)r;
  return t;
}

int s6net_clk_add(s6net_clk *t, s6net_clk const *d)
{
  int64_t sec;
  uint32_t nano = t->nano + d->nano;
  if (__builtin_add_overflow(t->sec, d->sec, &sec)) goto range;
  if (nano >= NS) {
    nano -= NS;
    if (__builtin_add_overflow(sec, 1, &sec)) goto range;
  }
  t->sec = sec;
  t->nano = nano;
  return 0;
range:
  errno = ERANGE;
  return -1;
}

int s6net_clk_exceeds_ms(s6net_clk const *d, uint64_t ms)
{
  uint64_t msec, lsec = ms / 1000;
  uint32_t mnano, lnano = (uint32_t)(ms % 1000) * 1000000u;
  if (d->sec >= 0) { msec = (uint64_t)d->sec; mnano = d->nano; }
  else if (d->nano) { msec = (uint64_t)(-(d->sec + 1)); mnano = (uint32_t)NS - d->nano; }
  else { msec = (uint64_t)(-(d->sec + 1)) + 1; mnano = 0; }
  return msec > lsec || (msec == lsec && mnano > lnano);
}

void s6net_clk_from_timespec(s6net_clk *t, struct timespec const *ts)
{
  t->sec = (int64_t)ts->tv_sec;
  t->nano = (uint32_t)ts->tv_nsec;
}

int s6net_clk_to_timespec(struct timespec *ts, s6net_clk const *t)
{
  time_t s = (time_t)t->sec;
  if ((int64_t)s != t->sec) { errno = ERANGE; return -1; }
  ts->tv_sec = s;
  ts->tv_nsec = (long)t->nano;
  return 0;
}

void s6net_clockadj_pack(unsigned char out[12], s6net_clk const *d)
{
  s6net_u64_pack_be(out, (uint64_t)d->sec);
  s6net_u32_pack_be(out + 8, d->nano);
}

int s6net_clockadj_unpack(unsigned char const in[12], s6net_clk *d)
{
  uint32_t nano = s6net_u32_unpack_be(in + 8);
  if (nano >= NS) { errno = EINVAL; return -1; }
  d->sec = u64_to_s64(s6net_u64_unpack_be(in));
  d->nano = nano;
  return 0;
}

void s6net_tai64na_pack(unsigned char out[16], s6net_tai64na const *t)
{
  s6net_u64_pack_be(out, t->label);
  s6net_u32_pack_be(out + 8, t->nano);
  s6net_u32_pack_be(out + 12, t->atto);
}

int s6net_tai64na_unpack(unsigned char const in[16], s6net_tai64na *t)
{
  uint64_t label = s6net_u64_unpack_be(in);
  uint32_t nano = s6net_u32_unpack_be(in + 8), atto = s6net_u32_unpack_be(in + 12);
  if (label >= ((uint64_t)1 << 63) || nano >= NS || atto >= NS) { errno = EINVAL; return -1; }
  t->label = label;
  t->nano = nano;
  t->atto = atto;
  return 0;
}

void s6net_tai64na_from_clk(s6net_tai64na *out, s6net_clk const *tai)
{
  out->label = S6NET_TAI64_OFFSET + (uint64_t)tai->sec;
  out->nano = tai->nano;
  out->atto = 0;
}

void s6net_tai64na_to_clk(s6net_clk *tai, s6net_tai64na const *t)
{
  tai->sec = u64_to_s64(t->label - S6NET_TAI64_OFFSET);
  tai->nano = t->nano;
}

static int cmp_error(void const *a, void const *b)
{
  int64_t x = ((s6net_clock_sample const *)a)->error, y = ((s6net_clock_sample const *)b)->error;
  return (x > y) - (x < y);
}

int s6net_clock_estimate(s6net_clock_sample *s, size_t n, int64_t *offset, int64_t *error)
{
  if (!n) { errno = EINVAL; return -1; }
  qsort(s, n, sizeof *s, cmp_error);
  size_t k = (n + 1) / 2;
  /* Divide before summing: offsets may each be near 2^62. */
  int64_t q = 0, r = 0;
  for (size_t i = 0; i < k; i++) {
    q += s[i].offset / (int64_t)k;
    r += s[i].offset % (int64_t)k;
  }
  *offset = q + r / (int64_t)k;
  *error = s[k - 1].error;
  return 0;
}
