/* The session ticket keys of tls_ticket.c, as the OpenSSL backend and the
 * unit tests see them (tls.h has the public part). */
#ifndef S6NET_TLS_TLS_TICKET_H
#define S6NET_TLS_TLS_TICKET_H

#include <openssl/ssl.h>

/* Period in seconds if s6net_tls_tickets_start turned tickets on, else 0. */
unsigned int s6net_tls_tickets_period(void);

/* For SSL_CTX_set_tlsext_ticket_key_evp_cb: encrypts with the current key,
 * decrypts with the current (1) or the previous one (2: issue a fresh
 * ticket), and answers 0 (full handshake) to any other key name. */
int s6net_tls_ticket_key_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
                            EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc);

#endif
