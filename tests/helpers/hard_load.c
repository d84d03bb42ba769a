/* Load generator for tests/stress: real TCP (and TLS) clients on loopback.
 *
 *   hard_load fast  HOST PORT TOTAL WORKERS NSRC
 *       WORKERS processes share TOTAL connections. Each connection reads
 *       the "ENV ..." line of hard_handler env and checks it against what
 *       the client sees (its own address and port, the server port, no
 *       secret variables). Every 5th connection resets at once (SO_LINGER
 *       0), every 5th+1 resets after writing a few bytes. Sources cycle
 *       through 127.0.0.2 .. 127.0.0.(1+NSRC).
 *   hard_load slow  HOST PORT N ROUNDS INTERVAL_MS NSRC
 *       N concurrent connections to hard_handler echo, all held open; each
 *       round writes one byte on every connection and reads it back. Then
 *       one extra connection must NOT be served while the N are held (the
 *       server is at -c), and must be once half are closed normally and
 *       half reset.
 *   hard_load tls   HOST PORT TOTAL WORKERS ABORT_EVERY
 *       TLS handshakes against s6-tlsd + hard_handler env. Every
 *       ABORT_EVERY-th connection aborts mid-handshake (after the server's
 *       first flight), the next one right after sending its ClientHello.
 *
 * Prints one line of key=value counters; exit 0 if bad=0 and err=0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum { C_OK, C_REFUSED, C_RESET, C_ABORT, C_BAD, C_ERR, NC };
static char const *const cname[NC] = { "ok", "refused", "reset", "aborted", "bad", "err" };

static char const *host;
static unsigned int port;
static int verbose;

static void complain(char const *what, unsigned long i)
{
  if (verbose) fprintf(stderr, "hard_load: conn %lu: %s: %s\n", i, what, strerror(errno));
}

static int open_conn(unsigned int src, int timeout_s, struct sockaddr_in *local)
{
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct timeval tv = { timeout_s, 0 };
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (src) {
    int one = 1;
#ifdef IP_BIND_ADDRESS_NO_PORT
    setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
    (void)one;
    struct sockaddr_in b = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001u + src) };
    if (bind(s, (struct sockaddr *)&b, sizeof b) < 0) { close(s); return -1; }
  }
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { close(s); errno = EINVAL; return -1; }
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { close(s); return -1; }
  socklen_t l = sizeof *local;
  if (getsockname(s, (struct sockaddr *)local, &l) < 0) { close(s); return -1; }
  return s;
}

static void rst_close(int s)
{
  struct linger lg = { 1, 0 };
  setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(s);
}

/* Checks "ENV TCP ip port lport connnum 0\n" against the client's view. */
static int check_env(char const *buf, struct sockaddr_in const *local)
{
  char ip[64], proto[16];
  unsigned int rport, lport, connnum;
  int secrets;
  char mine[INET_ADDRSTRLEN];
  if (sscanf(buf, "ENV %15s %63s %u %u %u %d", proto, ip, &rport, &lport, &connnum, &secrets) != 6) return -1;
  inet_ntop(AF_INET, &local->sin_addr, mine, sizeof mine);
  if (strcmp(proto, "TCP") || strcmp(ip, mine) || rport != ntohs(local->sin_port)
   || lport != port || secrets || connnum > 16384) return -1;
  return 0;
}

static int fast_one(unsigned long i, unsigned int nsrc)
{
  struct sockaddr_in local;
  /* Uneven on purpose: the first source makes half of the connections. */
  unsigned int k = (unsigned int)(i % (nsrc + 1));
  int s = open_conn(k ? k : 1, 20, &local);
  if (s < 0) { complain("connect", i); return C_ERR; }
  if (i % 5 == 0) { rst_close(s); return C_RESET; }
  if (i % 5 == 1) {
    static char const junk[] = "junk before reset\n";
    ssize_t w = write(s, junk, sizeof junk - 1);
    (void)w;
    rst_close(s);
    return C_RESET;
  }
  char buf[512];
  size_t got = 0;
  for (;;) {
    ssize_t r = read(s, buf + got, sizeof buf - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) { complain("read", i); close(s); return C_ERR; }
    if (!r) break;
    got += (size_t)r;
    if (got >= sizeof buf - 1 || memchr(buf, '\n', got)) break;
  }
  close(s);
  buf[got] = 0;
  if (!got) return C_REFUSED;
  if (check_env(buf, &local) < 0) {
    if (verbose) fprintf(stderr, "hard_load: conn %lu: bad reply: %s", i, buf);
    return C_BAD;
  }
  return C_OK;
}

