/* OpenSSL 3 backend of tls.h, one connection: the handshake, the
 * notification of what it negotiated, and the relay between the network
 * and the application. The contexts are made in tls_openssl_ctx.c. */
#include "tls/tls_openssl.h"
#include "tls/tlsopt.h"
#include "core/diag.h"
#include "core/fd.h"
#include "core/deadline.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/rand.h>

struct s6net_tls_conn {
  SSL *ssl;
  int netr, netw;
};

/* ---- after a fork ----------------------------------------------------- */

void s6net_tls_forked(void)
{
  EVP_RAND_CTX *r = RAND_get0_public(NULL);
  if (r) EVP_RAND_reseed(r, 0, NULL, 0, NULL, 0);
  r = RAND_get0_private(NULL);
  if (r) EVP_RAND_reseed(r, 0, NULL, 0, NULL, 0);
  ERR_clear_error();
}

void s6net_tls_spare(s6net_tls_ctx *t)
{
  if (t && !t->spare) t->spare = SSL_new(t->def);
}

/* ---- handshake ------------------------------------------------------ */

static void sock_tune(int fd)
{
  int one = 1;
  /* A handshake flight must not wait for a delayed ACK. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* " (client ip:port)" or " (server ip:port)", inserted after the object
 * of every per-connection message, or "" when the address is unknown. */
static char const *peer(s6net_tls_conf const *c)
{
  static char buf[128];
  if (!c->peer || !*c->peer) return "";
  snprintf(buf, sizeof buf, " (%s %s)", c->server ? "client" : "server", c->peer);
  return buf;
}

/* Acknowledge what the client sent last, now. When the client speaks
 * last (TLS 1.3 without a ticket to send, TLS 1.2 resumption), nothing
 * of ours would carry the ACK of its Finished: a client that leaves
 * Nagle on then holds its first request back until our delayed-ACK timer
 * fires (about 40 ms on Linux). Setting TCP_QUICKACK sends an ACK that
 * is pending at once (it is not sticky: the kernel may go back to
 * delaying later ones, which is fine once the request is flowing). */
static void ack_now(int fd)
{
#ifdef TCP_QUICKACK
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
  (void)fd;
#endif
}

static char const *hs_reason(SSL *ssl, int r, int e)
{
  static char buf[300];
  long v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK && ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    snprintf(buf, sizeof buf, "certificate verification failed: %s", X509_verify_cert_error_string(v));
    return buf;
  }
  if (e == SSL_ERROR_SYSCALL && !ERR_peek_last_error())
    return r == 0 || !errno ? "connection closed by peer" : strerror(errno);
  if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
    return "connection closed by peer";
  if (!ERR_peek_last_error()) {
    if (e == SSL_ERROR_ZERO_RETURN) return "connection closed by peer";
    snprintf(buf, sizeof buf, "TLS error %d", e);
    return buf;
  }
  return s6net_tls_ossl_reason();
}

int s6net_tls_handshake(s6net_tls_ctx *t, s6net_tls_conf const *c, int netr, int netw, s6net_tls_conn **out)
{
  static s6net_tls_conn conn;
  SSL *ssl = t->spare ? t->spare : SSL_new(t->def);
  t->spare = NULL;
  if (!ssl) { s6net_warn("unable to create TLS session%s: %s", peer(c), s6net_tls_ossl_reason()); return S6NET_TLS_EXIT_SETUP; }
  int r = S6NET_TLS_EXIT_SETUP;
  if (!SSL_set_rfd(ssl, netr) || !SSL_set_wfd(ssl, netw)) {
    s6net_warn("unable to attach TLS session%s: %s", peer(c), s6net_tls_ossl_reason());
    goto fail;
  }
  /* Without this OpenSSL answers a bare EOF with a fatal decode_error
   * alert and refuses to send anything more, which would break the
   * half-close that -s/-j promise. With -J the EOF is fatal anyway. */
  if (!c->strict) SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (s6net_fd_nonblock(netr) < 0 || s6net_fd_nonblock(netw) < 0) {
    s6net_warnsys("unable to set network fds non-blocking%s", peer(c));
    r = 111;
    goto fail;
  }
  sock_tune(netr);
  if (netw != netr) sock_tune(netw);
  if (!c->server && c->servername && *c->servername) {
    unsigned char ip[16];
    int isip = inet_pton(AF_INET, c->servername, ip) == 1 || inet_pton(AF_INET6, c->servername, ip) == 1;
    /* RFC 6066: an address is never sent as SNI, but it is still checked. */
    if (!isip && !SSL_set_tlsext_host_name(ssl, c->servername)) {
      s6net_warn("unable to set server name%s: %s", peer(c), s6net_tls_ossl_reason());
      goto fail;
    }
    if (!c->noverify) {
      int ok = isip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), c->servername)
                    : SSL_set1_host(ssl, c->servername);
      if (!ok) { s6net_warn("unable to set name to verify%s: %s", peer(c), s6net_tls_ossl_reason()); goto fail; }
    }
  }
  s6net_deadline dl = s6net_deadline_in(c->kimeout);
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int h = c->server ? SSL_accept(ssl) : SSL_connect(ssl);
    if (h == 1) break;
    int e = SSL_get_error(ssl, h);
    struct pollfd p;
    if (e == SSL_ERROR_WANT_READ) { p.fd = netr; p.events = POLLIN; }
    else if (e == SSL_ERROR_WANT_WRITE) { p.fd = netw; p.events = POLLOUT; }
    else {
      s6net_warn("unable to perform TLS handshake%s: %s", peer(c), hs_reason(ssl, h, e));
      r = S6NET_TLS_EXIT_RUN;
      goto fail;
    }
    int n = s6net_poll(&p, 1, dl);
    if (n < 0) { s6net_warnsys("unable to poll%s", peer(c)); r = 111; goto fail; }
    if (!n) { s6net_warn("unable to perform TLS handshake%s: timed out after %u ms", peer(c), c->kimeout); r = S6NET_TLS_EXIT_RUN; goto fail; }
  }
  if (c->server) ack_now(netr);
  conn.ssl = ssl;
  conn.netr = netr;
  conn.netw = netw;
  *out = &conn;
  return 0;
 fail:
  /* Callers may go on (STARTTLS engines report, then exit): no session
   * outlives its failure. */
  SSL_free(ssl);
  return r;
}

