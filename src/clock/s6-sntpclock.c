/* s6-sntpclock: ask an SNTP/NTP server for the time, print the 12-byte
 * adjustment for s6-clockadd / s6-clockview. */
#include "clock/clockclient.h"
#include "clock/sntp.h"
#include "core/diag.h"

#include <stdio.h>

typedef struct {
  uint64_t sent; /* our transmit timestamp, which the server must echo */
} sntp_ctx;

static size_t request(void *vctx, unsigned char *buf, s6net_clk const *t1)
{
  sntp_ctx *ctx = vctx;
  uint32_t nonce;
  /* Real seconds, random fraction: the echo proves the reply answers this
   * very request, and an off-path attacker cannot guess it. The offset uses
   * our own t1, never this field. */
  s6net_clock_random(&nonce, sizeof nonce);
  ctx->sent = (s6net_ntp_from_clk(t1) & 0xffffffff00000000ULL) | nonce;
  s6net_sntp_request(buf, ctx->sent);
  return S6NET_SNTP_LEN;
}

static s6net_cc_verdict reply(void *vctx, unsigned char const *buf, size_t len,
                              s6net_clk const *t1, s6net_clk const *t4,
                              s6net_clock_sample *s, char *why, size_t whylen)
{
  sntp_ctx *ctx = vctx;
  s6net_sntp r;
  int64_t delay;
  if (!s6net_sntp_unpack(buf, len, &r)) {
    snprintf(why, whylen, "truncated packet (%zu bytes)", len);
    return S6NET_CC_IGNORE;
  }
  s6net_sntp_verdict v = s6net_sntp_check(&r, ctx->sent);
  switch (v) {
    case S6NET_SNTP_OK: break;
    case S6NET_SNTP_BADORIGIN:
      snprintf(why, whylen, "%s (a stale, replayed or forged packet)", s6net_sntp_verdict_str(v));
      return S6NET_CC_IGNORE;
    case S6NET_SNTP_KOD: {
      char code[5];
      s6net_sntp_kiss_code(code, &r);
      snprintf(why, whylen, "kiss of death (stratum 0, code %s)", code);
      return S6NET_CC_FATAL;
    }
    default:
      snprintf(why, whylen, "%s", s6net_sntp_verdict_str(v));
      return S6NET_CC_REJECT;
  }
  if (s6net_sntp_sample(&r, t1, t4, s, &delay) < 0) {
    snprintf(why, whylen, "inconsistent timestamps (negative delay or more than 68 years away)");
    return S6NET_CC_REJECT;
  }
  return S6NET_CC_ACCEPT;
}

int main(int argc, char const *const *argv)
{
  static s6net_clockclient_proto const proto = { "SNTP", &request, &reply };
  sntp_ctx ctx = { 0 };
  s6net_prog = "s6-sntpclock";
  return s6net_clockclient_main(argc, argv, 123, &proto, &ctx);
}
