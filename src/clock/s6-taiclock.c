/* s6-taiclock: ask a TAICLOCK server for the time, print the 12-byte
 * adjustment for s6-clockadd / s6-clockview. */
#include "clock/clockclient.h"
#include "clock/taiclock.h"
#include "core/diag.h"

#include <stdio.h>

typedef struct {
  unsigned char cookie[S6NET_TAICLOCK_COOKIE];
} tai_ctx;

static size_t request(void *vctx, unsigned char *buf, s6net_clk const *t1)
{
  tai_ctx *ctx = vctx;
  s6net_tai64na now;
  s6net_clk tai = s6net_utc_to_tai(t1);
  s6net_tai64na_from_clk(&now, &tai);
  /* A fresh cookie per request: a replayed old answer never matches. */
  s6net_clock_random(ctx->cookie, sizeof ctx->cookie);
  s6net_taiclock_request(buf, &now, ctx->cookie);
  return S6NET_TAICLOCK_LEN;
}

static s6net_cc_verdict reply(void *vctx, unsigned char const *buf, size_t len,
                              s6net_clk const *t1, s6net_clk const *t4,
                              s6net_clock_sample *s, char *why, size_t whylen)
{
  tai_ctx *ctx = vctx;
  s6net_tai64na t;
  s6net_clk server, a = s6net_utc_to_tai(t1), b = s6net_utc_to_tai(t4);
  int64_t x, y, rtt;
  s6net_taiclock_verdict v = s6net_taiclock_reply(buf, len, ctx->cookie, &t);
  if (v != S6NET_TAICLOCK_OK) {
    snprintf(why, whylen, "%s (%zu bytes)", s6net_taiclock_verdict_str(v), len);
    return v == S6NET_TAICLOCK_BADTIME ? S6NET_CC_REJECT : S6NET_CC_IGNORE;
  }
  s6net_tai64na_to_clk(&server, &t);
  if (s6net_clk_diff_ns(&server, &a, &x) < 0 || s6net_clk_diff_ns(&server, &b, &y) < 0
   || s6net_clk_diff_ns(&b, &a, &rtt) < 0 || rtt < 0) {
    snprintf(why, whylen, "server time is absurdly far from ours");
    return S6NET_CC_REJECT;
  }
  s->offset = x / 2 + y / 2 + (x % 2 + y % 2) / 2;
  s->error = rtt / 2;
  return S6NET_CC_ACCEPT;
}

int main(int argc, char const *const *argv)
{
  static s6net_clockclient_proto const proto = { "TAICLOCK", &request, &reply };
  tai_ctx ctx;
  s6net_prog = "s6-taiclock";
  return s6net_clockclient_main(argc, argv, 4014, &proto, &ctx);
}
