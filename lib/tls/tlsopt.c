#include "tls/tlsopt.h"

#include "tls/tls.h"
#include "core/diag.h"
#include "core/env.h"

#include <stdio.h>
#include <string.h>

void s6net_tls_conf_init(s6net_tls_conf *c, int server)
{
  memset(c, 0, sizeof *c);
  c->server = !!server;
  c->verbosity = 1;
}

int s6net_tls_is_keyvar(char const *e)
{
  static char const *const exact[] = { "KEYFILE", "CERTFILE", "CAFILE", "CADIR", "TLS_UID", "TLS_GID", 0 };
  size_t n = strcspn(e, "=");
  for (char const *const *p = exact; *p; p++)
    if (strlen(*p) == n && !strncmp(*p, e, n)) return 1;
  if (n > 8 && !strncmp(e, "KEYFILE:", 8)) return 1;
  if (n > 9 && !strncmp(e, "CERTFILE:", 9)) return 1;
  return 0;
}

char const *const s6net_tls_infovars[] = {
  "SSL_PROTOCOL", "SSL_CIPHER", "SSL_TLS_SNI_SERVERNAME", "SSL_PEER_CERT_HASH",
  "SSL_PEER_CERT_SUBJECT", "SSL_ALPN", 0
};

long s6net_tls_notif_scan(char const *buf, size_t len, size_t max)
{
  size_t i = 0;
  for (;;) {
    if (i >= max) return -1;
    if (i >= len) return 0;
    if (!buf[i]) return (long)i + 1;
    char const *end = memchr(buf + i, 0, len - i);
    size_t elen = end ? (size_t)(end - (buf + i)) : len - i;
    char const *eq = memchr(buf + i, '=', elen);
    if (eq == buf + i) return -1;
    if (!end) return i + elen >= max ? -1 : 0;
    if (!eq) return -1;
    i += elen + 1;
  }
}

long s6net_tls_alpn_wire(unsigned char *out, size_t cap, char const *list)
{
  size_t n = 0;
  if (!*list) return -1;
  for (;;) {
    char const *end = strchr(list, ',');
    size_t l = end ? (size_t)(end - list) : strlen(list);
    if (!l || l > 255 || n + 1 + l > cap) return -1;
    out[n++] = (unsigned char)l;
    memcpy(out + n, list, l);
    n += l;
    if (!end) break;
    list = end + 1;
  }
  return (long)n;
}

void s6net_tls_ids_check(char const *const *envp)
{
  if (s6net_env_get(envp, "TLS_UID") && !s6net_env_get(envp, "TLS_GID"))
    s6net_die(100, "TLS_UID is set but TLS_GID is not");
}

int s6net_tls_hostname_ok(char const *s, size_t len)
{
  if (!len || len > 253) return 0;
  size_t label = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '.') {
      if (!label || s[i - 1] == '-') return 0;
      label = 0;
      continue;
    }
    int ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ldh || (c == '-' && !label) || ++label > 63) return 0;
  }
  return label && s[len - 1] != '-';
}

char const *s6net_tls_peer_fmt(char *buf, size_t len, char const *const *envp)
{
  char const *proto = s6net_env_get(envp, "PROTO");
  char name[64];
  if (!proto || !*proto || strlen(proto) > 32) proto = "TCP";
  snprintf(name, sizeof name, "%sREMOTEIP", proto);
  char const *ip = s6net_env_get(envp, name);
  if (!ip || !*ip) return 0;
  snprintf(name, sizeof name, "%sREMOTEPORT", proto);
  char const *port = s6net_env_get(envp, name);
  int six = !!strchr(ip, ':');
  int n = port && *port ? snprintf(buf, len, six ? "[%s]:%s" : "%s:%s", ip, port) : snprintf(buf, len, "%s", ip);
  if (n < 0 || (size_t)n >= len) return 0;
  return buf;
}

int s6net_tls_sni_ext_name(unsigned char const *p, size_t len, char const **name, size_t *nlen)
{
  if (len < 2) return -1;
  size_t list = (size_t)p[0] << 8 | p[1];
  if (list != len - 2) return -1;
  p += 2;
  len -= 2;
  while (len >= 3) {
    unsigned int type = p[0];
    size_t l = (size_t)p[1] << 8 | p[2];
    if (l > len - 3) return -1;
    if (type == 0) {
      *name = (char const *)p + 3;
      *nlen = l;
      return 0;
    }
    p += 3 + l;
    len -= 3 + l;
  }
  return -1;
}
