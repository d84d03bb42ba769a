/* TAICLOCK (djb): 'ctai' requests and 'stai' replies over UDP.
 * Pure functions. */
#ifndef S6NET_CLOCK_TAICLOCK_H
#define S6NET_CLOCK_TAICLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "clock/clock.h"

#define S6NET_TAICLOCK_MINREQ 20   /* "ctai" + TAI64NA */
#define S6NET_TAICLOCK_LEN 28      /* what our client sends: + 8-byte cookie */
#define S6NET_TAICLOCK_COOKIE 8

/* Our client's request: "ctai", our TAI64NA time, the cookie. */
void s6net_taiclock_request(unsigned char out[28], s6net_tai64na const *now,
                            unsigned char const cookie[8]);
/* Server side: 1 if buf[0..len) is a TAICLOCK request we answer, else 0. */
int s6net_taiclock_is_request(unsigned char const *buf, size_t len);
/* Server side: turn a request in place into its reply. */
void s6net_taiclock_answer(unsigned char *buf, s6net_tai64na const *now);

typedef enum {
  S6NET_TAICLOCK_OK = 0,
  S6NET_TAICLOCK_SHORT,     /* fewer than 28 bytes */
  S6NET_TAICLOCK_BADMAGIC,  /* not "stai" */
  S6NET_TAICLOCK_BADCOOKIE, /* not an answer to our request */
  S6NET_TAICLOCK_BADTIME,   /* nanoseconds/attoseconds out of range, reserved label */
} s6net_taiclock_verdict;

/* Client side: check a reply against our cookie and extract the time. */
s6net_taiclock_verdict s6net_taiclock_reply(unsigned char const *buf, size_t len,
                                            unsigned char const cookie[8], s6net_tai64na *t);
char const *s6net_taiclock_verdict_str(s6net_taiclock_verdict v);

#endif
