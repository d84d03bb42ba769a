/* What the two halves of the OpenSSL 3 backend of tls.h share:
 * tls_openssl_ctx.c builds the contexts (keys, certificates, trust, SNI,
 * tickets, the zygote's warm-up), tls_openssl_session.c runs one
 * connection on them (handshake, notification, relay). Private to them. */
#ifndef S6NET_TLS_TLS_OPENSSL_H
#define S6NET_TLS_TLS_OPENSSL_H

#include "tls/tls.h"

#include <stddef.h>
#include <openssl/ssl.h>

#define S6NET_TLS_SNI_MAX 256

struct s6net_tls_sni {
  char *name;       /* lower case; "*.example.com" for wildcards */
  SSL_CTX *ctx;
};

struct s6net_tls_ctx {
  SSL_CTX *def;
  SSL *spare;       /* made ahead by s6net_tls_spare, for the next handshake */
  int hasdefault;   /* server: the default context holds a keypair */
  size_t nsni;
  struct s6net_tls_sni sni[S6NET_TLS_SNI_MAX];
  unsigned char alpn[256]; /* wire format */
  size_t alpnlen;
};

/* OpenSSL's last error as one line, for messages; valid until the next
 * call. */
char const *s6net_tls_ossl_reason(void);

#endif