static SSL_CTX *tlsctx;

static int tls_one(unsigned long i, unsigned int abort_every)
{
  struct sockaddr_in local;
  int s = open_conn(0, 20, &local);
  if (s < 0) { complain("connect", i); return C_ERR; }
  SSL *ssl = SSL_new(tlsctx);
  if (!ssl) { close(s); return C_ERR; }
  SSL_set_fd(ssl, s);
  int res = C_OK;
  if (abort_every && i % abort_every <= 1) {
    /* Write the ClientHello from a non-blocking attempt, then vanish. */
    int nb = 1;
    if (ioctl(s, FIONBIO, &nb) < 0) { res = C_ERR; goto out; }
    int r = SSL_connect(ssl);
    /* r == 1: on loopback the whole TLS 1.3 server flight may already be
     * there when the client reads; vanishing before the first record of
     * data is just as abrupt for the server. */
    if (r != 1 && SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ) {
      if (verbose) fprintf(stderr, "hard_load: conn %lu: ClientHello: SSL error %d\n", i, SSL_get_error(ssl, r));
      res = C_ERR;
      goto out;
    }
    if (r != 1 && i % abort_every == 0) {
      struct pollfd p = { s, POLLIN, 0 };
      if (poll(&p, 1, 20000) != 1) { complain("wait for the server's flight", i); res = C_ERR; goto out; }
    }
    SSL_free(ssl);
    rst_close(s);
    return C_ABORT;
  }
  if (SSL_connect(ssl) != 1) { complain("handshake", i); res = C_ERR; goto out; }
  char buf[512];
  size_t got = 0;
  for (;;) {
    int r = SSL_read(ssl, buf + got, (int)(sizeof buf - 1 - got));
    if (r <= 0) {
      int e = SSL_get_error(ssl, r);
      if (e != SSL_ERROR_ZERO_RETURN && !(e == SSL_ERROR_SYSCALL && !ERR_peek_error())) {
        complain("TLS read", i);
        if (!got) { res = C_ERR; goto out; }
      }
      break;
    }
    got += (size_t)r;
    if (got >= sizeof buf - 1 || memchr(buf, '\n', got)) break;
  }
  buf[got] = 0;
  if (check_env(buf, &local) < 0) {
    if (verbose) fprintf(stderr, "hard_load: conn %lu: bad TLS reply: %s\n", i, buf);
    res = C_BAD;
  }
  SSL_shutdown(ssl);
 out:
  SSL_free(ssl);
  close(s);
  return res;
}

static void workers(char const *mode, unsigned long total, unsigned int nw, unsigned int arg, unsigned long out[NC])
{
  int p[2];
  if (pipe(p) < 0) { perror("pipe"); exit(111); }
  for (unsigned int w = 0; w < nw; w++) {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(111); }
    if (!pid) {
      unsigned long c[NC] = { 0 };
      close(p[0]);
      for (unsigned long i = w; i < total; i += nw)
        c[!strcmp(mode, "tls") ? tls_one(i, arg) : fast_one(i, arg)]++;
      ssize_t wr = write(p[1], c, sizeof c);
      _exit(wr == (ssize_t)sizeof c ? 0 : 111);
    }
  }
  close(p[1]);
  for (unsigned int w = 0; w < nw; w++) {
    unsigned long c[NC];
    ssize_t r = read(p[0], c, sizeof c);
    if (r != (ssize_t)sizeof c) { out[C_ERR]++; continue; }
    for (int k = 0; k < NC; k++) out[k] += c[k];
  }
  close(p[0]);
  while (wait(0) > 0) ;
}

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads exactly one byte equal to want from each fd within the deadline. */
static unsigned long echo_round(int const *fds, unsigned int n, unsigned char want, int64_t deadline)
{
  unsigned long bad = 0;
  for (unsigned int i = 0; i < n; i++) {
    unsigned char c;
    int left = (int)(deadline - now_ms());
    struct pollfd p = { fds[i], POLLIN, 0 };
    if (left < 0) left = 0;
    if (poll(&p, 1, left) != 1 || read(fds[i], &c, 1) != 1 || c != want) {
      if (verbose) fprintf(stderr, "hard_load: slow conn %u: no echo in round %u\n", i, want);
      bad++;
    }
  }
  return bad;
}

