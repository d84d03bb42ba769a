/* lib/tls/tls_ticket.c: session ticket keys, current and previous, over
 * real in-memory handshakes (TLS 1.3 and 1.2). */
#include "unit.h"
#include "tls/tls.h"
#include "tls/tls_ticket.h"

#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static SSL_CTX *sctx, *cctx;

/* The monotonic clock as the ticket keys see it, moved forward by the
 * tests: this definition takes the place of the C library's for the
 * whole test program. */
static long long skew_ms;

int clock_gettime(clockid_t id, struct timespec *ts)
{
  long r = syscall(SYS_clock_gettime, id, ts);
  if (r == 0 && id == CLOCK_MONOTONIC && skew_ms) {
    long long ns = (long long)ts->tv_nsec + skew_ms % 1000 * 1000000;
    ts->tv_sec += (time_t)(skew_ms / 1000 + ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
  }
  return r ? -1 : 0;
}

/* A rotation, as the zygote gets it: a period goes by, then a tick. */
static void rotate(void)
{
  unsigned int p = s6net_tls_tickets_period();
  assert_true(p > 0);
  skew_ms += (long long)p * 1000;
  assert_int_equal(s6net_tls_tickets_tick(), (long)p * 1000);
}

static SSL_CTX *server_ctx(void)
{
  EVP_PKEY *k = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  assert_non_null(k);
  assert_non_null(x);
  assert_true(X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 1)
              && X509_gmtime_adj(X509_getm_notBefore(x), 0) && X509_gmtime_adj(X509_getm_notAfter(x), 3600)
              && X509_set_pubkey(x, k)
              && X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                            (unsigned char const *)"ticket test", -1, -1, 0)
              && X509_set_issuer_name(x, X509_get_subject_name(x)) && X509_sign(x, k, EVP_sha256()));
  SSL_CTX *c = SSL_CTX_new(TLS_server_method());
  assert_non_null(c);
  assert_true(SSL_CTX_use_certificate(c, x) && SSL_CTX_use_PrivateKey(c, k));
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(c, s6net_tls_ticket_key_cb);
  SSL_CTX_set_num_tickets(c, 1);
  SSL_CTX_set_session_id_context(c, (unsigned char const *)"t", 1);
  X509_free(x);
  EVP_PKEY_free(k);
  return c;
}

static int setup(void **state)
{
  (void)state;
  sctx = server_ctx();
  cctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  s6net_tls_tickets_start(0);
  return 0;
}

/* One handshake over a BIO pair, offering *sess if set; returns whether
 * the server resumed, and the client's new session in *sess (the old one
 * released). */
static int connect_once(int version, SSL_SESSION **sess)
{
  SSL *cli = SSL_new(cctx), *srv = SSL_new(sctx);
  BIO *bc, *bs;
  assert_true(cli && srv && BIO_new_bio_pair(&bc, 0, &bs, 0));
  SSL_set_bio(cli, bc, bc);
  SSL_set_bio(srv, bs, bs);
  SSL_set_connect_state(cli);
  SSL_set_accept_state(srv);
  assert_true(SSL_set_min_proto_version(cli, version) && SSL_set_max_proto_version(cli, version));
  if (*sess) assert_true(SSL_set_session(cli, *sess));
  int done = 0;
  for (int i = 0; i < 16 && !done; i++) {
    int a = SSL_do_handshake(cli), b = SSL_do_handshake(srv);
    done = a == 1 && b == 1;
  }
  assert_true(done);
  /* TLS 1.3 tickets come after the handshake: let the client read them. */
  char buf[8];
  assert_int_equal(SSL_read(cli, buf, sizeof buf), -1);
  int reused = SSL_session_reused(srv);
  assert_int_equal(reused, SSL_session_reused(cli));
  /* A session whose connection was not shut down is not resumable. */
  SSL_shutdown(cli);
  SSL_SESSION_free(*sess);
  *sess = SSL_get1_session(cli);
  SSL_free(cli);
  SSL_free(srv);
  ERR_clear_error();
  return reused;
}

