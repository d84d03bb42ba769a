/* Time arithmetic for the clock tools: a signed seconds+nanoseconds time
 * type, the 12-byte clock pipe format, TAI64NA labels, UTC<->TAI through
 * the leap-second table, and the offset estimator. All pure functions. */
#ifndef S6NET_CLOCK_CLOCK_H
#define S6NET_CLOCK_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Seconds since 1970-01-01 00:00:00 on some scale (UTC or TAI), plus a
 * nanosecond part that is always added: -0.25 s is {-1, 750000000}. */
typedef struct {
  int64_t sec;
  uint32_t nano; /* 0..999999999 */
} s6net_clk;

/* Differences are carried in int64 nanoseconds; they must stay within
 * +-2^62 ns (about 146 years), well beyond NTP's +-68 year window. */
#define S6NET_CLK_DIFF_MAX ((int64_t)1 << 62)

/* a - b in nanoseconds; -1 (ERANGE) if beyond +-S6NET_CLK_DIFF_MAX. */
int s6net_clk_diff_ns(s6net_clk const *a, s6net_clk const *b, int64_t *ns);
/* t + d, both normalised; -1 (ERANGE) on overflow. */
int s6net_clk_add(s6net_clk *t, s6net_clk const *d);
s6net_clk s6net_clk_from_ns(int64_t ns);
/* 1 if |d| > ms milliseconds, else 0. Never overflows. */
int s6net_clk_exceeds_ms(s6net_clk const *d, uint64_t ms);
void s6net_clk_from_timespec(s6net_clk *t, struct timespec const *ts);
/* -1 (ERANGE) if t does not fit in time_t. */
int s6net_clk_to_timespec(struct timespec *ts, s6net_clk const *t);

/* The clock pipe: 12 bytes, 8-byte big-endian two's complement seconds
 * then 4-byte big-endian nanoseconds (always added). */
#define S6NET_CLOCKADJ_LEN 12
void s6net_clockadj_pack(unsigned char out[12], s6net_clk const *d);
/* -1 (EINVAL) if the nanoseconds are out of range. */
int s6net_clockadj_unpack(unsigned char const in[12], s6net_clk *d);

/* TAI64NA: label (2^62 + TAI seconds), nanoseconds, attoseconds. */
typedef struct {
  uint64_t label;
  uint32_t nano;
  uint32_t atto;
} s6net_tai64na;
#define S6NET_TAI64NA_LEN 16
void s6net_tai64na_pack(unsigned char out[16], s6net_tai64na const *t);
/* -1 (EINVAL): nano or atto >= 10^9, or a reserved label (>= 2^63). */
int s6net_tai64na_unpack(unsigned char const in[16], s6net_tai64na *t);
/* TAI seconds since 1970 TAI <-> TAI64NA (attoseconds dropped/zero). */
void s6net_tai64na_from_clk(s6net_tai64na *out, s6net_clk const *tai);
void s6net_tai64na_to_clk(s6net_clk *tai, s6net_tai64na const *t);

/* Leap seconds. TAI - UTC at a UTC instant (Unix seconds); 10 before 1972
 * (the TAI64 convention). */
int s6net_leap_offset_utc(int64_t utc);
/* UTC (Unix time) -> TAI seconds since 1970 TAI, and back. The inserted
 * second 23:59:60 maps back to 23:59:59; *leap (if not NULL) says so. */
s6net_clk s6net_utc_to_tai(s6net_clk const *utc);
s6net_clk s6net_tai_to_utc(s6net_clk const *tai, int *leap);
/* The compiled-in table: NTP-era seconds (as in IERS leap-seconds.list)
 * at which TAI - UTC becomes the given value, and its expiry date. */
typedef struct {
  uint32_t ntp;
  int16_t offset;
} s6net_leap_entry;
extern s6net_leap_entry const s6net_leap_table[];
extern size_t const s6net_leap_table_len;
extern uint32_t const s6net_leap_table_expires; /* NTP seconds */

/* One accepted round trip. */
typedef struct {
  int64_t offset; /* ns to add to the local clock */
  int64_t error;  /* ns, >= 0: half the round trip plus server uncertainty */
} s6net_clock_sample;

/* Offset and error from the best round trips: the samples are sorted by
 * error, the better half (at least one) is averaged, and the error is the
 * largest error among those kept, so the true offset is within it if it is
 * within every kept sample's. Reorders s. -1 (EINVAL) if n == 0. */
int s6net_clock_estimate(s6net_clock_sample *s, size_t n, int64_t *offset, int64_t *error);

#endif
