/* OpenSSL 3 backend of tls.h, contexts and keys: reading keys,
 * certificates and trust anchors, the SNI table, the verification and
 * ticket settings, s6net_tls_ctx_try for the zygote's renewals, and the
 * zygote's warm-up. The connection side is tls_openssl_session.c. */
#include "tls/tls_openssl.h"
#include "tls/tlsopt.h"
#include "tls/tls_ticket.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/priv.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/crypto.h>

#define KEYFILE_MAX (1 << 20)
#define READ_BUFFER (4 * (16384 + 2048)) /* bytes read from the network at once */
#define CADIR_MAX 20000

/* ---- diagnostics ---------------------------------------------------- */

char const *s6net_tls_ossl_reason(void)
{
  static char buf[256];
  unsigned long e = ERR_peek_last_error();
  if (!e) return "unknown error";
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

/* Loading keys can fail without dying (the zygote reloading renewed
 * files keeps its old context): the loaders record one message and a
 * code here and return failure; s6net_tls_ctx_new dies with them. */
static int conf_code;
static char conf_msg[1024];

static void fail(int code, char const *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(conf_msg, sizeof conf_msg, fmt, ap);
  va_end(ap);
  conf_code = code;
}

static void fail_sys(int code, char const *what, char const *var, char const *path)
{
  fail(code, "unable to %s %s %s: %s", what, var, path, strerror(errno));
}

static void fail_ossl(int code, char const *what, char const *obj)
{
  fail(code, "unable to %s%s%s: %s", what, obj ? " " : "", obj ? obj : "", s6net_tls_ossl_reason());
}

/* ---- reading keys and certificates ---------------------------------- */

/* The whole file, or NULL (errno set). Bounded so a wrong path to a huge
 * file fails instead of eating memory. */
static unsigned char *slurp(char const *path, size_t *len)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) goto err;
  if (!S_ISREG(st.st_mode)) { errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL; goto err; }
  if (st.st_size > KEYFILE_MAX) { errno = EFBIG; goto err; }
  size_t cap = (size_t)st.st_size + 1;
  unsigned char *buf = malloc(cap);
  if (!buf) goto err;
  ssize_t r = s6net_read_full(fd, buf, cap - 1);
  if (r < 0) { free(buf); goto err; }
  close(fd);
  buf[r] = 0;
  *len = (size_t)r;
  return buf;
err:
  s6net_fd_close(fd);
  return NULL;
}

static void wipe_free(unsigned char *buf, size_t len)
{
  if (!buf) return;
  OPENSSL_cleanse(buf, len);
  free(buf);
}

static int is_pem(unsigned char const *buf, size_t len)
{
  return memmem(buf, len, "-----BEGIN ", 11) != NULL;
}

static int no_password(char *buf, int size, int rwflag, void *u)
{
  (void)buf; (void)size; (void)rwflag; (void)u;
  return -1;
}

/* Certificate chain: leaf first. PEM may hold a chain, DER holds one.
 * NULL on failure (recorded). */
static X509 *load_chain(char const *var, char const *path, STACK_OF(X509) **chain)
{
  size_t len;
  unsigned char *buf = slurp(path, &len);
  if (!buf) { fail_sys(S6NET_TLS_EXIT_CONF, "read", var, path); return NULL; }
  X509 *leaf = NULL;
  *chain = sk_X509_new_null();
  if (!*chain) { free(buf); fail_ossl(S6NET_TLS_EXIT_SETUP, "allocate", "certificate chain"); return NULL; }
  ERR_clear_error();
  int setup = 0;
  if (is_pem(buf, len)) {
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    if (!b) setup = 1;
    else {
      leaf = PEM_read_bio_X509_AUX(b, NULL, no_password, NULL);
      if (leaf) {
        X509 *x;
        while ((x = PEM_read_bio_X509(b, NULL, no_password, NULL)))
          if (!sk_X509_push(*chain, x)) { X509_free(x); setup = 1; break; }
        unsigned long e = ERR_peek_last_error();
        if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) ERR_clear_error();
        else if (e || setup) { X509_free(leaf); leaf = NULL; }
      }
      BIO_free(b);
    }
  } else {
    unsigned char const *p = buf;
    leaf = d2i_X509(NULL, &p, (long)len);
  }
  free(buf);
  if (!leaf) {
    if (setup) fail_ossl(S6NET_TLS_EXIT_SETUP, "allocate", "certificate chain");
    else fail_ossl(S6NET_TLS_EXIT_CONF, "parse certificate in", path);
    sk_X509_pop_free(*chain, X509_free);
    *chain = NULL;
  }
  return leaf;
}

