/* Time-server answering rate on loopback: s6-taiclockd (TAICLOCK) against
 * chronyd (NTP), with a bare UDP echo server as the physical limit. One
 * client, one request in flight, validated replies; rounds alternate
 * A B C A B C and medians are reported.
 *   bench freeport | bench echo | bench run TAIPORT NTPPORT ECHOPORT ROUNDS N JSON */
#include "clock/clock.h"
#include "clock/sntp.h"
#include "clock/taiclock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int udp(unsigned port, int bindit)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("socket"); exit(111); }
  if (bindit ? bind(fd, (struct sockaddr *)&sa, sizeof sa) : connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
    perror("bind/connect"); exit(111);
  }
  return fd;
}

static unsigned portof(int fd)
{
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &sl);
  return ntohs(sa.sin_port);
}

static int cmpd(void const *a, void const *b)
{
  double x = *(double const *)a, y = *(double const *)b;
  return (x > y) - (x < y);
}

/* n sequential exchanges; returns requests/s, fills p50 latency in us. */
static double load(char const *proto, unsigned port, unsigned n, double *lat, double *p50)
{
  int fd = udp(port, 0);
  unsigned char out[64], in[512];
  unsigned ok = 0;
  double t0 = now();
  for (unsigned i = 0; i < n; i++) {
    struct timespec ts;
    s6net_clk c;
    size_t len;
    clock_gettime(CLOCK_REALTIME, &ts);
    s6net_clk_from_timespec(&c, &ts);
    uint64_t xmit = s6net_ntp_from_clk(&c) ^ i;
    unsigned char cookie[8];
    memcpy(cookie, &i, sizeof i);
    memcpy(cookie + 4, "bnch", 4);
    if (!strcmp(proto, "ntp")) { s6net_sntp_request(out, xmit); len = 48; }
    else {
      s6net_tai64na t;
      s6net_clk tai = s6net_utc_to_tai(&c);
      s6net_tai64na_from_clk(&t, &tai);
      s6net_taiclock_request(out, &t, cookie);
      len = 28;
    }
    double a = now();
    if (send(fd, out, len, 0) < 0) continue;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 1000) <= 0) continue;
    ssize_t r = recv(fd, in, sizeof in, 0);
    lat[ok] = (now() - a) * 1e6;
    if (r <= 0) continue;
    if (!strcmp(proto, "ntp")) {
      s6net_sntp s;
      if (!s6net_sntp_unpack(in, (size_t)r, &s) || s6net_sntp_check(&s, xmit) != S6NET_SNTP_OK) continue;
    } else if (!strcmp(proto, "tai")) {
      s6net_tai64na t;
      if (s6net_taiclock_reply(in, (size_t)r, cookie, &t) != S6NET_TAICLOCK_OK) continue;
    } else if ((size_t)r != len) continue;
    ok++;
  }
  double dt = now() - t0;
  close(fd);
  qsort(lat, ok, sizeof *lat, cmpd);
  *p50 = ok ? lat[ok / 2] : 0;
  if (ok < n) fprintf(stderr, "bench: %s: %u of %u exchanges failed\n", proto, n - ok, n);
  return ok / dt;
}

static double median(double *v, unsigned n)
{
  qsort(v, n, sizeof *v, cmpd);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
  if (argc == 2 && !strcmp(argv[1], "freeport")) {
    int fd = udp(0, 1);
    printf("%u\n", portof(fd));
    return 0;
  }
  if (argc == 2 && !strcmp(argv[1], "echo")) {
    int fd = udp(0, 1);
    unsigned char buf[512];
    printf("%u\n", portof(fd));
    fflush(stdout);
    for (;;) {
      struct sockaddr_storage ss;
      socklen_t sl = sizeof ss;
      ssize_t r = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&ss, &sl);
      if (r > 0) sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&ss, sl);
    }
  }
  if (argc != 8 || strcmp(argv[1], "run")) {
    fprintf(stderr, "usage: bench freeport | echo | run TAIPORT NTPPORT ECHOPORT ROUNDS N JSON\n");
    return 100;
  }
  unsigned ports[3] = { (unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]) };
  unsigned rounds = (unsigned)atoi(argv[5]), n = (unsigned)atoi(argv[6]);
  char const *names[3] = { "s6-taiclockd (TAICLOCK)", "chronyd -x (NTP)", "UDP echo (limit)" };
  char const *protos[3] = { "tai", "ntp", "echo" };
  double *lat = malloc(n * sizeof *lat), rate[3][64], p50[3][64];
  if (!lat || rounds > 64 || !rounds) return 100;
  for (unsigned k = 0; k < 3; k++) { double d; load(protos[k], ports[k], n / 10 + 1, lat, &d); }
  for (unsigned r = 0; r < rounds; r++)
    for (unsigned k = 0; k < 3; k++) rate[k][r] = load(protos[k], ports[k], n, lat, &p50[k][r]);
  double mr[3], ml[3];
  for (unsigned k = 0; k < 3; k++) { mr[k] = median(rate[k], rounds); ml[k] = median(p50[k], rounds); }
  /* On a shared 2-vCPU machine the rate swings with scheduling; the median
   * latency is the steadier number. */
  printf("%-26s %12s %10s %10s %14s\n", "server", "answers/s", "rate ratio", "p50 us", "p50 vs chronyd");
  for (unsigned k = 0; k < 3; k++)
    printf("%-26s %12.0f %9.2fx %10.1f %13.2fx\n", names[k], mr[k], mr[k] / mr[1], ml[k], ml[k] / ml[1]);
  printf("(%u rounds of %u sequential request/reply exchanges each, alternating, medians)\n", rounds, n);
  FILE *f = fopen(argv[7], "w");
  if (!f) { perror(argv[7]); return 111; }
  fprintf(f, "{\"bench\":\"clock\",\"rounds\":%u,\"exchanges\":%u,\"results\":[", rounds, n);
  for (unsigned k = 0; k < 3; k++)
    fprintf(f, "%s{\"server\":\"%s\",\"answers_per_s\":%.0f,\"p50_us\":%.1f,\"ratio_vs_chronyd\":%.3f,\"p50_ratio_vs_chronyd\":%.3f}",
            k ? "," : "", names[k], mr[k], ml[k], mr[k] / mr[1], ml[k] / ml[1]);
  fprintf(f, "]}\n");
  return fclose(f) ? 111 : 0;
}
