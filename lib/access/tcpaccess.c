/* s6-tcpserver-access: decide whether a TCP client may go on, set up its
 * environment, and exec the next program.
 *
 * Decision order:
 *   1. PROTO and ${PROTO}REMOTEIP must be set (else exit 100).
 *   2. -B: the banner is written at once; -D: TCP_NODELAY.
 *   3. IP rules (-i/-x): error exits 111, deny exits 1, allow grants.
 *   4. Unless -H: reverse lookups of the remote and (unless -l) the local
 *      address, in parallel; with -p, a forward lookup of the remote name
 *      must give back the remote address, else the connection is dropped
 *      (if it cannot be checked, the name is dropped instead).
 *   5. If the IP rules did not decide: with -H, deny; else the reverse DNS
 *      rules for the remote name, and anything but allow is a deny.
 *   6. -r: an IDENT query (after DNS, never in parallel with it).
 *   7. Environment: ${PROTO}REMOTEHOST, ${PROTO}LOCALHOST,
 *      ${PROTO}REMOTEINFO set or unset, then the rule's env on top; exec
 *      the rule's exec through execlineb -c, or else prog...
 * -t bounds the lookups and the banner: with -w, running out of time
 * exits 99; without, a lookup that times out is skipped. */
#include "access/tcpaccess.h"
#include <s6net/accessrules.h>
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/opt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

extern char **environ;

#ifndef S6NET_BINDIR
#define S6NET_BINDIR "/usr/local/bin"
#endif

#define USAGE "[ -v verbosity ] [ -W | -w ] [ -D | -d ] [ -H ] [ -h ] [ -R | -r ] [ -P | -p ] [ -l localname ] [ -B banner ] [ -t timeout ] [ -i rulesdir | -x rulesfile ] prog..."
#define PROTO_MAX 64

typedef struct {
  unsigned int verbosity, timeout;
  int fatal, nodelay, nodns, hosts, ident, paranoid;
  char const *localname, *banner, *rulesdir, *rulesfile;
} options;

/* Returns the index of prog in argv. */
static int parse_options(int argc, char **argv, options *o)
{
  int opt;
  memset(o, 0, sizeof *o);
  o->verbosity = 1;
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "v:WwDdHhRrPpl:B:t:i:x:")) != -1) {
    switch (opt) {
      case 'v':
        if (s6net_scan_uint(g.arg, 0, 1000, &o->verbosity) < 0) s6net_dieusage(USAGE);
        break;
      case 'W': o->fatal = 0; break;
      case 'w': o->fatal = 1; break;
      case 'D': o->nodelay = 1; break;
      case 'd': o->nodelay = 0; break;
      case 'H': o->nodns = 1; break;
      case 'h': o->hosts = 1; break;
      case 'R': o->ident = 0; break;
      case 'r': o->ident = 1; break;
      case 'P': o->paranoid = 0; break;
      case 'p': o->paranoid = 1; break;
      case 'l':
        if (strlen(g.arg) >= S6NET_TCPACCESS_NAMELEN) s6net_die(100, "localname too long");
        o->localname = g.arg;
        break;
      case 'B': o->banner = g.arg; break;
      case 't':
        if (s6net_scan_uint(g.arg, 0, 86400000, &o->timeout) < 0) s6net_dieusage(USAGE);
        break;
      case 'i': o->rulesdir = g.arg; break;
      case 'x': o->rulesfile = g.arg; break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (o->rulesdir && o->rulesfile) s6net_die(100, "-i and -x are mutually exclusive");
  if (g.ind >= argc) s6net_dieusage(USAGE);
  return g.ind;
}

/* ${PROTO}SUFFIX, e.g. TCPREMOTEIP. */
static char *varname(char *buf, char const *proto, char const *suffix)
{
  size_t p = strlen(proto), s = strlen(suffix);
  memcpy(buf, proto, p);
  memcpy(buf + p, suffix, s + 1);
  return buf;
}

static void write_banner(char const *banner, s6net_deadline deadline, int fatal)
{
  size_t len = strlen(banner), done = 0;
  while (done < len) {
    if (deadline != S6NET_DEADLINE_NEVER) {
      struct pollfd p = { .fd = 1, .events = POLLOUT, .revents = 0 };
      int r = s6net_poll(&p, 1, deadline);
      if (r < 0) s6net_diesys(111, "unable to poll the network");
      if (!r) {
        if (fatal) s6net_die(99, "timed out writing the banner");
        return;
      }
    }
    ssize_t w = write(1, banner + done, len - done);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      s6net_diesys(111, "unable to write the banner");
    }
    done += (size_t)w;
  }
}

