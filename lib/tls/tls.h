/* The TLS engine: one small interface in front of the crypto backend
 * (OpenSSL 3: contexts in tls_openssl_ctx.c, connections in
 * tls_openssl_session.c). Only the -io engines and the zygote link it;
 * the wrappers (s6-tlsd, s6-tlsc, ...) use tlsopt.h, tls_cmdline.h and
 * tls_zygote_msg.h only.
 *
 * Typical use, for a server engine on fds 0/1 with cleartext on 3/4:
 *   s6net_tls_conf c; s6net_tls_conf_init(&c, 1);  ... set options ...
 *   s6net_tls_ctx *ctx = s6net_tls_ctx_new(&c, envp);   (dies 96/97/100)
 *   s6net_tls_drop(envp);                                (dies 111)
 *   int fds[4] = { 3, 4, 0, 1 };
 *   _exit(s6net_tls_session(ctx, &c, fds, notif));
 *
 * One connection per process, by design. The engine is one process per
 * connection (s6-tlsd-io, s6-tlsc-io, or a zygote worker forked for it),
 * so the connection side keeps its state in static storage instead of
 * allocating it: s6net_tls_handshake hands out a pointer to the one
 * static connection (a second handshake in the same process takes its
 * place), s6net_tls_relay uses static buffers (one relay at a time), and
 * the strings that s6net_tls_ctx_try and the diagnostics return are
 * static, valid until the next call; the session ticket keys are one
 * set per process. Contexts are real objects: the zygote holds the old
 * and the renewed one at once while it reloads keys. Nothing here is
 * thread-safe. Making connections real objects would cost an
 * allocation per connection and buy nothing for a process that serves
 * one. */
#ifndef S6NET_TLS_TLS_H
#define S6NET_TLS_TLS_H

#include <stddef.h>

#define S6NET_TLS_EXIT_CONF 96   /* key, certificate or trust anchors */
#define S6NET_TLS_EXIT_SETUP 97  /* backend context or session creation */
#define S6NET_TLS_EXIT_RUN 98    /* TLS error during handshake or relay */

enum { S6NET_TLS_CERT_NONE = 0, S6NET_TLS_CERT_OPTIONAL = 1, S6NET_TLS_CERT_REQUIRED = 2 };

typedef struct {
  unsigned char server;       /* 1: server side (s6-tlsd-io) */
  unsigned char closenotify;  /* -S: close_notify on local EOF (else half-close) */
  unsigned char strict;       /* -J: peer EOF without close_notify is an error */
  unsigned char clientcert;   /* server: CERT_*; client: nonzero = send one (-y) */
  unsigned char noverify;     /* client: --no-verify-cert */
  unsigned int verbosity;
  unsigned int kimeout;       /* handshake timeout in ms, 0 = none */
  unsigned int snilevel;      /* server: -k */
  char const *servername;     /* client: -k (SNI and name verification) */
  char const *alpn;           /* comma-separated protocol list, or NULL */
  char const *caller;         /* wrappers: their name, passed to the engine as -N */
  char const *peer;           /* engine: "ip:port" of the other end, for messages, or NULL */
} s6net_tls_conf;

typedef struct s6net_tls_ctx s6net_tls_ctx;

void s6net_tls_conf_init(s6net_tls_conf *c, int server);

/* Build the backend context from the environment (KEYFILE, CERTFILE,
 * KEYFILE:x, CERTFILE:x, CADIR, CAFILE). Key material is read here and
 * wiped from our buffers. On failure prints one line naming the file and
 * exits 96 (bad file), 97 (backend) or 100 (variable missing). */
s6net_tls_ctx *s6net_tls_ctx_new(s6net_tls_conf const *c, char const *const *envp);
/* The same without dying: NULL on failure, with the exit code
 * s6net_tls_ctx_new would have used in *code and its one-line message
 * (naming the file) in *msg, valid until the next call. Nothing is
 * leaked and key material is wiped either way. */
s6net_tls_ctx *s6net_tls_ctx_try(s6net_tls_conf const *c, char const *const *envp, int *code, char const **msg);

