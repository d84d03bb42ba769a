#include "dns/dns.h"

#include <ares.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/num.h"

struct s6net_dns {
  ares_channel ch;
  struct pollfd *pfd;   /* the sockets c-ares wants watched */
  int *ready;           /* (read fd, write fd) pairs of one poll round:
                           ares_process_fd may reshape pfd meanwhile */
  size_t nfd, maxfd;
  unsigned int pending;
  int cancel_status;    /* status given to lookups cancelled by us */
};

static int lib_refs;

/* c-ares tells us which sockets to watch; keep a pollfd array in step. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
  s6net_dns *d = data;
  size_t i = 0;
  while (i < d->nfd && d->pfd[i].fd != fd) i++;
  if (!readable && !writable) {
    if (i < d->nfd) d->pfd[i] = d->pfd[--d->nfd];
    return;
  }
  if (i == d->nfd) {
    if (d->nfd == d->maxfd) {
      size_t n = d->maxfd ? d->maxfd * 2 : 8;
      int *r = realloc(d->ready, 2 * n * sizeof *r);
      if (!r) return; /* that socket goes unwatched; its query times out */
      d->ready = r;
      struct pollfd *p = realloc(d->pfd, n * sizeof *p);
      if (!p) return;
      d->pfd = p;
      d->maxfd = n;
    }
    d->nfd++;
    d->pfd[i].fd = fd;
  }
  d->pfd[i].events = (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
  d->pfd[i].revents = 0;
}

static int scan_port(char const *s, size_t len, uint16_t *port)
{
  char buf[8];
  if (!len || len >= sizeof buf) return -1;
  memcpy(buf, s, len);
  buf[len] = 0;
  return s6net_scan_port(buf, port) < 0 || !*port ? -1 : 0;
}

/* One entry: "ip4", "ip6", "ip4:port" or "[ip6]:port". */
static int server_scan(char const *s, size_t len, s6net_ip46 *ip, uint16_t *port)
{
  char buf[S6NET_IP46_FMTLEN + 2];
  *port = 53;
  if (s[0] == '[') {
    char const *e = memchr(s, ']', len);
    if (!e || (size_t)(e - s - 1) >= sizeof buf) return -1;
    memcpy(buf, s + 1, (size_t)(e - s - 1));
    buf[e - s - 1] = 0;
    if (s6net_ip6_scan(buf, ip->ip) < 0) return -1;
    ip->is6 = 1;
    size_t rest = len - (size_t)(e - s) - 1;
    if (!rest) return 0;
    if (e[1] != ':') return -1;
    return scan_port(e + 2, rest - 1, port);
  }
  if (len >= sizeof buf) return -1;
  memcpy(buf, s, len);
  buf[len] = 0;
  if (s6net_ip46_scan(buf, ip) == 0) return 0;
  /* "a.b.c.d:port": an IPv6 address with a port needs brackets. */
  char *c = strrchr(buf, ':');
  if (!c || !strchr(buf, '.')) return -1;
  *c = 0;
  if (s6net_ip4_scan(buf, ip->ip) < 0) return -1;
  ip->is6 = 0;
  return scan_port(c + 1, strlen(c + 1), port);
}

int s6net_dns_servers_scan(char const *s, s6net_ip46 *ip, uint16_t *port, unsigned int max)
{
  unsigned int n = 0;
  static char const sep[] = ", \t\r\n";
  if (!s) return 0;
  for (;;) {
    s += strspn(s, sep);
    if (!*s) break;
    size_t len = strcspn(s, sep);
    if (n >= max || server_scan(s, len, ip + n, port + n) < 0) { errno = EINVAL; return -1; }
    n++;
    s += len;
  }
  return (int)n;
}

static int set_servers(s6net_dns *d, char const *list)
{
  s6net_ip46 ip[S6NET_DNS_MAXSERVERS];
  uint16_t port[S6NET_DNS_MAXSERVERS];
  struct ares_addr_port_node node[S6NET_DNS_MAXSERVERS];
  int n = s6net_dns_servers_scan(list, ip, port, S6NET_DNS_MAXSERVERS);
  if (n < 0) return -1;
  if (!n) return 0; /* empty: keep resolv.conf */
  memset(node, 0, sizeof node);
  for (int i = 0; i < n; i++) {
    node[i].next = i + 1 < n ? &node[i + 1] : 0;
    node[i].family = ip[i].is6 ? AF_INET6 : AF_INET;
    if (ip[i].is6) memcpy(&node[i].addr.addr6, ip[i].ip, 16);
    else memcpy(&node[i].addr.addr4, ip[i].ip, 4);
    node[i].udp_port = node[i].tcp_port = port[i];
  }
  if (ares_set_servers_ports(d->ch, node) != ARES_SUCCESS) { errno = ENOMEM; return -1; }
  return 0;
}

