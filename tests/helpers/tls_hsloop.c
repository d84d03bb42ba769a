/* TLS load client for the benchmarks.
 *   tls_hsloop -n count host port      sequential: connect, handshake,
 *                                      HTTP/1.0 GET, read to EOF; prints
 *                                      "handshakes/s"
 *     -N                               ... without TCP_NODELAY (Nagle on,
 *                                      as most application clients)
 *     -r                               ... offering the previous
 *                                      connection's session (resumption);
 *                                      also prints how many resumed
 *   tls_hsloop -b bytes host port      bulk: one connection, sends an
 *                                      8-byte length and that many bytes,
 *                                      reads the count back; prints MB/s
 * Certificates are not verified: the cost measured is the server's. */
#include <openssl/ssl.h>
#include <openssl/err.h>

#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int nodelay = 1;

static int dial(char const *host, char const *port)
{
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
  if (getaddrinfo(host, port, &hints, &ai)) return -1;
  int s = socket(ai->ai_family, SOCK_STREAM, 0);
  if (s >= 0 && connect(s, ai->ai_addr, ai->ai_addrlen) < 0) { close(s); s = -1; }
  freeaddrinfo(ai);
  int one = 1;
  if (s >= 0 && nodelay) setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

int main(int argc, char **argv)
{
  long count = 0;
  unsigned long long bytes = 0;
  int opt, resume = 0;
  while ((opt = getopt(argc, argv, "n:b:Nr")) != -1) {
    if (opt == 'n') count = atol(optarg);
    else if (opt == 'b') bytes = strtoull(optarg, 0, 10);
    else if (opt == 'N') nodelay = 0;
    else if (opt == 'r') resume = 1;
    else return 100;
  }
  if (argc - optind != 2 || (!count && !bytes)) {
    fprintf(stderr, "usage: tls_hsloop [ -N ] [ -r ] -n count | -b bytes host port\n");
    return 100;
  }
  char const *host = argv[optind], *port = argv[optind + 1];
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, 0);
  /* With -r the session is kept by hand (SSL_get1_session), no cache.
   * A server that ends with a plain TCP EOF (s6-tlsd's default -s) would
   * otherwise leave the session marked not resumable, as a failure. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  static char buf[1 << 16];
  if (count) {
    int fails = 0;
    long resumed = 0;
    SSL_SESSION *prev = NULL;
    double t0 = now();
    for (long i = 0; i < count; i++) {
      int s = dial(host, port);
      SSL *ssl = SSL_new(ctx);
      SSL_set_fd(ssl, s);
      if (prev) SSL_set_session(ssl, prev);
      if (s < 0 || SSL_connect(ssl) != 1) { fails++; goto next; }
      static char const req[] = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
      if (SSL_write(ssl, req, sizeof req - 1) <= 0) { fails++; goto next; }
      size_t got = 0;
      int r;
      while ((r = SSL_read(ssl, buf, sizeof buf)) > 0) got += (size_t)r;
      if (!memmem(buf, got < sizeof buf ? got : sizeof buf, "ok", 2) && got < 2) fails++;
      if (resume) {
        resumed += SSL_session_reused(ssl);
        /* A session whose connection was not shut down is not resumable. */
        SSL_shutdown(ssl);
        SSL_SESSION_free(prev);
        prev = SSL_get1_session(ssl);
      }
    next:
      SSL_free(ssl);
      if (s >= 0) close(s);
    }
    double dt = now() - t0;
    printf("%.1f handshakes/s (%ld in %.3f s, %d failed, %ld resumed)\n", (double)count / dt, count, dt, fails, resumed);
    SSL_SESSION_free(prev);
    SSL_CTX_free(ctx);
    return fails ? 1 : 0;
  }
  int s = dial(host, port);
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, s);
  if (s < 0 || SSL_connect(ssl) != 1) { fprintf(stderr, "tls_hsloop: connect/handshake failed\n"); return 111; }
  unsigned char h[8];
  for (int i = 0; i < 8; i++) h[i] = (unsigned char)(bytes >> (56 - 8 * i));
  double t0 = now();
  if (SSL_write(ssl, h, 8) != 8) return 111;
  memset(buf, 'x', sizeof buf);
  unsigned long long sent = 0;
  while (sent < bytes) {
    int chunk = bytes - sent < sizeof buf ? (int)(bytes - sent) : (int)sizeof buf;
    int w = SSL_write(ssl, buf, chunk);
    if (w <= 0) { fprintf(stderr, "tls_hsloop: write failed\n"); return 111; }
    sent += (unsigned long long)w;
  }
  char line[64];
  size_t got = 0;
  int r;
  while (got < sizeof line - 1 && (r = SSL_read(ssl, line + got, (int)(sizeof line - 1 - got))) > 0) {
    got += (size_t)r;
    if (memchr(line, '\n', got)) break;
  }
  double dt = now() - t0;
  line[got] = 0;
  unsigned long long echoed = strtoull(line, 0, 10);
  printf("%.1f MB/s (%llu bytes in %.3f s, server counted %llu)\n", (double)bytes / dt / 1e6, bytes, dt, echoed);
  SSL_free(ssl);
  close(s);
  SSL_CTX_free(ctx);
  return echoed == bytes ? 0 : 1;
}
