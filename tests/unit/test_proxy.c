/* Unit tests for the PROXY parser, builders and CRC32C, on annotated byte
 * vectors (every family, transport and TLV; boundary lengths; hostile
 * input) plus round trips through the builders. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <s6net/proxy.h>

#include "proxy/crc32c.h"

#define SIG 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A

/* A header as haproxy sends it with proxy-v2-options
 * crc32c,ssl,cert-cn,ssl-cipher,authority,unique-id, plus ALPN and a
 * custom TLV. */
static unsigned char const v2_full[] = {
  SIG,
  0x21,                   /* version 2, PROXY */
  0x11,                   /* INET, STREAM */
  0x00, 0x66,             /* 102 bytes follow */
  192, 0, 2, 1,           /* src 192.0.2.1 */
  198, 51, 100, 7,        /* dst 198.51.100.7 */
  0xC7, 0x38,             /* sport 51000 */
  0x01, 0xBB,             /* dport 443 */
  0x03, 0x00, 0x04, 0xEB, 0x01, 0x12, 0x8D,       /* CRC32C */
  0x01, 0x00, 0x02, 'h', '2',                     /* ALPN "h2" */
  0x02, 0x00, 0x0B, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g', /* AUTHORITY */
  0x05, 0x00, 0x04, 'i', 'd', '4', '2',           /* UNIQUE_ID "id42" */
  0x20, 0x00, 0x31,                               /* SSL, 49 bytes */
    0x07,                                         /* client: SSL|CERT_CONN|CERT_SESS */
    0x00, 0x00, 0x00, 0x00,                       /* verify: success */
    0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3',   /* VERSION */
    0x22, 0x00, 0x06, 'c', 'l', 'i', 'e', 'n', 't',        /* CN */
    0x23, 0x00, 0x16, 'T', 'L', 'S', '_', 'A', 'E', 'S', '_', '2', '5', '6', '_',
                      'G', 'C', 'M', '_', 'S', 'H', 'A', '3', '8', '4', /* CIPHER */
  0xE0, 0x00, 0x02, 0xBE, 0xEF,                   /* custom 0xE0 */
};

static unsigned char const v2_inet6_dgram[] = {
  SIG, 0x21,
  0x22,                   /* INET6, DGRAM */
  0x00, 0x24,             /* 36: the address block alone */
  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, /* 2001:db8::1 */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,             /* ::1 */
  0x00, 0x35, 0x13, 0x88, /* 53 -> 5000 */
};

static unsigned char const v2_local[] = {
  SIG,
  0x20,                   /* version 2, LOCAL */
  0x11, 0x00, 0x0C,       /* INET, 12 bytes: an address block LOCAL must ignore */
  10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0xD2, 0x00, 0x50,
};

static unsigned char const v2_local_short[] = {
  SIG, 0x20, 0x00, 0x00, 0x00, /* LOCAL UNSPEC, empty: a haproxy health check */
};

static unsigned char const v2_unspec_tlv[] = {
  SIG, 0x21, 0x00, 0x00, 0x04, /* PROXY UNSPEC: keep endpoints, TLVs follow at once */
  0x04, 0x00, 0x01, 0x00,      /* NOOP with one byte */
};

static long parse(void const *b, size_t n, unsigned int flags, s6net_proxy_info *i)
{
  return s6net_proxy_parse(b, n, flags, i);
}

static int streq(s6net_proxy_str s, char const *want)
{
  return s.s && s.len == strlen(want) && !memcmp(s.s, want, s.len);
}

/* Every proper prefix of a valid header must be NEED_MORE, and the
 * reader's hint must never reach past the header's end. */
static void check_prefixes(unsigned char const *b, size_t n, unsigned int flags)
{
  for (size_t k = 0; k < n; k++) {
    s6net_proxy_info i;
    long r = parse(b, k, flags, &i);
    if (r != S6NET_PROXY_NEED_MORE) fail_msg("prefix %zu of %zu: got %ld (%s)", k, n, r, i.why);
    size_t w = s6net_proxy_want(b, k);
    assert_true(w >= 1);
    if (k + w > n) fail_msg("want(%zu) = %zu reads past a %zu-byte header", k, w, n);
  }
}

static void test_crc32c(void **st)
{
  (void)st;
  assert_int_equal(s6net_crc32c(0, "123456789", 9), 0xE3069283u);
  assert_int_equal(s6net_crc32c(0, "", 0), 0);
  /* chaining is the same as one call */
  uint32_t c = s6net_crc32c(0, "12345", 5);
  assert_int_equal(s6net_crc32c(c, "6789", 4), 0xE3069283u);
  unsigned char big[1000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7);
  assert_int_equal(s6net_crc32c_portable(0, "123456789", 9), 0xE3069283u);
  for (size_t n = 0; n <= sizeof big; n += 37)
    assert_int_equal(s6net_crc32c_portable(0, big, n), s6net_crc32c(0, big, n));
  c = s6net_crc32c(0, big, 333);
  assert_int_equal(s6net_crc32c(c, big + 333, sizeof big - 333), s6net_crc32c(0, big, sizeof big));
}

