/* s6-envuidgid [ -u | -g | -B ] [ -n ] [ -i | -D uid:gid:gidlist ] account prog...
 * Put an account's ids into UID, GID and GIDLIST, then exec prog. */
#include "core/diag.h"
#include "core/env.h"
#include "core/exec.h"
#include "core/num.h"
#include "core/opt.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define USAGE "[ -u | -g | -B ] [ -n ] [ -i | -D uid:gid:gidlist ] account prog..."
#define MAXGROUPS 256

extern char **environ;

static int numeric(char const *s, unsigned long long *u)
{
  return s6net_scan_ull(s, 0, 0xfffffffeULL, u);
}

int main(int argc, char const *const *argv)
{
  char mode = 0; /* 0: user with groups, 'u', 'g', 'B' */
  int num = 0;
  char const *dflt = 0;
  s6net_prog = "s6-envuidgid";
  s6net_sgetopt sg = S6NET_SGETOPT_INIT;
  int opt;
  while ((opt = s6net_sgetopt_next(&sg, argc, argv, "ugBniD:")) != -1) {
    switch (opt) {
      case 'u': case 'g': case 'B': mode = (char)opt; break;
      case 'n': num = 1; break;
      case 'i': dflt = 0; break;
      case 'D': dflt = sg.arg; break;
      default: s6net_dieusage(USAGE);
    }
  }
  int i = sg.ind;
  if (argc - i < 2) s6net_dieusage(USAGE);
  /* The reference reads a plain account as user:group once -n is given. */
  if (num && !mode) mode = 'B';
  char const *account = argv[i++];

  /* Defaults from -D uid:gid:gidlist */
  char duid[24] = "", dgid[24] = "", dlist[4096] = "";
  if (dflt) {
    char const *c1 = strchr(dflt, ':');
    char const *c2 = c1 ? strchr(c1 + 1, ':') : 0;
    unsigned long long u;
    gid_t g[MAXGROUPS];
    size_t n;
    if (!c1 || !c2 || (size_t)(c1 - dflt) >= sizeof duid || (size_t)(c2 - c1 - 1) >= sizeof dgid
        || strlen(c2 + 1) >= sizeof dlist) s6net_die(100, "invalid -D argument: %s", dflt);
    memcpy(duid, dflt, (size_t)(c1 - dflt));
    memcpy(dgid, c1 + 1, (size_t)(c2 - c1 - 1));
    strcpy(dlist, c2 + 1);
    if (numeric(duid, &u) < 0 || numeric(dgid, &u) < 0 || s6net_scan_idlist(dlist, g, MAXGROUPS, &n) < 0)
      s6net_die(100, "invalid -D argument: %s", dflt);
  }

  char buf[8192];
  char const *mods[4];
  s6net_envmods m;
  s6net_envmods_init(&m, buf, sizeof buf, mods, 4);
  char tmp[24];
  unsigned long long u;

  if (mode == 'g') {
    struct group *gr = getgrnam(account);
    if (gr) { snprintf(tmp, sizeof tmp, "%u", (unsigned)gr->gr_gid); s6net_envmods_set(&m, "GID", tmp); }
    else if (num && numeric(account, &u) == 0) s6net_envmods_set(&m, "GID", account);
    else if (dflt) s6net_envmods_set(&m, "GID", dgid);
    else s6net_die(1, "unknown group: %s", account);
  } else if (mode == 'B') {
    char user[256], grp[256];
    char const *colon = strchr(account, ':');
    size_t ul = colon ? (size_t)(colon - account) : strlen(account);
    if (ul >= sizeof user || (colon && strlen(colon + 1) >= sizeof grp)) s6net_die(100, "account name too long");
    memcpy(user, account, ul); user[ul] = 0;
    strcpy(grp, colon ? colon + 1 : "");
    /* An empty part is 0 (or the -D value); an unknown name is an error
     * unless -D or -n covers it, so that a typo never means root. */
    struct passwd *pw = ul ? getpwnam(user) : 0;
    if (pw) snprintf(tmp, sizeof tmp, "%u", (unsigned)pw->pw_uid);
    else if (ul && num && numeric(user, &u) == 0) snprintf(tmp, sizeof tmp, "%llu", u);
    else if (!ul || dflt) snprintf(tmp, sizeof tmp, "%s", dflt ? duid : "0");
    else s6net_die(1, "unknown user: %s", user);
    s6net_envmods_set(&m, "UID", tmp);
    struct group *gr = *grp ? getgrnam(grp) : 0;
    if (gr) snprintf(tmp, sizeof tmp, "%u", (unsigned)gr->gr_gid);
    else if (*grp && num && numeric(grp, &u) == 0) snprintf(tmp, sizeof tmp, "%llu", u);
    else if (!*grp || dflt) snprintf(tmp, sizeof tmp, "%s", dflt ? dgid : "0");
    else s6net_die(1, "unknown group: %s", grp);
    s6net_envmods_set(&m, "GID", tmp);
  } else {
    struct passwd *pw = getpwnam(account);
    if (pw) {
      snprintf(tmp, sizeof tmp, "%u", (unsigned)pw->pw_uid);
      s6net_envmods_set(&m, "UID", tmp);
      if (mode != 'u') {
        gid_t g[MAXGROUPS];
        int n = MAXGROUPS;
        char list[4096];
        size_t len = 0;
        snprintf(tmp, sizeof tmp, "%u", (unsigned)pw->pw_gid);
        s6net_envmods_set(&m, "GID", tmp);
        if (getgrouplist(account, pw->pw_gid, g, &n) < 0) s6net_die(111, "too many groups for %s", account);
        /* getgrouplist() always adds the primary group; GIDLIST names it
         * only if the group database lists the account in it. */
        int primary_listed = 0;
        struct group *pg = getgrgid(pw->pw_gid);
        for (char **mem = pg ? pg->gr_mem : 0; mem && *mem; mem++)
          if (!strcmp(*mem, account)) { primary_listed = 1; break; }
        list[0] = 0;
        for (int k = 0; k < n; k++) {
          if (g[k] == pw->pw_gid && !primary_listed) continue;
          int w = snprintf(list + len, sizeof list - len, "%s%u", len ? "," : "", (unsigned)g[k]);
          if (w < 0 || (size_t)w >= sizeof list - len) s6net_die(111, "group list too long for %s", account);
          len += (size_t)w;
        }
        s6net_envmods_set(&m, "GIDLIST", list);
      }
    } else if (num && mode == 'u' && numeric(account, &u) == 0) s6net_envmods_set(&m, "UID", account);
    else if (dflt) {
      s6net_envmods_set(&m, "UID", duid);
      if (mode != 'u') { s6net_envmods_set(&m, "GID", dgid); s6net_envmods_set(&m, "GIDLIST", dlist); }
    } else s6net_die(1, "unknown user: %s", account);
  }

  char const *newenv[4096];
  if (s6net_env_merge(newenv, sizeof newenv / sizeof *newenv, (char const *const *)environ, m.mods, m.n) < 0)
    s6net_die(111, "unable to build the environment: too many variables");
  s6net_exec(argv + i, newenv);
  s6net_diesys(errno == ENOENT ? 127 : 126, "unable to exec %s", argv[i]);
}