int s6net_dns_init_servers(s6net_dns **dp, unsigned int flags, char const *servers)
{
  s6net_ip46 ip[S6NET_DNS_MAXSERVERS];
  uint16_t port[S6NET_DNS_MAXSERVERS];
  /* Check the list before c-ares reads any configuration. */
  if (s6net_dns_servers_scan(servers, ip, port, S6NET_DNS_MAXSERVERS) < 0) return -1;
  if (!lib_refs && ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) { errno = EIO; return -1; }
  lib_refs++;
  s6net_dns *d = calloc(1, sizeof *d);
  if (!d) goto nomem;
  struct ares_options o;
  memset(&o, 0, sizeof o);
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS;
  o.sock_state_cb = sock_state;
  o.sock_state_cb_data = d;
  o.lookups = (flags & S6NET_DNS_HOSTS) ? (char *)"fb" : (char *)"b";
  if (!(flags & S6NET_DNS_QUALIFY)) {
    /* No search list at all: the name is asked as given. */
    o.domains = 0;
    o.ndomains = 0;
    /* ndots 0 too: c-ares 1.18 never asks a dotless name as is when it
     * has no domain to try first. */
    o.ndots = 0;
    mask |= ARES_OPT_DOMAINS | ARES_OPT_NDOTS;
  }
  int r = ares_init_options(&d->ch, &o, mask);
  if (r != ARES_SUCCESS) {
    free(d);
    lib_refs--;
    errno = r == ARES_ENOMEM ? ENOMEM : EIO;
    return -1;
  }
  if (set_servers(d, servers) < 0) {
    int e = errno;
    ares_destroy(d->ch);
    free(d);
    lib_refs--;
    errno = e;
    return -1;
  }
  d->cancel_status = S6NET_DNS_TIMEOUT;
  *dp = d;
  return 0;
nomem:
  lib_refs--;
  errno = ENOMEM;
  return -1;
}

int s6net_dns_init(s6net_dns **d, unsigned int flags)
{
  return s6net_dns_init_servers(d, flags, getenv("DNSCACHEIP"));
}

void s6net_dns_free(s6net_dns *d)
{
  if (!d) return;
  d->cancel_status = S6NET_DNS_TIMEOUT;
  ares_destroy(d->ch); /* calls back every pending lookup */
  free(d->pfd);
  free(d->ready);
  free(d);
  if (lib_refs && !--lib_refs) ares_library_cleanup();
}

static int map_status(s6net_dns *d, int st)
{
  switch (st) {
    case ARES_SUCCESS: return S6NET_DNS_OK;
    case ARES_ENOTFOUND: case ARES_ENODATA: case ARES_ENONAME: return S6NET_DNS_NOTFOUND;
    case ARES_ETIMEOUT: return S6NET_DNS_TIMEOUT;
    case ARES_ECANCELLED: case ARES_EDESTRUCTION: return d->cancel_status;
    default: return S6NET_DNS_FAIL;
  }
}

static void finish(s6net_dns_result *r, int st)
{
  s6net_dns *d = r->owner_;
  r->ares_status = st;
  r->status = map_status(d, st);
  if (d->pending) d->pending--;
}

static int same_ip(s6net_ip46 const *a, s6net_ip46 const *b)
{
  return a->is6 == b->is6 && !memcmp(a->ip, b->ip, a->is6 ? 16 : 4);
}

static void addr_cb(void *arg, int st, int timeouts, struct ares_addrinfo *res)
{
  s6net_dns_result *r = arg;
  (void)timeouts;
  r->naddr = 0;
  if (st == ARES_SUCCESS && res) {
    for (struct ares_addrinfo_node *n = res->nodes; n && r->naddr < S6NET_DNS_MAXADDR; n = n->ai_next) {
      s6net_ip46 a;
      uint16_t port;
      if (s6net_sockaddr_get(n->ai_addr, (socklen_t)n->ai_addrlen, &a, &port) < 0) continue;
      unsigned int i = 0;
      while (i < r->naddr && !same_ip(&r->addr[i], &a)) i++;
      if (i == r->naddr) r->addr[r->naddr++] = a;
    }
    if (!r->naddr) st = ARES_ENODATA;
  }
  if (res) ares_freeaddrinfo(res);
  finish(r, st);
}

static void name_cb(void *arg, int st, int timeouts, struct hostent *h)
{
  s6net_dns_result *r = arg;
  (void)timeouts;
  r->name[0] = 0;
  if (st == ARES_SUCCESS) {
    size_t len = h && h->h_name ? strlen(h->h_name) : 0;
    if (len && h->h_name[len - 1] == '.') len--;
    if (!len) st = ARES_ENODATA;
    else if (len >= sizeof r->name) st = ARES_EBADRESP;
    else {
      memcpy(r->name, h->h_name, len);
      r->name[len] = 0;
    }
  }
  finish(r, st);
}

