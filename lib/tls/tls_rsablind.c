/* RSA blinding pairs made in the zygote, one per worker: see rsablind.h.
 *
 * A wrapped key is a legacy RSA object with a copy of OpenSSL's own RSA
 * method whose private-key encryption first blinds the padded input with
 * A = r^e, lets OpenSSL's constant-time CRT exponentiation run without its
 * own blinding (RSA_FLAG_NO_BLINDING), and unblinds with Ai = r^-1. A key
 * whose method is not the default one stays on libcrypto's legacy path, so
 * the method is really called (a provider key would be exported and lose
 * it). Private-key decryption (never used by our server: it offers no RSA
 * key exchange) goes to OpenSSL with its own blinding.
 *
 * (A, Ai) are kept in Montgomery form (x*R mod n), so that one Montgomery
 * multiplication of a plain number by them gives a plain product. A pair
 * is squared for each further use and replaced after BLIND_USES uses, as
 * OpenSSL does with its own.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "tls/rsablind.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#define BLIND_BATCH 16  /* pairs computed per inversion in the zygote */
#define BLIND_USES 32   /* operations per pair before a fresh one */
#define BLIND_KEYS 8    /* wrapped keys at most (the rest: OpenSSL's blinding) */

typedef struct kb {
  RSA *rsa;             /* the wrapped key (we hold a reference) */
  BIGNUM *n, *e;
  BN_MONT_CTX *mont;
  BIGNUM *a, *ai;       /* current pair, Montgomery form; NULL: none */
  unsigned int uses;
  size_t width;         /* bytes per stored number (the modulus size) */
  /* Pairs not handed out yet, in memory that fork() gives the child as
   * zeros (MADV_WIPEONFORK): a worker holds its own pair, not the next
   * ones. Layout: a count, then BLIND_BATCH (a, ai) of width bytes each.
   * NULL where the kernel lacks it: then one pair is made per fork. */
  struct pool { size_t n; unsigned char pairs[]; } *pool;
} kb;

static kb keys[BLIND_KEYS];
static unsigned int nkeys;
static RSA_METHOD *meth;
static int (*dflt_enc)(int, unsigned char const *, unsigned char *, RSA *, int);
static int (*dflt_dec)(int, unsigned char const *, unsigned char *, RSA *, int);

static kb *find(RSA const *rsa)
{
  for (unsigned int i = 0; i < nkeys; i++) if (keys[i].rsa == rsa) return &keys[i];
  return NULL;
}

static void pair_clear(BIGNUM **a, BIGNUM **ai)
{
  BN_clear_free(*a);
  BN_clear_free(*ai);
  *a = *ai = NULL;
}

/* count independent pairs into a[], ai[] (Montgomery form), with one
 * modular inversion: c_i = r_1...r_i, then from inv = c_count^-1 going
 * down, r_i^-1 = inv * c_(i-1) and inv <- inv * r_i. 1 on success. */
