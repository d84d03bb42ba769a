/* lib/tls pure helpers: notification scanner, ALPN list, option scanner,
 * key-variable predicate, zygote header and fingerprint. */
#include "unit.h"
#include "tls/tlsopt.h"
#include "tls/tls_zygote_msg.h"

#include "core/tai.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#define S(lit) lit, sizeof(lit) - 1

static void test_notif(void **state)
{
  (void)state;
  assert_int_equal(s6net_tls_notif_scan(S("\0"), 100), 1);
  assert_int_equal(s6net_tls_notif_scan(S("A=1\0B=\0\0"), 100), 8);
  assert_int_equal(s6net_tls_notif_scan(S("A=1\0B=\0\0trailing"), 100), 8);
  /* Need more. */
  assert_int_equal(s6net_tls_notif_scan(S(""), 100), 0);
  assert_int_equal(s6net_tls_notif_scan(S("A=1"), 100), 0);
  assert_int_equal(s6net_tls_notif_scan(S("A=1\0"), 100), 0);
  assert_int_equal(s6net_tls_notif_scan(S("AB"), 100), 0);
  /* Bad: no '=', empty name, too long. */
  assert_int_equal(s6net_tls_notif_scan(S("AB\0\0"), 100), -1);
  assert_int_equal(s6net_tls_notif_scan(S("=x\0\0"), 100), -1);
  assert_int_equal(s6net_tls_notif_scan(S("="), 100), -1);
  assert_int_equal(s6net_tls_notif_scan(S("A=1234567\0\0"), 8), -1);
  assert_int_equal(s6net_tls_notif_scan(S("A=1234567"), 8), -1);
}

static void test_alpn(void **state)
{
  (void)state;
  unsigned char w[16];
  assert_int_equal(s6net_tls_alpn_wire(w, sizeof w, "h2,http/1.1"), 12);
  assert_memory_equal(w, "\2h2\10http/1.1", 12);
  assert_int_equal(s6net_tls_alpn_wire(w, sizeof w, "x"), 2);
  assert_int_equal(s6net_tls_alpn_wire(w, sizeof w, ""), -1);
  assert_int_equal(s6net_tls_alpn_wire(w, sizeof w, "a,,b"), -1);
  assert_int_equal(s6net_tls_alpn_wire(w, sizeof w, "a,"), -1);
  assert_int_equal(s6net_tls_alpn_wire(w, sizeof w, ",a"), -1);
  assert_int_equal(s6net_tls_alpn_wire(w, 4, "abcd"), -1);
  char big[300];
  memset(big, 'a', 299); big[299] = 0;
  unsigned char w2[400];
  assert_int_equal(s6net_tls_alpn_wire(w2, sizeof w2, big), -1);
}

static void test_keyvar(void **state)
{
  (void)state;
  static char const *const yes[] = { "KEYFILE=/k", "CERTFILE=x", "CAFILE=", "CADIR=/d", "TLS_UID=1",
                                     "TLS_GID=2", "KEYFILE:a.b=/k", "CERTFILE:*.x.y=c", "KEYFILE" };
  static char const *const no[] = { "KEYFILES=1", "KEYFILE:=x", "CERTFILE:=x", "PATH=/bin", "TLS_UIDX=1", "KEY=1" };
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) assert_true(s6net_tls_is_keyvar(yes[i]));
  for (size_t i = 0; i < sizeof no / sizeof *no; i++) assert_false(s6net_tls_is_keyvar(no[i]));
}