static int slow(unsigned int n, unsigned int rounds, unsigned int interval, unsigned int nsrc, unsigned long c[NC])
{
  struct rlimit rl = { n + 256, n + 256 };
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0) { perror("setrlimit"); return 111; }
  int *fds = calloc(n, sizeof *fds);
  if (!fds) return 111;
  for (unsigned int i = 0; i < n; i++) {
    struct sockaddr_in local;
    fds[i] = open_conn(1 + i % nsrc, 20, &local);
    if (fds[i] < 0) { complain("connect", i); c[C_ERR]++; return 1; }
  }
  for (unsigned int r = 0; r < rounds; r++) {
    unsigned char b = (unsigned char)('a' + r % 26);
    for (unsigned int i = 0; i < n; i++)
      if (write(fds[i], &b, 1) != 1) { complain("write", i); c[C_ERR]++; }
    c[C_BAD] += echo_round(fds, n, b, now_ms() + 30000);
    if (interval && r + 1 < rounds) poll(0, 0, (int)interval);
  }
  /* At -c: one more client is left in the backlog, unserved. */
  struct sockaddr_in local;
  int extra = open_conn(1, 20, &local);
  if (extra < 0) { complain("connect extra", 0); c[C_ERR]++; return 1; }
  unsigned char z = 'Z';
  if (write(extra, &z, 1) != 1) c[C_ERR]++;
  struct pollfd p = { extra, POLLIN, 0 };
  if (poll(&p, 1, 500) != 0) { fprintf(stderr, "hard_load: extra connection served beyond -c\n"); c[C_BAD]++; }
  for (unsigned int i = 0; i < n; i++) {
    if (i % 2) rst_close(fds[i]);
    else {
      shutdown(fds[i], SHUT_WR);
      char buf[16];
      ssize_t r;
      while ((r = read(fds[i], buf, sizeof buf)) > 0) ;
      if (r < 0) { complain("read EOF", i); c[C_ERR]++; }
      close(fds[i]);
    }
    c[i % 2 ? C_RESET : C_OK]++;
  }
  c[C_BAD] += echo_round(&extra, 1, 'Z', now_ms() + 20000);
  close(extra);
  free(fds);
  return 0;
}

static unsigned long num(char const *s)
{
  char *end;
  errno = 0;
  unsigned long u = strtoul(s, &end, 10);
  if (errno || !*s || *end) { fprintf(stderr, "hard_load: bad number: %s\n", s); exit(100); }
  return u;
}

int main(int argc, char **argv)
{
  if (argc < 7) {
    fprintf(stderr, "usage: hard_load fast|slow|tls HOST PORT A B C [D]\n");
    return 100;
  }
  signal(SIGPIPE, SIG_IGN);
  verbose = !!getenv("HARD_LOAD_VERBOSE");
  char const *mode = argv[1];
  host = argv[2];
  port = (unsigned int)num(argv[3]);
  unsigned long c[NC] = { 0 };
  int64_t t0 = now_ms();
  if (!strcmp(mode, "fast")) workers(mode, num(argv[4]), (unsigned int)num(argv[5]), (unsigned int)num(argv[6]), c);
  else if (!strcmp(mode, "tls")) {
    tlsctx = SSL_CTX_new(TLS_client_method());
    if (!tlsctx) return 111;
    SSL_CTX_set_verify(tlsctx, SSL_VERIFY_NONE, 0);
    workers(mode, num(argv[4]), (unsigned int)num(argv[5]), (unsigned int)num(argv[6]), c);
  } else if (!strcmp(mode, "slow")) {
    if (argc < 8) return 100;
    slow((unsigned int)num(argv[4]), (unsigned int)num(argv[5]), (unsigned int)num(argv[6]), (unsigned int)num(argv[7]), c);
  } else return 100;
  for (int k = 0; k < NC; k++) printf("%s=%lu ", cname[k], c[k]);
  printf("ms=%lld\n", (long long)(now_ms() - t0));
  return c[C_BAD] || c[C_ERR] ? 1 : 0;
}
