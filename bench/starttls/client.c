/* Sequential session benchmark client for bench/starttls.
 *   client MODE PORT SECONDS [CAFILE]
 * MODE clear:    read the greeting, QUIT, read to EOF
 *      starttls: greeting, STARTTLS, 220, TLS handshake, QUIT over TLS
 *      tls:      TLS handshake at once, greeting and QUIT over TLS
 * Prints sessions per second. Each session is checked (221 reply); the
 * client resets its end on close so no TIME_WAIT pile-up skews later
 * rounds. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/ssl.h>

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One CRLF line, byte by byte: nothing past it may be consumed before
 * the handshake. */
static int line(int fd, char *buf, size_t cap)
{
  size_t n = 0;
  while (n + 1 < cap) {
    if (read(fd, buf + n, 1) != 1) return -1;
    if (buf[n++] == '\n') break;
  }
  buf[n] = 0;
  return 0;
}

static int tls_reply(SSL *ssl, char const *want)
{
  char buf[256];
  size_t n = 0;
  while (n + 1 < sizeof buf) {
    int r = SSL_read(ssl, buf + n, (int)(sizeof buf - 1 - n));
    if (r <= 0) break;
    n += (size_t)r;
    buf[n] = 0;
    if (strstr(buf, "\r\n")) break;
  }
  buf[n] = 0;
  return strncmp(buf, want, strlen(want)) ? -1 : 0;
}

static int session(char const *mode, struct sockaddr_in const *sa, SSL_CTX *ctx)
{
  char buf[256];
  int ok = -1;
  SSL *ssl = 0;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr const *)sa, sizeof *sa) < 0) goto end;
  if (!strcmp(mode, "clear")) {
    if (line(fd, buf, sizeof buf) < 0 || strncmp(buf, "220", 3)) goto end;
    if (write(fd, "QUIT\r\n", 6) != 6) goto end;
    if (line(fd, buf, sizeof buf) < 0 || strncmp(buf, "221", 3)) goto end;
    ok = 0;
    goto end;
  }
  if (!strcmp(mode, "starttls")) {
    if (line(fd, buf, sizeof buf) < 0 || strncmp(buf, "220", 3)) goto end;
    if (write(fd, "STARTTLS\r\n", 10) != 10) goto end;
    if (line(fd, buf, sizeof buf) < 0 || strncmp(buf, "220", 3)) goto end;
  }
  ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (SSL_connect(ssl) != 1) goto end;
  if (!strcmp(mode, "tls") && tls_reply(ssl, "220") < 0) goto end;
  if (SSL_write(ssl, "QUIT\r\n", 6) != 6) goto end;
  if (tls_reply(ssl, "221") < 0) goto end;
  ok = 0;
end:
  if (ssl) SSL_free(ssl);
  struct linger lg = { 1, 0 };
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
  return ok;
}

int main(int argc, char **argv)
{
  if (argc < 4) { fprintf(stderr, "usage: client clear|starttls|tls PORT SECONDS [CAFILE]\n"); return 100; }
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)atoi(argv[2]));
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (argc > 4) {
    SSL_CTX_load_verify_locations(ctx, argv[4], 0);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, 0);
  }
  double secs = atof(argv[3]), start = now(), end = start + secs;
  long n = 0, bad = 0;
  while (now() < end) {
    if (session(argv[1], &sa, ctx) < 0) {
      if (++bad > 20) { fprintf(stderr, "client: too many failed %s sessions\n", argv[1]); return 111; }
      continue;
    }
    n++;
  }
  printf("%.1f\n", n / (now() - start));
  return 0;
}