static int make_pairs(kb *k, BN_CTX *bc, unsigned int count, BIGNUM **a, BIGNUM **ai)
{
  BIGNUM *rm[BLIND_BATCH] = { 0 }, *cm[BLIND_BATCH] = { 0 };
  BIGNUM *inv = NULL, *t = NULL, *nct = NULL;
  int ok = 0;
  if (!count || count > BLIND_BATCH) return 0;
  for (unsigned int i = 0; i < count; i++) a[i] = ai[i] = NULL;
  nct = BN_new();
  if (!nct) goto end;
  BN_with_flags(nct, k->n, BN_FLG_CONSTTIME);
  inv = BN_secure_new();
  t = BN_secure_new();
  if (!inv || !t) goto end;
  for (unsigned int i = 0; i < count; i++) {
    rm[i] = BN_secure_new();
    cm[i] = BN_secure_new();
    if (!rm[i] || !cm[i]) goto end;
    do if (!BN_priv_rand_range_ex(t, k->n, 0, bc)) goto end; while (BN_is_zero(t));
    /* A = r^e, kept in Montgomery form; r itself in Montgomery form. */
    a[i] = BN_secure_new();
    ai[i] = BN_secure_new();
    if (!a[i] || !ai[i]
     || !BN_mod_exp_mont(a[i], t, k->e, k->n, bc, k->mont)
     || !BN_to_montgomery(a[i], a[i], k->mont, bc)
     || !BN_to_montgomery(rm[i], t, k->mont, bc)) goto end;
    if (!(i ? BN_mod_mul_montgomery(cm[i], cm[i - 1], rm[i], k->mont, bc) : BN_copy(cm[0], rm[0]) != NULL)) goto end;
  }
  /* inv = c_count^-1, plain. */
  if (!BN_from_montgomery(t, cm[count - 1], k->mont, bc)) goto end;
  BN_set_flags(t, BN_FLG_CONSTTIME);
  if (!BN_mod_inverse(inv, t, nct, bc)) goto end;
  for (unsigned int i = count; i-- > 0;) {
    /* r_i^-1 = inv * c_(i-1) (plain), then to Montgomery form. */
    if (i) {
      if (!BN_mod_mul_montgomery(ai[i], inv, cm[i - 1], k->mont, bc)
       || !BN_mod_mul_montgomery(inv, inv, rm[i], k->mont, bc)) goto end;
    } else if (!BN_copy(ai[0], inv)) goto end;
    if (!BN_to_montgomery(ai[i], ai[i], k->mont, bc)) goto end;
  }
  ok = 1;
 end:
  for (unsigned int i = 0; i < BLIND_BATCH; i++) { BN_clear_free(rm[i]); BN_clear_free(cm[i]); }
  BN_clear_free(inv);
  BN_clear_free(t);
  BN_free(nct);
  if (!ok) for (unsigned int i = 0; i < count; i++) pair_clear(&a[i], &ai[i]);
  return ok;
}

/* Make (a, ai) ready for one more operation. */
static int pair_ready(kb *k, BN_CTX *bc)
{
  if (k->a && k->uses < BLIND_USES) {
    if (k->uses
     && (!BN_mod_mul_montgomery(k->a, k->a, k->a, k->mont, bc)
      || !BN_mod_mul_montgomery(k->ai, k->ai, k->ai, k->mont, bc))) return 0;
  } else {
    pair_clear(&k->a, &k->ai);
    if (!make_pairs(k, bc, 1, &k->a, &k->ai)) return 0;
    k->uses = 0;
  }
  k->uses++;
  return 1;
}

static int call_blinded_by_openssl(int (*f)(int, unsigned char const *, unsigned char *, RSA *, int),
  int flen, unsigned char const *from, unsigned char *to, RSA *rsa, int padding)
{
  RSA_clear_flags(rsa, RSA_FLAG_NO_BLINDING);
  int r = f(flen, from, to, rsa, padding);
  RSA_set_flags(rsa, RSA_FLAG_NO_BLINDING);
  return r;
}

static int blind_dec(int flen, unsigned char const *from, unsigned char *to, RSA *rsa, int padding)
{
  return call_blinded_by_openssl(dflt_dec, flen, from, to, rsa, padding);
}

static int blind_enc(int flen, unsigned char const *from, unsigned char *to, RSA *rsa, int padding)
{
  kb *k = find(rsa);
  if (!k || (padding != RSA_PKCS1_PADDING && padding != RSA_NO_PADDING))
    return call_blinded_by_openssl(dflt_enc, flen, from, to, rsa, padding);
  int size = RSA_size(rsa), ret = -1;
  unsigned char *buf = OPENSSL_malloc((size_t)size);
  BN_CTX *bc = BN_CTX_secure_new();
  BIGNUM *x = NULL;
  if (bc) BN_CTX_start(bc);
  if (!buf || !bc || !(x = BN_CTX_get(bc))) goto end;
  if (!(padding == RSA_PKCS1_PADDING
        ? RSA_padding_add_PKCS1_type_1(buf, size, from, flen)
        : RSA_padding_add_none(buf, size, from, flen))) goto end;
  if (!BN_bin2bn(buf, size, x)) goto end;
  if (BN_ucmp(x, k->n) >= 0) {
    ERR_raise(ERR_LIB_RSA, RSA_R_DATA_TOO_LARGE_FOR_MODULUS);
    goto end;
  }
  /* x*A, through OpenSSL's exponentiation, times Ai. */
  if (!pair_ready(k, bc)
   || !BN_mod_mul_montgomery(x, x, k->a, k->mont, bc)
   || BN_bn2binpad(x, buf, size) != size
   || dflt_enc(size, buf, to, rsa, RSA_NO_PADDING) != size
   || !BN_bin2bn(to, size, x)
   || !BN_mod_mul_montgomery(x, x, k->ai, k->mont, bc)
   || BN_bn2binpad(x, to, size) != size) goto end;
  ret = size;
 end:
  if (bc) { BN_CTX_end(bc); BN_CTX_free(bc); }
  if (buf) OPENSSL_clear_free(buf, (size_t)size);
  return ret;
}

