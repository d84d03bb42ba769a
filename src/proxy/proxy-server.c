/* proxy-server: read a PROXY protocol header on stdin, export what it
 * says about the original client as UCSPI variables, exec into prog.
 *
 * The header is consumed exactly: on a socket the bytes are peeked and
 * only those the parser proves to be header are read; on anything else
 * (a pipe from a TLS engine) reads are sized by s6net_proxy_want(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <s6net/proxy.h>

#include "core/addr.h"
#include "core/deadline.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/num.h"
#include "core/opt.h"

#define USAGE "[ -1|--only-v1 | -2|--only-v2 ] [ -u|--udp ] [ -t timeout ] [ -v verbosity ] prog..."

/* What a peek asks for when nothing says more is due: a whole v1 line or
 * a typical v2 header with TLVs fits, without copying the application's
 * data beyond that. */
#define PEEK_CHUNK 512

static unsigned char hdr[S6NET_PROXY_V2_MAX];
/* Hex-encoded custom TLVs may double the header's size. */
static char envbuf[2 * S6NET_PROXY_V2_MAX + 4096];
static char const *envmods[64];
static char hexbuf[2 * 65535];
extern char **environ;

static unsigned int verbosity = 1;

static void wait_readable(s6net_deadline deadline)
{
  struct pollfd p = { .fd = 0, .events = POLLIN };
  int r = s6net_poll(&p, 1, deadline);
  if (r < 0) s6net_diesys(111, "unable to poll stdin");
  if (!r) s6net_die(111, "unable to read PROXY header: timed out");
}

static void die_parse(long r, s6net_proxy_info const *info)
{
  if (r == S6NET_PROXY_UNSUPPORTED) s6net_die(2, "unsupported PROXY header: %s", info->why);
  s6net_die(1, "invalid PROXY header: %s", info->why);
}

static void die_eof(size_t have)
{
  if (!have) s6net_die(1, "invalid PROXY header: connection closed before any data");
  s6net_die(1, "invalid PROXY header: connection closed after %zu bytes, in the middle of the header", have);
}

/* Consume exactly n bytes that a peek already showed to be there. */
static void consume(unsigned char *to, size_t n)
{
  while (n) {
    ssize_t r = read(0, to, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      s6net_diesys(111, "unable to read stdin");
    }
    if (!r) s6net_die(111, "unable to read stdin: peeked data vanished");
    to += r;
    n -= (size_t)r;
  }
}

static size_t read_header(unsigned int flags, s6net_deadline deadline, s6net_proxy_info *info)
{
  size_t have = 0;
  int peek = 1;
  for (;;) {
    size_t want = s6net_proxy_want(hdr, have);
    ssize_t r;
    long p;
    wait_readable(deadline);
    if (peek) {
      size_t ask = want > PEEK_CHUNK ? want : PEEK_CHUNK;
      if (ask > sizeof hdr - have) ask = sizeof hdr - have;
      r = recv(0, hdr + have, ask, MSG_PEEK);
      if (r < 0 && errno == ENOTSOCK) { peek = 0; continue; }
    } else r = read(0, hdr + have, want);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      s6net_diesys(111, "unable to read stdin");
    }
    if (!r) die_eof(have);
    p = s6net_proxy_parse(hdr, have + (size_t)r, flags, info);
    if (p < 0) die_parse(p, info);
    if (!peek) {
      have += (size_t)r;
      if (p) return (size_t)p;
      continue;
    }
    /* NEED_MORE guarantees every peeked byte is header: take them all */
    size_t take = p ? (size_t)p - have : (size_t)r;
    consume(hdr + have, take);
    have += take;
    if (p) return (size_t)p;
  }
}

static int printable(s6net_proxy_str const *s)
{
  for (size_t i = 0; i < s->len; i++)
    if (s->s[i] < 0x20 || s->s[i] > 0x7e) return 0;
  return 1;
}

static void set(s6net_envmods *m, char const *name, char const *value, size_t len)
{
  if (!len) return; /* an empty value means unset, and we never unset */
  if (s6net_envmods_setn(m, name, value, len) < 0) s6net_diesys(111, "unable to set %s", name);
}

static void set_str(s6net_envmods *m, char const *name, s6net_proxy_str const *s)
{
  if (!s->s) return;
  if (!printable(s)) {
    if (verbosity) s6net_warn("not exporting %s: the value has non-printable bytes", name);
    return;
  }
  set(m, name, (char const *)s->s, s->len);
}

static void set_ip(s6net_envmods *m, char const *name, unsigned char const *ip, int is6)
{
  char buf[S6NET_IP46_FMTLEN];
  size_t n;
  /* A v4-mapped address is shown as IPv4, as the super-servers do. */
  if (is6 && s6net_ip6_is_v4mapped(ip)) n = s6net_ip4_fmt(buf, ip + 12);
  else n = is6 ? s6net_ip6_fmt(buf, ip) : s6net_ip4_fmt(buf, ip);
  set(m, name, buf, n);
}

static void set_num(s6net_envmods *m, char const *name, unsigned long long u)
{
  char buf[21];
  set(m, name, buf, s6net_fmt_ull(buf, u));
}

