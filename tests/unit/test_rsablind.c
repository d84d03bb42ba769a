/* lib/tls/tls_rsablind.c: RSA keys whose blinding pairs come from the
 * zygote. Every signature made through a wrapped key must verify with the
 * original key (PKCS#1 v1.5 and PSS, past the point where a pair is
 * replaced), every fork must get a pair no other fork got, and the parent
 * must not keep it. */
#include "unit.h"
#include "tls/rsablind.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

static EVP_PKEY *orig;
static EVP_PKEY *wrapped;

static int setup(void **state)
{
  (void)state;
  orig = EVP_RSA_gen(2048);
  if (!orig) return -1;
  wrapped = s6net_rsablind_wrap(orig);
  return wrapped && wrapped != orig ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  EVP_PKEY_free(wrapped);
  EVP_PKEY_free(orig);
  return 0;
}

static int sign_verify(EVP_PKEY *signer, EVP_PKEY *verifier, int pad, char const *msg)
{
  unsigned char sig[512];
  size_t siglen = sizeof sig;
  EVP_PKEY_CTX *pc = NULL, *vc = NULL;
  EVP_MD_CTX *m = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
  int ok = m && v
    && EVP_DigestSignInit(m, &pc, EVP_sha256(), NULL, signer) > 0
    && EVP_PKEY_CTX_set_rsa_padding(pc, pad) > 0
    && EVP_DigestSign(m, sig, &siglen, (unsigned char const *)msg, strlen(msg)) > 0
    && EVP_DigestVerifyInit(v, &vc, EVP_sha256(), NULL, verifier) > 0
    && EVP_PKEY_CTX_set_rsa_padding(vc, pad) > 0
    && EVP_DigestVerify(v, sig, siglen, (unsigned char const *)msg, strlen(msg)) == 1;
  EVP_MD_CTX_free(m);
  EVP_MD_CTX_free(v);
  return ok;
}

static int same_peek(unsigned char *a, size_t la, unsigned char *b, size_t lb)
{
  return la == lb && !memcmp(a, b, la);
}

static void test_not_rsa(void **state)
{
  (void)state;
  EVP_PKEY *ec = EVP_EC_gen("P-256");
  assert_non_null(ec);
  EVP_PKEY *w = s6net_rsablind_wrap(ec);
  assert_ptr_equal(w, ec);
  EVP_PKEY_free(w);
  EVP_PKEY_free(ec);
}

static void test_signatures_verify(void **state)
{
  (void)state;
  assert_true(EVP_PKEY_eq(orig, wrapped) == 1);
  s6net_rsablind_prefork();
  /* 80 operations: the pair is squared 31 times, replaced, and again. */
  for (int i = 0; i < 40; i++) {
    assert_true(sign_verify(wrapped, orig, RSA_PKCS1_PSS_PADDING, "pss"));
    assert_true(sign_verify(wrapped, orig, RSA_PKCS1_PADDING, "pkcs1"));
  }
  s6net_rsablind_postfork();
  /* Without a pair from the zygote the key makes its own. */
  assert_true(sign_verify(wrapped, orig, RSA_PKCS1_PSS_PADDING, "own pair"));
  s6net_rsablind_postfork();
}

static void test_our_blinding_is_used(void **state)
{
  (void)state;
  unsigned char *a, *b;
  size_t la, lb;
  s6net_rsablind_prefork();
  assert_true(s6net_rsablind_peek(wrapped, &a, &la));
  /* The first operation uses the pair as given, the next one squares it:
   * proof that signing goes through our method. */
  assert_true(sign_verify(wrapped, orig, RSA_PKCS1_PSS_PADDING, "one"));
  assert_true(s6net_rsablind_peek(wrapped, &b, &lb));
  assert_true(same_peek(a, la, b, lb));
  free(b);
  assert_true(sign_verify(wrapped, orig, RSA_PKCS1_PSS_PADDING, "two"));
  assert_true(s6net_rsablind_peek(wrapped, &b, &lb));
  assert_false(same_peek(a, la, b, lb));
  free(a);
  free(b);
  s6net_rsablind_postfork();
  assert_false(s6net_rsablind_peek(wrapped, &a, &la));
}

static void test_every_fork_its_own_pair(void **state)
{
  (void)state;
  enum { N = 40 }; /* more than two batches */
  unsigned char *seen[N];
  size_t len[N];
  for (int i = 0; i < N; i++) {
    size_t ready = s6net_rsablind_pooled(wrapped);
    s6net_rsablind_prefork();
    assert_true(s6net_rsablind_peek(wrapped, &seen[i], &len[i]));
    for (int j = 0; j < i; j++) assert_false(same_peek(seen[i], len[i], seen[j], len[j]));
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
      /* The child has the pair the parent saw, and it signs correctly. */
      unsigned char *c;
      size_t lc;
      /* The pairs the next workers will get are not in its memory. */
      char ok = s6net_rsablind_peek(wrapped, &c, &lc) && same_peek(c, lc, seen[i], len[i])
        && s6net_rsablind_pooled(wrapped) == 0
        && sign_verify(wrapped, orig, i & 1 ? RSA_PKCS1_PADDING : RSA_PKCS1_PSS_PADDING, "child");
      _exit(write(p[1], &ok, 1) == 1 && ok ? 0 : 1);
    }
    s6net_rsablind_postfork();
    /* One pair fewer for the next workers (a new batch of 16 when empty). */
    assert_int_equal(s6net_rsablind_pooled(wrapped), ready ? ready - 1 : 15);
    unsigned char *none;
    size_t lnone;
    assert_false(s6net_rsablind_peek(wrapped, &none, &lnone));
    int st;
    char ok = 0;
    close(p[1]);
    assert_int_equal(read(p[0], &ok, 1), 1);
    close(p[0]);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(ok);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  for (int i = 0; i < N; i++) free(seen[i]);
}

static void test_decrypt_still_works(void **state)
{
  (void)state;
  unsigned char ct[512], pt[512];
  size_t ctlen = sizeof ct, ptlen = sizeof pt;
  EVP_PKEY_CTX *e = EVP_PKEY_CTX_new(orig, NULL), *d = EVP_PKEY_CTX_new(wrapped, NULL);
  assert_non_null(e);
  assert_non_null(d);
  assert_true(EVP_PKEY_encrypt_init(e) > 0);
  assert_true(EVP_PKEY_CTX_set_rsa_padding(e, RSA_PKCS1_OAEP_PADDING) > 0);
  assert_true(EVP_PKEY_encrypt(e, ct, &ctlen, (unsigned char const *)"secret", 6) > 0);
  assert_true(EVP_PKEY_decrypt_init(d) > 0);
  assert_true(EVP_PKEY_CTX_set_rsa_padding(d, RSA_PKCS1_OAEP_PADDING) > 0);
  assert_true(EVP_PKEY_decrypt(d, pt, &ptlen, ct, ctlen) > 0);
  assert_int_equal(ptlen, 6);
  assert_memory_equal(pt, "secret", 6);
  EVP_PKEY_CTX_free(e);
  EVP_PKEY_CTX_free(d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_not_rsa),
    cmocka_unit_test(test_signatures_verify),
    cmocka_unit_test(test_our_blinding_is_used),
    cmocka_unit_test(test_every_fork_its_own_pair),
    cmocka_unit_test(test_decrypt_still_works),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