/* ---- notification --------------------------------------------------- */

static size_t add(char *buf, size_t len, size_t n, char const *k, char const *v, size_t vlen)
{
  size_t kl = strlen(k);
  if (n == (size_t)-1 || n + kl + 1 + vlen + 2 > len) return (size_t)-1;
  memcpy(buf + n, k, kl); n += kl;
  buf[n++] = '=';
  /* A NUL in a value would end it early: the notification is NUL-framed. */
  for (size_t i = 0; i < vlen; i++) buf[n++] = v[i] ? v[i] : '?';
  buf[n++] = 0;
  return n;
}

size_t s6net_tls_info(s6net_tls_conn *conn, s6net_tls_conf const *c, char *buf, size_t len)
{
  SSL *ssl = conn->ssl;
  size_t n = 0;
  char const *s = SSL_get_version(ssl);
  n = add(buf, len, n, "SSL_PROTOCOL", s, strlen(s));
  s = SSL_get_cipher_name(ssl);
  n = add(buf, len, n, "SSL_CIPHER", s, strlen(s));
  s = c->server ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : c->servername;
  if (s && *s) {
    /* The client's SNI is whatever bytes it sent: only a host name goes
     * into the environment (no newlines, escapes or shell syntax). */
    if (!c->server || s6net_tls_hostname_ok(s, strlen(s)))
      n = add(buf, len, n, "SSL_TLS_SNI_SERVERNAME", s, strlen(s));
    else if (c->verbosity >= 2)
      s6net_warn("unable to use the server name (SNI) sent%s: not a valid host name, SSL_TLS_SNI_SERVERNAME left unset", peer(c));
  }
  X509 *peer = SSL_get0_peer_certificate(ssl);
  if (peer) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (X509_digest(peer, EVP_sha256(), md, &mdlen)) {
      char hex[7 + 2 * EVP_MAX_MD_SIZE + 1] = "SHA256:";
      static char const digits[] = "0123456789abcdef";
      for (unsigned int i = 0; i < mdlen; i++) {
        hex[7 + 2 * i] = digits[md[i] >> 4];
        hex[8 + 2 * i] = digits[md[i] & 15];
      }
      n = add(buf, len, n, "SSL_PEER_CERT_HASH", hex, 7 + 2 * (size_t)mdlen);
    }
    BIO *b = BIO_new(BIO_s_mem());
    if (b) {
      if (X509_NAME_print_ex(b, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        char *p;
        long l = BIO_get_mem_data(b, &p);
        if (l > 0) n = add(buf, len, n, "SSL_PEER_CERT_SUBJECT", p, (size_t)l);
      }
      BIO_free(b);
    }
  }
  unsigned char const *ap;
  unsigned int al = 0;
  SSL_get0_alpn_selected(ssl, &ap, &al);
  if (al) n = add(buf, len, n, "SSL_ALPN", (char const *)ap, al);
  if (n == (size_t)-1 || n + 1 > len) return 0;
  buf[n++] = 0;
  return n;
}