static void export_addr(s6net_envmods *m, s6net_proxy_info const *info)
{
  if (!info->has_addr) return; /* LOCAL, UNKNOWN, UNSPEC: the real endpoints stand */
  if (info->family == S6NET_PROXY_AF_UNIX) {
    set(m, "PROTO", "IPC", 3);
    set_str(m, "IPCREMOTEPATH", &info->srcpath);
    set_str(m, "IPCLOCALPATH", &info->dstpath);
    return;
  }
  int is6 = info->family == S6NET_PROXY_AF_INET6;
  int udp = info->transport == S6NET_PROXY_DGRAM;
  set(m, "PROTO", udp ? "UDP" : "TCP", 3);
  set_ip(m, udp ? "UDPREMOTEIP" : "TCPREMOTEIP", info->src, is6);
  set_num(m, udp ? "UDPREMOTEPORT" : "TCPREMOTEPORT", info->sport);
  set_ip(m, udp ? "UDPLOCALIP" : "TCPLOCALIP", info->dst, is6);
  set_num(m, udp ? "UDPLOCALPORT" : "TCPLOCALPORT", info->dport);
}

static void export_tlvs(s6net_envmods *m, s6net_proxy_info const *info)
{
  static char const hexd[] = "0123456789abcdef";
  set_str(m, "SSL_TLS_SNI_SERVERNAME", &info->authority);
  /* Without the SSL bit the client did not speak TLS to the proxy: the
   * sub-fields describe no session of the client's. */
  if (info->has_ssl && (info->ssl_client & S6NET_PROXY_SSL_CLIENT_SSL)) {
    set_str(m, "SSL_PROTOCOL", &info->ssl_version);
    set_str(m, "SSL_CIPHER", &info->ssl_cipher);
    set_str(m, "SSL_PEER_CERT_CN", &info->ssl_cn);
    set_str(m, "PROXY_SSL_SIG_ALG", &info->ssl_sig_alg);
    set_str(m, "PROXY_SSL_KEY_ALG", &info->ssl_key_alg);
    set_num(m, "PROXY_SSL_CLIENT", info->ssl_client);
    set_num(m, "PROXY_SSL_VERIFY", info->ssl_verify);
  }
  set_str(m, "PROXY_ALPN", &info->alpn);
  set_str(m, "PROXY_UNIQUE_ID", &info->unique_id);
  set_str(m, "PROXY_NETNS", &info->netns);
  size_t nc = info->ncustom < S6NET_PROXY_CUSTOM_MAX ? info->ncustom : S6NET_PROXY_CUSTOM_MAX;
  for (size_t i = 0; i < nc; i++) {
    /* binary by nature: lowercase hex, in a variable named after the type */
    s6net_proxy_tlv const *t = &info->custom[i];
    char name[13] = "PROXY_TLV_";
    name[10] = "0123456789ABCDEF"[t->type >> 4];
    name[11] = "0123456789ABCDEF"[t->type & 15];
    name[12] = 0;
    for (size_t j = 0; j < t->value.len; j++) {
      hexbuf[2 * j] = hexd[t->value.s[j] >> 4];
      hexbuf[2 * j + 1] = hexd[t->value.s[j] & 15];
    }
    set(m, name, hexbuf, 2 * t->value.len);
  }
}

int main(int argc, char **argv)
{
  static s6net_sgetopt_long const longopts[] = {
    { "only-v1", '1' },
    { "only-v2", '2' },
    { "udp", 'u' },
    { 0, 0 }
  };
  unsigned int flags = S6NET_PROXY_ANY, udp = 0, timeout = 0;
  int opt;
  s6net_prog = "proxy-server";
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next_long(&g, argc, (char const *const *)argv, "12ut:v:", longopts)) != -1) {
    switch (opt) {
      case '1':
      case '2': {
        unsigned int f = opt == '1' ? S6NET_PROXY_V1 : S6NET_PROXY_V2;
        if (flags != S6NET_PROXY_ANY && flags != f) s6net_dieusage(USAGE);
        flags = f;
        break;
      }
      case 'u': udp = S6NET_PROXY_DGRAM_OK; break;
      case 't':
        if (s6net_scan_uint(g.arg, 0, 0x7fffffffu, &timeout) < 0) s6net_dieusage(USAGE);
        break;
      case 'v':
        if (s6net_scan_uint(g.arg, 0, 0xffffu, &verbosity) < 0) s6net_dieusage(USAGE);
        break;
      default: s6net_dieusage(USAGE);
    }
  }
  argv += g.ind;
  if (!*argv) s6net_dieusage(USAGE);

  s6net_proxy_info info;
  size_t len = read_header(flags | udp, s6net_deadline_in(timeout), &info);

  s6net_envmods m;
  s6net_envmods_init(&m, envbuf, sizeof envbuf, envmods, sizeof envmods / sizeof *envmods);
  export_addr(&m, &info);
  export_tlvs(&m, &info);
  if (verbosity >= 2)
    s6net_info("PROXY v%u %s header of %zu bytes, %zu variables set", info.version,
               info.command == S6NET_PROXY_CMD_LOCAL ? "LOCAL" : "PROXY", len, m.n);

  size_t n = 0;
  for (char **e = environ; e && *e; e++) n++;
  char const **envp = malloc((n + m.n + 1) * sizeof *envp);
  if (!envp) s6net_diesys(111, "unable to allocate the environment");
  if (s6net_env_merge(envp, n + m.n + 1, (char const *const *)environ, m.mods, m.n) < 0)
    s6net_diesys(111, "unable to build the environment");
  s6net_exec((char const *const *)argv, envp);
  s6net_diesys(111, "unable to exec %s", argv[0]);
}
