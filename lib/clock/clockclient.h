/* The command line and round-trip loop shared by s6-sntpclock and
 * s6-taiclock; each program supplies how to build and judge packets. */
#ifndef S6NET_CLOCK_CLOCKCLIENT_H
#define S6NET_CLOCK_CLOCKCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "clock/clock.h"

#define S6NET_CLOCKCLIENT_MAXPKT 512

typedef enum {
  S6NET_CC_ACCEPT, /* a usable answer: the sample is filled */
  S6NET_CC_IGNORE, /* not an answer to this request: keep waiting */
  S6NET_CC_REJECT, /* our answer but unusable: this round trip failed */
  S6NET_CC_FATAL,  /* the server asks us to stop: give up */
} s6net_cc_verdict;

typedef struct {
  char const *proto; /* "SNTP", "TAICLOCK": for messages */
  /* Write a request stamped with local UTC time t1 into buf; its length. */
  size_t (*request)(void *ctx, unsigned char *buf, s6net_clk const *t1);
  /* Judge a datagram received at local UTC time t4; on anything but
   * ACCEPT, why[] says what was wrong. */
  s6net_cc_verdict (*reply)(void *ctx, unsigned char const *buf, size_t len,
                            s6net_clk const *t1, s6net_clk const *t4,
                            s6net_clock_sample *s, char *why, size_t whylen);
} s6net_clockclient_proto;

/* Parses argv, talks to the server, writes the 12-byte adjustment on
 * stdout; returns only with 0, else exits with the documented code. */
int s6net_clockclient_main(int argc, char const *const *argv, uint16_t defport,
                           s6net_clockclient_proto const *proto, void *ctx);

/* Fill buf with len unpredictable bytes (getrandom); exits 111 on failure. */
void s6net_clock_random(void *buf, size_t len);

#endif
