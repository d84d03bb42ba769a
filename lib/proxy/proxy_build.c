/* PROXY header builders: the sending side (what a proxy writes). */
#include <s6net/proxy.h>

#include <string.h>

#include "core/addr.h"
#include "core/num.h"

void s6net_proxy_info_tcp(s6net_proxy_info *info, int is6,
                          unsigned char const *srcip, uint16_t sport,
                          unsigned char const *dstip, uint16_t dport)
{
  memset(info, 0, sizeof *info);
  info->version = 2;
  info->command = S6NET_PROXY_CMD_PROXY;
  info->family = is6 ? S6NET_PROXY_AF_INET6 : S6NET_PROXY_AF_INET;
  info->transport = S6NET_PROXY_STREAM;
  info->has_addr = 1;
  memcpy(info->src, srcip, is6 ? 16 : 4);
  memcpy(info->dst, dstip, is6 ? 16 : 4);
  info->sport = sport;
  info->dport = dport;
}

size_t s6net_proxy_build_v1(char *buf, size_t max, s6net_proxy_info const *info)
{
  char line[S6NET_PROXY_V1_MAX + 1];
  size_t n;
  int inet = info->has_addr && info->command == S6NET_PROXY_CMD_PROXY
          && (info->family == S6NET_PROXY_AF_INET || info->family == S6NET_PROXY_AF_INET6);
  if (!inet) {
    memcpy(line, "PROXY UNKNOWN\r\n", 15);
    n = 15;
  } else {
    int is6 = info->family == S6NET_PROXY_AF_INET6;
    memcpy(line, is6 ? "PROXY TCP6 " : "PROXY TCP4 ", 11);
    n = 11;
    n += is6 ? s6net_ip6_fmt(line + n, info->src) : s6net_ip4_fmt(line + n, info->src);
    line[n++] = ' ';
    n += is6 ? s6net_ip6_fmt(line + n, info->dst) : s6net_ip4_fmt(line + n, info->dst);
    line[n++] = ' ';
    n += s6net_fmt_ull(line + n, info->sport);
    line[n++] = ' ';
    n += s6net_fmt_ull(line + n, info->dport);
    line[n++] = '\r';
    line[n++] = '\n';
  }
  if (n > max) return 0;
  memcpy(buf, line, n);
  return n;
}

static void put16(unsigned char *p, size_t v)
{
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

typedef struct {
  unsigned char *buf;
  size_t len, max;
  int overflow;
} out_t;

static void out_bytes(out_t *o, void const *p, size_t n)
{
  if (o->overflow || n > o->max - o->len) { o->overflow = 1; return; }
  if (n) memcpy(o->buf + o->len, p, n);
  o->len += n;
}

static void out_tlv(out_t *o, unsigned char type, unsigned char const *v, size_t l)
{
  unsigned char h[3];
  if (l > 65535) { o->overflow = 1; return; }
  h[0] = type;
  put16(h + 1, l);
  out_bytes(o, h, 3);
  out_bytes(o, v, l);
}

static void out_str(out_t *o, unsigned char type, s6net_proxy_str const *s)
{
  if (s->s) out_tlv(o, type, s->s, s->len);
}

static void out_ssl(out_t *o, s6net_proxy_info const *info)
{
  unsigned char h[8];
  size_t start = o->len;
  h[0] = S6NET_PROXY_TLV_SSL;
  h[3] = info->ssl_client;
  put32(h + 4, info->ssl_verify);
  out_bytes(o, h, 8);
  out_str(o, S6NET_PROXY_SUBTLV_SSL_VERSION, &info->ssl_version);
  out_str(o, S6NET_PROXY_SUBTLV_SSL_CN, &info->ssl_cn);
  out_str(o, S6NET_PROXY_SUBTLV_SSL_CIPHER, &info->ssl_cipher);
  out_str(o, S6NET_PROXY_SUBTLV_SSL_SIG_ALG, &info->ssl_sig_alg);
  out_str(o, S6NET_PROXY_SUBTLV_SSL_KEY_ALG, &info->ssl_key_alg);
  if (o->overflow) return;
  if (o->len - start - 3 > 65535) { o->overflow = 1; return; }
  put16(o->buf + start + 1, o->len - start - 3);
}

static void out_path(out_t *o, s6net_proxy_str const *s)
{
  unsigned char p[S6NET_PROXY_UNIX_PATH] = { 0 };
  if (s->s) memcpy(p, s->s, s->len < sizeof p ? s->len : sizeof p);
  out_bytes(o, p, sizeof p);
}

size_t s6net_proxy_build_v2(unsigned char *buf, size_t max, s6net_proxy_info const *info, unsigned int flags)
{
  static unsigned char const sig[12] = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
  };
  out_t o = { buf, 0, max, 0 };
  unsigned char h[4];
  if (info->command > S6NET_PROXY_CMD_PROXY || info->family > S6NET_PROXY_AF_UNIX
      || info->transport > S6NET_PROXY_DGRAM) return 0;
  out_bytes(&o, sig, sizeof sig);
  h[0] = (unsigned char)(0x20 | info->command);
  h[1] = (unsigned char)(info->family << 4 | info->transport);
  h[2] = h[3] = 0;
  out_bytes(&o, h, 4);
  switch (info->family) {
    case S6NET_PROXY_AF_INET:
    case S6NET_PROXY_AF_INET6: {
      size_t al = info->family == S6NET_PROXY_AF_INET ? 4 : 16;
      unsigned char ports[4];
      put16(ports, info->sport);
      put16(ports + 2, info->dport);
      out_bytes(&o, info->src, al);
      out_bytes(&o, info->dst, al);
      out_bytes(&o, ports, 4);
      break;
    }
    case S6NET_PROXY_AF_UNIX:
      out_path(&o, &info->srcpath);
      out_path(&o, &info->dstpath);
      break;
    default: break;
  }
  out_str(&o, S6NET_PROXY_TLV_ALPN, &info->alpn);
  out_str(&o, S6NET_PROXY_TLV_AUTHORITY, &info->authority);
  if (info->has_ssl) out_ssl(&o, info);
  out_str(&o, S6NET_PROXY_TLV_NETNS, &info->netns);
  if (info->unique_id.s) {
    if (info->unique_id.len > S6NET_PROXY_UNIQUE_ID_MAX) return 0;
    out_str(&o, S6NET_PROXY_TLV_UNIQUE_ID, &info->unique_id);
  }
  size_t nc = info->ncustom < S6NET_PROXY_CUSTOM_MAX ? info->ncustom : S6NET_PROXY_CUSTOM_MAX;
  for (size_t i = 0; i < nc; i++)
    out_str(&o, info->custom[i].type, &info->custom[i].value);
  size_t crcpos = 0;
  if (flags & S6NET_PROXY_BUILD_CRC32C) {
    static unsigned char const zero[4];
    out_tlv(&o, S6NET_PROXY_TLV_CRC32C, zero, 4);
    crcpos = o.len - 4;
  }
  if (o.overflow || o.len - S6NET_PROXY_V2_HDR > 65535) return 0;
  put16(buf + 14, o.len - S6NET_PROXY_V2_HDR);
  if (crcpos) put32(buf + crcpos, s6net_crc32c(0, buf, o.len));
  return o.len;
}
