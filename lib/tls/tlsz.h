/* The zygote protocol: how s6-tlsd hands a connection to the long-lived,
 * pre-initialised engine started by s6-tlsserver (s6-tlsd-io -X).
 *
 * Transport: a SOCK_SEQPACKET UNIX socket in the abstract namespace whose
 * name is in $S6NET_TLSD_ZYGOTE. One request per connection:
 *   "s6tz" version(1) closenotify(1) strict(1) 0(1) kimeout(4, BE)
 *   verbosity(4, BE) fplen(4, BE) fingerprint(fplen)
 * with four fds in SCM_RIGHTS: network read, network write, cleartext
 * read, cleartext write (the engine's view). The fingerprint names
 * everything the zygote's TLS context depends on (the key and trust
 * variables, -Y/-y, -k, -a); a mismatch means "not mine".
 * Reply, on the same socket: '?' = refused (caller runs its own engine);
 * '!' code = the handshake failed with that exit code; anything else is
 * the handshake notification block (tlsopt.h). */
#ifndef S6NET_TLS_TLSZ_H
#define S6NET_TLS_TLSZ_H

#include <stddef.h>
#include <stdint.h>
#include "tls/tls.h"

#define S6NET_TLSZ_ENV "S6NET_TLSD_ZYGOTE"
#define S6NET_TLSZ_HDR 24
#define S6NET_TLSZ_FPMAX 16384

typedef struct {
  unsigned char closenotify, strict;
  uint32_t kimeout, verbosity;
} s6net_tlsz_req;

/* "k=<snilevel>\0y=<cert>\0a=<alpn>\0" then the key variables, sorted.
 * Returns the length, or 0 if it does not fit. */
size_t s6net_tlsz_fingerprint(char *buf, size_t cap, unsigned int clientcert, unsigned int snilevel,
                              char const *alpn, char const *const *envp);

/* Pure: encode / decode the fixed header. decode returns the fingerprint
 * length, or -1 if the header is not ours. */
void s6net_tlsz_hdr_encode(unsigned char out[S6NET_TLSZ_HDR], s6net_tlsz_req const *r, uint32_t fplen);
long s6net_tlsz_hdr_decode(unsigned char const *in, size_t len, s6net_tlsz_req *r);

/* Client side: connect and send. Returns the connected socket, or -1. */
int s6net_tlsz_request(char const *name, int const fds[4], s6net_tlsz_req const *r,
                       char const *fp, size_t fplen);

/* Server side (links the TLS backend): load the context, listen, keep
 * `pool` pre-forked workers waiting, tell readyfd (one byte, then close)
 * and serve forever. Exits 96/97/100 like
 * the engine if the context cannot be built, 111 on system errors. */
int s6net_tlsz_serve(char const *name, s6net_tls_conf *conf, char const *const *envp, int readyfd, unsigned int pool);

/* sockaddr for an abstract name; returns its length or 0 if too long. */
#include <sys/socket.h>
#include <sys/un.h>
socklen_t s6net_tlsz_addr(struct sockaddr_un *sa, char const *name);

#endif
