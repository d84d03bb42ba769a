/* SNTPv4 (RFC 4330 / RFC 5905): NTP timestamps and 48-byte packets.
 * Pure functions. */
#ifndef S6NET_CLOCK_SNTP_H
#define S6NET_CLOCK_SNTP_H

#include <stddef.h>
#include <stdint.h>

#include "clock/clock.h"

#define S6NET_SNTP_LEN 48
#define S6NET_NTP_UNIX_DELTA 2208988800LL /* seconds from 1900 to 1970 */

/* NTP timestamp: 32-bit seconds since 1900 (modulo 2^32: eras) in the
 * high half, 32-bit binary fraction in the low half. */
uint64_t s6net_ntp_from_clk(s6net_clk const *utc);
/* Era-aware: picks the era that puts the result within 2^31 seconds of
 * pivot (Unix seconds), so it is right across the 2036 rollover as long as
 * the local clock is within 68 years of the truth. */
void s6net_ntp_to_clk(s6net_clk *utc, uint64_t ntp, int64_t pivot);

typedef struct {
  uint8_t li, vn, mode, stratum;
  int8_t poll, precision;
  uint32_t root_delay, root_dispersion, refid;
  uint64_t reference, originate, receive, transmit;
} s6net_sntp;

enum {
  S6NET_SNTP_MODE_CLIENT = 3,
  S6NET_SNTP_MODE_SERVER = 4,
  S6NET_SNTP_LI_UNSYNC = 3,
};

/* A client request: LI 0, VN 4, mode 3, everything zero but transmit. */
void s6net_sntp_request(unsigned char out[48], uint64_t transmit);
void s6net_sntp_pack(unsigned char out[48], s6net_sntp const *p);
/* Datagram decoder: 48 on success (extension fields after the header are
 * ignored), 0 if the datagram is shorter than a header. */
size_t s6net_sntp_unpack(unsigned char const *in, size_t len, s6net_sntp *p);

/* Why a reply is unusable; S6NET_SNTP_OK if it is usable. */
typedef enum {
  S6NET_SNTP_OK = 0,
  S6NET_SNTP_BADORIGIN, /* not an answer to our request: ignore it */
  S6NET_SNTP_BADMODE,
  S6NET_SNTP_BADVERSION,
  S6NET_SNTP_KOD,       /* stratum 0: kiss of death, stop asking */
  S6NET_SNTP_UNSYNC,    /* leap indicator 3 or stratum 16+ */
  S6NET_SNTP_ZEROTIME,  /* zero transmit or receive timestamp */
} s6net_sntp_verdict;

s6net_sntp_verdict s6net_sntp_check(s6net_sntp const *reply, uint64_t sent_transmit);
char const *s6net_sntp_verdict_str(s6net_sntp_verdict v);
/* Kiss code (refid as 4 printable chars) into out[5]. */
void s6net_sntp_kiss_code(char out[5], s6net_sntp const *reply);

/* One round trip: t1 our send time, t4 our receive time (local UTC). The
 * offset is ((T2 - T1) + (T3 - T4)) / 2; the error is half the delay plus
 * the server's root distance (root delay / 2 + root dispersion).
 * -1 (ERANGE) if the times are more than 68 years apart or the delay is
 * negative (a lying server). */
int s6net_sntp_sample(s6net_sntp const *reply, s6net_clk const *t1, s6net_clk const *t4,
                      s6net_clock_sample *out, int64_t *delay);

#endif
