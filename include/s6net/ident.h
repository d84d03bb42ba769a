/* s6net/ident.h: a small IDENT (RFC 1413) client.
 *
 * The IDENT protocol is of historical interest only: an answer is whatever
 * the remote host chooses to say, and must never be used to authenticate
 * anybody. It is provided for legacy programs that want TCPREMOTEINFO.
 *
 * Times are absolute deadlines in milliseconds on the monotonic clock
 * (the s6net_deadline type of libs6net: clock_gettime(CLOCK_MONOTONIC)
 * in ms; INT64_MAX means no deadline). Unlike the reference library there
 * is no "stamp" argument: the clock is read when needed.
 *
 * Error and answer mapping, shared by every function below:
 *   negative answers (the server said ERROR : x), errno when 0 is returned
 *     INVALID-PORT   EINVAL
 *     NO-USER        ESRCH
 *     HIDDEN-USER    EPERM
 *     UNKNOWN-ERROR  EIO
 *     X<token>       EEXIST   (extended error codes)
 *     (the server closed the connection without answering)  EPIPE
 *   failures, errno when -1 is returned
 *     ETIMEDOUT      the deadline passed
 *     EPROTO         the answer does not make sense: bad syntax, unknown
 *                    keyword, ports not those asked about, NUL byte, line
 *                    longer than S6NET_IDENT_REPLY_SIZE - 1, no final LF
 *     ENAMETOOLONG   the caller's buffer cannot hold the id
 *     anything else  from connect(), read(), write()...
 */
#ifndef S6NET_IDENT_H
#define S6NET_IDENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef S6NET_IP46_DEFINED
#define S6NET_IP46_DEFINED
typedef struct s6net_ip46_s {
  unsigned char ip[16]; /* IPv4 uses the first 4 bytes */
  unsigned char is6;
} s6net_ip46;
#endif
typedef int64_t s6net_deadline;

#define S6NET_IDENT_PORT 113
/* Largest reply line we accept (RFC 1413 ids are at most 512 octets),
 * including the terminating NUL written by s6net_ident_reply_get. A
 * buffer of this size always holds the answer of s6net_ident_client. */
#define S6NET_IDENT_REPLY_SIZE 1024

/* Ask the IDENT server at remoteip:113 who owns the connection from
 * remoteip:remoteport to localip:localport (the query is sent from
 * localip, so that the server sees the right peer). On a positive answer,
 * writes the id into s (NUL-terminated, at most max - 1 bytes) and returns
 * its length (> 0). Returns 0 with errno set for a negative answer or no
 * answer, -1 with errno set on failure (see the table above). */
ssize_t s6net_ident_client(char *s, size_t max, s6net_ip46 const *remoteip, uint16_t remoteport,
                           s6net_ip46 const *localip, uint16_t localport, s6net_deadline deadline);

/* The network part: connect, send "rp , lp\r\n", read one line. s must
 * have room for S6NET_IDENT_REPLY_SIZE bytes; the line is stored without
 * its CR LF and NUL-terminated. Returns its length (> 0); 0 with errno
 * EPIPE when the server closed without sending anything; -1 on failure
 * (an empty line, a NUL byte, an overlong or unterminated line: EPROTO). */
ssize_t s6net_ident_reply_get(char *s, s6net_ip46 const *ra, uint16_t rp,
                              s6net_ip46 const *la, uint16_t lp, s6net_deadline deadline);

/* The local part, pure: parse the NUL-terminated answer line s to the
 * query about (rp, lp). Returns the offset in s where the id starts (> 0;
 * the id runs to the end of s) for a positive answer, 0 with errno set
 * for a negative one, -1 EPROTO when the line makes no sense or is about
 * other ports. */
ssize_t s6net_ident_reply_parse(char const *s, uint16_t rp, uint16_t lp);

/* A human string for an errno value of a negative answer (others fall
 * back to strerror). Never NULL. */
char const *s6net_ident_error_str(int e);

/* Lower level, pure, for programs that want every field. */
typedef struct {
  uint16_t rport, lport;       /* the ports the line is about */
  int err;                     /* 0: USERID; else the errno mapping */
  size_t opsys, opsyslen;      /* USERID: offsets and lengths in the line */
  size_t charset, charsetlen;  /* charset: 0, 0 when absent */
  size_t id, idlen;            /* the id: from after the third ':' and any
                                  blanks to the end of the line */
  size_t errtok, errtoklen;    /* ERROR: the error token */
} s6net_ident_answer;

/* Parse one answer line of len bytes (without CR LF). Returns 1 for
 * USERID, 0 for ERROR (a->err set), -1 EPROTO when malformed (NUL, CR or
 * LF inside, bad ports, unknown keyword or error token, empty id). Ports
 * are not compared with anything here. */
int s6net_ident_answer_scan(char const *s, size_t len, s6net_ident_answer *a);

/* Framing of received bytes: look for the end of the answer line in the
 * first len bytes. Returns the number of bytes the line takes including
 * its LF and sets *linelen to its length without CR LF; 0 when more bytes
 * are needed; -1 EPROTO on a NUL byte before the LF or when the line
 * without CR LF is longer than S6NET_IDENT_REPLY_SIZE - 1 bytes. A lone LF
 * ends a line as well as CR LF. */
ssize_t s6net_ident_line_scan(char const *buf, size_t len, size_t *linelen);

#endif
