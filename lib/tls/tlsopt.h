/* Helpers shared by the TLS programs that do not link the crypto backend:
 * option scanning, the key-variable list, and the handshake notification
 * parser. Pure functions except where noted. */
#ifndef S6NET_TLS_TLSOPT_H
#define S6NET_TLS_TLSOPT_H

#include <stddef.h>

/* s6net_sgetopt, used by every TLS program, lives with the other
 * programs' option parser. */
#include "core/opt.h"

/* Is this "NAME=value" (or "NAME") one of the variables the engines read
 * for keys and trust (KEYFILE, CERTFILE, CAFILE, CADIR, KEYFILE:x,
 * CERTFILE:x, TLS_UID, TLS_GID)? */
int s6net_tls_is_keyvar(char const *entry);

/* Before any key is loaded: TLS_UID without TLS_GID would leave the engine
 * in group 0 (and root's supplementary groups), so it is refused. Dies
 * with exit 100 and one line; returns otherwise. */
void s6net_tls_ids_check(char const *const *envp);

/* The handshake notification: "KEY=value\0" ... "\0". Returns the length
 * of a complete block (including the final NUL), 0 if more bytes are
 * needed, -1 if the bytes cannot be a notification (an entry without '=',
 * an empty name, or more than max bytes). */
long s6net_tls_notif_scan(char const *buf, size_t len, size_t max);

/* Variables a notification may set; the wrappers unset them all before
 * applying one, so a stale value never reaches the application. */
extern char const *const s6net_tls_infovars[];

/* ALPN list "a,b,c" to wire format (length-prefixed). Returns the wire
 * length, or -1 if the list is empty, has an empty or >255-byte element,
 * or does not fit in cap. */
long s6net_tls_alpn_wire(unsigned char *out, size_t cap, char const *list);

/* The other end of the connection, for messages: "ip:port" ("[ip]:port"
 * for IPv6) from ${PROTO}REMOTEIP and ${PROTO}REMOTEPORT (PROTO defaults
 * to TCP), or just the ip. Writes into buf (NUL-terminated) and returns
 * buf, or NULL if the environment has no remote address or it does not
 * fit. Pure. */
char const *s6net_tls_peer_fmt(char *buf, size_t len, char const *const *envp);

/* The host name in the body of a ClientHello server_name extension
 * (RFC 6066: a 2-byte list length, then entries of a type byte and a
 * 2-byte length). Sets *name and *nlen to the first host_name entry and
 * returns 0; -1 if the body is malformed or holds no host_name. Pure. */
int s6net_tls_sni_ext_name(unsigned char const *p, size_t len, char const **name, size_t *nlen);

/* Is s[0..len) a host name fit for SSL_TLS_SNI_SERVERNAME: dot-separated
 * labels of letters, digits and inner hyphens (LDH), each 1 to 63 bytes,
 * 253 bytes at most in all, no trailing dot, nothing else (no NUL, no
 * control or 8-bit byte)? 1 if so, else 0. */
int s6net_tls_hostname_ok(char const *s, size_t len);

#endif
