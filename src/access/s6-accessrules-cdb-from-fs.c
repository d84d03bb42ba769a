/* s6-accessrules-cdb-from-fs [ -s ] [ -m mode ] cdbfile dir
 * Compiles a rules directory into a CDB. The CDB is written to a
 * temporary file next to cdbfile and renamed over it only when complete,
 * so readers always see either the old or the new ruleset; on failure the
 * temporary is removed and cdbfile is left alone.
 *
 * Entries that no lookup can ever find (ip4/300.1.1.1_32, a mask out of
 * range, a rule with neither allow nor deny) are compiled as the
 * reference compiles them, so the output stays byte for byte the same,
 * but each is named in a warning; -s makes them fatal. */
#include <s6net/accessrules.h>
#include "core/diag.h"
#include "core/opt.h"

#include <cdb.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define USAGE "[ -s ] [ -m mode ] cdbfile dir"

static char tmpname[PATH_MAX];
static int tmpfd = -1;
static unsigned int nbad;

static void bad_entry(char const *key, char const *why, char const *hint)
{
  nbad++;
  if (hint && *hint) s6net_warn("%s: %s (%s would be)", key, why, hint);
  else s6net_warn("%s: %s", key, why);
}

static void cleanup(void)
{
  if (tmpfd >= 0) {
    unlink(tmpname);
    close(tmpfd);
    tmpfd = -1;
  }
}

/* Remove the temporary, then die; err (0 or an errno value) is captured
 * before the cleanup can change errno. */
#define cleanup_die(code, fmt, arg, err) do { \
  int e_ = (err); \
  cleanup(); \
  errno = e_; \
  if (e_) s6net_diesys(code, fmt, arg); \
  s6net_die(code, fmt, arg); \
} while (0)

static void makepath(char *buf, char const *a, char const *b, char const *c)
{
  int n = snprintf(buf, PATH_MAX, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
  if (n < 0 || n >= PATH_MAX) cleanup_die(100, "path too long: %s", a, 0);
}

static int exists(char const *path)
{
  if (!access(path, F_OK)) return 1;
  if (errno != ENOENT) cleanup_die(111, "unable to access %s", path, errno);
  return 0;
}

/* Read the exec file, cut at the limit like the reference does. */
static size_t read_exec(char const *path, char *buf)
{
  char extra;
  size_t got = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    cleanup_die(111, "unable to open %s", path, errno);
  }
  for (;;) {
    ssize_t r = got < S6NET_ACCESSRULES_EXEC_MAX ? read(fd, buf + got, S6NET_ACCESSRULES_EXEC_MAX - got) : read(fd, &extra, 1);
    if (r < 0) {
      if (errno == EINTR) continue;
      cleanup_die(111, "unable to read %s", path, errno);
    }
    if (!r) break;
    if (got == S6NET_ACCESSRULES_EXEC_MAX) {
      s6net_warn("possibly truncated file %s", path);
      break;
    }
    got += (size_t)r;
  }
  close(fd);
  return got;
}

static void add_rule(struct cdb_make *cm, char const *dir, char const *type, char const *name, int check)
{
  static char env[S6NET_ACCESSRULES_ENV_MAX];
  static char exec[S6NET_ACCESSRULES_EXEC_MAX];
  static unsigned char val[5 + sizeof env + sizeof exec];
  char path[PATH_MAX], sub[PATH_MAX], key[PATH_MAX];
  size_t vlen;
  makepath(path, dir, type, name);
  int kn = snprintf(key, sizeof key, "%s/%s", type, name);
  if (kn < 0 || kn >= (int)sizeof key) cleanup_die(100, "path too long: %s", path, 0);
  if (check) {
    char hint[PATH_MAX];
    char const *why = s6net_accessrules_key_problem(type, name, hint, sizeof hint);
    if (why) bad_entry(key, why, hint);
  }
  makepath(sub, path, "allow", 0);
  if (exists(sub)) {
    size_t envlen = 0, execlen;
    makepath(sub, path, "env", 0);
    if (s6net_envdir_read(sub, env, sizeof env, &envlen) < 0) {
      if (errno == ENAMETOOLONG) cleanup_die(100, "%s too big", sub, 0);
      if (errno != ENOENT) cleanup_die(111, "unable to read envdir %s", sub, errno);
      envlen = 0;
    }
    makepath(sub, path, "exec", 0);
    execlen = read_exec(sub, exec);
    vlen = s6net_accessrules_value_encode_allow(val, sizeof val, env, envlen, exec, execlen);
    if (!vlen) cleanup_die(100, "%s too big", path, 0);
  } else {
    makepath(sub, path, "deny", 0);
    if (!exists(sub)) {
      bad_entry(key, "neither allow nor deny: the rule is left out", 0);
      return;
    }
    val[0] = 'D';
    vlen = 1;
  }
  if (cdb_make_add(cm, key, (unsigned)strlen(key), val, (unsigned)vlen) < 0)
    cleanup_die(111, "unable to write %s", tmpname, errno);
}

