/* The sending side's input: the UCSPI variables a super-server (and
 * s6-tlsd) left for a program, turned into a PROXY header, so that a
 * client run under a server can tell the next hop who the original
 * client was. */
#include <s6net/proxy.h>

#include <errno.h>
#include <string.h>

#include "core/addr.h"
#include "core/env.h"
#include "core/fd.h"
#include "core/num.h"

static void str_from_env(s6net_proxy_str *s, char const *const *envp, char const *name)
{
  char const *v = s6net_env_get(envp, name);
  if (v && *v) { s->s = (unsigned char const *)v; s->len = strlen(v); }
}

int s6net_proxy_info_from_env(s6net_proxy_info *info, char const *const *envp)
{
  char const *proto = s6net_env_get(envp, "PROTO");
  char const *rip = s6net_env_get(envp, "TCPREMOTEIP");
  char const *rport = s6net_env_get(envp, "TCPREMOTEPORT");
  char const *lip = s6net_env_get(envp, "TCPLOCALIP");
  char const *lport = s6net_env_get(envp, "TCPLOCALPORT");
  s6net_ip46 r, l;
  uint16_t rp, lp;
  memset(info, 0, sizeof *info);
  info->version = 2;
  if (!proto || strcmp(proto, "TCP") || !rip || !rport || !lip || !lport) {
    /* no original client: the connection speaks for itself */
    info->command = S6NET_PROXY_CMD_LOCAL;
    return 0;
  }
  if (s6net_ip46_scan(rip, &r) < 0 || s6net_ip46_scan(lip, &l) < 0
      || s6net_scan_port(rport, &rp) < 0 || s6net_scan_port(lport, &lp) < 0) {
    errno = EINVAL;
    return -1;
  }
  /* one header has one family: mix v4 and v6 through v4-mapped */
  if (r.is6 != l.is6) {
    s6net_ip46 *v4 = r.is6 ? &l : &r;
    memmove(v4->ip + 12, v4->ip, 4);
    memset(v4->ip, 0, 10);
    v4->ip[10] = v4->ip[11] = 0xff;
    v4->is6 = 1;
  }
  s6net_proxy_info_tcp(info, r.is6, r.ip, rp, l.ip, lp);
  str_from_env(&info->authority, envp, "SSL_TLS_SNI_SERVERNAME");
  str_from_env(&info->ssl_version, envp, "SSL_PROTOCOL");
  str_from_env(&info->ssl_cipher, envp, "SSL_CIPHER");
  str_from_env(&info->ssl_cn, envp, "SSL_PEER_CERT_CN");
  if (info->ssl_version.s) {
    info->has_ssl = 1;
    info->ssl_client = S6NET_PROXY_SSL_CLIENT_SSL | (info->ssl_cn.s ? S6NET_PROXY_SSL_CLIENT_CERT_CONN : 0);
  }
  return 1;
}

int s6net_proxy_send(int fd, unsigned int version, s6net_proxy_info const *info)
{
  unsigned char buf[2048];
  size_t n = version == 1
    ? s6net_proxy_build_v1((char *)buf, sizeof buf, info)
    : s6net_proxy_build_v2(buf, sizeof buf, info, S6NET_PROXY_BUILD_CRC32C);
  if (!n) { errno = EMSGSIZE; return -1; }
  return s6net_write_all(fd, buf, n);
}
