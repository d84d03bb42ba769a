#include "clock/sntp.h"
#include "core/tai.h"

#include <errno.h>
#include <string.h>

#define NS 1000000000ULL

uint64_t s6net_ntp_from_clk(s6net_clk const *utc)
{
  /* Seconds wrap modulo 2^32: that is what an era is. */
  uint32_t sec = (uint32_t)((uint64_t)utc->sec + (uint64_t)S6NET_NTP_UNIX_DELTA);
  uint64_t frac = ((uint64_t)utc->nano << 32) / NS;
  return (uint64_t)sec << 32 | frac;
}

void s6net_ntp_to_clk(s6net_clk *utc, uint64_t ntp, int64_t pivot)
{
  uint32_t sec = (uint32_t)(ntp >> 32);
  uint64_t pivot_ntp = (uint64_t)pivot + (uint64_t)S6NET_NTP_UNIX_DELTA;
  /* Signed distance from the pivot modulo 2^32, in [-2^31, 2^31). */
  int64_t d = (int64_t)((sec - (uint32_t)pivot_ntp) ^ 0x80000000u) - 0x80000000LL;
  uint64_t nano = ((ntp & 0xffffffffu) * NS + 0x80000000u) >> 32;
  if (nano >= NS) nano = NS - 1;
  utc->sec = pivot + d;
  utc->nano = (uint32_t)nano;
}

void s6net_sntp_pack(unsigned char out[48], s6net_sntp const *p)
{
  out[0] = (unsigned char)((p->li & 3) << 6 | (p->vn & 7) << 3 | (p->mode & 7));
  out[1] = p->stratum;
  out[2] = (unsigned char)p->poll;
  out[3] = (unsigned char)p->precision;
  s6net_u32_pack_be(out + 4, p->root_delay);
  s6net_u32_pack_be(out + 8, p->root_dispersion);
  s6net_u32_pack_be(out + 12, p->refid);
  s6net_u64_pack_be(out + 16, p->reference);
  s6net_u64_pack_be(out + 24, p->originate);
  s6net_u64_pack_be(out + 32, p->receive);
  s6net_u64_pack_be(out + 40, p->transmit);
}

void s6net_sntp_request(unsigned char out[48], uint64_t transmit)
{
  memset(out, 0, 48);
  out[0] = 0x23;
  s6net_u64_pack_be(out + 40, transmit);
}

size_t s6net_sntp_unpack(unsigned char const *in, size_t len, s6net_sntp *p)
{
  if (len < S6NET_SNTP_LEN) return 0;
  p->li = in[0] >> 6;
  p->vn = (in[0] >> 3) & 7;
  p->mode = in[0] & 7;
  p->stratum = in[1];
  p->poll = (int8_t)((int)in[2] - (in[2] & 0x80 ? 256 : 0));
  p->precision = (int8_t)((int)in[3] - (in[3] & 0x80 ? 256 : 0));
  p->root_delay = s6net_u32_unpack_be(in + 4);
  p->root_dispersion = s6net_u32_unpack_be(in + 8);
  p->refid = s6net_u32_unpack_be(in + 12);
  p->reference = s6net_u64_unpack_be(in + 16);
  p->originate = s6net_u64_unpack_be(in + 24);
  p->receive = s6net_u64_unpack_be(in + 32);
  p->transmit = s6net_u64_unpack_be(in + 40);
  return S6NET_SNTP_LEN;
}

s6net_sntp_verdict s6net_sntp_check(s6net_sntp const *r, uint64_t sent_transmit)
{
  if (r->originate != sent_transmit) return S6NET_SNTP_BADORIGIN;
  if (r->mode != S6NET_SNTP_MODE_SERVER) return S6NET_SNTP_BADMODE;
  if (r->vn < 3 || r->vn > 4) return S6NET_SNTP_BADVERSION;
  if (!r->stratum) return S6NET_SNTP_KOD;
  if (r->li == S6NET_SNTP_LI_UNSYNC || r->stratum >= 16) return S6NET_SNTP_UNSYNC;
  if (!r->transmit || !r->receive) return S6NET_SNTP_ZEROTIME;
  return S6NET_SNTP_OK;
}

char const *s6net_sntp_verdict_str(s6net_sntp_verdict v)
{
  switch (v) {
    case S6NET_SNTP_OK: return "ok";
    case S6NET_SNTP_BADORIGIN: return "originate timestamp does not match our request";
    case S6NET_SNTP_BADMODE: return "not a server-mode (4) reply";
    case S6NET_SNTP_BADVERSION: return "unsupported NTP version";
    case S6NET_SNTP_KOD: return "kiss of death (stratum 0)";
    case S6NET_SNTP_UNSYNC: return "server is unsynchronised (leap indicator 3 or stratum 16)";
    case S6NET_SNTP_ZEROTIME: return "zero receive or transmit timestamp";
  }
  return "unknown";
}

void s6net_sntp_kiss_code(char out[5], s6net_sntp const *r)
{
  for (int i = 0; i < 4; i++) {
    unsigned char c = (unsigned char)(r->refid >> (24 - 8 * i));
    out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  out[4] = 0;
}

/* 16.16 fixed-point seconds to nanoseconds. */
static int64_t short_to_ns(uint32_t v)
{
  return (int64_t)(((uint64_t)v * NS) >> 16);
}

static int64_t half(int64_t a, int64_t b)
{
  return a / 2 + b / 2 + (a % 2 + b % 2) / 2;
}

int s6net_sntp_sample(s6net_sntp const *r, s6net_clk const *t1, s6net_clk const *t4,
                      s6net_clock_sample *out, int64_t *delay)
{
  s6net_clk t2, t3;
  int64_t a, b, rtt, proc;
  s6net_ntp_to_clk(&t2, r->receive, t1->sec);
  s6net_ntp_to_clk(&t3, r->transmit, t1->sec);
  if (s6net_clk_diff_ns(&t2, t1, &a) < 0 || s6net_clk_diff_ns(&t3, t4, &b) < 0
   || s6net_clk_diff_ns(t4, t1, &rtt) < 0 || s6net_clk_diff_ns(&t3, &t2, &proc) < 0) return -1;
  if (proc < 0 || rtt < proc) { errno = ERANGE; return -1; }
  *delay = rtt - proc;
  out->offset = half(a, b);
  out->error = *delay / 2 + short_to_ns(r->root_delay) / 2 + short_to_ns(r->root_dispersion);
  return 0;
}