static s6net_accessrules_result check_rules(options const *o, int ip_stage, s6net_ip46 const *ip, char const *name, s6net_accessrules_params *params)
{
  s6net_accessrules_result r;
  if (o->rulesdir) {
    r = ip_stage ? s6net_accessrules_keycheck_ip46(ip->ip, ip->is6, o->rulesdir, params, &s6net_accessrules_backend_fs)
                 : s6net_accessrules_keycheck_reversedns(name, o->rulesdir, params, &s6net_accessrules_backend_fs);
    if (r == S6NET_ACCESSRULES_ERROR) s6net_diesys(111, "unable to check rules in %s", o->rulesdir);
    /* A missing ruleset denies everyone, as with the reference: say so,
     * once per connection, only on this path (no cost when a rule hits).
     * A file in its place already failed above (ENOTDIR, exit 111). */
    if (r == S6NET_ACCESSRULES_NOTFOUND && ip_stage && o->verbosity >= 1) {
      struct stat st;
      if (stat(o->rulesdir, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR) s6net_warn("rules directory %s (-i) does not exist: every client is denied", o->rulesdir);
        else s6net_warnsys("unable to stat rules directory %s (-i)", o->rulesdir);
      }
    }
    return r;
  }
  static unsigned char cdbbuf[65536];
  s6net_accessrules_cdb c;
  if (s6net_accessrules_cdb_load(&c, o->rulesfile, cdbbuf, sizeof cdbbuf) < 0) {
    if (errno == EPROTO) s6net_die(111, "unable to read %s: not a CDB file", o->rulesfile);
    s6net_diesys(111, "unable to open %s", o->rulesfile);
  }
  r = ip_stage ? s6net_accessrules_keycheck_ip46(ip->ip, ip->is6, &c, params, &s6net_accessrules_backend_cdb)
               : s6net_accessrules_keycheck_reversedns(name, &c, params, &s6net_accessrules_backend_cdb);
  if (r == S6NET_ACCESSRULES_ERROR) s6net_diesys(111, "unable to check rules in %s", o->rulesfile);
  s6net_accessrules_cdb_close(&c);
  return r;
}

_Noreturn static void deny(options const *o, char const *ipstr, uint16_t port, char const *why)
{
  if (o->verbosity >= 2) s6net_info("deny pid %ld ip %s port %u: %s", (long)getpid(), ipstr, (unsigned int)port, why);
  _exit(1);
}

/* A lookup that failed or ran out of time: fatal with -w, else noted. */
static void lookup_trouble(options const *o, int status, char const *what, char const *msg)
{
  if (status == S6NET_TCPACCESS_TIMEOUT) {
    if (o->fatal) s6net_die(99, "timed out during %s", what);
    if (o->verbosity >= 2) s6net_warn("%s timed out", what);
  } else if (status == S6NET_TCPACCESS_FAIL) {
    if (o->fatal) s6net_die(111, "unable to complete %s: %s", what, msg);
    if (o->verbosity >= 3) s6net_warn("%s failed: %s", what, msg);
  }
}

static char const *base_name(char const *path)
{
  char const *slash = path ? strrchr(path, '/') : 0;
  return slash ? slash + 1 : path ? path : "";
}

