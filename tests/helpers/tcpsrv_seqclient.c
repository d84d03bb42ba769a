/* Sequential benchmark client: COUNT connections one after the other to
 * HOST PORT; each sends a small HTTP request and reads to EOF. Prints
 *   n=COUNT ok=OK rate=CONN_PER_S p50_us=.. p99_us=..
 * where latencies are connect() start to close() end.
 *   tcpsrv_seqclient host port count */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(void const *a, void const *b)
{
  double x = *(double const *)a, y = *(double const *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
  if (argc < 4) { fprintf(stderr, "usage: tcpsrv_seqclient host port count\n"); return 100; }
  struct sockaddr_storage ss;
  socklen_t sslen;
  memset(&ss, 0, sizeof ss);
  int fam = strchr(argv[1], ':') ? AF_INET6 : AF_INET;
  if (fam == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET6, argv[1], &s6->sin6_addr) != 1) return 100;
    sslen = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &s4->sin_addr) != 1) return 100;
    sslen = sizeof *s4;
  }
  long n = atol(argv[3]);
  if (n <= 0) return 100;
  double *lat = malloc(sizeof *lat * (size_t)n);
  if (!lat) return 111;
  static char const req[] = "GET / HTTP/1.0\r\nHost: bench\r\n\r\n";
  char buf[4096];
  long ok = 0;
  double t0 = now_us();
  for (long i = 0; i < n; i++) {
    double a = now_us();
    int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 111;
    int good = 0;
    if (connect(fd, (struct sockaddr *)&ss, sslen) == 0 && write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) {
      ssize_t r, got = 0;
      while ((r = read(fd, buf, sizeof buf)) > 0) got += r;
      good = got > 0 && !memcmp(buf, "HTTP/1.", 7);
    }
    close(fd);
    lat[i] = now_us() - a;
    ok += good;
  }
  double el = now_us() - t0;
  qsort(lat, (size_t)n, sizeof *lat, cmp);
  printf("n=%ld ok=%ld rate=%.0f p50_us=%.1f p99_us=%.1f\n", n, ok, n / (el / 1e6),
         lat[n / 2], lat[(size_t)((double)n * 0.99)]);
  return ok == n ? 0 : 1;
}
