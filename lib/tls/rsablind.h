/* RSA blinding for pre-forked workers (OpenSSL backend only).
 *
 * OpenSSL blinds every RSA private-key operation with a random r: it
 * multiplies the input by r^e first and the result by r^-1 after. It makes
 * (r^e, r^-1) lazily, on a key's first private operation, and refreshes
 * them by squaring for 32 operations. Computing r^-1 in constant time costs
 * 0.5-0.7 ms for RSA-2048, which a long-lived server pays once per 32
 * handshakes but a worker that serves one connection pays every time.
 *
 * A wrapped key does its own blinding with the same arithmetic, and takes
 * its (r^e, r^-1) from the zygote: the zygote draws the r of a batch of
 * workers independently and inverts them all with one inversion
 * (Montgomery's trick: invert the product, then peel off each factor with
 * two multiplications). Each pair goes to exactly one worker and the zygote
 * erases its copy once that worker is forked; the pairs not handed out yet
 * live in memory that a forked child sees as zeros (MADV_WIPEONFORK). So no
 * two connections share blinding values, and no worker holds another's. The exponentiation itself stays OpenSSL's
 * constant-time CRT code.
 */
#ifndef S6NET_TLS_RSABLIND_H
#define S6NET_TLS_RSABLIND_H

#include <openssl/evp.h>

/* A key to use instead of k (a new reference; k is left alone): an RSA key
 * wrapped for zygote blinding, or k itself (referenced again) if it is not
 * a plain RSA key or wrapping failed. */
EVP_PKEY *s6net_rsablind_wrap(EVP_PKEY *k);

/* In the zygote, right before fork(): give every wrapped key a fresh
 * blinding pair of its own (drawn from the batch, refilled as needed). */
void s6net_rsablind_prefork(void);

/* In the zygote, right after fork(): erase the pairs the child took. */
void s6net_rsablind_postfork(void);

/* For tests: how many pairs the zygote holds ready for the next workers
 * (0 in a worker: that memory is wiped on fork). */
size_t s6net_rsablind_pooled(EVP_PKEY *k);

/* For tests: copy the current r^-1 of a wrapped key into out (allocated);
 * 0 if the key is not wrapped or has no pair yet. */
int s6net_rsablind_peek(EVP_PKEY *k, unsigned char **out, size_t *len);

#endif
