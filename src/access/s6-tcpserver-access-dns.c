/* s6-tcpserver-access-dns: s6-tcpserver-access with its DNS (c-ares) and
 * IDENT lookups. s6-tcpserver-access execs it when the options ask for
 * lookups; it takes the same command line. See access/tcpaccess.h. */
#include "access/tcpaccess.h"
#include "dns/dns.h"
#include <s6net/ident.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* c-ares gives up on its own too; only our -t deadline counts as a
 * timeout (exit 99 with -w), anything else is a resolution error. */
static int map_status(s6net_tcpaccess_lookup const *l, s6net_dns_result const *r)
{
  switch (r->status) {
    case S6NET_DNS_OK: return S6NET_TCPACCESS_OK;
    case S6NET_DNS_NOTFOUND: return S6NET_TCPACCESS_NOTFOUND;
    case S6NET_DNS_TIMEOUT:
    case S6NET_DNS_PENDING:
      return s6net_deadline_passed(l->deadline) ? S6NET_TCPACCESS_TIMEOUT : S6NET_TCPACCESS_FAIL;
    default: return S6NET_TCPACCESS_FAIL;
  }
}

static s6net_dns *resolver(s6net_tcpaccess_lookup *l)
{
  s6net_dns *d;
  if (s6net_dns_init(&d, l->hosts ? S6NET_DNS_HOSTS : 0) < 0) {
    snprintf(l->msg, sizeof l->msg, "unable to initialise the resolver: %s", strerror(errno));
    return 0;
  }
  return d;
}

static void copy_name(char *dst, s6net_dns_result const *r, int *status)
{
  size_t n = strnlen(r->name, sizeof r->name);
  if (*status != S6NET_TCPACCESS_OK) return;
  if (!n || n >= S6NET_TCPACCESS_NAMELEN) {
    *status = S6NET_TCPACCESS_NOTFOUND;
    return;
  }
  memcpy(dst, r->name, n + 1);
}

static void names(s6net_tcpaccess_lookup *l)
{
  static s6net_dns_result rr, lr;
  s6net_dns *d = resolver(l);
  if (!d) {
    l->remote_status = l->local_status = S6NET_TCPACCESS_FAIL;
    return;
  }
  if (l->want_remote) s6net_dns_reverse(d, &rr, &l->remote);
  if (l->want_local) s6net_dns_reverse(d, &lr, &l->local);
  s6net_dns_wait(d, l->deadline);
  if (l->want_remote) {
    l->remote_status = map_status(l, &rr);
    copy_name(l->remotehost, &rr, &l->remote_status);
    if (l->remote_status >= S6NET_TCPACCESS_TIMEOUT)
      snprintf(l->msg, sizeof l->msg, "%s", s6net_dns_strerror(&rr));
  }
  if (l->want_local) {
    l->local_status = map_status(l, &lr);
    copy_name(l->localhost, &lr, &l->local_status);
    if (l->local_status >= S6NET_TCPACCESS_TIMEOUT)
      snprintf(l->msg, sizeof l->msg, "%s", s6net_dns_strerror(&lr));
  }
  s6net_dns_free(d);
}

static int same_ip(s6net_ip46 const *a, s6net_ip46 const *b)
{
  s6net_ip46 x = *a, y = *b;
  if (x.is6 && s6net_ip6_is_v4mapped(x.ip)) { memmove(x.ip, x.ip + 12, 4); x.is6 = 0; }
  if (y.is6 && s6net_ip6_is_v4mapped(y.ip)) { memmove(y.ip, y.ip + 12, 4); y.is6 = 0; }
  return x.is6 == y.is6 && !memcmp(x.ip, y.ip, x.is6 ? 16 : 4);
}

static int confirm(s6net_tcpaccess_lookup *l)
{
  static s6net_dns_result fr;
  s6net_dns *d = resolver(l);
  if (!d) return S6NET_TCPACCESS_FAIL;
  s6net_dns_forward(d, &fr, l->remotehost, S6NET_DNS_BOTH);
  s6net_dns_wait(d, l->deadline);
  int st = map_status(l, &fr);
  if (st >= S6NET_TCPACCESS_TIMEOUT) snprintf(l->msg, sizeof l->msg, "%s", s6net_dns_strerror(&fr));
  s6net_dns_free(d);
  if (st != S6NET_TCPACCESS_OK) return st;
  for (unsigned int i = 0; i < fr.naddr && i < S6NET_DNS_MAXADDR; i++)
    if (same_ip(&fr.addr[i], &l->remote)) return S6NET_TCPACCESS_OK;
  return S6NET_TCPACCESS_NOTFOUND;
}

static int ident(s6net_tcpaccess_lookup *l, char *info, size_t max)
{
  ssize_t r = s6net_ident_client(info, max, &l->remote, l->rport, &l->local, l->lport, l->deadline);
  if (r > 0) return S6NET_TCPACCESS_OK;
  /* No IDENT server at all is an answer of sorts, not an error. */
  if (!r || errno == ECONNREFUSED) return S6NET_TCPACCESS_NOTFOUND;
  if (errno == ETIMEDOUT) return S6NET_TCPACCESS_TIMEOUT;
  snprintf(l->msg, sizeof l->msg, "%s", s6net_ident_error_str(errno));
  return S6NET_TCPACCESS_FAIL;
}

int main(int argc, char **argv)
{
  static s6net_tcpaccess_ops const ops = { .names = &names, .confirm = &confirm, .ident = &ident };
  s6net_tcpaccess_main(argc, argv, &ops);
}