_Noreturn void s6net_tcpaccess_main(int argc, char **argv, s6net_tcpaccess_ops const *ops)
{
  static s6net_accessrules_params params;
  static char envbuf[3 * (PROTO_MAX + 16) + 2 * S6NET_TCPACCESS_NAMELEN + S6NET_TCPACCESS_INFOLEN];
  static char const *envmods[8 + S6NET_ACCESSRULES_ENV_MAX / 2];
  char vn[PROTO_MAX + 16], info[S6NET_TCPACCESS_INFOLEN];
  options o;
  s6net_tcpaccess_lookup l;
  s6net_ip46 ip;
  uint16_t port = 0;
  /* Messages carry the name the user ran: s6-tcpserver-access execs the
   * resolver build with argv[0] untouched, so its lines still say
   * s6-tcpserver-access, while s6-tcpserver-access-dns run by hand
   * says its own name (in its usage line too). */
  s6net_prog = ops && !strcmp(base_name(argv[0]), S6NET_TCPACCESS_DNS_PROG)
    ? S6NET_TCPACCESS_DNS_PROG : "s6-tcpserver-access";
  char **prog = argv + parse_options(argc, argv, &o);

  int need_lookups = !o.nodns || o.ident;
  if (need_lookups && !ops) {
    s6net_exec_sibling(S6NET_TCPACCESS_DNS_PROG, (char const *const *)argv, (char const *const *)environ);
    /* A static build may be installed alone in a directory of its own
     * (build-static/bin): then the installed resolver build serves. */
    if (errno == ENOENT) execve(S6NET_BINDIR "/" S6NET_TCPACCESS_DNS_PROG, argv, environ);
    s6net_diesys(111, "unable to exec %s", S6NET_TCPACCESS_DNS_PROG);
  }

  char const *proto = getenv("PROTO");
  if (!proto || !*proto) s6net_die(100, "PROTO not set: not run under a UCSPI server");
  if (strlen(proto) > PROTO_MAX || strchr(proto, '=')) s6net_die(100, "invalid PROTO");
  char const *ipstr = getenv(varname(vn, proto, "REMOTEIP"));
  if (!ipstr) s6net_die(100, "%s not set: not run under a UCSPI server", vn);
  if (s6net_ip46_scan(ipstr, &ip) < 0) s6net_die(100, "invalid %s: %s", vn, ipstr);
  if (ip.is6 && s6net_ip6_is_v4mapped(ip.ip)) {
    memmove(ip.ip, ip.ip + 12, 4);
    ip.is6 = 0;
  }
  char const *s = getenv(varname(vn, proto, "REMOTEPORT"));
  if (s && s6net_scan_port(s, &port) < 0) s6net_die(100, "invalid %s: %s", vn, s);

  s6net_deadline deadline = s6net_deadline_in(o.timeout);
  if (o.banner) write_banner(o.banner, deadline, 1);
  if (o.nodelay) {
    int one = 1;
    if (setsockopt(0, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 && o.verbosity)
      s6net_warnsys("unable to set TCP_NODELAY");
  }

  s6net_accessrules_params_init(&params);
  s6net_accessrules_result verdict = S6NET_ACCESSRULES_ALLOW;
  if (o.rulesdir || o.rulesfile) {
    verdict = check_rules(&o, 1, &ip, 0, &params);
    if (verdict == S6NET_ACCESSRULES_DENY) deny(&o, ipstr, port, "IP rule");
  } else if (o.verbosity >= 2) s6net_warn("no access rules: every client is allowed");

  memset(&l, 0, sizeof l);
  l.remote = ip;
  l.rport = port;
  l.hosts = o.hosts;
  l.verbosity = (int)o.verbosity;
  l.deadline = deadline;
  l.remote_status = l.local_status = S6NET_TCPACCESS_NOTFOUND;
  s = getenv(varname(vn, proto, "LOCALIP"));
  if (s && s6net_ip46_scan(s, &l.local) == 0) {
    if (l.local.is6 && s6net_ip6_is_v4mapped(l.local.ip)) {
      memmove(l.local.ip, l.local.ip + 12, 4);
      l.local.is6 = 0;
    }
    l.have_local = 1;
  }
  s = getenv(varname(vn, proto, "LOCALPORT"));
  if (s && s6net_scan_port(s, &l.lport) < 0) l.have_local = 0;

  if (!o.nodns) {
    l.want_remote = 1;
    l.want_local = !o.localname && l.have_local;
    ops->names(&l);
    lookup_trouble(&o, l.remote_status, "the remote name lookup", l.msg);
    if (l.want_local) lookup_trouble(&o, l.local_status, "the local name lookup", l.msg);
    /* An answer that cannot be a host name is no answer: it must not
     * reach the environment or the rules. */
    if (l.remote_status == S6NET_TCPACCESS_OK && !s6net_accessrules_name_ok(l.remotehost)) {
      if (o.verbosity >= 2) s6net_warn("ignoring an invalid remote host name from the DNS");
      l.remote_status = S6NET_TCPACCESS_NOTFOUND;
    }
    if (l.local_status == S6NET_TCPACCESS_OK && !s6net_accessrules_name_ok(l.localhost)) {
      if (o.verbosity >= 2) s6net_warn("ignoring an invalid local host name from the DNS");
      l.local_status = S6NET_TCPACCESS_NOTFOUND;
    }
    if (o.paranoid && l.remote_status == S6NET_TCPACCESS_OK) {
      int c = ops->confirm(&l);
      if (c == S6NET_TCPACCESS_NOTFOUND) deny(&o, ipstr, port, "paranoid: the remote name does not map back to the address");
      if (c != S6NET_TCPACCESS_OK) {
        /* Could not check (and not -w): a name that cannot be verified
         * is treated as no name at all, never trusted. */
        lookup_trouble(&o, c, "the paranoid lookup", l.msg);
        l.remote_status = S6NET_TCPACCESS_NOTFOUND;
      }
    }
  }

  if (verdict == S6NET_ACCESSRULES_NOTFOUND) {
    if (o.nodns) deny(&o, ipstr, port, "no IP rule, and -H");
    if (l.remote_status != S6NET_TCPACCESS_OK) deny(&o, ipstr, port, "no IP rule, and no remote name");
    if (check_rules(&o, 0, 0, l.remotehost, &params) != S6NET_ACCESSRULES_ALLOW)
      deny(&o, ipstr, port, "reverse DNS rules");
  }

  int have_info = 0;
  if (o.ident) {
    if (!l.have_local) {
      if (o.fatal) s6net_die(111, "unable to make an IDENT query: %sLOCALIP or %sLOCALPORT not set", proto, proto);
    } else {
      int r = ops->ident(&l, info, sizeof info);
      if (r == S6NET_TCPACCESS_OK) have_info = 1;
      else lookup_trouble(&o, r, "the IDENT query", l.msg);
    }
  }

  s6net_envmods m;
  s6net_envmods_init(&m, envbuf, sizeof envbuf, envmods, sizeof envmods / sizeof *envmods);
  if (s6net_envmods_set(&m, varname(vn, proto, "REMOTEHOST"), l.remote_status == S6NET_TCPACCESS_OK ? l.remotehost : 0) < 0
   || s6net_envmods_set(&m, varname(vn, proto, "LOCALHOST"), o.localname ? (*o.localname ? o.localname : 0) : l.local_status == S6NET_TCPACCESS_OK ? l.localhost : 0) < 0
   || s6net_envmods_set(&m, varname(vn, proto, "REMOTEINFO"), have_info ? info : 0) < 0
   || s6net_envmods_addpacked(&m, params.env, params.envlen) < 0)
    s6net_diesys(111, "unable to build the environment");

  /* The usual environment fits in a static array: no allocation (and no
   * system call for one) on the common path. */
  static char const *envstore[512];
  size_t n = 0;
  while (environ[n]) n++;
  size_t outmax = n + m.n + 1;
  char const **newenv = outmax <= sizeof envstore / sizeof *envstore ? envstore : malloc(outmax * sizeof *newenv);
  if (!newenv || s6net_env_merge(newenv, outmax, (char const *const *)environ, m.mods, m.n) < 0)
    s6net_diesys(111, "unable to build the environment");

  if (o.verbosity >= 1) {
    if (l.remote_status == S6NET_TCPACCESS_OK) s6net_info("allow pid %ld ip %s port %u host %s", (long)getpid(), ipstr, (unsigned int)port, l.remotehost);
    else s6net_info("allow pid %ld ip %s port %u", (long)getpid(), ipstr, (unsigned int)port);
  }
  if (params.execlen) {
    /* An exec rule replaces the TLS layer: it must not inherit the TLS
     * zygote's socket (s6-tlsserver, tls_zygote_msg.h). */
    char const *z = s6net_env_get((char const *const *)environ, "S6NET_TLSD_ZYGOTE");
    unsigned int zfd;
    if (z && s6net_scan_uint(z, 3, 65535, &zfd) == 0) fcntl((int)zfd, F_SETFD, FD_CLOEXEC);
    char const *eargv[4] = { "execlineb", "-c", params.exec, 0 };
    s6net_exec(eargv, newenv);
    s6net_diesys(111, "unable to exec execlineb");
  }
  s6net_exec((char const *const *)prog, newenv);
  s6net_diesys(111, "unable to exec %s", prog[0]);
}
