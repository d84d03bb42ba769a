/* Name resolution over c-ares: forward (A, AAAA, both) and reverse (PTR)
 * lookups, several at once, all bounded by one deadline.
 *
 * Usage pattern (no callbacks for the caller):
 *
 *   s6net_dns *d;
 *   s6net_dns_result fwd, rev;
 *   if (s6net_dns_init(&d, S6NET_DNS_HOSTS) < 0) die(...);   // errno set
 *   s6net_dns_forward(d, &fwd, "example.org", S6NET_DNS_BOTH);
 *   s6net_dns_reverse(d, &rev, &ip);
 *   s6net_dns_wait(d, s6net_deadline_in(5000));  // both run in parallel
 *   if (fwd.status == S6NET_DNS_OK) ... fwd.addr[0 .. fwd.naddr-1]
 *   if (rev.status == S6NET_DNS_OK) ... rev.name
 *   s6net_dns_free(d);
 *
 * Several rounds may be made on one resolver (e.g. a reverse lookup, then
 * a forward lookup of the name found, for a "paranoid" check).
 *
 * Nameservers: those of /etc/resolv.conf, unless the DNSCACHEIP
 * environment variable is set and not empty: a list of addresses separated
 * by commas or white space, as the reference suite's resolver accepts.
 * Extension: an entry may carry a port, "1.2.3.4:5353" or "[::1]:5353",
 * so that a test can run its own DNS server on loopback on any port.
 *
 * Not thread-safe; one resolver per thread. Result structures belong to
 * the caller and must stay valid until s6net_dns_wait() or
 * s6net_dns_free() has returned. */
#ifndef S6NET_DNS_DNS_H
#define S6NET_DNS_DNS_H

#include "core/addr.h"
#include "core/deadline.h"

#define S6NET_DNS_MAXADDR 32   /* addresses kept per forward lookup */
#define S6NET_DNS_NAMELEN 256  /* a DNS name (253 max) + NUL */
#define S6NET_DNS_MAXSERVERS 16

/* s6net_dns_init flags */
#define S6NET_DNS_HOSTS   0x1  /* consult /etc/hosts before the DNS */
#define S6NET_DNS_QUALIFY 0x2  /* apply resolv.conf search domains (and
                                  LOCALDOMAIN); default: names are taken
                                  as fully qualified */

/* s6net_dns_forward families */
#define S6NET_DNS_A    1
#define S6NET_DNS_AAAA 2
#define S6NET_DNS_BOTH (S6NET_DNS_A | S6NET_DNS_AAAA)

/* Result status */
enum {
  S6NET_DNS_OK = 0,       /* at least one address / a name */
  S6NET_DNS_PENDING,      /* only seen before s6net_dns_wait() returns */
  S6NET_DNS_NOTFOUND,     /* NXDOMAIN, or no record of the asked type */
  S6NET_DNS_TIMEOUT,      /* the deadline passed, or every server timed out */
  S6NET_DNS_FAIL          /* server failure, refusal, bad name, no memory... */
};

typedef struct s6net_dns s6net_dns;

typedef struct {
  int status;                         /* S6NET_DNS_* */
  int ares_status;                    /* c-ares detail, for messages */
  unsigned int naddr;                 /* forward: number of addresses */
  s6net_ip46 addr[S6NET_DNS_MAXADDR]; /* forward: in preference order
                                         (RFC 6724, as getaddrinfo) */
  char name[S6NET_DNS_NAMELEN];       /* reverse: the name, no final dot */
  s6net_dns *owner_;                  /* private */
} s6net_dns_result;

/* Create a resolver. flags: S6NET_DNS_HOSTS | S6NET_DNS_QUALIFY.
 * Returns 0, or -1 with errno: EINVAL (DNSCACHEIP does not parse),
 * ENOMEM, EIO (c-ares could not initialise, e.g. bad resolv.conf). */
int s6net_dns_init(s6net_dns **d, unsigned int flags);
/* Like s6net_dns_init but with an explicit server list in the DNSCACHEIP
 * syntax (NULL: resolv.conf), ignoring the environment. */
int s6net_dns_init_servers(s6net_dns **d, unsigned int flags, char const *servers);
/* Cancel whatever is pending (results become S6NET_DNS_TIMEOUT) and free. */
void s6net_dns_free(s6net_dns *d);

/* Start a lookup; its result is final when s6net_dns_wait() returns. An
 * IP literal as name yields itself, and "localhost" the loopback
 * addresses (RFC 6761), without a query. Returns 0, or -1 (EINVAL
 * for a bad family or name) with r->status set to S6NET_DNS_FAIL. */
int s6net_dns_forward(s6net_dns *d, s6net_dns_result *r, char const *name, unsigned int family);
int s6net_dns_reverse(s6net_dns *d, s6net_dns_result *r, s6net_ip46 const *ip);

/* Run the started lookups until all are done or the deadline passes
 * (S6NET_DEADLINE_NEVER: c-ares' own timeouts still apply). Returns 0
 * when all completed; -1 ETIMEDOUT when the deadline passed (lookups
 * still running are cancelled: status S6NET_DNS_TIMEOUT); -1 with poll's
 * errno on a system error (lookups cancelled likewise, status FAIL).
 * Either way no lookup is pending afterwards. */
int s6net_dns_wait(s6net_dns *d, s6net_deadline deadline);

/* A short human explanation of a result, for diagnostics, e.g.
 * "no such domain" or "timed out". */
char const *s6net_dns_strerror(s6net_dns_result const *r);

/* Parse a DNSCACHEIP-style server list (pure). Returns the number of
 * servers (0 for an empty list), or -1 EINVAL. port[i] is 53 when not
 * given. */
int s6net_dns_servers_scan(char const *s, s6net_ip46 *ip, uint16_t *port, unsigned int max);

#endif