int s6net_tls_notify(s6net_tls_conn *conn, s6net_tls_conf const *c, int fd)
{
  char buf[4096];
  size_t n = s6net_tls_info(conn, c, buf, sizeof buf);
  if (!n) { errno = ENOBUFS; return -1; }
  return s6net_write_all(fd, buf, n);
}

/* ---- relay ---------------------------------------------------------- */

static int net_shut_write(int fd)
{
  if (shutdown(fd, SHUT_WR) == 0) return 0;
  if (errno == ENOTSOCK) return close(fd);
  return errno == ENOTCONN ? 0 : -1;
}

/* Classify a failed SSL_read: 1 clean close_notify, 2 EOF without it,
 * 0 retry (want set), -1 error. */
static int read_status(SSL *ssl, int r, short *wr, short *ww)
{
  int e = SSL_get_error(ssl, r);
  switch (e) {
    case SSL_ERROR_ZERO_RETURN: return 1;
    case SSL_ERROR_WANT_READ: *wr = 1; return 0;
    case SSL_ERROR_WANT_WRITE: *ww = 1; return 0;
    case SSL_ERROR_SYSCALL:
      if (!ERR_peek_error() && (r == 0 || errno == 0)) return 2;
      return -1;
    case SSL_ERROR_SSL:
      if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) return 2;
      return -1;
    default: return -1;
  }
}