static EVP_PKEY *load_key(char const *var, char const *path)
{
  size_t len;
  unsigned char *buf = slurp(path, &len);
  if (!buf) { fail_sys(S6NET_TLS_EXIT_CONF, "read", var, path); return NULL; }
  EVP_PKEY *k = NULL;
  ERR_clear_error();
  if (is_pem(buf, len)) {
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    if (b) k = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
    BIO_free(b);
  } else {
    unsigned char const *p = buf;
    k = d2i_AutoPrivateKey(NULL, &p, (long)len);
  }
  wipe_free(buf, len);
  if (!k) fail_ossl(S6NET_TLS_EXIT_CONF, "parse private key in", path);
  return k;
}

/* 0, or -1 (recorded). */
static int use_keypair(SSL_CTX *ctx, char const *kvar, char const *kpath, char const *cvar, char const *cpath)
{
  STACK_OF(X509) *chain;
  X509 *leaf = load_chain(cvar, cpath, &chain);
  if (!leaf) return -1;
  EVP_PKEY *key = load_key(kvar, kpath);
  int r = -1;
  if (!key) goto end;
  ERR_clear_error();
  if (!SSL_CTX_use_certificate(ctx, leaf)) { fail_ossl(S6NET_TLS_EXIT_CONF, "use certificate", cpath); goto end; }
  if (!SSL_CTX_use_PrivateKey(ctx, key) || !SSL_CTX_check_private_key(ctx)) {
    fail(S6NET_TLS_EXIT_CONF, "unable to use private key %s: it does not match certificate %s", kpath, cpath);
    goto end;
  }
  if (!SSL_CTX_set1_chain(ctx, chain)) { fail_ossl(S6NET_TLS_EXIT_CONF, "use certificate chain", cpath); goto end; }
  r = 0;
end:
  X509_free(leaf);
  EVP_PKEY_free(key);
  sk_X509_pop_free(chain, X509_free);
  return r;
}

/* Add every certificate found in a PEM or DER buffer; returns the count. */
static size_t store_add_buf(X509_STORE *st, unsigned char const *buf, size_t len)
{
  size_t n = 0;
  if (is_pem(buf, len)) {
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    if (!b) return 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(b, NULL, no_password, NULL))) {
      if (X509_STORE_add_cert(st, x)) n++;
      X509_free(x);
    }
    BIO_free(b);
  } else {
    unsigned char const *p = buf;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x) {
      if (X509_STORE_add_cert(st, x)) n++;
      X509_free(x);
    }
  }
  ERR_clear_error();
  return n;
}

/* CADIR takes precedence over CAFILE. CADIR holds one anchor per file (PEM
 * or DER); unlike OpenSSL's CApath, no hashed names are needed. Sets *out
 * (NULL if neither is set); -1 on failure (recorded). */
static int load_trust(char const *const *envp, X509_STORE **out)
{
  char const *dir = s6net_env_get(envp, "CADIR");
  char const *file = s6net_env_get(envp, "CAFILE");
  *out = NULL;
  if (!dir && !file) return 0;
  X509_STORE *st = X509_STORE_new();
  if (!st) { fail_ossl(S6NET_TLS_EXIT_SETUP, "allocate", "trust store"); return -1; }
  size_t n = 0;
  if (dir) {
    DIR *d = opendir(dir);
    if (!d) { fail_sys(S6NET_TLS_EXIT_CONF, "open", "CADIR", dir); goto err; }
    struct dirent *de;
    size_t seen = 0;
    while ((de = readdir(d)) && seen++ < CADIR_MAX) {
      if (de->d_name[0] == '.') continue;
      char path[4096];
      size_t len;
      if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path) continue;
      unsigned char *buf = slurp(path, &len);
      if (!buf) continue;
      n += store_add_buf(st, buf, len);
      free(buf);
    }
    closedir(d);
    if (!n) { fail(S6NET_TLS_EXIT_CONF, "unable to find any certificate in CADIR %s", dir); goto err; }
  } else {
    size_t len;
    unsigned char *buf = slurp(file, &len);
    if (!buf) { fail_sys(S6NET_TLS_EXIT_CONF, "read", "CAFILE", file); goto err; }
    n = store_add_buf(st, buf, len);
    free(buf);
    if (!n) { fail(S6NET_TLS_EXIT_CONF, "unable to find any certificate in CAFILE %s", file); goto err; }
  }
  *out = st;
  return 0;
