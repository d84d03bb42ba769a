/* PROXY protocol (haproxy's proxy-protocol.txt), versions 1 and 2.
 *
 * s6net_proxy_parse() is a pure function: it looks at bytes already
 * received and says whether they hold a complete header (and how long it
 * is), need more bytes, or can never become a valid header. It never
 * looks past the end of the header, so a caller that reads only what the
 * parser asks for never swallows the application's first bytes.
 *
 * Decoded strings point into the caller's buffer (no copies): they stay
 * valid as long as that buffer does, and are NOT NUL-terminated. */
#ifndef S6NET_PROXY_H
#define S6NET_PROXY_H

#include <stddef.h>
#include <stdint.h>

/* Return values of s6net_proxy_parse besides a positive length. */
#define S6NET_PROXY_NEED_MORE    0L
#define S6NET_PROXY_INVALID     (-1L)
#define S6NET_PROXY_UNSUPPORTED (-2L)

/* Which versions to accept (flags of s6net_proxy_parse). */
#define S6NET_PROXY_V1 0x1u
#define S6NET_PROXY_V2 0x2u
#define S6NET_PROXY_ANY (S6NET_PROXY_V1 | S6NET_PROXY_V2)
/* Also accept a v2 PROXY header whose transport is DGRAM over INET or
 * INET6 (a UDP "connection"); without it such a header is UNSUPPORTED. */
#define S6NET_PROXY_DGRAM_OK 0x4u

#define S6NET_PROXY_V1_MAX 107   /* longest v1 line, CRLF included */
#define S6NET_PROXY_V1_MIN 15    /* "PROXY UNKNOWN\r\n" */
#define S6NET_PROXY_V2_HDR 16    /* fixed part of a v2 header */
#define S6NET_PROXY_V2_MAX (16 + 65535)
#define S6NET_PROXY_UNIX_PATH 108
#define S6NET_PROXY_UNIQUE_ID_MAX 128
#define S6NET_PROXY_CUSTOM_MAX 16

/* Commands */
#define S6NET_PROXY_CMD_LOCAL 0
#define S6NET_PROXY_CMD_PROXY 1
/* Families (v1 TCP4 = INET, TCP6 = INET6, UNKNOWN = UNSPEC) */
#define S6NET_PROXY_AF_UNSPEC 0
#define S6NET_PROXY_AF_INET   1
#define S6NET_PROXY_AF_INET6  2
#define S6NET_PROXY_AF_UNIX   3
/* Transports (v1 is always STREAM, or UNSPEC for UNKNOWN) */
#define S6NET_PROXY_UNSPEC 0
#define S6NET_PROXY_STREAM 1
#define S6NET_PROXY_DGRAM  2

/* TLV types */
#define S6NET_PROXY_TLV_ALPN      0x01
#define S6NET_PROXY_TLV_AUTHORITY 0x02
#define S6NET_PROXY_TLV_CRC32C    0x03
#define S6NET_PROXY_TLV_NOOP      0x04
#define S6NET_PROXY_TLV_UNIQUE_ID 0x05
#define S6NET_PROXY_TLV_SSL       0x20
#define S6NET_PROXY_SUBTLV_SSL_VERSION 0x21
#define S6NET_PROXY_SUBTLV_SSL_CN      0x22
#define S6NET_PROXY_SUBTLV_SSL_CIPHER  0x23
#define S6NET_PROXY_SUBTLV_SSL_SIG_ALG 0x24
#define S6NET_PROXY_SUBTLV_SSL_KEY_ALG 0x25
#define S6NET_PROXY_TLV_NETNS     0x30
#define S6NET_PROXY_TLV_CUSTOM_MIN 0xE0
#define S6NET_PROXY_TLV_CUSTOM_MAX 0xEF
/* SSL client flags */
#define S6NET_PROXY_SSL_CLIENT_SSL       0x01
#define S6NET_PROXY_SSL_CLIENT_CERT_CONN 0x02
#define S6NET_PROXY_SSL_CLIENT_CERT_SESS 0x04

/* A byte string inside the parsed buffer; s == 0 when absent. */
typedef struct {
  unsigned char const *s;
  size_t len;
} s6net_proxy_str;

typedef struct {
  unsigned char type;
  s6net_proxy_str value;
} s6net_proxy_tlv;

