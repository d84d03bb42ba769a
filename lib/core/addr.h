/* IPv4/IPv6 addresses: strict parsing, RFC 5952 canonical printing and
 * sockaddr conversion. All pure functions. */
#ifndef S6NET_CORE_ADDR_H
#define S6NET_CORE_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define S6NET_IP4_FMTLEN 16   /* "255.255.255.255" + NUL */
#define S6NET_IP6_FMTLEN 46   /* longest textual IPv6 + NUL */
#define S6NET_IP46_FMTLEN 46

/* Also defined, identically and under the same guard, by public headers
 * that need it (include/s6net/ident.h). */
#ifndef S6NET_IP46_DEFINED
#define S6NET_IP46_DEFINED
typedef struct s6net_ip46_s {
  unsigned char ip[16]; /* IPv4 uses the first 4 bytes */
  unsigned char is6;
} s6net_ip46;
#endif

/* Whole-string parsers: 0 on success, -1 (errno EINVAL) on bad input. */
int s6net_ip4_scan(char const *s, unsigned char ip[4]);
int s6net_ip6_scan(char const *s, unsigned char ip[16]);
/* IPv4 if it parses as such, else IPv6. */
int s6net_ip46_scan(char const *s, s6net_ip46 *out);

/* Formatting: NUL-terminated, returns the length without the NUL. */
size_t s6net_ip4_fmt(char *buf, unsigned char const ip[4]);
size_t s6net_ip6_fmt(char *buf, unsigned char const ip[16]);
size_t s6net_ip46_fmt(char *buf, s6net_ip46 const *a);

/* ::ffff:a.b.c.d ? */
int s6net_ip6_is_v4mapped(unsigned char const ip[16]);
/* Apply a prefix mask of the given length (bits) in place. */
void s6net_ip_mask(unsigned char *ip, unsigned int len, unsigned int bits);

/* Build a sockaddr_in/sockaddr_in6; returns its length. */
socklen_t s6net_sockaddr_make(struct sockaddr_storage *ss, s6net_ip46 const *a, uint16_t port);
/* Extract address and port; IPv4-mapped IPv6 comes back as plain IPv4.
 * 0 on success, -1 (EAFNOSUPPORT) for other families. */
int s6net_sockaddr_get(struct sockaddr const *sa, socklen_t len, s6net_ip46 *a, uint16_t *port);

#endif