err:
  X509_STORE_free(st);
  return -1;
}

/* ---- context set-up ------------------------------------------------- */

static int cpu_has_aes(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul");
#else
  return 0;
#endif
}

static int alpn_select(SSL *ssl, unsigned char const **out, unsigned char *outlen,
                       unsigned char const *in, unsigned int inlen, void *arg)
{
  s6net_tls_ctx *t = arg;
  unsigned char *o;
  (void)ssl;
  /* Server preference: the first of our protocols that the client offers. */
  if (SSL_select_next_proto(&o, outlen, t->alpn, (unsigned int)t->alpnlen, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = o;
  return SSL_TLSEXT_ERR_OK;
}

static int sni_cb(SSL *ssl, int *al, void *arg);

/* A ticket is good only for the server name it was issued under (RFC
 * 6066 section 3: no resumption across names): the name goes into the
 * ticket as its application data, and a ticket offered with another
 * name (or none) means a full handshake and a fresh ticket. The name
 * is taken from the ClientHello itself, since in TLS 1.2 tickets are
 * opened before the server name is processed. */
static int ticket_gen(SSL *ssl, void *arg)
{
  (void)arg;
  char const *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  return SSL_SESSION_set1_ticket_appdata(SSL_get0_session(ssl), name ? name : "", name ? strlen(name) : 0);
}

static SSL_TICKET_RETURN ticket_dec(SSL *ssl, SSL_SESSION *ss, unsigned char const *kn, size_t knlen,
                                    SSL_TICKET_STATUS st, void *arg)
{
  (void)kn; (void)knlen; (void)arg;
  if (st == SSL_TICKET_FATAL_ERR_MALLOC || st == SSL_TICKET_FATAL_ERR_OTHER) return SSL_TICKET_RETURN_ABORT;
  if (st != SSL_TICKET_SUCCESS && st != SSL_TICKET_SUCCESS_RENEW) return SSL_TICKET_RETURN_IGNORE_RENEW;
  void *was = NULL;
  size_t wlen = 0;
  unsigned char const *ext;
  size_t extlen;
  char const *now = "";
  size_t nlen = 0;
  if (!SSL_SESSION_get0_ticket_appdata(ss, &was, &wlen)) return SSL_TICKET_RETURN_IGNORE_RENEW;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &extlen)
   && s6net_tls_sni_ext_name(ext, extlen, &now, &nlen) < 0) return SSL_TICKET_RETURN_IGNORE_RENEW;
  if (wlen != nlen || (nlen && strncasecmp(was, now, nlen))) return SSL_TICKET_RETURN_IGNORE_RENEW;
  return st == SSL_TICKET_SUCCESS_RENEW ? SSL_TICKET_RETURN_USE_RENEW : SSL_TICKET_RETURN_USE;
}

