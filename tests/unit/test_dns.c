/* DNS module: server list parsing, then real lookups against a tiny DNS
 * responder run in a child process on 127.0.0.1 (port 0). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "dns/dns.h"

static void test_servers_scan(void **state)
{
  (void)state;
  s6net_ip46 ip[4];
  uint16_t port[4];
  char buf[S6NET_IP46_FMTLEN];

  assert_int_equal(s6net_dns_servers_scan("", ip, port, 4), 0);
  assert_int_equal(s6net_dns_servers_scan(" \t\n", ip, port, 4), 0);
  assert_int_equal(s6net_dns_servers_scan(0, ip, port, 4), 0);

  /* The reference's forms: plain addresses, several separators. */
  assert_int_equal(s6net_dns_servers_scan("127.0.0.1", ip, port, 4), 1);
  assert_int_equal(port[0], 53);
  assert_int_equal(s6net_dns_servers_scan("127.0.0.1 ::1,10.0.0.1\n", ip, port, 4), 3);
  s6net_ip46_fmt(buf, &ip[1]);
  assert_string_equal(buf, "::1");
  assert_int_equal(port[1], 53);
  s6net_ip46_fmt(buf, &ip[2]);
  assert_string_equal(buf, "10.0.0.1");

  /* Our extension: a port. */
  assert_int_equal(s6net_dns_servers_scan("127.0.0.1:5353,[::1]:54", ip, port, 4), 2);
  assert_int_equal(port[0], 5353);
  assert_int_equal(ip[0].is6, 0);
  assert_int_equal(port[1], 54);
  assert_int_equal(ip[1].is6, 1);
  assert_int_equal(s6net_dns_servers_scan("[::1]", ip, port, 4), 1);
  assert_int_equal(port[0], 53);

  static char const *const bad[] = {
    "localhost", "127.0.0.256", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
    "127.0.0.1:x", "[::1", "[::1]x", "[::1]:", "[127.0.0.1]:53", "::1:53:", "1.2.3.4:5:6",
    "1 2 3 4 5",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    errno = 0;
    if (s6net_dns_servers_scan(bad[i], ip, port, 4) != -1 || errno != EINVAL)
      fail_msg("accepted %s", bad[i]);
  }
}

static void test_init_bad_env(void **state)
{
  (void)state;
  s6net_dns *d;
  setenv("DNSCACHEIP", "not-an-address", 1);
  assert_int_equal(s6net_dns_init(&d, 0), -1);
  assert_int_equal(errno, EINVAL);
  unsetenv("DNSCACHEIP");
}

/* ---- a tiny DNS responder ---- */

static pid_t responder;
static char servers[64];

static size_t put16(unsigned char *p, unsigned v)
{
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
  return 2;
}

/* One answer record pointing at the question name. */
static size_t rr(unsigned char *p, unsigned type, void const *data, size_t len)
{
  size_t n = put16(p, 0xc00c);
  n += put16(p + n, type);
  n += put16(p + n, 1);
  n += put16(p + n, 0);
  n += put16(p + n, 60);
  n += put16(p + n, (unsigned)len);
  memcpy(p + n, data, len);
  return n + len;
}

