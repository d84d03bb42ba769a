#include "tls/ucspitls.h"
#include "tls/tls_cmdline.h"
#include "tls/tlsopt.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/fd.h"
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

int s6net_ucspitls_command(unsigned char cmd)
{
  return cmd == 'y' ? 1 : cmd == 'Y' ? 2 : 0;
}

/* Formats prefix and v into buf at *used and points *slot there. */
static int put(char *buf, size_t buflen, size_t *used, char const **slot, char const *prefix, unsigned int v)
{
  if (*used >= buflen) return -1;
  int n = snprintf(buf + *used, buflen - *used, "%s%u", prefix, v);
  if (n < 0 || (size_t)n >= buflen - *used) return -1;
  *slot = buf + *used;
  *used += (size_t)n + 1;
  return 0;
}

static int is_ucspitls_var(char const *e)
{
  static char const *const names[] = { "SSLCTLFD", "SSLREADFD", "SSLWRITEFD", 0 };
  size_t n = s6net_env_namelen(e);
  for (char const *const *p = names; *p; p++)
    if (strlen(*p) == n && !strncmp(*p, e, n)) return 1;
  return 0;
}

long s6net_ucspitls_appenv(char const **out, size_t outmax, char *buf, size_t buflen,
                           char const *const *envp, int keepkeys, int ctl, int rfd, int wfd)
{
  size_t k = 0, used = 0;
  for (; *envp; envp++) {
    if (!keepkeys && s6net_tls_is_keyvar(*envp)) continue;
    if (is_ucspitls_var(*envp)) continue;
    if (k + 4 >= outmax) return -1;
    out[k++] = *envp;
  }
  if (k + 4 > outmax) return -1;
  if (put(buf, buflen, &used, &out[k++], "SSLCTLFD=", (unsigned int)ctl) < 0
   || put(buf, buflen, &used, &out[k++], "SSLREADFD=", (unsigned int)rfd) < 0
   || put(buf, buflen, &used, &out[k++], "SSLWRITEFD=", (unsigned int)wfd) < 0)
    return -1;
  out[k] = 0;
  return (long)k;
}

/* ---- the processes -------------------------------------------------- */

/* Our private fds live at 10 and up, close-on-exec, so that laying out
 * the engine's fds 0..5 never overwrites one still to be copied, and so
 * that the application only inherits the three it is told about. */
static int high(int fd)
{
  int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (h < 0) s6net_diesys(111, "unable to duplicate fd %d", fd);
  return h;
}

static int rehigh(int fd)
{
  int h = high(fd);
  close(fd);
  return h;
}

/* The application's ends go to the lowest free fds from 3 up: a shell
 * script can only name single-digit fds in a redirection. */
static int low(int fd)
{
  int l = fcntl(fd, F_DUPFD, 3);
  if (l < 0) s6net_diesys(111, "unable to duplicate fd %d", fd);
  close(fd);
  return l;
}

typedef struct {
  int ctl;     /* helper's end of the control socket */
  int clr;     /* engine reads cleartext from the application here */
  int clw;     /* engine writes cleartext to the application here */
  int netr, netw;
} helper_fds;

_Noreturn static void helper(s6net_ucspitls const *u, helper_fds *h, char const *const *envp)
{
  s6net_tls_conf const *c = u->c;
  /* Hold nothing of the application's: in particular the client's own
   * stdin/stdout, whose readers would otherwise wait for us. */
  for (int fd = 0; fd < 10; fd++) if (fd != 2) close(fd);

  unsigned char cmd;
  ssize_t r;
  do r = read(h->ctl, &cmd, 1); while (r < 0 && errno == EINTR);
  if (r < 0) {
    /* A reset control socket is the application going away. */
    if (errno == ECONNRESET) _exit(0);
    s6net_diesys(111, "unable to read from the control socket");
  }
  if (!r) {
    if (c->verbosity >= 2) s6net_info("control socket closed: TLS declined");
    _exit(0);
  }
  int kind = s6net_ucspitls_command(cmd);
  if (!kind) s6net_die(100, "unable to obey the application: unknown UCSPI-TLS command 0x%02x", cmd);
  if (c->verbosity >= 2) s6net_info("command %c: starting TLS", cmd);

  s6net_fdmap map[5];
  unsigned int n = s6net_tls_engine_fdmap(map, c->server, h->netr, h->netw, h->clr, h->clw, kind == 2 ? h->ctl : -1);
  /* Sources are all >= 10 and targets < 10: plain dup2 in order is safe;
   * the close-on-exec sources vanish at exec. */
  for (unsigned int i = 0; i < n; i++)
    while (dup2(map[i].from, map[i].to) < 0)
      if (errno != EINTR) s6net_diesys(111, "unable to set up fd %d for the engine", map[i].to);

  /* An application that asks for 'Y' then closes the control socket must
   * not kill the engine silently: it gets EPIPE and says so. */
  signal(SIGPIPE, SIG_IGN);
  s6net_tls_engine_args a;
  s6net_tls_engine_args_conn(&a, c, kind == 2);
  char const *argv[S6NET_TLS_ENGINE_ARGC_MAX];
  char buf[S6NET_TLS_ENGINE_BUFLEN];
  if (!s6net_tls_engine_argv(&a, argv, S6NET_TLS_ENGINE_ARGC_MAX, buf, sizeof buf))
    s6net_die(111, "unable to build the engine command line");
  s6net_exec_sibling(argv[0], argv, envp);
  s6net_diesys(111, "unable to exec %s", argv[0]);
}

void s6net_ucspitls_run(s6net_ucspitls const *u, char const *const *envp)
{
  int sv[2], n2a[2], a2n[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    s6net_diesys(111, "unable to create the control socket");
  if (pipe2(n2a, O_CLOEXEC) < 0 || pipe2(a2n, O_CLOEXEC) < 0)
    s6net_diesys(111, "unable to create pipe");
  for (int i = 0; i < 2; i++) { sv[i] = rehigh(sv[i]); n2a[i] = rehigh(n2a[i]); a2n[i] = rehigh(a2n[i]); }
  s6net_tls_pipe_size(n2a[1]);
  s6net_tls_pipe_size(a2n[1]);
  helper_fds h = { .ctl = sv[1], .clr = a2n[0], .clw = n2a[1] };
  h.netr = high(u->netr);
  h.netw = high(u->netw);
  int actl = low(sv[0]), ar = low(n2a[0]), aw = low(a2n[1]);

  pid_t pid = fork();
  if (pid < 0) s6net_diesys(111, "unable to fork");
  if (!pid) {
    close(actl); close(ar); close(aw);
    helper(u, &h, envp);
  }

  size_t ne = 0;
  while (envp[ne]) ne++;
  char const **env = malloc((ne + 4) * sizeof *env);
  if (!env) s6net_diesys(111, "unable to allocate");
  char buf[80];
  if (s6net_ucspitls_appenv(env, ne + 4, buf, sizeof buf, envp, u->keepkeys, actl, ar, aw) < 0)
    s6net_die(111, "unable to build the application's environment");
  s6net_exec(u->prog, env);
  s6net_diesys(111, "unable to exec %s", u->prog[0]);
}