static SSL_CTX *ctx_make(s6net_tls_ctx *t, s6net_tls_conf const *c, X509_STORE *store)
{
  SSL_CTX *ctx = SSL_CTX_new(c->server ? TLS_server_method() : TLS_client_method());
  if (!ctx) { fail_ossl(S6NET_TLS_EXIT_SETUP, "create", "TLS context"); return NULL; }
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* Read what the socket holds, not one record header then one record
   * body: a handshake flight or a run of full-size records then takes one
   * system call instead of two per record. Nothing but TLS follows on the
   * connection once the engine owns it, so nothing is read too far. */
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, READ_BUFFER);
  /* No session cache: every engine process serves exactly one
   * connection. Resumption, when on, is stateless: tickets sealed with
   * the zygote's keys (tls_ticket.c), which every worker inherits. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (c->server) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    unsigned int tp = s6net_tls_tickets_period();
    if (tp) {
      SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, s6net_tls_ticket_key_cb);
      SSL_CTX_set_session_ticket_cb(ctx, ticket_gen, ticket_dec, NULL);
      SSL_CTX_set_num_tickets(ctx, 1);
      SSL_CTX_set_timeout(ctx, (long)tp);
    } else {
      SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
      SSL_CTX_set_num_tickets(ctx, 0);
    }
    /* No 0-RTT: early data can be replayed. */
    SSL_CTX_set_max_early_data(ctx, 0);
    /* Resumption with client certificates needs a session id context. */
    if (!SSL_CTX_set_session_id_context(ctx, (unsigned char const *)"s6net-tlsd", 10)) {
      fail_ossl(S6NET_TLS_EXIT_SETUP, "set", "session id context");
      SSL_CTX_free(ctx);
      return NULL;
    }
    int aes = cpu_has_aes();
    char const *l12 = aes
      ? "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
      : "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
    char const *l13 = aes
      ? "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
      : "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";
    if (!SSL_CTX_set_cipher_list(ctx, l12) || !SSL_CTX_set_ciphersuites(ctx, l13)) {
      fail_ossl(S6NET_TLS_EXIT_SETUP, "set", "cipher preference");
      SSL_CTX_free(ctx);
      return NULL;
    }
    if (c->clientcert) {
      int mode = SSL_VERIFY_PEER;
      if (c->clientcert == S6NET_TLS_CERT_REQUIRED) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      SSL_CTX_set_verify(ctx, mode, NULL);
    }
    if (t->alpnlen) SSL_CTX_set_alpn_select_cb(ctx, alpn_select, t);
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, t);
  } else {
    SSL_CTX_set_verify(ctx, c->noverify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    if (t->alpnlen && SSL_CTX_set_alpn_protos(ctx, t->alpn, (unsigned int)t->alpnlen)) {
      fail_ossl(S6NET_TLS_EXIT_SETUP, "set", "ALPN protocols");
      SSL_CTX_free(ctx);
      return NULL;
    }
  }
  if (store) SSL_CTX_set1_cert_store(ctx, store);
  return ctx;
}

static int sni_match(char const *a, char const *b)
{
  return !strcasecmp(a, b);
}

static int sni_cb(SSL *ssl, int *al, void *arg)
{
  s6net_tls_ctx *t = arg;
  char const *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name && t->nsni) {
    for (size_t i = 0; i < t->nsni; i++)
      if (sni_match(t->sni[i].name, name)) { SSL_set_SSL_CTX(ssl, t->sni[i].ctx); return SSL_TLSEXT_ERR_OK; }
    char const *dot = strchr(name, '.');
    if (dot && dot != name && strchr(dot + 1, '.')) {
      for (size_t i = 0; i < t->nsni; i++) {
        char const *n = t->sni[i].name;
        if (n[0] == '*' && sni_match(n + 1, dot)) { SSL_set_SSL_CTX(ssl, t->sni[i].ctx); return SSL_TLSEXT_ERR_OK; }
      }
    }
  }
  if (!t->hasdefault) { *al = SSL_AD_UNRECOGNIZED_NAME; return SSL_TLSEXT_ERR_ALERT_FATAL; }
  return SSL_TLSEXT_ERR_OK;
}

static int load_sni(s6net_tls_ctx *t, s6net_tls_conf const *c, X509_STORE *store, char const *const *envp)
{
  for (char const *const *e = envp; *e; e++) {
    if (strncmp(*e, "KEYFILE:", 8)) continue;
    char const *eq = strchr(*e, '=');
    if (!eq) continue;
    size_t nlen = (size_t)(eq - (*e + 8));
    if (!nlen) continue;
    char name[300], cvar[320], kvar[320];
    if (nlen >= sizeof name) { fail(100, "server name too long in %.40s...", *e); return -1; }
    memcpy(name, *e + 8, nlen);
    name[nlen] = 0;
    /* "*.com" would cover a whole top-level domain: refused by design. */
    if (name[0] == '*' && (name[1] != '.' || !strchr(name + 2, '.') || strchr(name + 1, '*'))) {
      fail(100, "invalid wildcard server name: %s", name);
      return -1;
    }
    snprintf(kvar, sizeof kvar, "KEYFILE:%s", name);
    snprintf(cvar, sizeof cvar, "CERTFILE:%s", name);
    char const *cpath = s6net_env_get(envp, cvar);
    if (!cpath) { fail(100, "%s is set but %s is not", kvar, cvar); return -1; }
    if (t->nsni >= S6NET_TLS_SNI_MAX) { fail(100, "too many KEYFILE:x variables (max %d)", S6NET_TLS_SNI_MAX); return -1; }
    SSL_CTX *ctx = ctx_make(t, c, store);
    if (!ctx) return -1;
    if (use_keypair(ctx, kvar, eq + 1, cvar, cpath) < 0) { SSL_CTX_free(ctx); return -1; }
    for (char *p = name; *p; p++) if (*p >= 'A' && *p <= 'Z') *p += 32;
    t->sni[t->nsni].name = strdup(name);
    if (!t->sni[t->nsni].name) { SSL_CTX_free(ctx); fail(111, "unable to allocate: %s", strerror(errno)); return -1; }
    t->sni[t->nsni++].ctx = ctx;
  }
  return 0;
}

