/* PROXY header micro-benchmark: ns per s6net_proxy_parse() call on
 * typical headers, next to the cost of merely copying the same bytes (the
 * floor any parser sits on), and the cost proxy-server adds to a chain
 * (spawning "proxy-server true" with a header on stdin vs "true").
 * Rounds alternate between cases; medians are reported. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <s6net/proxy.h>

extern char **environ;

static double now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmpd(void const *a, void const *b)
{
  double x = *(double const *)a, y = *(double const *)b;
  return x < y ? -1 : x > y;
}

static volatile long sink;

typedef struct { char const *name; unsigned char buf[1024]; size_t len; int copy; } bcase;

static double run_case(bcase const *c, long iters)
{
  unsigned char tmp[1024];
  s6net_proxy_info info;
  double t0 = now_ns();
  for (long i = 0; i < iters; i++) {
    if (c->copy) { memcpy(tmp, c->buf, c->len); sink += tmp[c->len - 1]; __asm__ volatile("" ::: "memory"); }
    else sink += s6net_proxy_parse(c->buf, c->len, S6NET_PROXY_ANY, &info);
  }
  return (now_ns() - t0) / (double)iters;
}

static double spawn_ms(char *const *argv, unsigned char const *in, size_t inlen)
{
  int p[2];
  pid_t pid;
  posix_spawn_file_actions_t fa;
  if (pipe(p) < 0) exit(111);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[0], 0);
  posix_spawn_file_actions_addclose(&fa, p[1]);
  double t0 = now_ns();
  if (posix_spawn(&pid, argv[0], &fa, 0, argv, environ)) exit(111);
  close(p[0]);
  if (inlen && write(p[1], in, inlen) != (ssize_t)inlen) exit(111);
  close(p[1]);
  int st;
  waitpid(pid, &st, 0);
  double t = (now_ns() - t0) / 1e6;
  posix_spawn_file_actions_destroy(&fa);
  if (!WIFEXITED(st) || WEXITSTATUS(st)) { fprintf(stderr, "bench: child failed\n"); exit(111); }
  return t;
}

int main(int argc, char **argv)
{
  enum { NC = 5, ROUNDS = 7 };
  static bcase cases[NC];
  s6net_proxy_info a;
  unsigned char s6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, d6[16] = { [15] = 1 };
  unsigned char s4[4] = { 192, 0, 2, 1 }, d4[4] = { 127, 0, 0, 1 };
  long iters = argc > 2 ? atol(argv[2]) : 2000000;

  cases[0].name = "v1 TCP4";
  s6net_proxy_info_tcp(&a, 0, s4, 51000, d4, 443);
  cases[0].len = s6net_proxy_build_v1((char *)cases[0].buf, sizeof cases[0].buf, &a);
  cases[1].name = "v2 INET, no TLV";
  cases[1].len = s6net_proxy_build_v2(cases[1].buf, sizeof cases[1].buf, &a, 0);
  /* what haproxy sends with proxy-v2-options ssl,cert-cn,ssl-cipher,authority,unique-id + ALPN */
  s6net_proxy_info_tcp(&a, 1, s6, 51000, d6, 443);
  a.alpn.s = (unsigned char const *)"h2"; a.alpn.len = 2;
  a.authority.s = (unsigned char const *)"www.example.org"; a.authority.len = 15;
  a.unique_id.s = (unsigned char const *)"7F000001:C738_7F000001:01BB_6566F0A2_0001:1A2B"; a.unique_id.len = 46;
  a.has_ssl = 1; a.ssl_client = 7;
  a.ssl_version.s = (unsigned char const *)"TLSv1.3"; a.ssl_version.len = 7;
  a.ssl_cn.s = (unsigned char const *)"client.example.org"; a.ssl_cn.len = 18;
  a.ssl_cipher.s = (unsigned char const *)"TLS_AES_256_GCM_SHA384"; a.ssl_cipher.len = 22;
  cases[2].name = "v2 INET6 + 5 TLVs";
  cases[2].len = s6net_proxy_build_v2(cases[2].buf, sizeof cases[2].buf, &a, 0);
  cases[3].name = "v2 INET6 + 5 TLVs + CRC32C";
  cases[3].len = s6net_proxy_build_v2(cases[3].buf, sizeof cases[3].buf, &a, S6NET_PROXY_BUILD_CRC32C);
  cases[4] = cases[3];
  cases[4].name = "memcpy of that header (floor)";
  cases[4].copy = 1;
  for (int c = 0; c < NC; c++)
    if (!cases[c].copy && s6net_proxy_parse(cases[c].buf, cases[c].len, S6NET_PROXY_ANY, 0) != (long)cases[c].len) {
      fprintf(stderr, "bench: case %s does not parse\n", cases[c].name);
      return 111;
    }

  double res[NC][ROUNDS];
  for (int r = 0; r < ROUNDS; r++)
    for (int c = 0; c < NC; c++) res[c][r] = run_case(&cases[c], iters);
  printf("%-32s %6s %10s %8s\n", "header", "bytes", "ns/parse", "vs floor");
  double med[NC];
  for (int c = 0; c < NC; c++) { qsort(res[c], ROUNDS, sizeof(double), cmpd); med[c] = res[c][ROUNDS / 2]; }
  for (int c = 0; c < NC; c++)
    printf("%-32s %6zu %10.1f %7.1fx\n", cases[c].name, cases[c].len, med[c], med[c] / med[NC - 1]);

  /* chain cost: A = true, B = proxy-server true (fed a v2 header), alternating */
  double sp[2][41];
  int ns = 0;
  if (argc > 1) {
    char *ta[] = { "/bin/true", 0 };
    char *pa[] = { argv[1], "/bin/true", 0 };
    for (int i = 0; i < 41; i++) {
      sp[0][i] = spawn_ms(ta, 0, 0);
      sp[1][i] = spawn_ms(pa, cases[3].buf, cases[3].len);
    }
    qsort(sp[0], 41, sizeof(double), cmpd);
    qsort(sp[1], 41, sizeof(double), cmpd);
    ns = 41;
    printf("\n%-32s %10s\n", "chain", "ms/run");
    printf("%-32s %10.3f\n", "true", sp[0][20]);
    printf("%-32s %10.3f  (+%.3f ms)\n", "proxy-server true", sp[1][20], sp[1][20] - sp[0][20]);
  }

  FILE *j = argc > 3 ? fopen(argv[3], "w") : 0;
  if (j) {
    fprintf(j, "{\n  \"parse_ns\": {");
    for (int c = 0; c < NC; c++) fprintf(j, "%s\n    \"%s\": %.1f", c ? "," : "", cases[c].name, med[c]);
    fprintf(j, "\n  }");
    if (ns) fprintf(j, ",\n  \"chain_ms\": { \"true\": %.3f, \"proxy-server true\": %.3f }", sp[0][20], sp[1][20]);
    fprintf(j, "\n}\n");
    fclose(j);
  }
  return 0;
}
