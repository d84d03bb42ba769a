/* The zygote protocol: how s6-tlsd hands a connection to the long-lived,
 * pre-initialised engine started by s6-tlsserver (s6-tlsd-io -X fd).
 *
 * Rendezvous: s6-tlsserver makes a SOCK_SEQPACKET socketpair; one end
 * goes to the zygote, the other is inherited down the chain and its
 * number is in $S6NET_TLSD_ZYGOTE. There is no name anyone could bind or
 * connect to. s6-tlsd marks that fd close-on-exec at once (neither the
 * fallback engine nor the application ever holds it) and checks it
 * before sending anything: a UNIX SOCK_SEQPACKET socket whose peer is
 * root or our own euid.
 *
 * One request per connection, one datagram on the shared socket:
 *   "s6tz" version(1)=2 closenotify(1) strict(1) peerlen(1)
 *   kimeout(4) verbosity(4) fplen(4) digest(8) 0(4)      (BE, 32 bytes)
 *   fingerprint(fplen) peer(peerlen)
 * with five fds in SCM_RIGHTS: network read, network write, cleartext
 * read, cleartext write (the engine's view), and the reply fd.
 * The fingerprint names everything the zygote's TLS context depends on
 * (the key and trust variables, -Y/-y, -k, -a); a mismatch means "not
 * mine". The digest summarises a stat() of every file those variables
 * name: a zygote whose keys are older reloads them first (renewal).
 * The peer ("ip:port", printable ASCII) is for diagnostics.
 *
 * Replies, datagrams on the reply fd (one SOCK_SEQPACKET socketpair per
 * request, so no process can answer for another connection):
 *   '?'             refused, nothing was touched: run a fresh engine;
 *   'T'             a worker took the connection; then either
 *   '!' code        the handshake failed with that exit code, or
 *   the handshake notification block (tlsopt.h).
 * EOF before 'T': the worker died before touching the connection (the
 * sender still holds its fds: run a fresh engine). EOF after 'T': the
 * engine died during the handshake. */
#ifndef S6NET_TLS_TLS_ZYGOTE_MSG_H
#define S6NET_TLS_TLS_ZYGOTE_MSG_H

#include <stddef.h>
#include <stdint.h>
#include "tls/tls.h"

#define S6NET_TLSZ_ENV "S6NET_TLSD_ZYGOTE"
#define S6NET_TLSZ_VERSION 2
#define S6NET_TLSZ_HDR 32
#define S6NET_TLSZ_FPMAX 16384
#define S6NET_TLSZ_PEERMAX 96
#define S6NET_TLSZ_REQMAX (S6NET_TLSZ_HDR + S6NET_TLSZ_FPMAX + S6NET_TLSZ_PEERMAX)
#define S6NET_TLSZ_NFDS 5

typedef struct {
  unsigned char closenotify, strict;
  uint32_t kimeout, verbosity;
  uint64_t digest;   /* s6net_tlsz_digest of the fingerprint's files */
  uint32_t fplen;    /* fingerprint length */
  uint32_t peerlen;  /* peer string length */
} s6net_tlsz_req;

/* "k=<snilevel>\0y=<cert>\0a=<alpn>\0" then the key variables, sorted.
 * Returns the length, or 0 if it does not fit. */
size_t s6net_tlsz_fingerprint(char *buf, size_t cap, unsigned int clientcert, unsigned int snilevel,
                              char const *alpn, char const *const *envp);

/* Pure: encode the fixed header (from r, fplen and peerlen included);
 * decode a whole request datagram of len bytes: 0 if it is a well-formed
 * request (header, then exactly fplen + peerlen bytes, a printable peer),
 * -1 if not. */
void s6net_tlsz_hdr_encode(unsigned char out[S6NET_TLSZ_HDR], s6net_tlsz_req const *r);
int s6net_tlsz_hdr_decode(unsigned char const *in, size_t len, s6net_tlsz_req *r);

/* Is this fingerprint entry ("NAME=value") one that names a file or
 * directory the context is built from (KEYFILE, CERTFILE, KEYFILE:x,
 * CERTFILE:x, CAFILE, CADIR)? */
int s6net_tlsz_is_filevar(char const *entry, size_t len);

/* Pure: fold one stat result into a digest. w: the entry's index, then
 * errno (0 if the stat worked), st_dev, st_ino, st_size, st_mtim (s, ns),
 * st_ctim (s, ns). */
#define S6NET_TLSZ_STATWORDS 9
uint64_t s6net_tlsz_digest_mix(uint64_t h, uint64_t const w[S6NET_TLSZ_STATWORDS]);

/* stat() (following symlinks) every file a fingerprint names and digest
 * the results, failures included. For CADIR, the directory itself. */
uint64_t s6net_tlsz_digest(char const *fp, size_t fplen);

/* One datagram with fds (0 to 8 of them) on a SOCK_SEQPACKET socket.
 * 0, or -1 with errno set. Never raises SIGPIPE. */
int s6net_tlsz_sendfds(int s, void const *buf, size_t len, int const *fds, unsigned int nfds);

/* Receive one datagram and up to maxfds fds (close-on-exec); fds beyond
 * maxfds are closed. flags as recvmsg (e.g. MSG_DONTWAIT). Returns the
 * length, or -1 with errno (EMSGSIZE if the datagram or its fds were
 * truncated, all received fds then closed; EINTR if a signal came first,
 * nothing received); *nfds is set either way. */
long s6net_tlsz_recvfds(int s, void *buf, size_t cap, int *fds, unsigned int maxfds, unsigned int *nfds, int flags);

/* Client side check of the inherited fd: 1 if it is a UNIX
 * SOCK_SEQPACKET socket whose peer runs as root or as our euid, else 0. */
int s6net_tlsz_check(int fd);

/* Server side (links the TLS backend): load the context, keep `pool`
 * pre-forked workers reading requests on zfd, tell readyfd (one byte,
 * then close) and serve until the parent dies. tickets: the -T period.
 * Exits 96/97/100 like the engine if the context cannot be built at
 * start, 111 on system errors. */
int s6net_tlsz_serve(int zfd, s6net_tls_conf *conf, char const *const *envp, int readyfd, unsigned int pool,
                     unsigned int tickets);

#endif
