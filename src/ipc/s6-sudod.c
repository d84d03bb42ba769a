/* s6-sudod [-0] [-1] [-2] [-d] [-t timeout] [sargv...]
 * Server side of s6-sudo: on the connection at fds 0 (read) and 1
 * (write), receive the client's three standard descriptors, arguments
 * and environment, run sargv followed by the client's arguments with
 * those descriptors, and report its wait status. The wire format is
 * described in lib/ipc/sudo.h. */
#include "core/diag.h"
#include "core/num.h"
#include "core/fd.h"
#include "core/deadline.h"
#include "core/env.h"
#include "core/opt.h"
#include "core/sig.h"
#include "core/spawn.h"
#include "core/tai.h"
#include "ipc/ipc.h"
#include "ipc/sudo.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define USAGE "[ -0 ] [ -1 ] [ -2 ] [ -d ] [ -t timeout ] [ sargv... ]"

extern char **environ;

static int cfds[S6NET_SUDO_NFDS];
static unsigned int ncfds;

/* Tell the client why nothing runs (it prints the errno), then die. */
static _Noreturn void refuse(int code, int err, char const *what)
{
  unsigned char c = (unsigned char)err;
  s6net_ipc_write_all(1, &c, 1, s6net_deadline_in(1000));
  s6net_die(code, "%s", what);
}

/* Read n bytes of the request, collecting descriptors as they come; any
 * descriptor beyond the three expected is closed on arrival. */
static void recv_part(char *buf, size_t n, s6net_deadline d, int *extra)
{
  size_t got = 0;
  while (got < n) {
    ssize_t r = s6net_ipc_recvfds(0, buf + got, n - got, cfds, S6NET_SUDO_NFDS, &ncfds, extra, MSG_DONTWAIT);
    if (r > 0) { got += (size_t)r; continue; }
    if (!r) s6net_die(100, "client closed the connection before sending its request");
    if (errno != EAGAIN && errno != EWOULDBLOCK) s6net_diesys(111, "unable to read the request from the client");
    struct pollfd p = { .fd = 0, .events = POLLIN };
    int pr = s6net_poll(&p, 1, d);
    if (pr < 0) s6net_diesys(111, "unable to poll");
    if (!pr) s6net_die(111, "unable to read the request from the client: timed out");
  }
}

static int open_null(void)
{
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) s6net_diesys(111, "unable to open /dev/null");
  return fd;
}

