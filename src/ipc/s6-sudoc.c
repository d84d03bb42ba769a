/* s6-sudoc [-e] [-t timeoutconn] [-T timeoutrun] [args...]
 * Hand our stdin/stdout/stderr, arguments and environment to the
 * s6-sudod on the other end of fds 6 (read) and 7 (write), then wait for
 * the exit status of the program it runs and exit with it. */
#include "core/diag.h"
#include "core/num.h"
#include "core/fd.h"
#include "core/deadline.h"
#include "core/opt.h"
#include "core/tai.h"
#include "ipc/ipc.h"
#include "ipc/sudo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "[ -e ] [ -t timeoutconn ] [ -T timeoutrun ] [ args... ]"

extern char **environ;

/* The whole frame must go; the descriptors ride on the first byte. */
static int send_request(int fd, char const *buf, size_t len, s6net_deadline d)
{
  int fds[S6NET_SUDO_NFDS] = { 0, 1, 2 };
  size_t sent = 0;
  while (sent < len) {
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int r = s6net_poll(&p, 1, d);
    if (r < 0) return -1;
    if (!r) { errno = ETIMEDOUT; return -1; }
    ssize_t n = sent ? send(fd, buf + sent, len - sent, MSG_NOSIGNAL)
                     : s6net_ipc_sendfds(fd, buf, len, fds, S6NET_SUDO_NFDS);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    sent += (size_t)n;
  }
  return 0;
}

int main(int argc, char **argv)
{
  s6net_prog = "s6-sudoc";
  int noenv = 0, opt;
  unsigned int tconn = 0, trun = 0;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "et:T:")) != -1) {
    switch (opt) {
      case 'e': noenv = 1; break;
      case 't': if (s6net_scan_uint(g.arg, 0, UINT32_MAX / 2, &tconn) < 0) s6net_dieusage(USAGE); break;
      case 'T': if (s6net_scan_uint(g.arg, 0, UINT32_MAX / 2, &trun) < 0) s6net_dieusage(USAGE); break;
      default: s6net_dieusage(USAGE);
    }
  }
  char const *const *args = (char const *const *)argv + g.ind;
  size_t nargs = (size_t)(argc - g.ind);
  char const *const *env = (char const *const *)environ;
  size_t nenv = 0;
  if (noenv) env = 0;
  else while (env[nenv]) nenv++;

  if (s6net_fd_ensure012() < 0) s6net_diesys(111, "unable to open /dev/null");
  if (fcntl(6, F_GETFD) < 0 || fcntl(7, F_GETFD) < 0)
    s6net_die(100, "descriptors 6 and 7 must be open (run me under s6-ipcclient)");
  s6net_fd_nonblock(6);
  s6net_fd_nonblock(7);

  s6net_deadline dconn = s6net_deadline_in(tconn);
  char banner[S6NET_SUDO_BANNERLEN];
  int r = s6net_ipc_read_exact(6, banner, sizeof banner, dconn);
  if (r <= 0) s6net_diesys(111, "unable to read the banner from the s6-sudod server");
  if (memcmp(banner, S6NET_SUDO_BANNER_SERVER, sizeof banner))
    s6net_die(100, "wrong banner: the peer is not a s6-sudod server");

  size_t plen = s6net_sudo_req_len(args, nargs, env, nenv);
  if (!plen || plen > UINT32_MAX - S6NET_SUDO_HDRLEN) s6net_die(100, "unable to send the request: arguments and environment too large");
  char *msg = malloc(S6NET_SUDO_HDRLEN + plen);
  if (!msg) s6net_diesys(111, "unable to allocate the request");
  s6net_sudo_hdr_pack((unsigned char *)msg, (uint32_t)plen, S6NET_SUDO_NFDS);
  s6net_sudo_req_pack(msg + S6NET_SUDO_HDRLEN, args, nargs, env, nenv);
  if (send_request(7, msg, S6NET_SUDO_HDRLEN + plen, dconn) < 0) {
    int e = errno;
    unsigned char why;
    /* A server that refuses a request (too large, say) answers with an
     * errno byte and closes before reading the rest: report its reason. */
    if ((e == EPIPE || e == ECONNRESET) && s6net_ipc_read_exact(6, &why, 1, s6net_deadline_in(1000)) > 0 && why) {
      errno = why;
      s6net_diesys(111, "unable to start the privileged program: server refused the request");
    }
    errno = e;
    s6net_diesys(111, "unable to send the request to the s6-sudod server");
  }
  free(msg);

  unsigned char c;
  r = s6net_ipc_read_exact(6, &c, 1, dconn);
  if (r <= 0) s6net_diesys(111, "unable to get confirmation from the s6-sudod server");
  if (c) { errno = c; s6net_diesys(111, "unable to start the privileged program: server answered"); }

  unsigned char w[4];
  r = s6net_ipc_read_exact(6, w, 4, s6net_deadline_in(trun));
  if (r <= 0) s6net_diesys(111, "unable to get the exit status from the s6-sudod server");
  int code = s6net_sudo_status_exitcode(s6net_u32_unpack_be(w));
  if (code < 0) s6net_die(111, "invalid exit status from the s6-sudod server");
  return code;
}