static void pool_init(kb *k)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t size = sizeof(struct pool) + 2 * BLIND_BATCH * k->width;
  size = (size + page - 1) / page * page;
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
#ifdef MADV_WIPEONFORK
  if (!madvise(p, size, MADV_WIPEONFORK)) {
    k->pool = p;
    return;
  }
#endif
  munmap(p, size);
}

static int pool_fill(kb *k, BN_CTX *bc)
{
  BIGNUM *a[BLIND_BATCH], *ai[BLIND_BATCH];
  if (!make_pairs(k, bc, BLIND_BATCH, a, ai)) return 0;
  int ok = 1;
  for (unsigned int i = 0; i < BLIND_BATCH; i++) {
    unsigned char *slot = k->pool->pairs + 2 * i * k->width;
    if (BN_bn2binpad(a[i], slot, (int)k->width) < 0 || BN_bn2binpad(ai[i], slot + k->width, (int)k->width) < 0) ok = 0;
    pair_clear(&a[i], &ai[i]);
  }
  if (!ok) {
    OPENSSL_cleanse(k->pool->pairs, 2 * BLIND_BATCH * k->width);
    return 0;
  }
  k->pool->n = BLIND_BATCH;
  return 1;
}

static int pool_take(kb *k)
{
  unsigned char *slot = k->pool->pairs + 2 * (k->pool->n - 1) * k->width;
  k->a = BN_secure_new();
  k->ai = BN_secure_new();
  int ok = k->a && k->ai && BN_bin2bn(slot, (int)k->width, k->a) && BN_bin2bn(slot + k->width, (int)k->width, k->ai)
    && !BN_is_zero(k->a) && !BN_is_zero(k->ai);
  OPENSSL_cleanse(slot, 2 * k->width);
  k->pool->n--;
  if (!ok) pair_clear(&k->a, &k->ai);
  return ok;
}

static int meth_init(void)
{
  if (meth) return 1;
  RSA_METHOD *m = RSA_meth_dup(RSA_PKCS1_OpenSSL());
  if (!m) return 0;
  dflt_enc = RSA_meth_get_priv_enc(m);
  dflt_dec = RSA_meth_get_priv_dec(m);
  if (!dflt_enc || !dflt_dec || !RSA_meth_set1_name(m, "s6net zygote blinding")
   || !RSA_meth_set_priv_enc(m, blind_enc) || !RSA_meth_set_priv_dec(m, blind_dec)) {
    RSA_meth_free(m);
    return 0;
  }
  meth = m;
  return 1;
}

