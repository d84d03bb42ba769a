/* libFuzzer harness for the PROXY parser. Beyond "no crash", it checks
 * the properties proxy-server relies on: a header's length does not
 * depend on the bytes after it, the reader hint never overshoots, and
 * what parses can be rebuilt and parses back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <s6net/proxy.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

static unsigned char out[S6NET_PROXY_V2_MAX + 64];

static int same_str(s6net_proxy_str a, s6net_proxy_str b)
{
  if (!a.s || !b.s) return !a.s == !b.s;
  return a.len == b.len && !memcmp(a.s, b.s, a.len);
}

static void check_rebuild(s6net_proxy_info const *a)
{
  s6net_proxy_info b;
  char line[S6NET_PROXY_V1_MAX + 1];
  size_t n = s6net_proxy_build_v1(line, sizeof line, a);
  if (!n || s6net_proxy_parse((unsigned char const *)line, n, S6NET_PROXY_ANY, &b) != (long)n) abort();
  if (b.has_addr != (a->has_addr && (a->family == S6NET_PROXY_AF_INET || a->family == S6NET_PROXY_AF_INET6))) abort();
  if (b.has_addr && (b.sport != a->sport || b.dport != a->dport)) abort();

  n = s6net_proxy_build_v2(out, sizeof out, a, S6NET_PROXY_BUILD_CRC32C);
  if (!n) return; /* the original could be at the 64 KiB limit */
  if (s6net_proxy_parse(out, n, S6NET_PROXY_V2 | S6NET_PROXY_DGRAM_OK, &b) != (long)n) abort();
  if (b.has_addr != a->has_addr || !b.has_crc32c) abort();
  if (a->has_addr && (a->family == S6NET_PROXY_AF_INET || a->family == S6NET_PROXY_AF_INET6)) {
    if (memcmp(a->src, b.src, 16) || memcmp(a->dst, b.dst, 16) || a->sport != b.sport || a->dport != b.dport) abort();
  }
  if (!same_str(a->alpn, b.alpn) || !same_str(a->authority, b.authority) || !same_str(a->unique_id, b.unique_id)
      || !same_str(a->netns, b.netns) || a->has_ssl != b.has_ssl || !same_str(a->ssl_cn, b.ssl_cn)
      || !same_str(a->ssl_cipher, b.ssl_cipher) || !same_str(a->ssl_version, b.ssl_version)) abort();
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static unsigned int const flags[4] = {
    S6NET_PROXY_ANY | S6NET_PROXY_DGRAM_OK, S6NET_PROXY_ANY, S6NET_PROXY_V1, S6NET_PROXY_V2
  };
  long res[4];
  for (int f = 0; f < 4; f++) {
    s6net_proxy_info info;
    long r = res[f] = s6net_proxy_parse(data, size, flags[f], &info);
    if (r > 0) {
      if ((size_t)r > size) abort();
      s6net_proxy_info again;
      if (s6net_proxy_parse(data, (size_t)r, flags[f], &again) != r) abort();
      if (f == 0) check_rebuild(&info);
    } else if (r == S6NET_PROXY_NEED_MORE) {
      if (s6net_proxy_want(data, size) < 1) abort();
    } else if (r != S6NET_PROXY_INVALID && r != S6NET_PROXY_UNSUPPORTED) abort();
    else if (!info.why) abort();
  }
  /* accepting UDP changes nothing but what was refused as unsupported */
  if (res[0] != res[1] && res[1] != S6NET_PROXY_UNSUPPORTED) abort();
  return 0;
}