s6net_tls_ctx *s6net_tls_ctx_try(s6net_tls_conf const *c, char const *const *envp, int *code, char const **msg)
{
  s6net_tls_ctx *t = calloc(1, sizeof *t);
  X509_STORE *store = NULL;
  conf_code = 0;
  conf_msg[0] = 0;
  if (!t) { fail(111, "unable to allocate: %s", strerror(errno)); goto err; }
  if (c->alpn && *c->alpn) {
    long l = s6net_tls_alpn_wire(t->alpn, sizeof t->alpn, c->alpn);
    if (l < 0) { fail(100, "invalid ALPN protocol list: %s", c->alpn); goto err; }
    t->alpnlen = (size_t)l;
  }
  int needtrust = c->server ? c->clientcert != S6NET_TLS_CERT_NONE : !c->noverify;
  if (needtrust) {
    if (load_trust(envp, &store) < 0) goto err;
    if (!store) { fail(100, "CADIR or CAFILE must be set"); goto err; }
  }
  t->def = ctx_make(t, c, store);
  if (!t->def) goto err;
  char const *k = s6net_env_get(envp, "KEYFILE");
  char const *cf = s6net_env_get(envp, "CERTFILE");
  if (c->server) {
    if (c->snilevel && load_sni(t, c, store, envp) < 0) goto err;
    if (c->snilevel < 2) {
      if (k && cf) {
        if (use_keypair(t->def, "KEYFILE", k, "CERTFILE", cf) < 0) goto err;
        t->hasdefault = 1;
      } else if (!c->snilevel || !t->nsni) { fail(100, "KEYFILE and CERTFILE must be set"); goto err; }
    } else if (!t->nsni) { fail(100, "no KEYFILE:x / CERTFILE:x variables with -k %u", c->snilevel); goto err; }
  } else if (c->clientcert) {
    if (!k || !cf) { fail(100, "KEYFILE and CERTFILE must be set with -y"); goto err; }
    if (use_keypair(t->def, "KEYFILE", k, "CERTFILE", cf) < 0) goto err;
  }
  if (store) X509_STORE_free(store);
  return t;
err:
  if (store) X509_STORE_free(store);
  if (t) s6net_tls_ctx_free(t);
  ERR_clear_error();
  *code = conf_code ? conf_code : 111;
  *msg = conf_msg;
  return NULL;
}

s6net_tls_ctx *s6net_tls_ctx_new(s6net_tls_conf const *c, char const *const *envp)
{
  int code;
  char const *msg;
  s6net_tls_ctx *t = s6net_tls_ctx_try(c, envp, &code, &msg);
  if (!t) s6net_die(code, "%s", msg);
  return t;
}

/* Drive a client and a server to the end of their handshake over a BIO
 * pair; 1 if both finished. */
static int warm_handshake(SSL *cli, SSL *srv)
{
  for (int i = 0; i < 16; i++) {
    int a = SSL_do_handshake(cli), b = SSL_do_handshake(srv);
    if (a == 1 && b == 1) return 1;
    if ((a != 1 && SSL_get_error(cli, a) != SSL_ERROR_WANT_READ)
     || (b != 1 && SSL_get_error(srv, b) != SSL_ERROR_WANT_READ)) return 0;
  }
  return 0;
}