static void test_off(void **state)
{
  (void)state;
  assert_int_equal(s6net_tls_tickets_start(0), 0);
  assert_int_equal(s6net_tls_tickets_tick(), -1);
  assert_int_equal(s6net_tls_tickets_period(), 0);
  /* No key: nothing is sealed, nothing is opened. */
  SSL_SESSION *s = NULL;
  assert_false(connect_once(TLS1_3_VERSION, &s));
  assert_false(connect_once(TLS1_3_VERSION, &s));
  SSL_SESSION_free(s);
  assert_int_equal(s6net_tls_tickets_start(8 * 86400), -1);
}

static void test_tick(void **state)
{
  (void)state;
  assert_int_equal(s6net_tls_tickets_start(3600), 0);
  assert_int_equal(s6net_tls_tickets_period(), 3600);
  long t = s6net_tls_tickets_tick();
  assert_true(t > 3590000 && t <= 3600000);
}

static void rotation(int version)
{
  assert_int_equal(s6net_tls_tickets_start(3600), 0);
  SSL_SESSION *s = NULL;
  assert_false(connect_once(version, &s));        /* full handshake, ticket sealed with key 1 */
  SSL_SESSION *first = s;
  SSL_SESSION_up_ref(first);
  assert_true(connect_once(version, &s));         /* resumed with key 1 */
  rotate();
  SSL_SESSION *t = first;
  SSL_SESSION_up_ref(t);
  assert_true(connect_once(version, &t));         /* key 1 is the previous key: still opens */
  rotate();
  assert_false(connect_once(version, &first));    /* key 1 retired: full handshake */
  assert_true(connect_once(version, &t));         /* the ticket reissued under key 2 still works */
  SSL_SESSION_free(first);
  SSL_SESSION_free(t);
  SSL_SESSION_free(s);
}

static void test_rotation_tls13(void **state)
{
  (void)state;
  rotation(TLS1_3_VERSION);
}

static void test_rotation_tls12(void **state)
{
  (void)state;
  rotation(TLS1_2_VERSION);
}

static void test_unknown_key_name(void **state)
{
  (void)state;
  assert_int_equal(s6net_tls_tickets_start(3600), 0);
  SSL_SESSION *s = NULL;
  assert_false(connect_once(TLS1_3_VERSION, &s));
  /* New keys (a restart): the old ticket names an unknown key. */
  assert_int_equal(s6net_tls_tickets_start(3600), 0);
  assert_false(connect_once(TLS1_3_VERSION, &s));
  assert_true(connect_once(TLS1_3_VERSION, &s));
  SSL_SESSION_free(s);
  /* The callback itself: an unknown name means "full handshake" (0). */
  unsigned char name[16], iv[16] = { 0 };
  memset(name, 0xa5, sizeof name);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *h = EVP_MAC_CTX_new(mac);
  assert_int_equal(s6net_tls_ticket_key_cb(NULL, name, iv, c, h, 0), 0);
  /* Sealing gives the current name; opening with it gives 1. */
  assert_int_equal(s6net_tls_ticket_key_cb(NULL, name, iv, c, h, 1), 1);
  assert_int_equal(s6net_tls_ticket_key_cb(NULL, name, iv, c, h, 0), 1);
  rotate();
  assert_int_equal(s6net_tls_ticket_key_cb(NULL, name, iv, c, h, 0), 2);
  rotate();
  assert_int_equal(s6net_tls_ticket_key_cb(NULL, name, iv, c, h, 0), 0);
  EVP_MAC_CTX_free(h);
  EVP_MAC_free(mac);
  EVP_CIPHER_CTX_free(c);
}

int main(void)
{
  struct CMUnitTest const tests[] = {
    cmocka_unit_test(test_off),
    cmocka_unit_test(test_tick),
    cmocka_unit_test(test_rotation_tls13),
    cmocka_unit_test(test_rotation_tls12),
    cmocka_unit_test(test_unknown_key_name),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