static void answer(int s)
{
  unsigned char q[512], r[1024];
  struct sockaddr_storage from;
  socklen_t fl = sizeof from;
  ssize_t n = recvfrom(s, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
  if (n < 17) return;
  char name[256];
  size_t i = 12, nl = 0;
  while (i < (size_t)n && q[i] && nl < 200) {
    size_t l = q[i++];
    if (i + l > (size_t)n) return;
    if (nl) name[nl++] = '.';
    memcpy(name + nl, q + i, l);
    nl += l;
    i += l;
  }
  name[nl] = 0;
  i++;
  if (i + 4 > (size_t)n) return;
  unsigned qtype = (unsigned)q[i] << 8 | q[i + 1];
  size_t qend = i + 4;
  if (!strcasecmp(name, "slow.test")) return;
  memcpy(r, q, qend);
  r[2] = 0x81; r[3] = 0x80;
  r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
  size_t len = qend;
  unsigned an = 0;
  static unsigned char const a1[4] = { 10, 1, 2, 3 }, a2[4] = { 10, 1, 2, 4 }, a3[4] = { 10, 9, 9, 9 };
  static unsigned char const v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
  static unsigned char const ptr[] = "\4host\4test";
  if (!strcasecmp(name, "a.test")) {
    if (qtype == 1) { len += rr(r + len, 1, a1, 4); len += rr(r + len, 1, a2, 4); an = 2; }
    if (qtype == 28) { len += rr(r + len, 28, v6, 16); an = 1; }
  } else if (!strcasecmp(name, "v4only.test")) {
    if (qtype == 1) { len += rr(r + len, 1, a3, 4); an = 1; }
  } else if (!strcasecmp(name, "3.2.1.10.in-addr.arpa") && qtype == 12) {
    len += rr(r + len, 12, ptr, sizeof ptr);
    an = 1;
  } else if (!strcasecmp(name, "fail.test")) {
    r[3] = 0x82; /* SERVFAIL */
  } else r[3] = 0x83; /* NXDOMAIN */
  put16(r + 6, an);
  sendto(s, r, len, 0, (struct sockaddr *)&from, fl);
}

static int start_responder(void **state)
{
  (void)state;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET };
  socklen_t sl = sizeof sa;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || getsockname(s, (struct sockaddr *)&sa, &sl) < 0) return -1;
  snprintf(servers, sizeof servers, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
  responder = fork();
  if (responder < 0) return -1;
  if (!responder) { for (;;) answer(s); }
  close(s);
  return 0;
}

static int stop_responder(void **state)
{
  (void)state;
  kill(responder, SIGKILL);
  waitpid(responder, 0, 0);
  return 0;
}

static int has(s6net_dns_result const *r, char const *ip)
{
  char buf[S6NET_IP46_FMTLEN];
  for (unsigned int i = 0; i < r->naddr; i++) {
    s6net_ip46_fmt(buf, &r->addr[i]);
    if (!strcmp(buf, ip)) return 1;
  }
  return 0;
}

static void test_parallel(void **state)
{
  (void)state;
  s6net_dns *d;
  s6net_dns_result both, v4, v6, nodata, nx, rev, fail;
  s6net_ip46 ip;
  assert_int_equal(s6net_dns_init_servers(&d, 0, servers), 0);
  assert_int_equal(s6net_dns_forward(d, &both, "a.test", S6NET_DNS_BOTH), 0);
  assert_int_equal(s6net_dns_forward(d, &v4, "a.test", S6NET_DNS_A), 0);
  assert_int_equal(s6net_dns_forward(d, &v6, "a.test", S6NET_DNS_AAAA), 0);
  assert_int_equal(s6net_dns_forward(d, &nodata, "v4only.test", S6NET_DNS_AAAA), 0);
  assert_int_equal(s6net_dns_forward(d, &nx, "nx.test", S6NET_DNS_BOTH), 0);
  assert_int_equal(s6net_dns_forward(d, &fail, "fail.test", S6NET_DNS_A), 0);
  assert_int_equal(s6net_ip46_scan("10.1.2.3", &ip), 0);
  assert_int_equal(s6net_dns_reverse(d, &rev, &ip), 0);
  assert_int_equal(s6net_dns_wait(d, s6net_deadline_in(10000)), 0);

  assert_int_equal(both.status, S6NET_DNS_OK);
  assert_int_equal(both.naddr, 3);
  assert_true(has(&both, "10.1.2.3") && has(&both, "10.1.2.4") && has(&both, "2001:db8::1"));
  assert_int_equal(v4.status, S6NET_DNS_OK);
  assert_int_equal(v4.naddr, 2);
  assert_true(has(&v4, "10.1.2.3") && has(&v4, "10.1.2.4"));
  assert_int_equal(v6.status, S6NET_DNS_OK);
  assert_int_equal(v6.naddr, 1);
  assert_true(has(&v6, "2001:db8::1"));
  assert_int_equal(nodata.status, S6NET_DNS_NOTFOUND);
  assert_int_equal(nx.status, S6NET_DNS_NOTFOUND);
  assert_string_equal(s6net_dns_strerror(&nx), "no such domain");
  assert_int_equal(fail.status, S6NET_DNS_FAIL);
  assert_int_equal(rev.status, S6NET_DNS_OK);
  assert_string_equal(rev.name, "host.test");
  s6net_dns_free(d);
}