static void start(s6net_dns *d, s6net_dns_result *r)
{
  memset(r, 0, sizeof *r);
  r->owner_ = d;
  r->status = S6NET_DNS_PENDING;
  d->pending++;
}

int s6net_dns_forward(s6net_dns *d, s6net_dns_result *r, char const *name, unsigned int family)
{
  struct ares_addrinfo_hints h;
  memset(&h, 0, sizeof h);
  if (!name || !*name || strlen(name) >= S6NET_DNS_NAMELEN || !family || (family & ~S6NET_DNS_BOTH)) {
    memset(r, 0, sizeof *r);
    r->status = S6NET_DNS_FAIL;
    r->ares_status = ARES_EBADNAME;
    errno = EINVAL;
    return -1;
  }
  if (!strcasecmp(name, "localhost") || !strcasecmp(name, "localhost.")) {
    /* RFC 6761 6.3: loopback, without asking anyone. c-ares 1.18 fails
     * this name with ECONNREFUSED when /etc/hosts is not consulted. */
    start(d, r);
    if (family & S6NET_DNS_AAAA) { r->addr[r->naddr].is6 = 1; r->addr[r->naddr++].ip[15] = 1; }
    if (family & S6NET_DNS_A) {
      static unsigned char const lo[4] = { 127, 0, 0, 1 };
      memcpy(r->addr[r->naddr++].ip, lo, 4);
    }
    finish(r, ARES_SUCCESS);
    return 0;
  }
  h.ai_family = family == S6NET_DNS_A ? AF_INET : family == S6NET_DNS_AAAA ? AF_INET6 : AF_UNSPEC;
  h.ai_socktype = SOCK_STREAM;
  start(d, r);
  ares_getaddrinfo(d->ch, name, 0, &h, addr_cb, r);
  return 0;
}

int s6net_dns_reverse(s6net_dns *d, s6net_dns_result *r, s6net_ip46 const *ip)
{
  start(d, r);
  if (ip->is6) ares_gethostbyaddr(d->ch, ip->ip, 16, AF_INET6, name_cb, r);
  else ares_gethostbyaddr(d->ch, ip->ip, 4, AF_INET, name_cb, r);
  return 0;
}

static void cancel(s6net_dns *d, int status)
{
  d->cancel_status = status;
  ares_cancel(d->ch);
  d->cancel_status = S6NET_DNS_TIMEOUT;
  d->pending = 0;
}

/* Milliseconds until c-ares wants to retransmit, capped by the deadline. */
static int next_timeout(s6net_dns *d, s6net_deadline deadline)
{
  int ms = s6net_deadline_remaining(deadline);
  struct timeval tv, *t = ares_timeout(d->ch, 0, &tv);
  if (t) {
    long long a = (long long)t->tv_sec * 1000 + (t->tv_usec + 999) / 1000;
    if (a > INT_MAX) a = INT_MAX;
    if (ms < 0 || a < ms) ms = (int)a;
  }
  return ms;
}

int s6net_dns_wait(s6net_dns *d, s6net_deadline deadline)
{
  while (d->pending) {
    if (s6net_deadline_passed(deadline)) {
      cancel(d, S6NET_DNS_TIMEOUT);
      errno = ETIMEDOUT;
      return -1;
    }
    int r = poll(d->pfd, d->nfd, next_timeout(d, deadline));
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      cancel(d, S6NET_DNS_FAIL);
      errno = e;
      return -1;
    }
    if (!r) {
      ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    size_t m = 0;
    for (size_t i = 0; i < d->nfd; i++) {
      struct pollfd const *p = &d->pfd[i];
      if (!p->revents) continue;
      d->ready[m++] = (p->revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) ? p->fd : ARES_SOCKET_BAD;
      d->ready[m++] = (p->events & POLLOUT) && (p->revents & (POLLOUT | POLLERR | POLLHUP)) ? p->fd : ARES_SOCKET_BAD;
    }
    for (size_t i = 0; i < m; i += 2) ares_process_fd(d->ch, d->ready[i], d->ready[i + 1]);
  }
  return 0;
}

char const *s6net_dns_strerror(s6net_dns_result const *r)
{
  switch (r->status) {
    case S6NET_DNS_OK: return "success";
    case S6NET_DNS_PENDING: return "lookup in progress";
    case S6NET_DNS_NOTFOUND:
      return r->ares_status == ARES_ENODATA ? "no address of the requested type" : "no such domain";
    case S6NET_DNS_TIMEOUT: return "timed out";
    default:
      switch (r->ares_status) {
        case ARES_ESERVFAIL: return "server failure";
        case ARES_EREFUSED: return "query refused by the server";
        case ARES_ECONNREFUSED: return "could not contact a DNS server";
        case ARES_EBADNAME: return "malformed domain name";
        case ARES_ENOMEM: return "out of memory";
        case ARES_EBADRESP: return "malformed DNS reply";
        default: return ares_strerror(r->ares_status);
      }
  }
}