typedef struct {
  unsigned char version;    /* 1 or 2 */
  unsigned char command;    /* S6NET_PROXY_CMD_*; v1 is always PROXY */
  unsigned char family;     /* S6NET_PROXY_AF_* as declared */
  unsigned char transport;  /* S6NET_PROXY_STREAM etc. as declared */
  /* 1 when the addresses below describe the client; 0 when the
   * receiver must keep the real socket endpoints (v1 UNKNOWN, v2 LOCAL,
   * v2 UNSPEC family). */
  unsigned char has_addr;
  /* INET / INET6: network byte order as on the wire; an INET address
   * uses the first 4 bytes. */
  unsigned char src[16], dst[16];
  uint16_t sport, dport;
  /* UNIX: the paths up to their first NUL (at most 108 bytes). */
  s6net_proxy_str srcpath, dstpath;

  s6net_proxy_str alpn, authority, unique_id, netns;
  unsigned char has_crc32c;
  uint32_t crc32c;          /* as received (already verified) */

  unsigned char has_ssl;
  unsigned char ssl_client; /* S6NET_PROXY_SSL_CLIENT_* */
  uint32_t ssl_verify;      /* 0 = the client certificate verified */
  s6net_proxy_str ssl_version, ssl_cn, ssl_cipher, ssl_sig_alg, ssl_key_alg;

  /* 0xE0..0xEF, in order of appearance; ncustom may exceed
   * S6NET_PROXY_CUSTOM_MAX, only the first ones are kept. */
  size_t ncustom;
  s6net_proxy_tlv custom[S6NET_PROXY_CUSTOM_MAX];

  /* After INVALID or UNSUPPORTED: a short static reason, for messages. */
  char const *why;
} s6net_proxy_info;

/* Parse the start of buf. Returns the header length (> 0) on success,
 * S6NET_PROXY_NEED_MORE when buf is a proper prefix of a possibly valid
 * header (then every byte of buf belongs to the header), INVALID for bad
 * syntax (including a header of a version disabled by flags, and a v2
 * block with an unknown version nibble or command), UNSUPPORTED for a
 * well-formed header this receiver does not handle (an unknown v2 family
 * or transport; a DGRAM INET/INET6 PROXY header without
 * S6NET_PROXY_DGRAM_OK). info may be 0; after a failure only info->why
 * is meaningful.
 *
 * An SSL TLV is decoded whatever its client byte says; its sub-fields
 * describe the client's TLS session only when ssl_client has
 * S6NET_PROXY_SSL_CLIENT_SSL. */
long s6net_proxy_parse(unsigned char const *buf, size_t len, unsigned int flags, s6net_proxy_info *info);

/* How many more bytes a reader may read without risking reading past the
 * header, given that s6net_proxy_parse(buf, len) returned NEED_MORE.
 * Always >= 1. */
size_t s6net_proxy_want(unsigned char const *buf, size_t len);

/* CRC32C (Castagnoli), as used by the CRC32C TLV. crc is the running
 * value: start with 0. */
uint32_t s6net_crc32c(uint32_t crc, void const *data, size_t len);

/* Builders: write a header describing info into buf (at most max bytes).
 * Return its length, or 0 when it does not fit or info cannot be encoded
 * (e.g. a UNIX family in v1). The v1 builder writes UNKNOWN when
 * info->has_addr is 0. The v2 builder writes every TLV present in info
 * and, with S6NET_PROXY_BUILD_CRC32C, a CRC32C TLV over the result. */
#define S6NET_PROXY_BUILD_CRC32C 0x1u
size_t s6net_proxy_build_v1(char *buf, size_t max, s6net_proxy_info const *info);
size_t s6net_proxy_build_v2(unsigned char *buf, size_t max, s6net_proxy_info const *info, unsigned int flags);

/* A fresh info describing a TCP (stream) connection from src to dst.
 * ip is 4 bytes when is6 is 0, 16 bytes otherwise. */
void s6net_proxy_info_tcp(s6net_proxy_info *info, int is6,
                          unsigned char const *srcip, uint16_t sport,
                          unsigned char const *dstip, uint16_t dport);

/* The sending side, for a client run under a super-server: fill info
 * from the UCSPI variables in envp (PROTO=TCP, TCPREMOTEIP,
 * TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT; SSL_PROTOCOL, SSL_CIPHER,
 * SSL_PEER_CERT_CN and SSL_TLS_SNI_SERVERNAME become SSL and AUTHORITY
 * fields). Returns 1 when they describe a client, 0 when they are absent
 * (info is then a LOCAL command, sent as UNKNOWN in v1), -1 (EINVAL)
 * when they are malformed. Strings point into envp. */
int s6net_proxy_info_from_env(s6net_proxy_info *info, char const *const *envp);
/* Write a version 1 or 2 (with CRC32C) header for info to fd, all of it.
 * 0, or -1 with errno. */
int s6net_proxy_send(int fd, unsigned int version, s6net_proxy_info const *info);

#endif
