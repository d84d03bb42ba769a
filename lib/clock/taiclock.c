#include "clock/taiclock.h"

#include <string.h>

void s6net_taiclock_request(unsigned char out[28], s6net_tai64na const *now,
                            unsigned char const cookie[8])
{
  memcpy(out, "ctai", 4);
  s6net_tai64na_pack(out + 4, now);
  memcpy(out + 20, cookie, S6NET_TAICLOCK_COOKIE);
}

int s6net_taiclock_is_request(unsigned char const *buf, size_t len)
{
  return len >= S6NET_TAICLOCK_MINREQ && !memcmp(buf, "ctai", 4);
}

void s6net_taiclock_answer(unsigned char *buf, s6net_tai64na const *now)
{
  buf[0] = 's';
  s6net_tai64na_pack(buf + 4, now);
}

s6net_taiclock_verdict s6net_taiclock_reply(unsigned char const *buf, size_t len,
                                            unsigned char const cookie[8], s6net_tai64na *t)
{
  if (len < S6NET_TAICLOCK_LEN) return S6NET_TAICLOCK_SHORT;
  if (memcmp(buf, "stai", 4)) return S6NET_TAICLOCK_BADMAGIC;
  if (memcmp(buf + 20, cookie, S6NET_TAICLOCK_COOKIE)) return S6NET_TAICLOCK_BADCOOKIE;
  if (s6net_tai64na_unpack(buf + 4, t) < 0) return S6NET_TAICLOCK_BADTIME;
  return S6NET_TAICLOCK_OK;
}

char const *s6net_taiclock_verdict_str(s6net_taiclock_verdict v)
{
  switch (v) {
    case S6NET_TAICLOCK_OK: return "ok";
    case S6NET_TAICLOCK_SHORT: return "truncated reply";
    case S6NET_TAICLOCK_BADMAGIC: return "not a TAICLOCK reply";
    case S6NET_TAICLOCK_BADCOOKIE: return "cookie does not match our request";
    case S6NET_TAICLOCK_BADTIME: return "invalid TAI64NA time";
  }
  return "unknown";
}
