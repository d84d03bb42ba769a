/* IDENT (RFC 1413) client: a pure answer parser and the network exchange
 * around it. See include/s6net/ident.h for the contract. */
#include <s6net/ident.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/deadline.h"
#include "core/fd.h"

static int blank(char c)
{
  return c == ' ' || c == '\t';
}

static size_t skip_blanks(char const *s, size_t i, size_t len)
{
  while (i < len && blank(s[i])) i++;
  return i;
}

/* A port number: 1 to 5 digits, at most 65535. */
static int scan_port(char const *s, size_t *i, size_t len, uint16_t *port)
{
  unsigned long v = 0;
  size_t j = *i;
  while (j < len && j - *i < 6 && s[j] >= '0' && s[j] <= '9') v = v * 10 + (unsigned long)(s[j++] - '0');
  if (j == *i || j - *i > 5 || v > 65535) return -1;
  *port = (uint16_t)v;
  *i = j;
  return 0;
}

/* A field that ends at one of the stop characters or at the end of the
 * line; blanks around it are not part of it. */
static void field(char const *s, size_t *i, size_t len, char const *stop, size_t *off, size_t *flen)
{
  size_t j = skip_blanks(s, *i, len);
  size_t start = j;
  while (j < len && !strchr(stop, s[j])) j++;
  size_t end = j;
  while (end > start && blank(s[end - 1])) end--;
  *off = start;
  *flen = end - start;
  *i = j;
}

static int token_is(char const *s, size_t len, char const *word)
{
  return strlen(word) == len && !strncasecmp(s, word, len);
}

static int error_errno(char const *s, size_t len)
{
  if (token_is(s, len, "INVALID-PORT")) return EINVAL;
  if (token_is(s, len, "NO-USER")) return ESRCH;
  if (token_is(s, len, "HIDDEN-USER")) return EPERM;
  if (token_is(s, len, "UNKNOWN-ERROR")) return EIO;
  if (len >= 2 && (s[0] == 'X' || s[0] == 'x')) return EEXIST;
  return 0;
}

int s6net_ident_answer_scan(char const *s, size_t len, s6net_ident_answer *a)
{
  size_t i = 0, kw, kwlen;
  memset(a, 0, sizeof *a);
  /* The id may hold any octet but these (RFC 1413 octet-characters). */
  if (memchr(s, 0, len) || memchr(s, '\r', len) || memchr(s, '\n', len)) goto bad;
  i = skip_blanks(s, i, len);
  if (scan_port(s, &i, len, &a->rport) < 0) goto bad;
  i = skip_blanks(s, i, len);
  if (i >= len || s[i++] != ',') goto bad;
  i = skip_blanks(s, i, len);
  if (scan_port(s, &i, len, &a->lport) < 0) goto bad;
  i = skip_blanks(s, i, len);
  if (i >= len || s[i++] != ':') goto bad;
  field(s, &i, len, ":", &kw, &kwlen);
  if (i >= len) goto bad;
  i++;
  if (token_is(s + kw, kwlen, "USERID")) {
    field(s, &i, len, ",:", &a->opsys, &a->opsyslen);
    if (!a->opsyslen || i >= len) goto bad;
    if (s[i] == ',') {
      i++;
      field(s, &i, len, ":", &a->charset, &a->charsetlen);
      if (!a->charsetlen || i >= len) goto bad;
    }
    i++; /* the ':' before the id */
    i = skip_blanks(s, i, len);
    if (i >= len) goto bad;
    a->id = i;
    a->idlen = len - i;
    return 1;
  }
  if (token_is(s + kw, kwlen, "ERROR")) {
    field(s, &i, len, "", &a->errtok, &a->errtoklen);
    for (size_t j = 0; j < a->errtoklen; j++)
      if (blank(s[a->errtok + j]) || s[a->errtok + j] == ':') goto bad;
    a->err = error_errno(s + a->errtok, a->errtoklen);
    if (!a->err) goto bad;
    return 0;
  }
bad:
  errno = EPROTO;
  return -1;
}

ssize_t s6net_ident_line_scan(char const *buf, size_t len, size_t *linelen)
{
  size_t max = S6NET_IDENT_REPLY_SIZE + 1; /* longest content + CR + LF */
  size_t n = len < max ? len : max;
  for (size_t i = 0; i < n; i++) {
    if (!buf[i]) break;
    if (buf[i] == '\n') {
      size_t l = i && buf[i - 1] == '\r' ? i - 1 : i;
      if (l > S6NET_IDENT_REPLY_SIZE - 1) break;
      *linelen = l;
      return (ssize_t)(i + 1);
    }
  }
  if (n == max || memchr(buf, 0, n)) { errno = EPROTO; return -1; }
  return 0;
}