int s6net_tls_relay(s6net_tls_conn *conn, s6net_tls_conf const *c, int appr, int appw)
{
  static unsigned char ob[65536], ib[65536];
  static char rfail[512];     /* net -> app failed: the line to report once delivered, or "" */
  SSL *ssl = conn->ssl;
  size_t ooff = 0, olen = 0, ioff = 0, ilen = 0;
  int a_eof = 0, a_shut = 0;  /* app -> net: app sent EOF; we passed it on */
  int n_eof = 0;              /* net -> app: peer finished */
  int closing = 0;            /* -S: close_notify sent, waiting for the peer's */
  rfail[0] = 0;
  signal(SIGPIPE, SIG_IGN);
  if (s6net_fd_nonblock(appr) < 0 || s6net_fd_nonblock(appw) < 0) {
    s6net_warnsys("unable to set local fds non-blocking%s", peer(c));
    return 111;
  }
  for (;;) {
    int progress = 0;
    short wnr = 0, wnw = 0, war = 0, waw = 0;

    if (closing) {
      ERR_clear_error();
      errno = 0;
      int r = SSL_shutdown(ssl);
      if (r == 1) return 0;
      int st = read_status(ssl, r, &wnr, &wnw);
      if (st == 1) return 0;
      if (st == 2 || st < 0) {
        if (st == 2 && !c->strict) return 0;
        if (st == 2) { s6net_warn("peer closed the connection without close_notify%s", peer(c)); return S6NET_TLS_EXIT_RUN; }
        /* A peer that answers our close_notify with a reset is done too. */
        if (!ERR_peek_error() && (errno == ECONNRESET || errno == EPIPE) && !c->strict) return 0;
        s6net_warn("unable to shut down TLS%s: %s", peer(c), s6net_tls_ossl_reason());
        return S6NET_TLS_EXIT_RUN;
      }
      goto wait;
    }

    /* app -> net */
    if (!a_eof && !olen) {
      ssize_t r = read(appr, ob, sizeof ob);
      if (r > 0) { olen = (size_t)r; ooff = 0; progress = 1; }
      else if (!r) { a_eof = 1; progress = 1; }
      else if (errno == EAGAIN) war = 1;
      else if (errno == EINTR) progress = 1;
      else { s6net_warnsys("unable to read from local application%s", peer(c)); return 111; }
    }
    if (olen) {
      ERR_clear_error();
      errno = 0;
      int r = SSL_write(ssl, ob + ooff, (int)olen);
      if (r > 0) { ooff += (size_t)r; olen -= (size_t)r; progress = 1; }
      else {
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ) wnr = 1;
        else if (e == SSL_ERROR_WANT_WRITE) wnw = 1;
        else {
          /* With nothing in OpenSSL's queue, the reason is the system's
           * (a peer that reset or left: EPIPE, ECONNRESET), whatever
           * SSL_get_error calls it (ZERO_RETURN once the peer's EOF was
           * seen). */
          if (!ERR_peek_error() && errno) s6net_warnsys("unable to write to peer%s", peer(c));
          else if (!ERR_peek_error()) s6net_warn("unable to write to peer%s: the peer closed the connection", peer(c));
          else s6net_warn("unable to write to peer%s: %s", peer(c), s6net_tls_ossl_reason());
          return S6NET_TLS_EXIT_RUN;
        }
      }
    }
    if (a_eof && !olen && !a_shut) {
      a_shut = 1;
      progress = 1;
      if (c->closenotify) {
        /* From now on incoming records are discarded (RFC 8446 6.1). */
        closing = 1;
        if (appw >= 0) { close(appw); appw = -1; }
        continue;
      }
      if (net_shut_write(conn->netw) < 0 && errno != EPIPE && errno != ECONNRESET) {
        s6net_warnsys("unable to shut down the network connection for writing%s", peer(c));
        return 111;
      }
    }

    /* net -> app: every record already received (read-ahead brings
     * several per system call), up to a full buffer, then one write to
     * the application. A failure met after some records were gathered
     * is reported once they are delivered, as if met on the next read. */
    if (!n_eof && !ilen && !*rfail) {
      ioff = 0;
      for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_read(ssl, ib + ilen, (int)(sizeof ib - ilen));
        if (r > 0) {
          ilen += (size_t)r;
          progress = 1;
          if (ilen < sizeof ib && SSL_has_pending(ssl)) continue;
          break;
        }
        int st = read_status(ssl, r, &wnr, &wnw);
        if (st == 1) { n_eof = 1; progress = 1; }
        else if (st == 2) {
          if (c->strict) snprintf(rfail, sizeof rfail, "peer closed the connection without close_notify%s", peer(c));
          else { n_eof = 1; progress = 1; }
        } else if (st < 0 && a_shut && !c->strict) {
          /* We ended our side without close_notify (-s); many peers answer
           * that with an alert or a reset. The exchange is over either way. */
          n_eof = 1; progress = 1;
        } else if (st < 0) {
          snprintf(rfail, sizeof rfail, "unable to read from peer%s: %s", peer(c),
                   ERR_peek_error() ? s6net_tls_ossl_reason() : strerror(errno ? errno : EIO));
        }
        if (*rfail) progress = 1;
        break;
      }
    }
    if (ilen) {
      ssize_t w = appw >= 0 ? write(appw, ib + ioff, ilen) : (ssize_t)ilen;
      if (w > 0) { ioff += (size_t)w; ilen -= (size_t)w; progress = 1; }
      else if (w < 0 && errno == EAGAIN) waw = 1;
      else if (w < 0 && errno == EINTR) progress = 1;
      else if (w < 0 && errno == EPIPE) {
        /* The application stopped reading: drop what it will never see. */
        close(appw); appw = -1; ilen = 0; progress = 1;
      } else { s6net_warnsys("unable to write to local application%s", peer(c)); return 111; }
    }
    if (*rfail && !ilen) {
      s6net_warn("%s", rfail);
      return S6NET_TLS_EXIT_RUN;
    }
    if (n_eof && !ilen && appw >= 0) { close(appw); appw = -1; progress = 1; }
    if (n_eof && !ilen && a_shut) return 0;
    if (progress) continue;

  wait:
    {
      struct pollfd p[4];
      nfds_t n = 0;
      if (wnr) p[n++] = (struct pollfd){ .fd = conn->netr, .events = POLLIN };
      if (wnw) p[n++] = (struct pollfd){ .fd = conn->netw, .events = POLLOUT };
      if (war) p[n++] = (struct pollfd){ .fd = appr, .events = POLLIN };
      if (waw) p[n++] = (struct pollfd){ .fd = appw, .events = POLLOUT };
      if (!n) { s6net_warn("internal error%s: relay has nothing to wait for", peer(c)); return 111; }
      if (s6net_poll(p, n, S6NET_DEADLINE_NEVER) < 0) { s6net_warnsys("unable to poll%s", peer(c)); return 111; }
    }
  }
}

int s6net_tls_session(s6net_tls_ctx *t, s6net_tls_conf const *c, int const fds[4], int notif)
{
  s6net_tls_conn *conn;
  int r = s6net_tls_handshake(t, c, fds[2], fds[3], &conn);
  if (r) return r;
  if (notif >= 0) {
    if (s6net_tls_notify(conn, c, notif) < 0) { s6net_warnsys("unable to write handshake notification%s", peer(c)); return 111; }
    close(notif);
  }
  r = s6net_tls_relay(conn, c, fds[0], fds[1]);
  s6net_tls_conn_free(conn);
  return r;
}

void s6net_tls_conn_free(s6net_tls_conn *conn)
{
  if (conn->ssl) SSL_free(conn->ssl);
  conn->ssl = 0;
}

int s6net_tls_engine_once(s6net_tls_conf *c, int const fds[4], int notif, char const *const *envp)
{
  char peer[80];
  c->peer = s6net_tls_peer_fmt(peer, sizeof peer, envp);
  s6net_tls_ctx *ctx = s6net_tls_ctx_new(c, envp);
  s6net_tls_drop(envp);
  int r = s6net_tls_session(ctx, c, fds, notif);
  s6net_tls_ctx_free(ctx);
  c->peer = 0;
  return r;
}
