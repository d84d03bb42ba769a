/* The s6-sudoc <-> s6-sudod wire protocol, as pure functions.
 *
 * Observed on the wire between Debian's s6 2.11 s6-sudoc and s6-sudod
 * (strace of sendmsg/recvmsg/readv, fake peers in Python); integers are
 * big-endian:
 *
 *   server -> client  "s6-sudo b v1.0\n"                 15 bytes, unframed
 *   client -> server  one frame, 3 fds attached with SCM_RIGHTS
 *                     (stdin, stdout, stderr, in that order):
 *       u32 payload length, u16 number of fds (3)        6-byte frame header
 *       "s6-sudo a v1.0\n"                               15 bytes
 *       u32 argc, u32 envc, u32 argvlen, u32 envlen
 *       argvlen bytes: argc NUL-terminated arguments
 *       envlen bytes:  envc NUL-terminated "VAR=value" (0 with -e)
 *   server -> client  1 byte: 0 = program started, else an errno value
 *   server -> client  u32: the program's wait status (exit code << 8, or
 *                     the signal number, 0x80 set for a core dump)
 *
 * Either side closing the connection early means the exchange failed. */
#ifndef S6NET_IPC_SUDO_H
#define S6NET_IPC_SUDO_H

#include <stddef.h>
#include <stdint.h>

#define S6NET_SUDO_BANNERLEN 15
#define S6NET_SUDO_BANNER_SERVER "s6-sudo b v1.0\n"
#define S6NET_SUDO_BANNER_CLIENT "s6-sudo a v1.0\n"
#define S6NET_SUDO_HDRLEN 6
#define S6NET_SUDO_NFDS 3
#define S6NET_SUDO_FIXEDLEN (S6NET_SUDO_BANNERLEN + 16)
/* Largest request payload a server accepts: far above any sane command
 * line, small enough that a hostile client cannot make it allocate much. */
#define S6NET_SUDO_MAXPAYLOAD (1u << 20)

enum {
  S6NET_SUDO_OK = 0,
  S6NET_SUDO_EBANNER = -1,  /* not a s6-sudoc request */
  S6NET_SUDO_EBAD = -2      /* malformed lengths, counts or strings */
};

typedef struct {
  uint32_t argc, envc;
  char const *args;  /* argc NUL-terminated strings, back to back */
  size_t argslen;
  char const *env;   /* envc NUL-terminated strings, back to back */
  size_t envlen;
} s6net_sudo_req;

void s6net_sudo_hdr_pack(unsigned char out[S6NET_SUDO_HDRLEN], uint32_t len, uint16_t nfds);
/* -2 (EBAD) if the announced payload is shorter than the fixed part or
 * longer than maxlen. */
int s6net_sudo_hdr_parse(unsigned char const in[S6NET_SUDO_HDRLEN], uint32_t maxlen,
                         uint32_t *len, uint16_t *nfds);

/* Payload length for these arguments and environment (env may be NULL
 * with envc 0). 0 if it would not fit in 32 bits. */
size_t s6net_sudo_req_len(char const *const *argv, size_t argc, char const *const *env, size_t envc);
/* Write the payload (exactly s6net_sudo_req_len bytes) into out. */
size_t s6net_sudo_req_pack(char *out, char const *const *argv, size_t argc,
                           char const *const *env, size_t envc);
/* Parse a whole payload. S6NET_SUDO_OK, EBANNER or EBAD. */
int s6net_sudo_req_parse(char const *buf, size_t len, s6net_sudo_req *r);

/* Split a packed block of n strings into vec (which must hold n). */
void s6net_sudo_unpack_strings(char const *block, size_t n, char const **vec);

/* The environment rule of s6-sudod: for each variable present but empty
 * in senv, take the client's value if the client sent one (the last
 * one it sent wins). Fills mods with pointers into the client block
 * ("VAR=value"), at most max; returns how many, or -1 if max is too
 * small. Everything else the client sent is ignored. */
long s6net_sudo_env_filter(char const *const *senv, char const *cenv, size_t cenvlen, size_t cenvc,
                           char const **mods, size_t max);

/* Wait status <-> wire, independent of the host's W* macro layout. */
uint32_t s6net_sudo_status_encode(int exited, int code_or_sig);
/* The exit code s6-sudoc reports: the code for a normal exit, 128 + N
 * for a signal N; -1 if the status is not a final one. */
int s6net_sudo_status_exitcode(uint32_t w);

#endif