EVP_PKEY *s6net_rsablind_wrap(EVP_PKEY *key)
{
  RSA *orig = NULL, *rsa = NULL;
  EVP_PKEY *w = NULL;
  BN_CTX *bc = NULL;
  kb *k = nkeys < BLIND_KEYS ? &keys[nkeys] : NULL;
  if (!k || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || !meth_init()) goto same;
  orig = EVP_PKEY_get1_RSA(key);
  rsa = orig ? RSAPrivateKey_dup(orig) : NULL;
  RSA_free(orig);
  if (!rsa) goto same;
  BIGNUM const *n, *e, *d, *p, *q;
  RSA_get0_key(rsa, &n, &e, &d);
  RSA_get0_factors(rsa, &p, &q);
  /* Only two-prime keys with CRT factors: the layout we reason about. */
  if (!n || !e || !d || !p || !q || RSA_get_multi_prime_extra_count(rsa) > 0) goto same;
  memset(k, 0, sizeof *k);
  k->width = (size_t)BN_num_bytes(n);
  bc = BN_CTX_new();
  k->n = BN_dup(n);
  k->e = BN_dup(e);
  k->mont = BN_MONT_CTX_new();
  if (!bc || !k->n || !k->e || !k->mont || !BN_MONT_CTX_set(k->mont, k->n, bc)) goto fail;
  if (!RSA_set_method(rsa, meth)) goto fail;
  RSA_set_flags(rsa, RSA_FLAG_NO_BLINDING);
  w = EVP_PKEY_new();
  if (!w || !RSA_up_ref(rsa)) goto fail;
  k->rsa = rsa;
  if (!EVP_PKEY_assign_RSA(w, rsa)) goto fail;
  rsa = NULL;
  pool_init(k);
  nkeys++;
  /* One signature now, with a pair no worker will get: OpenSSL caches the
   * Montgomery contexts of p and q in the key (they depend on the key
   * only), so that each worker does not compute them again. */
  {
    unsigned char dg[32] = { 0 }, sig[1024];
    size_t siglen = sizeof sig;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(w, NULL);
    if (pc && EVP_PKEY_sign_init(pc) > 0 && EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) > 0)
      (void)EVP_PKEY_sign(pc, sig, &siglen, dg, sizeof dg);
    EVP_PKEY_CTX_free(pc);
    pair_clear(&k->a, &k->ai);
  }
  BN_CTX_free(bc);
  ERR_clear_error();
  return w;
 fail:
  EVP_PKEY_free(w);
  w = NULL;
  RSA_free(k->rsa); /* our reference; w's (if assigned) went with w */
  BN_free(k->n);
  BN_free(k->e);
  BN_MONT_CTX_free(k->mont);
  memset(k, 0, sizeof *k);
 same:
  RSA_free(rsa);
  BN_CTX_free(bc);
  ERR_clear_error();
  EVP_PKEY_up_ref(key);
  return key;
}

void s6net_rsablind_prefork(void)
{
  BN_CTX *bc = NULL;
  for (unsigned int i = 0; i < nkeys; i++) {
    kb *k = &keys[i];
    pair_clear(&k->a, &k->ai);
    k->uses = 0;
    if (k->pool && k->pool->n) { (void)pool_take(k); continue; }
    /* Pairs to make: a batch for the pool or, without wipe-on-fork memory,
     * one for this worker. On failure the worker makes its own. */
    if (!bc && !(bc = BN_CTX_secure_new())) break;
    if (!k->pool) (void)make_pairs(k, bc, 1, &k->a, &k->ai);
    else if (pool_fill(k, bc)) (void)pool_take(k);
  }
  BN_CTX_free(bc);
  ERR_clear_error();
}

/* The wrapping of a key, if it is one of ours. */
static kb *find_key(EVP_PKEY *key)
{
  RSA const *rsa = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? EVP_PKEY_get0_RSA(key) : NULL;
  return rsa ? find(rsa) : NULL;
}

size_t s6net_rsablind_pooled(EVP_PKEY *key)
{
  kb *k = find_key(key);
  return k && k->pool ? k->pool->n : 0;
}

void s6net_rsablind_postfork(void)
{
  for (unsigned int i = 0; i < nkeys; i++) pair_clear(&keys[i].a, &keys[i].ai);
}

int s6net_rsablind_peek(EVP_PKEY *key, unsigned char **out, size_t *len)
{
  kb *k = find_key(key);
  if (!k || !k->ai) return 0;
  *len = (size_t)BN_num_bytes(k->ai);
  *out = malloc(*len ? *len : 1);
  if (!*out) return 0;
  BN_bn2bin(k->ai, *out);
  return 1;
}
