/* The command lines of the TLS programs, each built and parsed in one
 * place:
 *   - the engine's (s6-tlsd-io, s6-tlsc-io): s6net_tls_engine_argv builds
 *     it (s6-tlsd, s6-tlsc, s6-ucspitlsd, s6-ucspitlsc and s6-tlsserver
 *     for its zygote), s6net_tls_engine_parse reads it (the engines);
 *   - the wrappers' (s6-tlsd, s6-tlsc, s6-ucspitlsd, s6-ucspitlsc):
 *     s6net_tls_wrapper_parse, the same options plus their own.
 * Also where the engine finds its fds, and the size of the cleartext
 * pipes around it. OpenSSL-free: the wrappers do not link the backend. */
#ifndef S6NET_TLS_TLS_CMDLINE_H
#define S6NET_TLS_TLS_CMDLINE_H

#include "tls/tls.h"
#include "core/spawn.h"

#include <stddef.h>

/* Everything the engine's command line says. conf.server chooses the
 * engine (s6-tlsd-io or s6-tlsc-io); conf.peer is not on it. */
typedef struct {
  s6net_tls_conf conf;  /* -S -s -J -j -Y -y -v -K -k -a, --no-verify-cert, -N (conf.caller) */
  int notif;            /* -d: the handshake notification fd, or -1 */
  int zygote;           /* server, -X: become the zygote on this fd, or -1 */
  unsigned int pool;    /* server, -P: the zygote's idle workers */
  unsigned int tickets; /* server, -T: the zygote's ticket key period, s */
  unsigned int fdr, fdw; /* the fds after the options (not with -X) */
} s6net_tls_engine_args;

/* Room that s6net_tls_engine_argv needs: argv entries (with the final
 * NULL) and bytes of formatted numbers. */
#define S6NET_TLS_ENGINE_ARGC_MAX 32
#define S6NET_TLS_ENGINE_BUFLEN 160

/* Defaults for one side: the engine's own when it is given no option. */
void s6net_tls_engine_args_init(s6net_tls_engine_args *a, int server);

/* The arguments of an engine that a wrapper (s6-tlsd, s6-ucspitlsd and
 * their client twins) starts for one connection: the wrapper's
 * configuration c, the engine's standard fds (S6NET_TLS_ENGINE_FDR/FDW,
 * see s6net_tls_engine_fdmap), and the notification on
 * S6NET_TLS_ENGINE_NOTIF if notify, else none. */
void s6net_tls_engine_args_conn(s6net_tls_engine_args *a, s6net_tls_conf const *c, int notify);

/* Pure: the engine's argv (argv[0] is the engine's name, then the
 * options, then "--" fdr fdw, or nothing after the options with -X);
 * buf holds the formatted numbers; the strings of a are pointed to, not
 * copied. Returns argc (argv is NULL-terminated), or 0 if argv or buf
 * is shorter than the sizes above. */
size_t s6net_tls_engine_argv(s6net_tls_engine_args const *a, char const **argv, size_t max, char *buf,
                             size_t buflen);

/* An engine's start (s6-tlsd-io, s6-tlsc-io): a set up for the side,
 * argv parsed (usage error: dies 100 with usage), messages prefixed with
 * the caller's name given by -N, TLS_UID/TLS_GID in envp checked. */
void s6net_tls_engine_start(s6net_tls_engine_args *a, int server, int argc, char const *const *argv,
                            char const *usage, char const *const *envp);

/* Pure: parse an engine's command line (argv[0] ignored) into a, which
 * s6net_tls_engine_args_init set up for the side. 0, or -1 if the
 * command line is wrong (the caller prints the usage). Values are
 * checked for range only; the context checks the ALPN list and names. */
int s6net_tls_engine_parse(int argc, char const *const *argv, s6net_tls_engine_args *a);

/* What the wrappers take besides the engine's options. */
typedef struct {
  int keepkeys;          /* -Z / -z */
  unsigned int rfd, wfd; /* client: -6 / -7 (default 6 and 7) */
} s6net_tls_wrapper_args;

/* Pure: parse a wrapper's options into c (already initialised for its
 * side with s6net_tls_conf_init) and w; the ALPN list and the server
 * name are checked here, before anything starts. Returns the index of
 * the program to run in argv, or -1 if the command line is wrong (an
 * option, a value, no program, or -6 equal to -7). */
int s6net_tls_wrapper_parse(int argc, char const *const *argv, s6net_tls_conf *c, s6net_tls_wrapper_args *w);

/* Where the engine finds its fds, the fixed layout every builder of its
 * command line passes as "-d5 -- 3 4": server engine: network read and
 * write on 0 and 1, cleartext read and write on 3 and 4; client engine:
 * cleartext on 0 and 1, network on 3 and 4; the notification on 5.
 * Pure: fills map (with notif < 0, no entry for 5) and returns the
 * number of entries. */
#define S6NET_TLS_ENGINE_FDR 3
#define S6NET_TLS_ENGINE_FDW 4
#define S6NET_TLS_ENGINE_NOTIF 5
unsigned int s6net_tls_engine_fdmap(s6net_fdmap map[5], int server, int netr, int netw, int clr, int clw, int notif);

/* Make a cleartext pipe between the engine and the application big:
 * fewer wake-ups on bulk transfers. Best effort, on the pipe's write
 * end (where the kernel has it). */
void s6net_tls_pipe_size(int fd);

#endif
