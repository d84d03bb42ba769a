/* The leap-second table. Copied from IERS/IETF leap-seconds.list (first
 * column: NTP seconds of the UTC instant from which the second column,
 * TAI - UTC, applies). To refresh it, run
 *   sh lib/clock/leap-update.sh /usr/share/zoneinfo/leap-seconds.list
 * which rewrites the block below; tests/integration/test_clock_leap.py
 * fails when the system's list knows a leap second this table does not. */
#include "clock/clock.h"

#define NTP_UNIX_DELTA 2208988800LL

/* BEGIN LEAP TABLE */
s6net_leap_entry const s6net_leap_table[] = {
  { 2272060800u, 10 }, /* 1972-01-01 */
  { 2287785600u, 11 }, /* 1972-07-01 */
  { 2303683200u, 12 }, /* 1973-01-01 */
  { 2335219200u, 13 }, /* 1974-01-01 */
  { 2366755200u, 14 }, /* 1975-01-01 */
  { 2398291200u, 15 }, /* 1976-01-01 */
  { 2429913600u, 16 }, /* 1977-01-01 */
  { 2461449600u, 17 }, /* 1978-01-01 */
  { 2492985600u, 18 }, /* 1979-01-01 */
  { 2524521600u, 19 }, /* 1980-01-01 */
  { 2571782400u, 20 }, /* 1981-07-01 */
  { 2603318400u, 21 }, /* 1982-07-01 */
  { 2634854400u, 22 }, /* 1983-07-01 */
  { 2698012800u, 23 }, /* 1985-07-01 */
  { 2776982400u, 24 }, /* 1988-01-01 */
  { 2840140800u, 25 }, /* 1990-01-01 */
  { 2871676800u, 26 }, /* 1991-01-01 */
  { 2918937600u, 27 }, /* 1992-07-01 */
  { 2950473600u, 28 }, /* 1993-07-01 */
  { 2982009600u, 29 }, /* 1994-07-01 */
  { 3029443200u, 30 }, /* 1996-01-01 */
  { 3076704000u, 31 }, /* 1997-07-01 */
  { 3124137600u, 32 }, /* 1999-01-01 */
  { 3345062400u, 33 }, /* 2006-01-01 */
  { 3439756800u, 34 }, /* 2009-01-01 */
  { 3550089600u, 35 }, /* 2012-07-01 */
  { 3644697600u, 36 }, /* 2015-07-01 */
  { 3692217600u, 37 }, /* 2017-01-01 */
};
uint32_t const s6net_leap_table_expires = 3991593600u; /* 2026-06-28 */
/* END LEAP TABLE */

size_t const s6net_leap_table_len = sizeof s6net_leap_table / sizeof s6net_leap_table[0];

static int64_t entry_utc(size_t i)
{
  return (int64_t)s6net_leap_table[i].ntp - NTP_UNIX_DELTA;
}

int s6net_leap_offset_utc(int64_t utc)
{
  for (size_t i = s6net_leap_table_len; i--;)
    if (utc >= entry_utc(i)) return s6net_leap_table[i].offset;
  return 10;
}

s6net_clk s6net_utc_to_tai(s6net_clk const *utc)
{
  s6net_clk t = *utc;
  /* Saturate rather than wrap: only absurd inputs come near the limits. */
  if (__builtin_add_overflow(t.sec, (int64_t)s6net_leap_offset_utc(utc->sec), &t.sec)) t.sec = INT64_MAX;
  return t;
}

s6net_clk s6net_tai_to_utc(s6net_clk const *tai, int *leap)
{
  s6net_clk t = *tai;
  int off = 10;
  if (leap) *leap = 0;
  for (size_t i = s6net_leap_table_len; i--;) {
    int64_t start = entry_utc(i) + s6net_leap_table[i].offset;
    int prev = i ? s6net_leap_table[i - 1].offset : 10;
    if (tai->sec >= start) { off = s6net_leap_table[i].offset; break; }
    /* The second just before a step is the inserted 23:59:60. */
    if (tai->sec == start - 1 && s6net_leap_table[i].offset > prev) {
      off = s6net_leap_table[i].offset;
      if (leap) *leap = 1;
      break;
    }
  }
  if (__builtin_sub_overflow(t.sec, (int64_t)off, &t.sec)) t.sec = INT64_MIN;
  return t;
}