static void test_deadline(void **state)
{
  (void)state;
  s6net_dns *d;
  s6net_dns_result slow, fast;
  assert_int_equal(s6net_dns_init_servers(&d, 0, servers), 0);
  assert_int_equal(s6net_dns_forward(d, &slow, "slow.test", S6NET_DNS_A), 0);
  assert_int_equal(s6net_dns_forward(d, &fast, "v4only.test", S6NET_DNS_A), 0);
  int64_t t0 = s6net_now_ms();
  assert_int_equal(s6net_dns_wait(d, s6net_deadline_in(300)), -1);
  int64_t el = s6net_now_ms() - t0;
  assert_int_equal(errno, ETIMEDOUT);
  assert_true(el >= 250 && el < 5000);
  assert_int_equal(slow.status, S6NET_DNS_TIMEOUT);
  assert_string_equal(s6net_dns_strerror(&slow), "timed out");
  assert_int_equal(fast.status, S6NET_DNS_OK);
  assert_true(has(&fast, "10.9.9.9"));
  /* The resolver is usable again after a deadline. */
  assert_int_equal(s6net_dns_forward(d, &fast, "a.test", S6NET_DNS_A), 0);
  assert_int_equal(s6net_dns_wait(d, s6net_deadline_in(10000)), 0);
  assert_int_equal(fast.status, S6NET_DNS_OK);
  s6net_dns_free(d);
}

static void test_free_with_pending(void **state)
{
  (void)state;
  s6net_dns *d;
  s6net_dns_result slow;
  assert_int_equal(s6net_dns_init_servers(&d, 0, servers), 0);
  assert_int_equal(s6net_dns_forward(d, &slow, "slow.test", S6NET_DNS_A), 0);
  s6net_dns_free(d);
  assert_int_equal(slow.status, S6NET_DNS_TIMEOUT);
}

static void test_ip_literal_and_bad_args(void **state)
{
  (void)state;
  s6net_dns *d;
  s6net_dns_result r;
  assert_int_equal(s6net_dns_init_servers(&d, 0, servers), 0);
  assert_int_equal(s6net_dns_forward(d, &r, "192.0.2.7", S6NET_DNS_BOTH), 0);
  assert_int_equal(s6net_dns_wait(d, s6net_deadline_in(10000)), 0);
  assert_int_equal(r.status, S6NET_DNS_OK);
  assert_int_equal(r.naddr, 1);
  assert_true(has(&r, "192.0.2.7"));
  assert_int_equal(s6net_dns_forward(d, &r, "", S6NET_DNS_A), -1);
  assert_int_equal(r.status, S6NET_DNS_FAIL);
  assert_int_equal(s6net_dns_forward(d, &r, "a.test", 0), -1);
  assert_int_equal(s6net_dns_forward(d, &r, "a.test", 4), -1);
  s6net_dns_free(d);
}

