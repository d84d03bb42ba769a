#include "tls/tls_wrapper.h"
#include "tls/tls_cmdline.h"
#include "tls/tlsopt.h"
#include "tls/tls_zygote_msg.h"
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define NOTIF_MAX 8192

/* Our own fds live at 10 and up, so that setting up 0..5 in the engine
 * never overwrites one that is still to be copied. */
static int high(int fd)
{
  int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (h < 0) s6net_diesys(111, "unable to duplicate fd");
  return h;
}

static void mkpipe(int p[2])
{
  int q[2];
  if (pipe2(q, O_CLOEXEC) < 0) s6net_diesys(111, "unable to create pipe");
  p[0] = high(q[0]); p[1] = high(q[1]);
  close(q[0]); close(q[1]);
  s6net_tls_pipe_size(p[1]);
}

static pid_t spawn_engine(s6net_tlswrap const *w, int const efds[4], int notif, char const *const *envp)
{
  s6net_tls_engine_args a;
  s6net_tls_engine_args_conn(&a, w->c, 1);
  char const *argv[S6NET_TLS_ENGINE_ARGC_MAX];
  char buf[S6NET_TLS_ENGINE_BUFLEN];
  if (!s6net_tls_engine_argv(&a, argv, S6NET_TLS_ENGINE_ARGC_MAX, buf, sizeof buf))
    s6net_die(111, "unable to build the engine command line");
  s6net_fdmap map[5];
  unsigned int nmap = s6net_tls_engine_fdmap(map, a.conf.server, efds[0], efds[1], efds[2], efds[3], notif);
  char path[4200];
  if (s6net_sibling(path, sizeof path, argv[0]) < 0) s6net_diesys(111, "unable to find %s", argv[0]);
  pid_t pid = s6net_spawn(path, argv, envp, map, nmap, 0);
  if (pid < 0) s6net_diesys(111, "unable to spawn %s", path);
  return pid;
}

/* Reads a notification; returns its length, or 0 on EOF before the end. */
static size_t read_notif(int fd, char *buf, size_t cap)
{
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) s6net_diesys(111, "unable to read handshake notification");
    if (!r) return 0;
    if (!len && (buf[0] == '?' || buf[0] == '!')) { len = (size_t)r; return len; }
    len += (size_t)r;
    long n = s6net_tls_notif_scan(buf, len, cap);
    if (n < 0) s6net_die(111, "invalid handshake notification");
    if (n > 0) return (size_t)n;
  }
}

/* $S6NET_TLSD_ZYGOTE names an inherited fd: mark it close-on-exec at
 * once, so that neither a fresh engine nor the application ever holds
 * it. -1 if unset, malformed, a standard fd or not open. */
static int zygote_fd(char const *const *envp)
{
  char const *s = s6net_env_get(envp, S6NET_TLSZ_ENV);
  unsigned int fd;
  if (!s || s6net_scan_uint(s, 3, 65535, &fd) < 0) return -1;
  if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0) return -1;
  return (int)fd;
}

/* The client, for the engine's diagnostics, formatted as the plain
 * engine does (s6net_tls_peer_fmt); 0 if unknown, or if it holds a byte
 * the zygote refuses in a request (controls, spaces). */
static size_t peer_string(char *buf, size_t cap, char const *const *envp)
{
  if (!s6net_tls_peer_fmt(buf, cap, envp)) return 0;
  size_t n = strlen(buf);
  for (size_t i = 0; i < n; i++) if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7e) return 0;
  return n;
}

/* One message of the zygote's reply socket. */
static ssize_t recv_reply(int fd, char *buf, size_t cap)
{
  ssize_t n;
  do n = recv(fd, buf, cap, 0); while (n < 0 && errno == EINTR);
  return n;
}

/* Hand the connection to the zygote behind zfd. Returns the notification
 * length, or 0 if we must run an engine of our own (nothing was touched).
 * Exits if the zygote's worker took the connection and failed. */
static size_t zygote_run(s6net_tlswrap const *w, int zfd, int const efds[4], char const *const *envp,
                         char *notif, size_t cap)
{
  static unsigned char req[S6NET_TLSZ_REQMAX + 1]; /* + the peer string's NUL */
  s6net_tls_conf const *c = w->c;
  if (!s6net_tlsz_check(zfd)) {
    if (c->verbosity) s6net_warn("fd %d in %s is not the TLS zygote's socket: running a fresh engine", zfd, S6NET_TLSZ_ENV);
    return 0;
  }
  size_t fplen = s6net_tlsz_fingerprint((char *)req + S6NET_TLSZ_HDR, S6NET_TLSZ_FPMAX, c->clientcert, c->snilevel,
                                        c->alpn, envp);
  if (!fplen) return 0;
  s6net_tlsz_req r = { .closenotify = c->closenotify, .strict = c->strict, .kimeout = c->kimeout,
                       .verbosity = c->verbosity, .fplen = (uint32_t)fplen };
  r.digest = s6net_tlsz_digest((char const *)req + S6NET_TLSZ_HDR, fplen);
  r.peerlen = (uint32_t)peer_string((char *)req + S6NET_TLSZ_HDR + fplen, S6NET_TLSZ_PEERMAX + 1, envp);
  s6net_tlsz_hdr_encode(req, &r);
  int rp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rp) < 0) s6net_diesys(111, "unable to create socketpair");
  int fds[S6NET_TLSZ_NFDS] = { efds[0], efds[1], efds[2], efds[3], rp[1] };
  if (s6net_tlsz_sendfds(zfd, req, S6NET_TLSZ_HDR + fplen + r.peerlen, fds, S6NET_TLSZ_NFDS) < 0) {
    if (c->verbosity) s6net_warnsys("unable to reach the TLS zygote, running a fresh engine");
    close(rp[0]); close(rp[1]);
    return 0;
  }
  close(rp[1]);
  ssize_t n = recv_reply(rp[0], notif, cap);
  if (n < 0) s6net_diesys(111, "unable to read from the TLS zygote");
  if (n == 1 && notif[0] == '?') { close(rp[0]); return 0; }
  if (!n) {
    if (c->verbosity) s6net_warn("the TLS zygote dropped the connection before taking it, running a fresh engine");
    close(rp[0]);
    return 0;
  }
  if (n != 1 || notif[0] != 'T') s6net_die(111, "invalid reply from the TLS zygote");
  n = recv_reply(rp[0], notif, cap);
  if (n < 0) s6net_diesys(111, "unable to read handshake notification");
  if (!n) s6net_die(111, "TLS engine exited before the end of the handshake");
  close(rp[0]);
  if (notif[0] == '!') _exit(n > 1 && notif[1] ? (unsigned char)notif[1] : 111);
  if (s6net_tls_notif_scan(notif, (size_t)n, cap) != n) s6net_die(111, "invalid handshake notification");
  return (size_t)n;
}