static int known_kind(char const *type)
{
  static char const *const kinds[] = { "ip4", "ip6", "reversedns", "uid", "gid" };
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if (!strcmp(type, kinds[i])) return 1;
  return 0;
}

static void add_type(struct cdb_make *cm, char const *dir, char const *type)
{
  char path[PATH_MAX];
  /* compiled all the same (the reference does), but never consulted */
  int check = known_kind(type);
  if (!check) bad_entry(type, "not a kind of rule that is looked up (ip4, ip6, reversedns, uid, gid)", 0);
  makepath(path, dir, type, 0);
  DIR *d = opendir(path);
  if (!d) cleanup_die(111, "unable to opendir %s", path, errno);
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) cleanup_die(111, "unable to readdir %s", path, errno);
      break;
    }
    if (de->d_name[0] == '.') continue;
    add_rule(cm, dir, type, de->d_name, check);
  }
  closedir(d);
}

int main(int argc, char **argv)
{
  unsigned int mode = 0600;
  int setmode = 0, strict = 0, opt;
  s6net_prog = "s6-accessrules-cdb-from-fs";
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((opt = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "sm:")) != -1) {
    if (opt == 's') { strict = 1; continue; }
    if (opt != 'm') s6net_dieusage(USAGE);
    char *end;
    errno = 0;
    unsigned long m = strtoul(g.arg, &end, 8);
    if (!*g.arg || *end || errno || m > 07777 || g.arg[0] == '-' || g.arg[0] == '+' || g.arg[0] == ' ')
      s6net_die(100, "invalid mode: %s", g.arg);
    mode = (unsigned int)m;
    setmode = 1;
  }
  if (argc - g.ind != 2) s6net_dieusage(USAGE);
  char const *cdbfile = argv[g.ind], *dir = argv[g.ind + 1];

  DIR *top = opendir(dir);
  if (!top) s6net_diesys(111, "unable to opendir %s", dir);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int n = snprintf(tmpname, sizeof tmpname, "%s:%ld:%ld.tmp", cdbfile, (long)getpid(), (long)ts.tv_nsec);
  if (n < 0 || n >= (int)sizeof tmpname) s6net_die(100, "path too long: %s", cdbfile);
  tmpfd = open(tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (tmpfd < 0) s6net_diesys(111, "unable to create %s", tmpname);

  struct cdb_make cm;
  if (cdb_make_start(&cm, tmpfd) < 0) cleanup_die(111, "unable to start %s", tmpname, errno);
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(top);
    if (!de) {
      if (errno) cleanup_die(111, "unable to readdir %s", dir, errno);
      break;
    }
    if (de->d_name[0] == '.') continue;
    add_type(&cm, dir, de->d_name);
  }
  closedir(top);
  if (strict && nbad)
    cleanup_die(100, "unable to compile %s: the rules have bad entries, and -s makes them fatal", dir, 0);
  if (cdb_make_finish(&cm) < 0) cleanup_die(111, "unable to finish %s", tmpname, errno);
  if (setmode && fchmod(tmpfd, mode) < 0) cleanup_die(111, "unable to chmod %s", tmpname, errno);
  if (fsync(tmpfd) < 0) cleanup_die(111, "unable to sync %s", tmpname, errno);
  if (rename(tmpname, cdbfile) < 0) cleanup_die(111, "unable to rename to %s", cdbfile, errno);
  close(tmpfd);
  return 0;
}
