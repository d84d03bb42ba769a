/* s6-ipcserverd [-1] [-v verbosity] [-P|-p] [-c maxconn] [-C localmaxconn] prog...
 * Accept connections on the listening UNIX socket on stdin (or on fd 3
 * under systemd socket activation) and spawn
 * prog for each. The loop, limits and signals are lib/server's, shared
 * with s6-tcpserverd; this file only says what a UNIX peer is: its
 * source is its uid (from the kernel), and it gets PROTO=IPC,
 * IPCREMOTEEUID, IPCREMOTEEGID, IPCREMOTEPATH and IPCCONNNUM. */
#include "core/diag.h"
#include "core/num.h"
#include "core/opt.h"
#include "ipc/ipc.h"
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define USAGE "[ -1 ] [ -v verbosity ] [ -P | -p ] [ -c maxconn ] [ -C localmaxconn ] prog..."
#define MAXCONN_LIMIT 1000

extern char **environ;

enum { V_PROTO, V_EUID, V_EGID, V_PATH, V_CONNNUM };
static char const *const vars[] = { "PROTO", "IPCREMOTEEUID", "IPCREMOTEEGID", "IPCREMOTEPATH", "IPCCONNNUM" };

typedef struct {
  int creds;
} ipcctx;

/* The uid and gid go into p->aux for env() and fmt(). */
static int ipc_source(void *c, s6net_server_peer *p)
{
  ipcctx const *x = c;
  uid_t uid;
  gid_t gid;
  if (!x->creds) {
    /* Without credentials every client is "the same user". */
    p->key[0] = 0;
    p->keylen = 1;
    return 0;
  }
  if (s6net_ipc_peercred(p->fd, &uid, &gid, 0) < 0) return -1;
  p->aux[0] = uid;
  p->aux[1] = gid;
  memcpy(p->key, &p->aux[0], sizeof p->aux[0]);
  p->keylen = sizeof p->aux[0];
  return 0;
}

static int setnum(s6net_server_env *e, unsigned int i, unsigned long long n)
{
  char buf[24];
  size_t len = s6net_fmt_ull(buf, n);
  return s6net_server_env_set(e, i, buf, len);
}

/* The peer's bound path, "" for an unbound (or abstract) client socket. */
static size_t peer_path(s6net_server_peer const *p, char const **path)
{
  struct sockaddr_un const *sa = (struct sockaddr_un const *)&p->sa;
  size_t off = offsetof(struct sockaddr_un, sun_path);
  *path = "";
  if (p->salen <= off || sa->sun_family != AF_UNIX || !sa->sun_path[0]) return 0;
  size_t max = (size_t)p->salen - off;
  if (max > sizeof sa->sun_path) max = sizeof sa->sun_path;
  *path = sa->sun_path;
  return strnlen(sa->sun_path, max);
}

static int ipc_env(void *c, s6net_server_env *e, s6net_server_peer const *p, unsigned int connnum)
{
  ipcctx const *x = c;
  char const *path;
  size_t plen = peer_path(p, &path);
  if (x->creds && (setnum(e, V_EUID, p->aux[0]) < 0 || setnum(e, V_EGID, p->aux[1]) < 0)) return -1;
  if (s6net_server_env_set(e, V_PATH, path, plen) < 0) return -1;
  /* Unlike TCPCONNNUM, IPCCONNNUM counts this connection too. */
  return setnum(e, V_CONNNUM, (unsigned long long)connnum + 1);
}

static void ipc_fmt(void *c, s6net_server_peer const *p, char *buf, size_t len)
{
  ipcctx const *x = c;
  if (x->creds) snprintf(buf, len, "uid %llu gid %llu", p->aux[0], p->aux[1]);
  else snprintf(buf, len, "an unidentified client");
}

int main(int argc, char **argv)
{
  s6net_prog = "s6-ipcserverd";
  int ready = 0, opt;
  unsigned int verbosity = 1, maxconn = 40, localmaxconn = 40;
  ipcctx ctx = { .creds = 1 };
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "1v:Ppc:C:")) != -1) {
    switch (opt) {
      case '1': ready = 1; break;
      case 'v': if (s6net_scan_uint(g.arg, 0, 255, &verbosity) < 0) s6net_dieusage(USAGE); break;
      case 'P': ctx.creds = 0; break;
      case 'p': ctx.creds = 1; break;
      case 'c': if (s6net_scan_uint(g.arg, 1, MAXCONN_LIMIT, &maxconn) < 0) s6net_dieusage(USAGE); break;
      case 'C': if (s6net_scan_uint(g.arg, 1, MAXCONN_LIMIT, &localmaxconn) < 0) s6net_dieusage(USAGE); break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (argc - g.ind < 1) s6net_dieusage(USAGE);
  if (localmaxconn > maxconn) localmaxconn = maxconn;

  /* Check before the server opens anything: with fd 0 closed, its own
   * pipes would take that number and be mistaken for the listener. */
  int lfd = s6net_server_listener(AF_UNIX);

  /* Like the reference, let go of stdout even without -1 (the server
   * library does it after the notification): a reader of that pipe must
   * see EOF. /dev/null rather than a closed fd 1, which the next accepted
   * socket would otherwise take. */
  if (!ready) {
    int nfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (nfd < 0 || (nfd != 1 && (dup2(nfd, 1) < 0 || close(nfd) < 0)))
      s6net_diesys(111, "unable to redirect stdout to /dev/null");
  }

  s6net_server_adapter ad = {
    .vars = vars, .nvars = sizeof vars / sizeof *vars,
    .source = ipc_source, .env = ipc_env, .fmt = ipc_fmt,
  };
  s6net_server_config cfg = {
    .fd = lfd,
    .maxconn = maxconn,
    .localmaxconn = localmaxconn,
    .verbosity = verbosity,
    .ready = ready ? "\n" : 0,
    .argv = (char const *const *)argv + g.ind,
    .envp = (char const *const *)environ,
  };
  /* static: the tables stay reachable until exit, as they are meant to. */
  static s6net_server *s;
  s = s6net_server_new(&cfg, &ad, &ctx);
  if (!s) s6net_diesys(errno == EINVAL ? 100 : 111, "unable to start the server");
  if (s6net_server_setenv(s, V_PROTO, "IPC", 3) < 0) s6net_diesys(111, "unable to set PROTO");
  return s6net_server_run(s);
}