/* /etc/hosts is only read when asked; localhost is in every hosts file. */
static void test_hosts_file(void **state)
{
  (void)state;
  s6net_dns *d;
  s6net_dns_result r, rev;
  s6net_ip46 ip;
  assert_int_equal(s6net_ip46_scan("127.0.0.1", &ip), 0);
  assert_int_equal(s6net_dns_init_servers(&d, S6NET_DNS_HOSTS, servers), 0);
  assert_int_equal(s6net_dns_forward(d, &r, "localhost", S6NET_DNS_A), 0);
  assert_int_equal(s6net_dns_reverse(d, &rev, &ip), 0);
  assert_int_equal(s6net_dns_wait(d, s6net_deadline_in(10000)), 0);
  assert_int_equal(r.status, S6NET_DNS_OK);
  assert_true(has(&r, "127.0.0.1"));
  assert_int_equal(rev.status, S6NET_DNS_OK);
  assert_string_equal(rev.name, "localhost");
  s6net_dns_free(d);

  /* Without S6NET_DNS_HOSTS the reverse lookup goes to the DNS; localhost
   * still resolves (RFC 6761), to both loopback addresses. */
  assert_int_equal(s6net_dns_init_servers(&d, 0, servers), 0);
  assert_int_equal(s6net_dns_forward(d, &r, "LocalHost", S6NET_DNS_BOTH), 0);
  assert_int_equal(s6net_dns_reverse(d, &rev, &ip), 0);
  assert_int_equal(s6net_dns_wait(d, s6net_deadline_in(10000)), 0);
  assert_int_equal(r.status, S6NET_DNS_OK);
  assert_int_equal(r.naddr, 2);
  assert_true(has(&r, "127.0.0.1") && has(&r, "::1"));
  assert_int_equal(rev.status, S6NET_DNS_NOTFOUND); /* the responder says NXDOMAIN */
  s6net_dns_free(d);
}

/* Search domains only with S6NET_DNS_QUALIFY (LOCALDOMAIN sets them). */
static void test_qualify(void **state)
{
  (void)state;
  s6net_dns *d;
  s6net_dns_result r;
  setenv("LOCALDOMAIN", "test", 1);
  assert_int_equal(s6net_dns_init_servers(&d, S6NET_DNS_QUALIFY, servers), 0);
  assert_int_equal(s6net_dns_forward(d, &r, "v4only", S6NET_DNS_A), 0);
  assert_int_equal(s6net_dns_wait(d, s6net_deadline_in(10000)), 0);
  assert_int_equal(r.status, S6NET_DNS_OK);
  assert_true(has(&r, "10.9.9.9"));
  s6net_dns_free(d);

  assert_int_equal(s6net_dns_init_servers(&d, 0, servers), 0);
  assert_int_equal(s6net_dns_forward(d, &r, "v4only", S6NET_DNS_A), 0);
  assert_int_equal(s6net_dns_wait(d, s6net_deadline_in(10000)), 0);
  assert_int_equal(r.status, S6NET_DNS_NOTFOUND);
  s6net_dns_free(d);
  unsetenv("LOCALDOMAIN");
}

/* A server that is not there: a clear failure, quickly. */
static void test_no_server(void **state)
{
  (void)state;
  s6net_dns *d;
  s6net_dns_result r;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET };
  socklen_t sl = sizeof sa;
  char list[64];
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
  snprintf(list, sizeof list, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
  close(s); /* now nothing listens there */
  assert_int_equal(s6net_dns_init_servers(&d, 0, list), 0);
  assert_int_equal(s6net_dns_forward(d, &r, "a.test", S6NET_DNS_A), 0);
  assert_int_equal(s6net_dns_wait(d, s6net_deadline_in(20000)), 0);
  assert_true(r.status == S6NET_DNS_FAIL || r.status == S6NET_DNS_TIMEOUT);
  s6net_dns_free(d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_servers_scan),
    cmocka_unit_test(test_init_bad_env),
    cmocka_unit_test(test_parallel),
    cmocka_unit_test(test_deadline),
    cmocka_unit_test(test_free_with_pending),
    cmocka_unit_test(test_ip_literal_and_bad_args),
    cmocka_unit_test(test_hosts_file),
    cmocka_unit_test(test_qualify),
    cmocka_unit_test(test_no_server),
  };
  return cmocka_run_group_tests(tests, start_responder, stop_responder);
}