static void warm_once(s6net_tls_ctx *t, SSL_CTX *sctx, SSL_CTX *cctx, int version, char const *groups)
{
  SSL *cli = SSL_new(cctx), *srv = SSL_new(sctx);
  BIO *bc = NULL, *bs = NULL;
  if (!cli || !srv || !BIO_new_bio_pair(&bc, 0, &bs, 0)) goto end;
  SSL_set_bio(cli, bc, bc);
  SSL_set_bio(srv, bs, bs);
  SSL_set_connect_state(cli);
  SSL_set_accept_state(srv);
  if (!SSL_set_min_proto_version(cli, version) || !SSL_set_max_proto_version(cli, version)
   || (groups && !SSL_set1_groups_list(cli, groups))) goto end;
  if (t->alpnlen) SSL_set_alpn_protos(cli, t->alpn, (unsigned int)t->alpnlen);
  if (warm_handshake(cli, srv)) {
    /* The record layer both ways, then close_notify both ways. */
    char buf[16];
    if (SSL_write(cli, "warm", 4) == 4 && SSL_read(srv, buf, sizeof buf) > 0
     && SSL_write(srv, "warm", 4) == 4 && SSL_read(cli, buf, sizeof buf) > 0) {
      SSL_shutdown(srv);
      SSL_shutdown(cli);
      SSL_shutdown(srv);
    }
  }
 end:
  SSL_free(cli);
  SSL_free(srv);
  ERR_clear_error();
}

/* The server side of the warm-up: a context made like the real one (same
 * protocol versions, ciphers, ALPN), but with a throwaway P-256 key and
 * self-signed certificate, no client certificate request and no SNI
 * switching. The real keys are not used here: a private key operation
 * leaves random state in the key (OpenSSL's RSA blinding factors, for one)
 * that every worker would then inherit and share. Never used before a
 * fork, a key makes its blinding factors in the worker, from the worker's
 * reseeded generator. */
static SSL_CTX *warm_server(s6net_tls_ctx *t, s6net_tls_conf const *c)
{
  s6net_tls_conf cc = *c;
  cc.clientcert = S6NET_TLS_CERT_NONE;
  SSL_CTX *ctx = NULL;
  EVP_PKEY *k = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  if (!k || !x) goto end;
  if (!X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1)
   || !X509_gmtime_adj(X509_getm_notBefore(x), 0) || !X509_gmtime_adj(X509_getm_notAfter(x), 3600)
   || !X509_set_pubkey(x, k)
   || !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (unsigned char const *)"warm-up", -1, -1, 0)
   || !X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_sign(x, k, EVP_sha256())) goto end;
  ctx = ctx_make(t, &cc, NULL);
  SSL_CTX_set_tlsext_servername_callback(ctx, NULL);
  if (!SSL_CTX_use_certificate(ctx, x) || !SSL_CTX_use_PrivateKey(ctx, k)) { SSL_CTX_free(ctx); ctx = NULL; }
 end:
  X509_free(x);
  EVP_PKEY_free(k);
  return ctx;
}

void s6net_tls_warmup(s6net_tls_ctx *t, s6net_tls_conf const *c)
{
  SSL_CTX *sctx = warm_server(t, c);
  SSL_CTX *cctx = sctx ? SSL_CTX_new(TLS_client_method()) : NULL;
  if (cctx) {
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_OFF);
    warm_once(t, sctx, cctx, TLS1_3_VERSION, "X25519");
    warm_once(t, sctx, cctx, TLS1_3_VERSION, "P-256");
    warm_once(t, sctx, cctx, TLS1_2_VERSION, NULL);
    SSL_CTX_free(cctx);
  }
  SSL_CTX_free(sctx);
  ERR_clear_error();
}

void s6net_tls_drop(char const *const *envp)
{
  if (geteuid()) return;
  char const *su = s6net_env_get(envp, "TLS_UID");
  char const *sg = s6net_env_get(envp, "TLS_GID");
  unsigned long long u;
  uid_t uid = (uid_t)-1;
  gid_t gid = (gid_t)-1;
  if (sg) {
    if (s6net_scan_ull(sg, 0, (gid_t)-2, &u) < 0) s6net_die(111, "invalid TLS_GID: %s", sg);
    gid = (gid_t)u;
  }
  if (su) {
    if (s6net_scan_ull(su, 0, (uid_t)-2, &u) < 0) s6net_die(111, "invalid TLS_UID: %s", su);
    uid = (uid_t)u;
  }
  if (uid == (uid_t)-1 && gid == (gid_t)-1) return;
  /* No supplementary group survives, whatever root had. */
  if (s6net_priv_drop(uid, gid, NULL, 0) < 0)
    s6net_diesys(111, "unable to drop privileges to TLS_UID/TLS_GID");
}

void s6net_tls_ctx_free(s6net_tls_ctx *t)
{
  for (size_t i = 0; i < t->nsni; i++) {
    SSL_CTX_free(t->sni[i].ctx);
    free(t->sni[i].name);
  }
  if (t->spare) SSL_free(t->spare);
  if (t->def) SSL_CTX_free(t->def);
  free(t);
}
