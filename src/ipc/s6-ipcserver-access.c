/* s6-ipcserver-access [-v verbosity] [-E|-e] [-l localname] [-i rulesdir | -x rulesfile] prog...
 * Under s6-ipcserverd: check the client's uid and gid (from
 * ${PROTO}REMOTEEUID / ${PROTO}REMOTEEGID, which s6-ipcserverd took from
 * the kernel) against the uid/gid rules of lib/access, exit 1 on deny;
 * otherwise set ${PROTO}LOCALPATH and the rule's environment and exec
 * prog, or the rule's exec line through execlineb -c. */
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/num.h"
#include "core/opt.h"
#include <s6net/accessrules.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define USAGE "[ -v verbosity ] [ -E | -e ] [ -l localname ] [ -i rulesdir | -x rulesfile ] prog..."
#define PROTO_MAX 64
/* The reference truncates the local path to 99 characters. */
#define LOCALPATH_MAX 99

extern char **environ;

static char const *varname(char *buf, char const *proto, char const *suffix)
{
  snprintf(buf, PROTO_MAX + 16, "%s%s", proto, suffix);
  return buf;
}

static s6net_accessrules_result check(char const *dir, char const *file, uid_t uid, gid_t gid,
                                      s6net_accessrules_params *params, unsigned int verbosity)
{
  s6net_accessrules_result r;
  if (dir) {
    r = s6net_accessrules_keycheck_uidgid(uid, gid, dir, params, &s6net_accessrules_backend_fs);
    if (r == S6NET_ACCESSRULES_ERROR) s6net_diesys(111, "unable to check rules in %s", dir);
    /* A missing rules directory denies everyone, as with the reference:
     * say so at -v1, once per connection, only when no rule matched. */
    if (r == S6NET_ACCESSRULES_NOTFOUND && verbosity >= 1) {
      struct stat st;
      if (stat(dir, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR) s6net_warn("rules directory %s (-i) does not exist: every client is denied", dir);
        else s6net_warnsys("unable to stat rules directory %s (-i)", dir);
      }
    }
    return r;
  }
  s6net_accessrules_cdb c;
  if (s6net_accessrules_cdb_open(&c, file) < 0) s6net_diesys(111, "unable to open %s", file);
  r = s6net_accessrules_keycheck_uidgid(uid, gid, &c, params, &s6net_accessrules_backend_cdb);
  if (r == S6NET_ACCESSRULES_ERROR) s6net_diesys(111, "unable to check rules in %s", file);
  s6net_accessrules_cdb_close(&c);
  return r;
}

static int scan_id(char const *s, unsigned long long *v)
{
  return s && *s ? s6net_scan_ull(s, 0, (uid_t)-2, v) : -1;
}