int main(int argc, char **argv)
{
  s6net_prog = "s6-sudod";
  int no0 = 0, no1 = 0, no2 = 0, detach = 0, opt;
  unsigned int timeout = 0;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "012dt:")) != -1) {
    switch (opt) {
      case '0': no0 = 1; break;
      case '1': no1 = 1; break;
      case '2': no2 = 1; break;
      case 'd': detach = 1; break;
      case 't': if (s6net_scan_uint(g.arg, 0, UINT32_MAX / 2, &timeout) < 0) s6net_dieusage(USAGE); break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (detach) no0 = no1 = no2 = 1;
  char const *const *sargv = (char const *const *)argv + g.ind;
  size_t nsargv = (size_t)(argc - g.ind);

  s6net_deadline d = s6net_deadline_in(timeout);
  if (s6net_fd_nonblock(0) < 0) s6net_diesys(111, "unable to set the client socket non-blocking");
  if (s6net_ipc_write_all(1, S6NET_SUDO_BANNER_SERVER, S6NET_SUDO_BANNERLEN, d) < 0)
    s6net_diesys(111, "unable to send the banner to the client");

  unsigned char hdr[S6NET_SUDO_HDRLEN];
  int extra = 0;
  uint32_t plen;
  uint16_t nfds;
  recv_part((char *)hdr, sizeof hdr, d, &extra);
  if (s6net_sudo_hdr_parse(hdr, S6NET_SUDO_MAXPAYLOAD, &plen, &nfds) < 0)
    refuse(100, EPROTO, "invalid request from the client: bad length");
  if (nfds != S6NET_SUDO_NFDS) refuse(100, EPROTO, "client did not send 3 descriptors");
  char *payload = malloc(plen);
  if (!payload) s6net_diesys(111, "unable to allocate the request");
  recv_part(payload, plen, d, &extra);
  if (extra || ncfds != S6NET_SUDO_NFDS) refuse(100, EPROTO, "client did not send exactly 3 descriptors");

  s6net_sudo_req req;
  int pr = s6net_sudo_req_parse(payload, plen, &req);
  if (pr == S6NET_SUDO_EBANNER) refuse(100, EPROTO, "wrong client banner: the peer is not s6-sudoc");
  if (pr < 0) refuse(100, EINVAL, "invalid request from the client: malformed arguments or environment");
  if (!nsargv && !req.argc) refuse(100, EINVAL, "nothing to run: empty command line");

  char const **cargv = malloc(sizeof(char *) * (nsargv + req.argc + 1));
  size_t senvc = 0;
  while (environ[senvc]) senvc++;
  char const **mods = malloc(sizeof(char *) * (senvc + 1));
  char const **envp = malloc(sizeof(char *) * (senvc + 1));
  if (!cargv || !mods || !envp) s6net_diesys(111, "unable to allocate the command line");
  memcpy(cargv, sargv, sizeof(char *) * nsargv);
  s6net_sudo_unpack_strings(req.args, req.argc, cargv + nsargv);
  cargv[nsargv + req.argc] = 0;
  long nmods = s6net_sudo_env_filter((char const *const *)environ, req.env, req.envlen, req.envc, mods, senvc + 1);
  if (nmods < 0 || s6net_env_merge(envp, senvc + 1, (char const *const *)environ, mods, (size_t)nmods) < 0)
    s6net_diesys(111, "unable to build the environment");

  int nullfd = (no0 || no1) ? open_null() : -1;
  s6net_fdmap map[3] = {
    { 0, no0 ? nullfd : cfds[0] },
    { 1, no1 ? nullfd : cfds[1] },
    { 2, no2 ? 2 : cfds[2] },
  };
  int sfd = s6net_selfpipe_init();
  if (sfd < 0 || s6net_selfpipe_trap(SIGCHLD) < 0) s6net_diesys(111, "unable to set up signals");
  sigset_t defs;
  sigemptyset(&defs);
  sigaddset(&defs, SIGCHLD);
  sigaddset(&defs, SIGPIPE);
  pid_t pid = s6net_spawn(cargv[0], cargv, (char const *const *)envp, map, 3, &defs);
  if (pid < 0) {
    int e = errno;
    s6net_warnsys("unable to spawn %s", cargv[0]);
    refuse(111, e ? e : EIO, "unable to start the program");
  }
  for (unsigned int i = 0; i < ncfds; i++) s6net_fd_close(cfds[i]);
  if (nullfd >= 0) s6net_fd_close(nullfd);
  free(payload); free(cargv); free(mods); free(envp);

  unsigned char ok = 0;
  if (s6net_ipc_write_all(1, &ok, 1, s6net_deadline_in(1000)) < 0) {
    if (!detach) { kill(pid, SIGTERM); kill(pid, SIGCONT); return 1; }
  }

  int client = 1, wstat;
  for (;;) {
    struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = client ? 0 : -1, .events = POLLIN } };
    if (s6net_poll(p, 2, S6NET_DEADLINE_NEVER) < 0) s6net_diesys(111, "unable to poll");
    if (p[0].revents) {
      while (s6net_selfpipe_read() > 0) ;
      pid_t r = waitpid(pid, &wstat, WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno != EINTR) s6net_diesys(111, "unable to wait for the child");
    }
    if (client && p[1].revents) {
      char junk[256];
      ssize_t n = read(0, junk, sizeof junk);
      if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN))) continue; /* nothing is expected: ignore */
      if (!detach) {
        kill(pid, SIGTERM);
        kill(pid, SIGCONT);
        return 1;
      }
      client = 0;
    }
  }
  if (!client) return 0;
  unsigned char w[4];
  s6net_u32_pack_be(w, WIFEXITED(wstat) ? s6net_sudo_status_encode(1, WEXITSTATUS(wstat))
                                        : s6net_sudo_status_encode(0, WTERMSIG(wstat) | (WCOREDUMP(wstat) ? 0x80 : 0)));
  if (s6net_ipc_write_all(1, w, 4, s6net_deadline_in(1000)) < 0)
    s6net_diesys(111, "unable to send the exit status to the client");
  return 0;
}