static void test_zygote_hdr(void **state)
{
  (void)state;
  unsigned char h[S6NET_TLSZ_HDR + 3 + 14];
  s6net_tlsz_req r = { .closenotify = 1, .strict = 0, .kimeout = 5000, .verbosity = 2,
                       .digest = 0x0102030405060708ULL, .fplen = 3, .peerlen = 14 }, o;
  s6net_tlsz_hdr_encode(h, &r);
  /* Annotated bytes: the layout is the protocol (tls_zygote_msg.h). */
  static unsigned char const want[S6NET_TLSZ_HDR] = {
    's', '6', 't', 'z', 2, 1, 0, 14,  /* magic, version, closenotify, strict, peerlen */
    0, 0, 0x13, 0x88,                 /* kimeout 5000 */
    0, 0, 0, 2,                       /* verbosity */
    0, 0, 0, 3,                       /* fingerprint length */
    1, 2, 3, 4, 5, 6, 7, 8,           /* digest */
    0, 0, 0, 0 };
  assert_memory_equal(h, want, sizeof want);
  memcpy(h + S6NET_TLSZ_HDR, "abc", 3);
  memcpy(h + S6NET_TLSZ_HDR + 3, "127.0.0.1:4433", 14);
  assert_int_equal(s6net_tlsz_hdr_decode(h, sizeof h, &o), 0);
  assert_int_equal(o.closenotify, 1);
  assert_int_equal(o.strict, 0);
  assert_int_equal(o.kimeout, 5000);
  assert_int_equal(o.verbosity, 2);
  assert_int_equal(o.fplen, 3);
  assert_int_equal(o.peerlen, 14);
  assert_true(o.digest == 0x0102030405060708ULL);
  /* Truncated, too long, too short. */
  assert_int_equal(s6net_tlsz_hdr_decode(h, sizeof h - 1, &o), -1);
  assert_int_equal(s6net_tlsz_hdr_decode(h, 10, &o), -1);
  unsigned char big[sizeof h + 1];
  memcpy(big, h, sizeof h);
  big[sizeof h] = 'x';
  assert_int_equal(s6net_tlsz_hdr_decode(big, sizeof big, &o), -1);
  /* A control character in the peer (it goes into log lines). */
  h[sizeof h - 1] = '\n';
  assert_int_equal(s6net_tlsz_hdr_decode(h, sizeof h, &o), -1);
  h[sizeof h - 1] = '3';
  /* Old version, bad flags, reserved bytes, oversized peer, bad magic. */
  static size_t const offs[] = { 4, 5, 6, 7, 31, 0 };
  static unsigned char const vals[] = { 1, 2, 2, S6NET_TLSZ_PEERMAX + 1, 1, 'x' };
  for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
    unsigned char c = h[offs[i]];
    h[offs[i]] = vals[i];
    assert_int_equal(s6net_tlsz_hdr_decode(h, sizeof h, &o), -1);
    h[offs[i]] = c;
  }
  assert_int_equal(s6net_tlsz_hdr_decode(h, sizeof h, &o), 0);
  /* A fingerprint length beyond the maximum. */
  s6net_u32_pack_be(h + 16, S6NET_TLSZ_FPMAX + 1);
  assert_int_equal(s6net_tlsz_hdr_decode(h, sizeof h, &o), -1);
}

static void test_filevar_and_digest_mix(void **state)
{
  (void)state;
  assert_true(s6net_tlsz_is_filevar(S("KEYFILE=/k")));
  assert_true(s6net_tlsz_is_filevar(S("CERTFILE:a.example=/c")));
  assert_true(s6net_tlsz_is_filevar(S("KEYFILE:x=/k")));
  assert_true(s6net_tlsz_is_filevar(S("CAFILE=/ca")));
  assert_true(s6net_tlsz_is_filevar(S("CADIR=/d")));
  assert_false(s6net_tlsz_is_filevar(S("CAFILE:x=/ca")));
  assert_false(s6net_tlsz_is_filevar(S("TLS_UID=1")));
  assert_false(s6net_tlsz_is_filevar(S("KEYFILEX=1")));
  assert_false(s6net_tlsz_is_filevar(S("k=0")));
  assert_false(s6net_tlsz_is_filevar(S("KEYFILE")));
  /* Any one word of a stat result changes the digest. */
  uint64_t w[S6NET_TLSZ_STATWORDS] = { 1, 0, 2049, 123456, 227, 1700000000, 5, 1700000000, 5 };
  uint64_t h0 = s6net_tlsz_digest_mix(7, w);
  assert_true(h0 == s6net_tlsz_digest_mix(7, w));
  for (size_t i = 0; i < S6NET_TLSZ_STATWORDS; i++) {
    w[i]++;
    assert_true(s6net_tlsz_digest_mix(7, w) != h0);
    w[i]--;
  }
  /* Swapping mtime and ctime, or two files' order, is a change too. */
  uint64_t v[S6NET_TLSZ_STATWORDS] = { 1, 0, 2049, 123456, 227, 1700000000, 6, 1700000000, 5 };
  uint64_t u[S6NET_TLSZ_STATWORDS] = { 1, 0, 2049, 123456, 227, 1700000000, 5, 1700000000, 6 };
  assert_true(s6net_tlsz_digest_mix(7, v) != s6net_tlsz_digest_mix(7, u));
  assert_true(s6net_tlsz_digest_mix(s6net_tlsz_digest_mix(7, v), u)
              != s6net_tlsz_digest_mix(s6net_tlsz_digest_mix(7, u), v));
}