_Noreturn static void engine_failed(pid_t pid)
{
  int st;
  pid_t r;
  do r = waitpid(pid, &st, 0); while (r < 0 && errno == EINTR);
  if (r < 0) s6net_diesys(111, "unable to wait for the TLS engine");
  if (WIFEXITED(st)) _exit(WEXITSTATUS(st) ? WEXITSTATUS(st) : 111);
  s6net_die(111, "TLS engine killed by signal %d", WTERMSIG(st));
}

static int infovar(char const *e)
{
  size_t n = strcspn(e, "=");
  for (char const *const *p = s6net_tls_infovars; *p; p++)
    if (strlen(*p) == n && !strncmp(*p, e, n)) return 1;
  return 0;
}

/* Behind proxy-server (s6-tlsserver -L), when the PROXY header says the
 * client spoke TLS to the proxy (PROXY_SSL_CLIENT with bit 1), the SSL_*
 * variables proxy-server set describe the client's connection, which is
 * what the application wants; ours would describe the proxy-to-us hop. */
static int proxy_ssl(char const *const *envp)
{
  char const *v = s6net_env_get(envp, "PROXY_SSL_CLIENT");
  unsigned int f;
  return v && s6net_scan_uint(v, 0, 255, &f) == 0 && (f & 1);
}

/* What proxy-server sets from a PROXY v2 SSL field (see proxy-server(1)). */
static int proxyvar(char const *e)
{
  static char const *const vars[] = { "SSL_PROTOCOL", "SSL_CIPHER", "SSL_TLS_SNI_SERVERNAME", 0 };
  size_t n = strcspn(e, "=");
  for (char const *const *p = vars; *p; p++)
    if (strlen(*p) == n && !strncmp(*p, e, n)) return 1;
  return 0;
}

void s6net_tlswrap_run(s6net_tlswrap const *w, char const *const *envp)
{
  static char notif[NOTIF_MAX];
  int zfd = zygote_fd(envp);
  int n2a[2], a2n[2];
  mkpipe(n2a);
  mkpipe(a2n);
  int netr = high(w->netr), netw = high(w->netw);
  /* Engine view: network read, network write, cleartext read, cleartext write. */
  int efds[4] = { netr, netw, a2n[0], n2a[1] };
  size_t nlen = 0;
  if (zfd >= 0 && w->c->server) nlen = zygote_run(w, zfd, efds, envp, notif, sizeof notif);
  if (!nlen) {
    int nt[2];
    mkpipe(nt);
    pid_t pid = spawn_engine(w, efds, nt[1], envp);
    close(nt[1]);
    nlen = read_notif(nt[0], notif, sizeof notif);
    close(nt[0]);
    if (!nlen || notif[0] == '?' || notif[0] == '!') {
      close(n2a[0]); close(a2n[1]);
      engine_failed(pid);
    }
  }
  close(netr); close(netw); close(a2n[0]); close(n2a[1]);
  if (s6net_fd_move(w->appr, n2a[0]) < 0 || s6net_fd_move(w->appw, a2n[1]) < 0)
    s6net_diesys(111, "unable to move fds");

  size_t ne = 0;
  while (envp[ne]) ne++;
  char const **env = malloc((ne + 16) * sizeof *env);
  if (!env) s6net_diesys(111, "unable to allocate");
  size_t k = 0;
  int fromproxy = w->c->server && proxy_ssl(envp);
  for (size_t i = 0; i < ne; i++) {
    char const *e = envp[i];
    if (!w->keepkeys && s6net_tls_is_keyvar(e)) continue;
    if (infovar(e) && !(fromproxy && proxyvar(e))) continue;
    if (!strncmp(e, S6NET_TLSZ_ENV "=", sizeof S6NET_TLSZ_ENV)) continue;
    env[k++] = e;
  }
  for (size_t i = 0; !fromproxy && i + 1 < nlen && k < ne + 15; i += strlen(notif + i) + 1)
    if (infovar(notif + i)) env[k++] = notif + i;
  env[k] = 0;
  s6net_exec(w->prog, env);
  s6net_diesys(111, "unable to exec %s", w->prog[0]);
}
