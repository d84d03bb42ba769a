/* PROXY header parser. Pure: no I/O, no allocation, no global state. */
#include <s6net/proxy.h>

#include <stddef.h>
#include <string.h>

#include "core/addr.h"

static unsigned char const v2sig[12] = {
  0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};
static char const v1sig[6] = "PROXY ";

static long fail(s6net_proxy_info *info, long code, char const *why)
{
  info->why = why;
  return code;
}

static uint16_t be16(unsigned char const *p)
{
  return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t be32(unsigned char const *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- v1 -------------------------------------------------------------- */

/* Decimal port: no sign, no leading zero, at most 65535. */
static int v1_port(char const *s, size_t len, uint16_t *port)
{
  unsigned v = 0;
  if (!len || len > 5 || (len > 1 && s[0] == '0')) return 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v > 65535) return 0;
  *port = (uint16_t)v;
  return 1;
}

static int v1_addr(char const *s, size_t len, int is6, unsigned char *ip)
{
  char tmp[S6NET_IP6_FMTLEN];
  if (!len || len >= sizeof tmp) return 0;
  memcpy(tmp, s, len);
  tmp[len] = 0;
  return (is6 ? s6net_ip6_scan(tmp, ip) : s6net_ip4_scan(tmp, ip)) == 0;
}

/* Splits "A B C D" (single spaces) into exactly four non-empty fields. */
static int v1_fields(char const *s, size_t len, char const *f[4], size_t fl[4])
{
  char const *end = s + len;
  for (int n = 0; n < 4; n++) {
    char const *sp = memchr(s, ' ', (size_t)(end - s));
    if (!sp) sp = end;
    if (sp == s || (sp == end) != (n == 3)) return 0;
    f[n] = s;
    fl[n] = (size_t)(sp - s);
    s = sp + 1;
  }
  return 1;
}

static long v1_line(char const *s, size_t len, s6net_proxy_info *info)
{
  /* s is the line without "PROXY " and without CRLF */
  info->version = 1;
  info->command = S6NET_PROXY_CMD_PROXY;
  if (len >= 7 && !memcmp(s, "UNKNOWN", 7) && (len == 7 || s[7] == ' ')) {
    info->family = S6NET_PROXY_AF_UNSPEC;
    info->transport = S6NET_PROXY_UNSPEC;
    return 1;
  }
  if (len < 5 || memcmp(s, "TCP", 3) || (s[3] != '4' && s[3] != '6') || s[4] != ' ')
    return fail(info, S6NET_PROXY_INVALID, "unknown v1 protocol (not TCP4, TCP6 or UNKNOWN)");
  int is6 = s[3] == '6';
  char const *f[4];
  size_t fl[4];
  if (!v1_fields(s + 5, len - 5, f, fl))
    return fail(info, S6NET_PROXY_INVALID, "v1 line does not have exactly four single-space separated fields");
  if (!v1_addr(f[0], fl[0], is6, info->src) || !v1_addr(f[1], fl[1], is6, info->dst))
    return fail(info, S6NET_PROXY_INVALID, is6 ? "bad IPv6 address in v1 TCP6 line" : "bad IPv4 address in v1 TCP4 line");
  if (!v1_port(f[2], fl[2], &info->sport) || !v1_port(f[3], fl[3], &info->dport))
    return fail(info, S6NET_PROXY_INVALID, "bad port in v1 line");
  info->family = is6 ? S6NET_PROXY_AF_INET6 : S6NET_PROXY_AF_INET;
  info->transport = S6NET_PROXY_STREAM;
  info->has_addr = 1;
  return 1;
}

static long parse_v1(unsigned char const *buf, size_t len, unsigned int flags, s6net_proxy_info *info)
{
  size_t n = len < sizeof v1sig ? len : sizeof v1sig;
  if (memcmp(buf, v1sig, n)) return fail(info, S6NET_PROXY_INVALID, "not a PROXY header (bad signature)");
  if (len < sizeof v1sig) return S6NET_PROXY_NEED_MORE;
  /* with v1 disabled, a text line is simply not a valid (v2) header */
  if (!(flags & S6NET_PROXY_V1)) return fail(info, S6NET_PROXY_INVALID, "PROXY v1 header, but v1 is disabled");
  size_t lim = len < S6NET_PROXY_V1_MAX ? len : S6NET_PROXY_V1_MAX;
  /* memchr scans are vectorised: three of them beat one byte loop */
  unsigned char const *cr = memchr(buf + sizeof v1sig, '\r', lim - sizeof v1sig);
  size_t end = cr ? (size_t)(cr - buf) : lim;
  if (memchr(buf + sizeof v1sig, '\n', end - sizeof v1sig)) return fail(info, S6NET_PROXY_INVALID, "lone LF in v1 line");
  if (memchr(buf + sizeof v1sig, 0, end - sizeof v1sig)) return fail(info, S6NET_PROXY_INVALID, "NUL byte in v1 line");
  if (cr && end + 2 <= S6NET_PROXY_V1_MAX) {
    if (end + 1 == len) return S6NET_PROXY_NEED_MORE;
    if (buf[end + 1] != '\n') return fail(info, S6NET_PROXY_INVALID, "lone CR in v1 line");
    long r = v1_line((char const *)buf + sizeof v1sig, end - sizeof v1sig, info);
    return r < 0 ? r : (long)(end + 2);
  }
  /* a CR ending byte 106 was handled above: no room left for CRLF */
  if (len >= S6NET_PROXY_V1_MAX - 1)
    return fail(info, S6NET_PROXY_INVALID, "v1 line longer than 107 bytes");
  return S6NET_PROXY_NEED_MORE;
}

/* ---- v2 -------------------------------------------------------------- */

static int set_once(s6net_proxy_str *s, unsigned char const *v, size_t l)
{
  if (s->s) return 0;
  s->s = v;
  s->len = l;
  return 1;
}

static long v2_ssl(unsigned char const *v, size_t l, s6net_proxy_info *info)
{
  if (info->has_ssl) return fail(info, S6NET_PROXY_INVALID, "duplicate SSL TLV");
  if (l < 5) return fail(info, S6NET_PROXY_INVALID, "SSL TLV shorter than 5 bytes");
  info->has_ssl = 1;
  info->ssl_client = v[0];
  info->ssl_verify = be32(v + 1);
  for (size_t p = 5; p < l;) {
    if (l - p < 3) return fail(info, S6NET_PROXY_INVALID, "truncated SSL sub-TLV");
    unsigned char t = v[p];
    size_t sl = be16(v + p + 1);
    unsigned char const *sv = v + p + 3;
    if (sl > l - p - 3) return fail(info, S6NET_PROXY_INVALID, "SSL sub-TLV overruns the SSL TLV");
    s6net_proxy_str *dst = 0;
    switch (t) {
      case S6NET_PROXY_SUBTLV_SSL_VERSION: dst = &info->ssl_version; break;
      case S6NET_PROXY_SUBTLV_SSL_CN: dst = &info->ssl_cn; break;
      case S6NET_PROXY_SUBTLV_SSL_CIPHER: dst = &info->ssl_cipher; break;
      case S6NET_PROXY_SUBTLV_SSL_SIG_ALG: dst = &info->ssl_sig_alg; break;
      case S6NET_PROXY_SUBTLV_SSL_KEY_ALG: dst = &info->ssl_key_alg; break;
      default: break; /* unknown sub-TLVs are ignored, as the spec asks */
    }
    if (dst && !set_once(dst, sv, sl)) return fail(info, S6NET_PROXY_INVALID, "duplicate SSL sub-TLV");
    p += 3 + sl;
  }
  return 0;
}

static long v2_tlvs(unsigned char const *buf, size_t start, size_t total, s6net_proxy_info *info)
{
  size_t crcpos = 0;
  for (size_t p = start; p < total;) {
    if (total - p < 3) return fail(info, S6NET_PROXY_INVALID, "truncated TLV");
    unsigned char t = buf[p];
    size_t l = be16(buf + p + 1);
    unsigned char const *v = buf + p + 3;
    if (l > total - p - 3) return fail(info, S6NET_PROXY_INVALID, "TLV overruns the header");
    s6net_proxy_str *dst = 0;
    switch (t) {
      case S6NET_PROXY_TLV_ALPN: dst = &info->alpn; break;
      case S6NET_PROXY_TLV_AUTHORITY: dst = &info->authority; break;
      case S6NET_PROXY_TLV_NETNS: dst = &info->netns; break;
      case S6NET_PROXY_TLV_UNIQUE_ID:
        if (l > S6NET_PROXY_UNIQUE_ID_MAX) return fail(info, S6NET_PROXY_INVALID, "UNIQUE_ID TLV longer than 128 bytes");
        dst = &info->unique_id;
        break;
      case S6NET_PROXY_TLV_CRC32C:
        if (l != 4) return fail(info, S6NET_PROXY_INVALID, "CRC32C TLV is not 4 bytes");
        if (crcpos) return fail(info, S6NET_PROXY_INVALID, "duplicate CRC32C TLV");
        crcpos = p + 3;
        break;
      case S6NET_PROXY_TLV_SSL: {
        long r = v2_ssl(v, l, info);
        if (r < 0) return r;
        break;
      }
      case S6NET_PROXY_TLV_NOOP: break;
      default:
        if (t >= S6NET_PROXY_TLV_CUSTOM_MIN && t <= S6NET_PROXY_TLV_CUSTOM_MAX) {
          if (info->ncustom < S6NET_PROXY_CUSTOM_MAX) {
            info->custom[info->ncustom].type = t;
            info->custom[info->ncustom].value.s = v;
            info->custom[info->ncustom].value.len = l;
          }
          info->ncustom++;
        }
        break; /* other types are reserved: ignored */
    }
    if (dst && !set_once(dst, v, l)) return fail(info, S6NET_PROXY_INVALID, "duplicate TLV");
    p += 3 + l;
  }
  if (crcpos) {
    static unsigned char const zero[4];
    uint32_t want = be32(buf + crcpos);
    uint32_t c = s6net_crc32c(0, buf, crcpos);
    c = s6net_crc32c(c, zero, 4);
    c = s6net_crc32c(c, buf + crcpos + 4, total - crcpos - 4);
    if (c != want) return fail(info, S6NET_PROXY_INVALID, "CRC32C mismatch");
    info->has_crc32c = 1;
    info->crc32c = want;
  }
  return 0;
}

static size_t path_len(unsigned char const *p)
{
  unsigned char const *z = memchr(p, 0, S6NET_PROXY_UNIX_PATH);
  return z ? (size_t)(z - p) : S6NET_PROXY_UNIX_PATH;
}

static long parse_v2(unsigned char const *buf, size_t len, unsigned int flags, s6net_proxy_info *info)
{
  size_t n = len < sizeof v2sig ? len : sizeof v2sig;
  if (memcmp(buf, v2sig, n)) return fail(info, S6NET_PROXY_INVALID, "not a PROXY header (bad signature)");
  if (len < sizeof v2sig) return S6NET_PROXY_NEED_MORE;
  /* with v2 disabled, a binary block is simply not a valid (v1) line */
  if (!(flags & S6NET_PROXY_V2)) return fail(info, S6NET_PROXY_INVALID, "PROXY v2 header, but v2 is disabled");
  if (len < S6NET_PROXY_V2_HDR) return S6NET_PROXY_NEED_MORE;
  unsigned ver = buf[12] >> 4, cmd = buf[12] & 15, fam = buf[13] >> 4, tr = buf[13] & 15;
  /* The version and command are syntax (the reference's "invalid"); a
   * family or transport we do not handle is "unsupported". */
  if (ver != 2) return fail(info, S6NET_PROXY_INVALID, "unknown PROXY v2 version nibble");
  if (cmd > S6NET_PROXY_CMD_PROXY) return fail(info, S6NET_PROXY_INVALID, "unknown PROXY v2 command");
  if (fam > S6NET_PROXY_AF_UNIX) return fail(info, S6NET_PROXY_UNSUPPORTED, "unknown PROXY v2 address family");
  if (tr > S6NET_PROXY_DGRAM) return fail(info, S6NET_PROXY_UNSUPPORTED, "unknown PROXY v2 transport");
  if (cmd == S6NET_PROXY_CMD_PROXY && tr == S6NET_PROXY_DGRAM && !(flags & S6NET_PROXY_DGRAM_OK)
      && (fam == S6NET_PROXY_AF_INET || fam == S6NET_PROXY_AF_INET6))
    return fail(info, S6NET_PROXY_UNSUPPORTED, "PROXY v2 header for a UDP (DGRAM) connection");
  size_t total = S6NET_PROXY_V2_HDR + be16(buf + 14);
  if (len < total) return S6NET_PROXY_NEED_MORE;

  static unsigned char const alen[4] = { 0, 12, 36, 216 };
  size_t addrlen = alen[fam];
  unsigned char const *a = buf + S6NET_PROXY_V2_HDR;
  info->version = 2;
  info->command = (unsigned char)cmd;
  info->family = (unsigned char)fam;
  info->transport = (unsigned char)tr;
  if (total - S6NET_PROXY_V2_HDR < addrlen) {
    /* LOCAL discards the block anyway (haproxy health checks) */
    if (cmd == S6NET_PROXY_CMD_LOCAL) return (long)total;
    return fail(info, S6NET_PROXY_INVALID, "PROXY v2 length too short for the address family");
  }
  switch (fam) {
    case S6NET_PROXY_AF_INET:
      memcpy(info->src, a, 4);
      memcpy(info->dst, a + 4, 4);
      info->sport = be16(a + 8);
      info->dport = be16(a + 10);
      break;
    case S6NET_PROXY_AF_INET6:
      memcpy(info->src, a, 16);
      memcpy(info->dst, a + 16, 16);
      info->sport = be16(a + 32);
      info->dport = be16(a + 34);
      break;
    case S6NET_PROXY_AF_UNIX:
      info->srcpath.s = a;
      info->srcpath.len = path_len(a);
      info->dstpath.s = a + S6NET_PROXY_UNIX_PATH;
      info->dstpath.len = path_len(a + S6NET_PROXY_UNIX_PATH);
      break;
    default: break;
  }
  info->has_addr = cmd == S6NET_PROXY_CMD_PROXY && fam != S6NET_PROXY_AF_UNSPEC;
  long r = v2_tlvs(buf, S6NET_PROXY_V2_HDR + addrlen, total, info);
  return r < 0 ? r : (long)total;
}

long s6net_proxy_parse(unsigned char const *buf, size_t len, unsigned int flags, s6net_proxy_info *info)
{
  s6net_proxy_info scratch;
  if (!info) info = &scratch;
  /* custom[] entries past ncustom are left as they were: zeroing the
   * whole struct was a measurable part of a parse */
  memset(info, 0, offsetof(s6net_proxy_info, custom));
  info->why = 0;
  if (!len) return S6NET_PROXY_NEED_MORE;
  if (buf[0] == v1sig[0]) return parse_v1(buf, len, flags, info);
  if (buf[0] == v2sig[0]) return parse_v2(buf, len, flags, info);
  return fail(info, S6NET_PROXY_INVALID, "not a PROXY header (bad signature)");
}

/* Lower bound of the bytes still to come in a v1 line. */
static size_t v1_want(unsigned char const *buf, size_t len)
{
  size_t mintotal = S6NET_PROXY_V1_MIN;
  int fields = -1;  /* address/port fields not yet started, when known */
  if (len >= 11 && !memcmp(buf, "PROXY TCP", 9) && buf[10] == ' ') {
    /* shortest: "PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", "PROXY TCP6 :: :: 0 0\r\n" */
    mintotal = buf[9] == '4' ? 32 : 22;
    int spaces = 0;
    for (size_t i = 11; i < len; i++) spaces += buf[i] == ' ';
    fields = 3 - (spaces > 3 ? 3 : spaces);
  }
  size_t want;
  if (buf[len - 1] == '\r') want = 1;
  else if (fields < 0) want = 2;
  else want = 2 + 2 * (size_t)fields + (buf[len - 1] == ' ');
  if (len + want < mintotal) want = mintotal - len;
  return want;
}

size_t s6net_proxy_want(unsigned char const *buf, size_t len)
{
  if (!len) return S6NET_PROXY_V1_MIN;
  if (buf[0] == v2sig[0]) {
    if (len < S6NET_PROXY_V2_HDR) return S6NET_PROXY_V2_HDR - len;
    size_t total = S6NET_PROXY_V2_HDR + be16(buf + 14);
    return total > len ? total - len : 1;
  }
  return v1_want(buf, len);
}
