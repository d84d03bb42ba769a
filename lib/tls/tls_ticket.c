/* Session ticket keys for the zygote (see tls.h and tls_ticket.h).
 *
 * Two keys: the current one encrypts new tickets, the previous one still
 * decrypts for one more period, so a ticket issued just before a rotation
 * stays usable for a whole lifetime (the lifetime hint is one period).
 * Keys are drawn from the kernel, live in this process's memory only,
 * reach the workers by fork and nowhere else, and are wiped when retired. */
#include "tls/tls.h"
#include "tls/tls_ticket.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define PERIOD_MAX (7u * 86400)

struct tkey {
  unsigned char name[16];
  unsigned char aes[32];   /* AES-256-CBC */
  unsigned char hmac[32];  /* HMAC-SHA256 */
  unsigned char live;
};

static struct tkey cur, prev;
static unsigned int period;          /* seconds; 0 = tickets off */
static unsigned long long due;       /* CLOCK_MONOTONIC ms of the next rotation */

static unsigned long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

static int fill(void *buf, size_t len)
{
  unsigned char *p = buf;
  while (len) {
    ssize_t r = getrandom(p, len, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += r;
    len -= (size_t)r;
  }
  return 0;
}

static void wipe(struct tkey *k)
{
  OPENSSL_cleanse(k, sizeof *k);
}

/* A fresh current key; the current one becomes the previous one and the
 * previous one is wiped. On failure nothing changes. */
static int rotate(void)
{
  struct tkey k;
  if (fill(&k, sizeof k) < 0) { wipe(&k); return -1; }
  k.live = 1;
  wipe(&prev);
  prev = cur;
  cur = k;
  wipe(&k);
  return 0;
}

int s6net_tls_tickets_start(unsigned int p)
{
  wipe(&cur);
  wipe(&prev);
  period = 0;
  if (!p) return 0;
  if (p > PERIOD_MAX) { errno = EINVAL; return -1; }
  if (rotate() < 0) return -1;
  wipe(&prev);
  period = p;
  due = now_ms() + (unsigned long long)p * 1000;
  return 0;
}

long s6net_tls_tickets_tick(void)
{
  if (!period) return -1;
  unsigned long long t = now_ms();
  if (t >= due) {
    /* Without fresh randomness keep the keys one more second and retry:
     * tickets stay valid a little longer, nothing else changes. */
    if (rotate() < 0) { due = t + 1000; return 1000; }
    due = t + (unsigned long long)period * 1000;
  }
  return (long)(due - t);
}

unsigned int s6net_tls_tickets_period(void)
{
  return period;
}

static int use_key(struct tkey const *k, unsigned char *iv, EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
  OSSL_PARAM params[3];
  params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof k->hmac);
  params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
  params[2] = OSSL_PARAM_construct_end();
  if (!EVP_MAC_CTX_set_params(hctx, params)) return -1;
  int ok = enc ? EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv)
               : EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv);
  return ok ? 0 : -1;
}

int s6net_tls_ticket_key_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
                            EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
  (void)ssl;
  if (!period || !cur.live) return 0; /* sealing: no ticket; opening: full handshake */
  if (enc) {
    if (RAND_bytes(iv, 16) <= 0) return -1;
    memcpy(name, cur.name, sizeof cur.name);
    return use_key(&cur, iv, cctx, hctx, 1) < 0 ? -1 : 1;
  }
  /* Not secret, so no need for a constant-time comparison. */
  if (!memcmp(name, cur.name, sizeof cur.name)) return use_key(&cur, iv, cctx, hctx, 0) < 0 ? -1 : 1;
  if (prev.live && !memcmp(name, prev.name, sizeof prev.name))
    return use_key(&prev, iv, cctx, hctx, 0) < 0 ? -1 : 2;
  return 0;
}