ssize_t s6net_ident_reply_parse(char const *s, uint16_t rp, uint16_t lp)
{
  s6net_ident_answer a;
  int r = s6net_ident_answer_scan(s, strlen(s), &a);
  if (r < 0) return -1;
  if (a.rport != rp || a.lport != lp) { errno = EPROTO; return -1; }
  if (!r) { errno = a.err; return 0; }
  return (ssize_t)a.id;
}

char const *s6net_ident_error_str(int e)
{
  switch (e) {
    case EINVAL: return "invalid port";
    case ESRCH: return "no such user";
    case EPERM: return "hidden user";
    case EIO: return "unknown error";
    case EEXIST: return "extended error";
    case EPIPE: return "connection closed without an answer";
    case ETIMEDOUT: return "timed out";
    case EPROTO: return "malformed answer";
    default: return strerror(e);
  }
}

/* Wait for one event on fd; -1 ETIMEDOUT when the deadline passes. */
static int wait_fd(int fd, short events, s6net_deadline deadline)
{
  struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
  int r = s6net_poll(&p, 1, deadline);
  if (r < 0) return -1;
  if (!r) { errno = ETIMEDOUT; return -1; }
  return 0;
}

static int connect_to(s6net_ip46 const *ra, s6net_ip46 const *la, s6net_deadline deadline)
{
  struct sockaddr_storage ss;
  socklen_t sl;
  if (ra->is6 != la->is6) { errno = EAFNOSUPPORT; return -1; }
  int fd = socket(ra->is6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  /* From the local address of the connection asked about: the server
   * answers for connections to the host that asks. */
  sl = s6net_sockaddr_make(&ss, la, 0);
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) goto fail;
  sl = s6net_sockaddr_make(&ss, ra, S6NET_IDENT_PORT);
  if (s6net_connect_deadline(fd, (struct sockaddr *)&ss, sl, deadline) < 0) goto fail;
  return fd;
fail:
  s6net_fd_close(fd);
  return -1;
}

static int send_query(int fd, uint16_t rp, uint16_t lp, s6net_deadline deadline)
{
  char q[32];
  int n = snprintf(q, sizeof q, "%u , %u\r\n", (unsigned)rp, (unsigned)lp);
  size_t w = 0;
  while (w < (size_t)n) {
    /* send, not write: a server that hangs up must not kill us with SIGPIPE. */
    ssize_t r = send(fd, q + w, (size_t)n - w, MSG_NOSIGNAL);
    if (r > 0) { w += (size_t)r; continue; }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (wait_fd(fd, POLLOUT, deadline) < 0) return -1;
  }
  return 0;
}

/* Read until one full line is in; bytes past it are ignored. */
static ssize_t read_line(int fd, char *s, s6net_deadline deadline)
{
  char buf[S6NET_IDENT_REPLY_SIZE + 2];
  size_t len = 0, linelen = 0;
  for (;;) {
    ssize_t r = read(fd, buf + len, sizeof buf - len);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (wait_fd(fd, POLLIN, deadline) < 0) return -1;
      continue;
    }
    if (!r) {
      if (!len) { errno = EPIPE; return 0; }
      errno = EPROTO; /* an unterminated line may be a truncated id */
      return -1;
    }
    len += (size_t)r;
    ssize_t used = s6net_ident_line_scan(buf, len, &linelen);
    if (used < 0) return -1;
    if (used) break;
  }
  if (!linelen) { errno = EPROTO; return -1; }
  memcpy(s, buf, linelen);
  s[linelen] = 0;
  return (ssize_t)linelen;
}

ssize_t s6net_ident_reply_get(char *s, s6net_ip46 const *ra, uint16_t rp,
                              s6net_ip46 const *la, uint16_t lp, s6net_deadline deadline)
{
  int fd = connect_to(ra, la, deadline);
  if (fd < 0) return -1;
  ssize_t r = -1;
  if (send_query(fd, rp, lp, deadline) == 0) r = read_line(fd, s, deadline);
  s6net_fd_close(fd);
  return r;
}

ssize_t s6net_ident_client(char *s, size_t max, s6net_ip46 const *remoteip, uint16_t remoteport,
                           s6net_ip46 const *localip, uint16_t localport, s6net_deadline deadline)
{
  char line[S6NET_IDENT_REPLY_SIZE];
  ssize_t r = s6net_ident_reply_get(line, remoteip, remoteport, localip, localport, deadline);
  if (r <= 0) return r;
  ssize_t id = s6net_ident_reply_parse(line, remoteport, localport);
  if (id <= 0) return id;
  size_t idlen = (size_t)(r - id);
  if (idlen >= max) { errno = ENAMETOOLONG; return -1; }
  memcpy(s, line + id, idlen);
  s[idlen] = 0;
  return (ssize_t)idlen;
}