static void test_v1_tcp4(void **st)
{
  (void)st;
  char const *h = "PROXY TCP4 192.0.2.1 198.51.100.7 51000 443\r\nGET / HTTP/1.0\r\n";
  s6net_proxy_info i;
  long r = parse(h, strlen(h), S6NET_PROXY_ANY, &i);
  assert_int_equal(r, 45);
  assert_int_equal(i.version, 1);
  assert_int_equal(i.family, S6NET_PROXY_AF_INET);
  assert_int_equal(i.transport, S6NET_PROXY_STREAM);
  assert_true(i.has_addr);
  assert_memory_equal(i.src, "\xc0\x00\x02\x01", 4);
  assert_memory_equal(i.dst, "\xc6\x33\x64\x07", 4);
  assert_int_equal(i.sport, 51000);
  assert_int_equal(i.dport, 443);
  check_prefixes((unsigned char const *)h, 45, S6NET_PROXY_ANY);
}

static void test_v1_tcp6(void **st)
{
  (void)st;
  char const *h = "PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 0 65535\r\n";
  s6net_proxy_info i;
  assert_int_equal(parse(h, strlen(h), S6NET_PROXY_V1, &i), (long)strlen(h));
  assert_int_equal(i.family, S6NET_PROXY_AF_INET6);
  assert_memory_equal(i.src, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
  assert_memory_equal(i.dst + 10, "\xff\xff\x0a\x00\x00\x01", 6);
  assert_int_equal(i.sport, 0);
  assert_int_equal(i.dport, 65535);
  check_prefixes((unsigned char const *)h, strlen(h), S6NET_PROXY_ANY);
  /* shortest possible TCP6 line: the reader hint allows exactly it */
  h = "PROXY TCP6 :: :: 0 0\r\n";
  assert_int_equal(parse(h, strlen(h), S6NET_PROXY_ANY, &i), 22);
  check_prefixes((unsigned char const *)h, strlen(h), S6NET_PROXY_ANY);
  h = "PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n";
  assert_int_equal(parse(h, strlen(h), S6NET_PROXY_ANY, &i), 32);
  check_prefixes((unsigned char const *)h, strlen(h), S6NET_PROXY_ANY);
}

static void test_v1_unknown(void **st)
{
  (void)st;
  s6net_proxy_info i;
  char const *h = "PROXY UNKNOWN\r\n";
  assert_int_equal(parse(h, 15, S6NET_PROXY_ANY, &i), 15);
  assert_false(i.has_addr);
  assert_int_equal(i.family, S6NET_PROXY_AF_UNSPEC);
  check_prefixes((unsigned char const *)h, 15, S6NET_PROXY_ANY);
  h = "PROXY UNKNOWN whatever ::1 garbage 99999\r\nxyz";
  assert_int_equal(parse(h, strlen(h), S6NET_PROXY_ANY, &i), (long)strlen(h) - 3);
  assert_false(i.has_addr);
  check_prefixes((unsigned char const *)h, strlen(h) - 3, S6NET_PROXY_ANY);
  /* UNKNOWNX is not UNKNOWN */
  h = "PROXY UNKNOWNX\r\n";
  assert_int_equal(parse(h, strlen(h), S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
}

static void test_v1_length_limit(void **st)
{
  (void)st;
  char line[200];
  s6net_proxy_info i;
  /* 107 bytes including CRLF: the longest accepted line */
  memcpy(line, "PROXY UNKNOWN ", 14);
  memset(line + 14, 'x', 200 - 14);
  line[105] = '\r'; line[106] = '\n';
  assert_int_equal(parse(line, 107, S6NET_PROXY_ANY, &i), 107);
  check_prefixes((unsigned char const *)line, 107, S6NET_PROXY_ANY);
  /* 108 bytes: rejected, whether or not the LF has arrived */
  line[105] = 'x'; line[106] = '\r'; line[107] = '\n';
  assert_int_equal(parse(line, 108, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
  assert_int_equal(parse(line, 107, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
  /* 106 bytes without CR can never end in time */
  memset(line + 14, 'x', 100);
  assert_int_equal(parse(line, 106, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
  assert_int_equal(parse(line, 105, S6NET_PROXY_ANY, &i), S6NET_PROXY_NEED_MORE);
  assert_int_equal(parse(line, 150, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
  /* 106 bytes ending in CR: the LF is still due */
  line[105] = '\r';
  assert_int_equal(parse(line, 106, S6NET_PROXY_ANY, &i), S6NET_PROXY_NEED_MORE);
  assert_int_equal(s6net_proxy_want((unsigned char const *)line, 106), 1);
  /* the longest TCP6 line there is (104 bytes) */
  char const *h = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  assert_int_equal(strlen(h), 104);
  assert_int_equal(parse(h, 104, S6NET_PROXY_ANY, &i), 104);
}

static void test_v1_hostile(void **st)
{
  (void)st;
  static char const *const bad[] = {
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",        /* lone CR */
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",         /* lone LF */
    "PROXY TCP4 1.2\n",                          /* lone LF early */
    "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",      /* double space */
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",      /* trailing space */
    "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",         /* missing field */
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",     /* extra field */
    "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",      /* leading zero */
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",   /* port too big */
    "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",      /* sign */
    "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
    "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",     /* octet too big */
    "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",      /* octal-looking octet */
    "PROXY TCP4 ::1 ::1 1 2\r\n",               /* v6 under TCP4 */
    "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",       /* v4 under TCP6 */
    "PROXY TCP6 2001:db8:::1 ::1 1 2\r\n",
    "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",       /* unknown protocol */
    "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
    "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
    "PROXY \r\n",
    "PROXY TCP4\r\n",
    "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
    "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",       /* wrong signature */
    "PROXX TCP4",
    "GET / HTTP/1.1\r\n",
    "\r\n\r\n\x01",                             /* v2-looking, wrong */
  };
  s6net_proxy_info i;
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    long r = parse(bad[k], strlen(bad[k]), S6NET_PROXY_ANY, &i);
    if (r != S6NET_PROXY_INVALID) fail_msg("vector %zu: got %ld", k, r);
    assert_non_null(i.why);
  }
  /* NUL bytes, anywhere in the line */
  char const nul[] = "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n";
  assert_int_equal(parse(nul, sizeof nul - 1, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
  assert_int_equal(parse(nul, 19, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
  assert_int_equal(parse("PROXY\0", 6, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
  assert_int_equal(parse("\0", 1, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
  /* "\r\n" may still become a v2 signature */
  assert_int_equal(parse("\r\n", 2, S6NET_PROXY_ANY, &i), S6NET_PROXY_NEED_MORE);
  /* a bad first byte is rejected at once, without waiting for more */
  assert_int_equal(parse("G", 1, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
  assert_int_equal(parse("PRX", 3, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
}

static void test_version_flags(void **st)
{
  (void)st;
  s6net_proxy_info i;
  char const *h = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
  /* a header of the disabled version is invalid syntax (exit 1), as the
   * reference classifies it: with -2 a text line is not a valid block */
  assert_int_equal(parse(h, strlen(h), S6NET_PROXY_V2, &i), S6NET_PROXY_INVALID);
  /* undecided until the whole "PROXY " is seen */
  assert_int_equal(parse(h, 5, S6NET_PROXY_V2, &i), S6NET_PROXY_NEED_MORE);
  assert_int_equal(parse(h, 6, S6NET_PROXY_V2, &i), S6NET_PROXY_INVALID);
  assert_string_equal(i.why, "PROXY v1 header, but v1 is disabled");
  assert_int_equal(parse(v2_full, sizeof v2_full, S6NET_PROXY_V1, &i), S6NET_PROXY_INVALID);
  assert_int_equal(parse(v2_full, 11, S6NET_PROXY_V1, &i), S6NET_PROXY_NEED_MORE);
  assert_int_equal(parse(v2_full, 12, S6NET_PROXY_V1, &i), S6NET_PROXY_INVALID);
  assert_string_equal(i.why, "PROXY v2 header, but v2 is disabled");
  /* a bad signature stays INVALID whichever version is enabled */
  assert_int_equal(parse("XROXY ", 6, S6NET_PROXY_V2, &i), S6NET_PROXY_INVALID);
}

static void test_v2_full(void **st)
{
  (void)st;
  s6net_proxy_info i;
  unsigned char buf[sizeof v2_full + 5];
  memcpy(buf, v2_full, sizeof v2_full);
  memcpy(buf + sizeof v2_full, "HELLO", 5);
  assert_int_equal(parse(buf, sizeof buf, S6NET_PROXY_ANY, &i), (long)sizeof v2_full);
  assert_int_equal(i.version, 2);
  assert_int_equal(i.command, S6NET_PROXY_CMD_PROXY);
  assert_int_equal(i.family, S6NET_PROXY_AF_INET);
  assert_int_equal(i.transport, S6NET_PROXY_STREAM);
  assert_true(i.has_addr);
  assert_memory_equal(i.src, "\xc0\x00\x02\x01", 4);
  assert_memory_equal(i.dst, "\xc6\x33\x64\x07", 4);
  assert_int_equal(i.sport, 51000);
  assert_int_equal(i.dport, 443);
  assert_true(i.has_crc32c);
  assert_int_equal(i.crc32c, 0xEB01128Du);
  assert_true(streq(i.alpn, "h2"));
  assert_true(streq(i.authority, "example.org"));
  assert_true(streq(i.unique_id, "id42"));
  assert_true(i.has_ssl);
  assert_int_equal(i.ssl_client, 7);
  assert_int_equal(i.ssl_verify, 0);
  assert_true(streq(i.ssl_version, "TLSv1.3"));
  assert_true(streq(i.ssl_cn, "client"));
  assert_true(streq(i.ssl_cipher, "TLS_AES_256_GCM_SHA384"));
  assert_null(i.ssl_sig_alg.s);
  assert_null(i.netns.s);
  assert_int_equal(i.ncustom, 1);
  assert_int_equal(i.custom[0].type, 0xE0);
  assert_int_equal(i.custom[0].value.len, 2);
  assert_memory_equal(i.custom[0].value.s, "\xbe\xef", 2);
  check_prefixes(v2_full, sizeof v2_full, S6NET_PROXY_ANY);
  check_prefixes(v2_full, sizeof v2_full, S6NET_PROXY_V2);
}

static void test_v2_bad_crc(void **st)
{
  (void)st;
  unsigned char buf[sizeof v2_full];
  s6net_proxy_info i;
  /* flip one bit anywhere after the signature: the CRC catches it (or a
   * structural check does first) */
  for (size_t k = 16; k < sizeof buf; k++) {
    memcpy(buf, v2_full, sizeof buf);
    buf[k] ^= 0x01;
    long r = parse(buf, sizeof buf, S6NET_PROXY_ANY, &i);
    if (r >= 0) fail_msg("bit flip at %zu accepted", k);
  }
  memcpy(buf, v2_full, sizeof buf);
  buf[16 + 12 + 6] ^= 0xff; /* the checksum itself */
  assert_int_equal(parse(buf, sizeof buf, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
  assert_string_equal(i.why, "CRC32C mismatch");
}

static void test_v2_inet6_dgram(void **st)
{
  (void)st;
  s6net_proxy_info i;
  unsigned int const udp = S6NET_PROXY_ANY | S6NET_PROXY_DGRAM_OK;
  /* UDP is an extension, off by default: unsupported (exit 2), decided
   * from the 16-byte fixed part, v2 alone or both versions enabled */
  assert_int_equal(parse(v2_inet6_dgram, sizeof v2_inet6_dgram, S6NET_PROXY_ANY, &i), S6NET_PROXY_UNSUPPORTED);
  assert_string_equal(i.why, "PROXY v2 header for a UDP (DGRAM) connection");
  assert_int_equal(parse(v2_inet6_dgram, 16, S6NET_PROXY_V2, &i), S6NET_PROXY_UNSUPPORTED);
  assert_int_equal(parse(v2_inet6_dgram, 15, S6NET_PROXY_V2, &i), S6NET_PROXY_NEED_MORE);
  /* the same over INET: 0x12 */
  unsigned char b4[28];
  memcpy(b4, v2_local, sizeof b4);
  b4[12] = 0x21;          /* version 2, PROXY */
  b4[13] = 0x12;          /* INET, DGRAM */
  assert_int_equal(parse(b4, sizeof b4, S6NET_PROXY_ANY, &i), S6NET_PROXY_UNSUPPORTED);
  assert_int_equal(parse(b4, sizeof b4, udp, &i), 28);
  assert_int_equal(i.transport, S6NET_PROXY_DGRAM);
  /* LOCAL over DGRAM keeps the real endpoints: nothing UDP to export */
  b4[12] = 0x20;
  assert_int_equal(parse(b4, sizeof b4, S6NET_PROXY_ANY, &i), 28);
  assert_false(i.has_addr);
  /* UNIX DGRAM is no UDP: accepted without the flag (test_v2_unix) */

  assert_int_equal(parse(v2_inet6_dgram, sizeof v2_inet6_dgram, udp, &i), 52);
  assert_int_equal(i.family, S6NET_PROXY_AF_INET6);
  assert_int_equal(i.transport, S6NET_PROXY_DGRAM);
  assert_true(i.has_addr);
  assert_int_equal(i.src[0], 0x20);
  assert_int_equal(i.dst[15], 1);
  assert_int_equal(i.sport, 53);
  assert_int_equal(i.dport, 5000);
  check_prefixes(v2_inet6_dgram, sizeof v2_inet6_dgram, udp);
}

static void test_v2_unix(void **st)
{
  (void)st;
  unsigned char b[16 + 216 + 4];
  s6net_proxy_info i;
  memcpy(b, v2_full, 12);
  b[12] = 0x21;
  b[13] = 0x31;                 /* UNIX, STREAM */
  b[14] = 0; b[15] = 216 + 4;   /* paths + one empty NOOP... */
  memset(b + 16, 0, 216);
  memcpy(b + 16, "/run/client.sock", 16);
  memset(b + 16 + 108, 'p', 108); /* a full 108-byte path, no NUL */
  b[16 + 216] = 0x04; b[16 + 217] = 0; b[16 + 218] = 1; b[16 + 219] = 0;
  assert_int_equal(parse(b, sizeof b, S6NET_PROXY_ANY, &i), (long)sizeof b);
  assert_int_equal(i.family, S6NET_PROXY_AF_UNIX);
  assert_true(streq(i.srcpath, "/run/client.sock"));
  assert_int_equal(i.dstpath.len, 108);
  check_prefixes(b, sizeof b, S6NET_PROXY_ANY);
  /* a UNIX DGRAM header with a length one short of the address block */
  b[13] = 0x32; b[15] = 215;
  assert_int_equal(parse(b, 16 + 215, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
}

static void test_v2_local(void **st)
{
  (void)st;
  s6net_proxy_info i;
  assert_int_equal(parse(v2_local, sizeof v2_local, S6NET_PROXY_ANY, &i), 28);
  assert_int_equal(i.command, S6NET_PROXY_CMD_LOCAL);
  assert_false(i.has_addr); /* the real endpoints stand */
  assert_int_equal(parse(v2_local_short, sizeof v2_local_short, S6NET_PROXY_ANY, &i), 16);
  assert_false(i.has_addr);
  /* LOCAL with a declared INET family but no room for it: still fine */
  unsigned char b[20];
  memcpy(b, v2_local, 16);
  b[15] = 4;
  memset(b + 16, 0xAA, 4);
  assert_int_equal(parse(b, 20, S6NET_PROXY_ANY, &i), 20);
  assert_false(i.has_addr);
  /* PROXY UNSPEC: endpoints stand, TLVs are parsed */
  assert_int_equal(parse(v2_unspec_tlv, sizeof v2_unspec_tlv, S6NET_PROXY_ANY, &i), 20);
  assert_false(i.has_addr);
  assert_int_equal(i.command, S6NET_PROXY_CMD_PROXY);
}

static void test_v2_unsupported(void **st)
{
  (void)st;
  unsigned char b[28];
  s6net_proxy_info i;
  /* bytes 13 and 14 of an INET header, and how the reference classifies
   * them: the version nibble and the command are syntax (INVALID, exit
   * 1); a family or transport beyond the known ones is UNSUPPORTED
   * (exit 2) */
  static struct { unsigned char b12, b13; long want; } const cases[] = {
    { 0x11, 0x11, S6NET_PROXY_INVALID },      /* version 1 in the binary format */
    { 0x31, 0x11, S6NET_PROXY_INVALID },      /* version 3 */
    { 0x01, 0x11, S6NET_PROXY_INVALID },      /* version 0 */
    { 0x22, 0x11, S6NET_PROXY_INVALID },      /* command 2 */
    { 0x2F, 0x11, S6NET_PROXY_INVALID },      /* command 15 */
    { 0x21, 0x41, S6NET_PROXY_UNSUPPORTED },  /* family 4 */
    { 0x21, 0x13, S6NET_PROXY_UNSUPPORTED },  /* transport 3 */
    { 0x21, 0xF0, S6NET_PROXY_UNSUPPORTED },  /* family 15 */
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    memcpy(b, v2_local, sizeof b);
    b[12] = cases[k].b12;
    b[13] = cases[k].b13;
    for (int f = 0; f < 2; f++) {
      unsigned int flags = f ? S6NET_PROXY_V2 | S6NET_PROXY_DGRAM_OK : S6NET_PROXY_ANY;
      long r = parse(b, sizeof b, flags, &i);
      if (r != cases[k].want) fail_msg("case %zu: got %ld", k, r);
      /* decided from the fixed part alone */
      assert_int_equal(parse(b, 16, flags, &i), cases[k].want);
    }
  }
}

/* Build SIG + INET PROXY + address + the given TLV bytes. */
static size_t mk(unsigned char *b, unsigned char const *tlv, size_t tl)
{
  memcpy(b, v2_full, 28);
  b[14] = (unsigned char)((12 + tl) >> 8);
  b[15] = (unsigned char)(12 + tl);
  memcpy(b + 28, tlv, tl);
  return 28 + tl;
}

static void test_v2_tlv_hostile(void **st)
{
  (void)st;
  static struct { unsigned char t[12]; size_t l; } const bad[] = {
    { { 0x01, 0x00 }, 2 },                          /* truncated TLV header */
    { { 0x01 }, 1 },
    { { 0x01, 0x00, 0x05, 'a', 'b' }, 5 },          /* value overruns */
    { { 0x03, 0x00, 0x03, 0, 0, 0 }, 6 },           /* CRC32C not 4 bytes */
    { { 0x20, 0x00, 0x04, 1, 0, 0, 0 }, 7 },        /* SSL shorter than 5 */
    { { 0x20, 0x00, 0x07, 1, 0, 0, 0, 0, 0x21, 0x00 }, 10 }, /* SSL sub-TLV truncated */
    { { 0x20, 0x00, 0x09, 1, 0, 0, 0, 0, 0x21, 0x00, 0x09, 'x' }, 12 }, /* sub overruns */
    { { 0x01, 0x00, 0x00, 0x01, 0x00, 0x00 }, 6 },  /* duplicate ALPN */
    { { 0x02, 0x00, 0x01, 'a', 0x02, 0x00, 0x00 }, 7 }, /* duplicate AUTHORITY */
  };
  unsigned char b[64];
  s6net_proxy_info i;
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    size_t n = mk(b, bad[k].t, bad[k].l);
    long r = parse(b, n, S6NET_PROXY_ANY, &i);
    if (r != S6NET_PROXY_INVALID) fail_msg("vector %zu: got %ld", k, r);
  }
  /* length shorter than the INET address block */
  memcpy(b, v2_full, 28);
  b[14] = 0; b[15] = 11;
  assert_int_equal(parse(b, 27, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
  /* unknown types, NOOP, NETNS and an empty ALPN are fine */
  static unsigned char const ok[] = {
    0x10, 0x00, 0x01, 'z',            /* reserved type: ignored */
    0x04, 0x00, 0x00,                 /* NOOP */
    0x30, 0x00, 0x03, 'n', 's', '1',  /* NETNS */
    0x01, 0x00, 0x00,                 /* empty ALPN */
  };
  size_t n = mk(b, ok, sizeof ok);
  assert_int_equal(parse(b, n, S6NET_PROXY_ANY, &i), (long)n);
  assert_true(streq(i.netns, "ns1"));
  assert_non_null(i.alpn.s);
  assert_int_equal(i.alpn.len, 0);
  check_prefixes(b, n, S6NET_PROXY_ANY);
}

static void test_v2_unique_id_limit(void **st)
{
  (void)st;
  unsigned char b[28 + 3 + 129];
  unsigned char tlv[3 + 129];
  s6net_proxy_info i;
  tlv[0] = 0x05; tlv[1] = 0; tlv[2] = 128;
  memset(tlv + 3, 'u', 129);
  size_t n = mk(b, tlv, 3 + 128);
  assert_int_equal(parse(b, n, S6NET_PROXY_ANY, &i), (long)n);
  assert_int_equal(i.unique_id.len, 128);
  tlv[2] = 129;
  n = mk(b, tlv, 3 + 129);
  assert_int_equal(parse(b, n, S6NET_PROXY_ANY, &i), S6NET_PROXY_INVALID);
}

static void test_v2_custom_and_ssl_subs(void **st)
{
  (void)st;
  unsigned char tlv[200], b[256];
  size_t t = 0;
  for (unsigned k = 0xE0; k <= 0xEF; k++) { tlv[t++] = (unsigned char)k; tlv[t++] = 0; tlv[t++] = 1; tlv[t++] = (unsigned char)k; }
  tlv[t++] = 0xEF; tlv[t++] = 0; tlv[t++] = 0; /* a 17th: counted, not kept */
  static unsigned char const ssl[] = {
    0x20, 0x00, 0x13, 0x01, 0x00, 0x00, 0x00, 0x2A,
    0x24, 0x00, 0x03, 'R', 'S', 'A',
    0x25, 0x00, 0x02, 'E', 'C',
    0x2F, 0x00, 0x00,                 /* unknown sub-TLV: ignored */
  };
  memcpy(tlv + t, ssl, sizeof ssl);
  t += sizeof ssl;
  size_t n = mk(b, tlv, t);
  s6net_proxy_info i;
  assert_int_equal(parse(b, n, S6NET_PROXY_ANY, &i), (long)n);
  assert_int_equal(i.ncustom, 17);
  for (unsigned k = 0; k < S6NET_PROXY_CUSTOM_MAX; k++) {
    assert_int_equal(i.custom[k].type, 0xE0 + k);
    assert_int_equal(i.custom[k].value.s[0], 0xE0 + k);
  }
  assert_int_equal(i.ssl_client, 1);
  assert_int_equal(i.ssl_verify, 0x2A);
  assert_true(streq(i.ssl_sig_alg, "RSA"));
  assert_true(streq(i.ssl_key_alg, "EC"));
  assert_null(i.ssl_version.s);
}

static void test_v2_max_length(void **st)
{
  (void)st;
  /* the largest header there is: 16 + 65535, one big custom TLV */
  static unsigned char b[S6NET_PROXY_V2_MAX + 10];
  s6net_proxy_info i;
  memcpy(b, v2_full, 28);
  b[14] = 0xFF; b[15] = 0xFF;
  size_t l = 65535 - 12 - 3;
  b[28] = 0xE5; b[29] = (unsigned char)(l >> 8); b[30] = (unsigned char)l;
  memset(b + 31, 'v', l);
  assert_int_equal(parse(b, S6NET_PROXY_V2_MAX + 10, S6NET_PROXY_ANY, &i), S6NET_PROXY_V2_MAX);
  assert_int_equal(i.custom[0].value.len, l);
  assert_int_equal(parse(b, S6NET_PROXY_V2_MAX - 1, S6NET_PROXY_ANY, &i), S6NET_PROXY_NEED_MORE);
  assert_int_equal(s6net_proxy_want(b, 16), 65535);
}

static void test_build_roundtrip(void **st)
{
  (void)st;
  s6net_proxy_info a, b;
  char line[128];
  unsigned char bin[1024];
  unsigned char s4[4] = { 192, 0, 2, 9 }, d4[4] = { 127, 0, 0, 1 };
  unsigned char s6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 }, d6[16] = { [15] = 1 };

  s6net_proxy_info_tcp(&a, 0, s4, 1234, d4, 80);
  size_t n = s6net_proxy_build_v1(line, sizeof line, &a);
  assert_int_equal(n, strlen("PROXY TCP4 192.0.2.9 127.0.0.1 1234 80\r\n"));
  assert_memory_equal(line, "PROXY TCP4 192.0.2.9 127.0.0.1 1234 80\r\n", n);
  assert_int_equal(parse(line, n, S6NET_PROXY_ANY, &b), (long)n);
  assert_memory_equal(b.src, s4, 4);
  assert_int_equal(s6net_proxy_build_v1(line, n - 1, &a), 0);

  s6net_proxy_info_tcp(&a, 1, s6, 1, d6, 65535);
  n = s6net_proxy_build_v1(line, sizeof line, &a);
  assert_memory_equal(line, "PROXY TCP6 2001:db8::2 ::1 1 65535\r\n", n);

  a.has_addr = 0;
  n = s6net_proxy_build_v1(line, sizeof line, &a);
  assert_memory_equal(line, "PROXY UNKNOWN\r\n", n);

  /* v2 with every TLV and a CRC32C: parses back to the same thing */
  s6net_proxy_info_tcp(&a, 1, s6, 4000, d6, 443);
  a.alpn.s = (unsigned char const *)"http/1.1"; a.alpn.len = 8;
  a.authority.s = (unsigned char const *)"a.example"; a.authority.len = 9;
  a.unique_id.s = (unsigned char const *)"U1"; a.unique_id.len = 2;
  a.netns.s = (unsigned char const *)"blue"; a.netns.len = 4;
  a.has_ssl = 1; a.ssl_client = 3; a.ssl_verify = 5;
  a.ssl_version.s = (unsigned char const *)"TLSv1.2"; a.ssl_version.len = 7;
  a.ssl_cn.s = (unsigned char const *)"cn"; a.ssl_cn.len = 2;
  a.ssl_cipher.s = (unsigned char const *)"C"; a.ssl_cipher.len = 1;
  a.ssl_sig_alg.s = (unsigned char const *)"SHA256"; a.ssl_sig_alg.len = 6;
  a.ssl_key_alg.s = (unsigned char const *)"RSA2048"; a.ssl_key_alg.len = 7;
  a.ncustom = 2;
  a.custom[0].type = 0xE1; a.custom[0].value.s = (unsigned char const *)"\x00\x01"; a.custom[0].value.len = 2;
  a.custom[1].type = 0xEE; a.custom[1].value.s = (unsigned char const *)""; a.custom[1].value.len = 0;
  n = s6net_proxy_build_v2(bin, sizeof bin, &a, S6NET_PROXY_BUILD_CRC32C);
  assert_true(n > 52);
  assert_int_equal(parse(bin, n, S6NET_PROXY_ANY, &b), (long)n);
  assert_true(b.has_crc32c);
  assert_memory_equal(b.src, s6, 16);
  assert_int_equal(b.sport, 4000);
  assert_true(streq(b.alpn, "http/1.1"));
  assert_true(streq(b.authority, "a.example"));
  assert_true(streq(b.unique_id, "U1"));
  assert_true(streq(b.netns, "blue"));
  assert_int_equal(b.ssl_client, 3);
  assert_int_equal(b.ssl_verify, 5);
  assert_true(streq(b.ssl_version, "TLSv1.2"));
  assert_true(streq(b.ssl_key_alg, "RSA2048"));
  assert_int_equal(b.ncustom, 2);
  assert_int_equal(b.custom[1].type, 0xEE);
  check_prefixes(bin, n, S6NET_PROXY_ANY);
  /* too small a buffer at every size: 0, never an overrun */
  for (size_t k = 0; k < n; k++) assert_int_equal(s6net_proxy_build_v2(bin, k, &a, S6NET_PROXY_BUILD_CRC32C), 0);

  /* LOCAL and UNIX */
  memset(&a, 0, sizeof a);
  a.command = S6NET_PROXY_CMD_LOCAL;
  n = s6net_proxy_build_v2(bin, sizeof bin, &a, 0);
  assert_int_equal(n, 16);
  assert_memory_equal(bin, v2_local_short, 16);
  a.command = S6NET_PROXY_CMD_PROXY;
  a.family = S6NET_PROXY_AF_UNIX;
  a.transport = S6NET_PROXY_DGRAM;
  a.has_addr = 1;
  a.srcpath.s = (unsigned char const *)"/tmp/s"; a.srcpath.len = 6;
  n = s6net_proxy_build_v2(bin, sizeof bin, &a, 0);
  assert_int_equal(n, 16 + 216);
  assert_int_equal(parse(bin, n, S6NET_PROXY_ANY, &b), (long)n);
  assert_true(streq(b.srcpath, "/tmp/s"));
  assert_int_equal(b.dstpath.len, 0);
  assert_int_equal(s6net_proxy_build_v1(line, sizeof line, &a), 15); /* UNKNOWN */
}

static void test_from_env_and_send(void **st)
{
  (void)st;
  s6net_proxy_info a, b;
  unsigned char buf[512];
  int p[2];
  char const *const none[] = { "PATH=/bin", 0 };
  assert_int_equal(s6net_proxy_info_from_env(&a, none), 0);
  assert_int_equal(a.command, S6NET_PROXY_CMD_LOCAL);
  assert_false(a.has_addr);

  char const *const tcp[] = {
    "PROTO=TCP", "TCPREMOTEIP=192.0.2.1", "TCPREMOTEPORT=5000", "TCPLOCALIP=198.51.100.1",
    "TCPLOCALPORT=443", "SSL_PROTOCOL=TLSv1.3", "SSL_CIPHER=X", "SSL_TLS_SNI_SERVERNAME=a.example", 0
  };
  assert_int_equal(s6net_proxy_info_from_env(&a, tcp), 1);
  assert_int_equal(a.family, S6NET_PROXY_AF_INET);
  assert_int_equal(a.sport, 5000);
  assert_true(a.has_ssl);
  assert_int_equal(a.ssl_client, S6NET_PROXY_SSL_CLIENT_SSL);
  assert_true(streq(a.authority, "a.example"));

  assert_int_equal(pipe(p), 0);
  assert_int_equal(s6net_proxy_send(p[1], 1, &a), 0);
  ssize_t n = read(p[0], buf, sizeof buf);
  assert_int_equal(n, 44);
  assert_memory_equal(buf, "PROXY TCP4 192.0.2.1 198.51.100.1 5000 443\r\n", 44);
  assert_int_equal(s6net_proxy_send(p[1], 2, &a), 0);
  n = read(p[0], buf, sizeof buf);
  assert_true(n > 28);
  assert_int_equal(parse(buf, (size_t)n, S6NET_PROXY_V2, &b), n);
  assert_true(b.has_crc32c);
  assert_true(streq(b.ssl_version, "TLSv1.3"));
  assert_true(streq(b.authority, "a.example"));
  close(p[0]);
  close(p[1]);

  /* a v6 local address with a v4 remote: both sent as IPv6 */
  char const *const mixed[] = {
    "PROTO=TCP", "TCPREMOTEIP=10.0.0.1", "TCPREMOTEPORT=1", "TCPLOCALIP=::1", "TCPLOCALPORT=2", 0
  };
  assert_int_equal(s6net_proxy_info_from_env(&a, mixed), 1);
  assert_int_equal(a.family, S6NET_PROXY_AF_INET6);
  assert_memory_equal(a.src, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\x01", 16);
  char const *const bad[] = {
    "PROTO=TCP", "TCPREMOTEIP=10.0.0.300", "TCPREMOTEPORT=1", "TCPLOCALIP=::1", "TCPLOCALPORT=2", 0
  };
  assert_int_equal(s6net_proxy_info_from_env(&a, bad), -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crc32c),
    cmocka_unit_test(test_v1_tcp4),
    cmocka_unit_test(test_v1_tcp6),
    cmocka_unit_test(test_v1_unknown),
    cmocka_unit_test(test_v1_length_limit),
    cmocka_unit_test(test_v1_hostile),
    cmocka_unit_test(test_version_flags),
    cmocka_unit_test(test_v2_full),
    cmocka_unit_test(test_v2_bad_crc),
    cmocka_unit_test(test_v2_inet6_dgram),
    cmocka_unit_test(test_v2_unix),
    cmocka_unit_test(test_v2_local),
    cmocka_unit_test(test_v2_unsupported),
    cmocka_unit_test(test_v2_tlv_hostile),
    cmocka_unit_test(test_v2_unique_id_limit),
    cmocka_unit_test(test_v2_custom_and_ssl_subs),
    cmocka_unit_test(test_v2_max_length),
    cmocka_unit_test(test_build_roundtrip),
    cmocka_unit_test(test_from_env_and_send),
  };
  return cmocka_run_group_tests(tests, 0, 0);
}