/* If root, drop to TLS_GID / TLS_UID (exits 111 on bad values or failure). */
void s6net_tls_drop(char const *const *envp);

/* Handshake then full-duplex relay. fds: cleartext read, cleartext write,
 * ciphertext read, ciphertext write. If notif >= 0, the handshake
 * notification is written there (then notif is closed). Returns the exit
 * code (0, 97, 98, 111) after printing a diagnostic; never exits itself. */
int s6net_tls_session(s6net_tls_ctx *ctx, s6net_tls_conf const *c, int const fds[4], int notif);

/* One connection from start to end, as an engine run per connection does
 * it: the peer named for messages, keys loaded (s6net_tls_ctx_new), ids
 * dropped, s6net_tls_session on fds. Returns its exit code. */
int s6net_tls_engine_once(s6net_tls_conf *c, int const fds[4], int notif, char const *const *envp);

/* Lower-level pieces of s6net_tls_session, for callers that want to do
 * something between the handshake and the relay (the zygote's workers). */
typedef struct s6net_tls_conn s6net_tls_conn;
/* Returns 0 and sets *out to the process's one connection (see above),
 * or an exit code (diagnostic printed). */
int s6net_tls_handshake(s6net_tls_ctx *ctx, s6net_tls_conf const *c, int netr, int netw, s6net_tls_conn **out);
/* Format the notification block KEY=value\0...KEY=value\0\0 into buf;
 * returns its length, or 0 if buf is too small. */
size_t s6net_tls_info(s6net_tls_conn *conn, s6net_tls_conf const *c, char *buf, size_t len);
/* s6net_tls_info + write to fd. 0, or -1 (errno set). */
int s6net_tls_notify(s6net_tls_conn *conn, s6net_tls_conf const *c, int fd);
/* Relay until both directions are closed; returns the exit code. Uses
 * the process's static relay buffers (see above). */
int s6net_tls_relay(s6net_tls_conn *conn, s6net_tls_conf const *c, int appr, int appw);
/* For a pre-forking server engine (the zygote): run handshakes with
 * ourselves in memory (TLS 1.3 with X25519 and with P-256, TLS 1.2), so
 * that what OpenSSL initialises on first use (algorithm fetches and their
 * caches, the random generator, lazy symbol binding) is done once, before
 * forking, instead of in every worker. The server side is a context
 * configured like ctx but holding a throwaway key: the real keys are not
 * used. Failures are ignored: the warm-up only saves time. */
void s6net_tls_warmup(s6net_tls_ctx *ctx, s6net_tls_conf const *c);
/* In a process forked from one that used the random generator: reseed
 * it from the kernel before any handshake, whatever the library's own
 * fork detection does. */
void s6net_tls_forked(void);
/* Make the session object of ctx's next handshake now, if none is made.
 * In the zygote's master, before it forks: each worker then starts with
 * its own copy of an object no connection has touched, instead of
 * allocating one from a heap it shares with the master (which copies
 * every page the allocator writes to). The object holds no key material
 * and nothing random. */
void s6net_tls_spare(s6net_tls_ctx *ctx);
/* Session tickets (TLS 1.3 and 1.2) for a pre-forking server, whose
 * workers inherit the keys by fork. Call s6net_tls_tickets_start once,
 * before s6net_tls_ctx_new: period in seconds, 0 = no tickets (the
 * default: a context built without it issues none and accepts none).
 * Returns 0, or -1 (errno set) if no random key could be made or the
 * period is over a week. s6net_tls_tickets_tick rotates the keys when a
 * period is over (the previous key still decrypts for one more period)
 * and returns the ms until the next rotation, or -1 if tickets are off. */
int s6net_tls_tickets_start(unsigned int period);
long s6net_tls_tickets_tick(void);
/* Release a session / a context (a process that exits need not). */
void s6net_tls_conn_free(s6net_tls_conn *conn);
void s6net_tls_ctx_free(s6net_tls_ctx *ctx); /* also frees ctx itself */

#endif