int main(int argc, char **argv)
{
  static s6net_accessrules_params params;
  static char envbuf[8 * (PROTO_MAX + 16) + LOCALPATH_MAX + 16];
  static char const *mods[16 + S6NET_ACCESSRULES_ENV_MAX / 2];
  s6net_prog = "s6-ipcserver-access";
  unsigned int verbosity = 1;
  int noenv = 0, opt;
  char const *localname = 0, *rulesdir = 0, *rulesfile = 0;
  s6net_sgetopt sg = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&sg, argc, (char const *const *)argv, "v:Eel:i:x:")) != -1) {
    switch (opt) {
      case 'v': if (s6net_scan_uint(sg.arg, 0, 255, &verbosity) < 0) s6net_dieusage(USAGE); break;
      case 'E': noenv = 1; break;
      case 'e': noenv = 0; break;
      case 'l': localname = sg.arg; break;
      case 'i': rulesdir = sg.arg; rulesfile = 0; break;
      case 'x': rulesfile = sg.arg; rulesdir = 0; break;
      default: s6net_dieusage(USAGE);
    }
  }
  if (argc - sg.ind < 1) s6net_dieusage(USAGE);
  char const *const *prog = (char const *const *)argv + sg.ind;

  char const *proto = getenv("PROTO");
  if (!proto || !*proto) s6net_die(100, "PROTO not set: not run under a UCSPI server");
  if (strlen(proto) > PROTO_MAX || strchr(proto, '=')) s6net_die(100, "invalid PROTO");
  char vuid[PROTO_MAX + 16], vgid[PROTO_MAX + 16], vn[PROTO_MAX + 16];
  char const *suid = getenv(varname(vuid, proto, "REMOTEEUID"));
  char const *sgid = getenv(varname(vgid, proto, "REMOTEEGID"));
  unsigned long long u = 0, g = 0;
  int creds = scan_id(suid, &u) == 0 && scan_id(sgid, &g) == 0;
  if (!creds && ((suid && *suid) || (sgid && *sgid)))
    s6net_die(100, "invalid %s or %s", vuid, vgid);

  s6net_accessrules_params_init(&params);
  if (rulesdir || rulesfile) {
    if (!creds) {
      if (verbosity >= 2) s6net_warn("deny pid %ld: no client credentials (%s not set)", (long)getpid(), vuid);
      _exit(1);
    }
    if (check(rulesdir, rulesfile, (uid_t)u, (gid_t)g, &params, verbosity) != S6NET_ACCESSRULES_ALLOW) {
      if (verbosity >= 2) s6net_info("deny pid %ld uid %llu gid %llu", (long)getpid(), u, g);
      _exit(1);
    }
  } else if (verbosity >= 2) s6net_warn("no access rules: every client is allowed");

  char local[LOCALPATH_MAX + 1] = "";
  if (localname) {
    snprintf(local, sizeof local, "%s", localname);
  } else {
    struct sockaddr_un sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    if (getsockname(0, (struct sockaddr *)&sa, &len) < 0) s6net_diesys(111, "unable to get the local socket name");
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (len > off && sa.sun_family == AF_UNIX) {
      size_t l = strnlen(sa.sun_path, (size_t)len - off < sizeof sa.sun_path ? (size_t)len - off : sizeof sa.sun_path);
      if (l > LOCALPATH_MAX) l = LOCALPATH_MAX;
      memcpy(local, sa.sun_path, l);
      local[l] = 0;
    }
  }

  s6net_envmods m;
  s6net_envmods_init(&m, envbuf, sizeof envbuf, mods, sizeof mods / sizeof *mods);
  int bad = 0;
  if (noenv) {
    static char const *const suffixes[] = { "REMOTEEUID", "REMOTEEGID", "REMOTEPATH", "CONNNUM", "LOCALPATH" };
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
      bad |= s6net_envmods_set(&m, varname(vn, proto, suffixes[i]), 0) < 0;
    bad |= s6net_envmods_set(&m, "PROTO", 0) < 0;
  } else bad |= s6net_envmods_set(&m, varname(vn, proto, "LOCALPATH"), local) < 0;
  if (bad || s6net_envmods_addpacked(&m, params.env, params.envlen) < 0)
    s6net_diesys(111, "unable to build the environment");

  size_t n = 0;
  while (environ[n]) n++;
  size_t outmax = n + m.n + 1;
  char const **newenv = malloc(outmax * sizeof *newenv);
  if (!newenv || s6net_env_merge(newenv, outmax, (char const *const *)environ, m.mods, m.n) < 0)
    s6net_diesys(111, "unable to build the environment");

  if (verbosity >= 1) {
    if (creds) s6net_info("allow pid %ld uid %llu gid %llu", (long)getpid(), u, g);
    else s6net_info("allow pid %ld", (long)getpid());
  }
  if (params.execlen) {
    char const *eargv[4] = { "execlineb", "-c", params.exec, 0 };
    s6net_exec(eargv, newenv);
    s6net_diesys(111, "unable to exec execlineb");
  }
  s6net_exec(prog, newenv);
  s6net_diesys(111, "unable to exec %s", prog[0]);
}