static void test_digest_files(void **state)
{
  (void)state;
  char dir[] = "/tmp/s6net-tlsz-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[64], fp[128];
  snprintf(path, sizeof path, "%s/cert", dir);
  size_t l = (size_t)snprintf(fp, sizeof fp, "k=0%cCERTFILE=%s%cTLS_UID=1%c", 0, path, 0, 0);
  uint64_t missing = s6net_tlsz_digest(fp, l);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("one", f);
  fclose(f);
  uint64_t one = s6net_tlsz_digest(fp, l);
  assert_true(one != missing);
  assert_true(one == s6net_tlsz_digest(fp, l));
  /* Renamed over: a new inode. */
  char tmp[80];
  snprintf(tmp, sizeof tmp, "%s.new", path);
  f = fopen(tmp, "w");
  fputs("two", f);
  fclose(f);
  assert_int_equal(rename(tmp, path), 0);
  uint64_t two = s6net_tlsz_digest(fp, l);
  assert_true(two != one);
  unlink(path);
  rmdir(dir);
}

static void test_sockets(void **state)
{
  (void)state;
  int sp[2], st[2], pp[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st), 0);
  assert_int_equal(pipe(pp), 0);
  /* Our own seqpacket pair passes; a stream socket or a pipe does not. */
  assert_int_equal(s6net_tlsz_check(sp[1]), 1);
  assert_int_equal(s6net_tlsz_check(st[1]), 0);
  assert_int_equal(s6net_tlsz_check(pp[0]), 0);
  assert_int_equal(s6net_tlsz_check(-1), 0);
  /* A datagram with fds; the fds arrive close-on-exec. */
  int fds[5] = { pp[0], pp[1], pp[0], pp[1], st[0] }, got[8];
  unsigned int n;
  assert_int_equal(s6net_tlsz_sendfds(sp[0], "abc", 3, fds, 5), 0);
  char buf[16];
  assert_int_equal(s6net_tlsz_recvfds(sp[1], buf, sizeof buf, got, 5, &n, MSG_DONTWAIT), 3);
  assert_int_equal(n, 5);
  assert_memory_equal(buf, "abc", 3);
  for (unsigned int i = 0; i < n; i++) {
    assert_true(fcntl(got[i], F_GETFD) & FD_CLOEXEC);
    close(got[i]);
  }
  /* More fds than wanted, or a datagram too long: refused, fds closed. */
  assert_int_equal(s6net_tlsz_sendfds(sp[0], "abc", 3, fds, 5), 0);
  assert_int_equal(s6net_tlsz_recvfds(sp[1], buf, sizeof buf, got, 4, &n, MSG_DONTWAIT), -1);
  assert_int_equal(errno, EMSGSIZE);
  assert_int_equal(n, 0);
  char big[64] = { 0 };
  assert_int_equal(s6net_tlsz_sendfds(sp[0], big, sizeof big, fds, 2), 0);
  assert_int_equal(s6net_tlsz_recvfds(sp[1], buf, sizeof buf, got, 5, &n, MSG_DONTWAIT), -1);
  assert_int_equal(errno, EMSGSIZE);
  assert_int_equal(n, 0);
  /* Nothing left. */
  assert_int_equal(s6net_tlsz_recvfds(sp[1], buf, sizeof buf, got, 5, &n, MSG_DONTWAIT), -1);
  assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
  assert_int_equal(s6net_tlsz_sendfds(sp[0], "x", 1, fds, 9), -1);
  close(sp[0]); close(sp[1]); close(st[0]); close(st[1]); close(pp[0]); close(pp[1]);
}

static void test_fingerprint(void **state)
{
  (void)state;
  char const *e1[] = { "PATH=/bin", "KEYFILE=/k", "CERTFILE=/c", "TCPREMOTEIP=1.2.3.4", 0 };
  char const *e2[] = { "CERTFILE=/c", "KEYFILE=/k", "TCPREMOTEIP=5.6.7.8", 0 };
  char const *e3[] = { "CERTFILE=/c", "KEYFILE=/other", 0 };
  char a[256], b[256], c[256];
  size_t la = s6net_tlsz_fingerprint(a, sizeof a, 0, 0, 0, e1);
  size_t lb = s6net_tlsz_fingerprint(b, sizeof b, 0, 0, 0, e2);
  size_t lc = s6net_tlsz_fingerprint(c, sizeof c, 0, 0, 0, e3);
  assert_true(la > 0);
  assert_int_equal(la, lb);
  assert_memory_equal(a, b, la);
  assert_false(la == lc && !memcmp(a, c, la));
  lb = s6net_tlsz_fingerprint(b, sizeof b, 2, 0, 0, e1);
  assert_false(la == lb && !memcmp(a, b, la));
  assert_int_equal(s6net_tlsz_fingerprint(b, 10, 0, 0, 0, e1), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_notif),
    cmocka_unit_test(test_alpn),
    cmocka_unit_test(test_keyvar),
    cmocka_unit_test(test_zygote_hdr),
    cmocka_unit_test(test_filevar_and_digest_mix),
    cmocka_unit_test(test_digest_files),
    cmocka_unit_test(test_sockets),
    cmocka_unit_test(test_fingerprint),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
