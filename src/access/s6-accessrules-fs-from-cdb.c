/* s6-accessrules-fs-from-cdb dir cdbfile
 * Decompiles an access rules CDB into a new rules directory. Every key
 * and value is checked before anything is written under it: a key must be
 * TYPE/NAME with two plain path components, so a hostile CDB cannot make
 * us write outside dir. On failure the partial tree is removed. */
#define _XOPEN_SOURCE 700
#include <s6net/accessrules.h>
#include "core/diag.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE "dir cdbfile"

static char const *root;
static int created;

static int rm_one(char const *path, struct stat const *st, int flag, struct FTW *ftw)
{
  (void)st; (void)flag; (void)ftw;
  remove(path);
  return 0;
}

static void cleanup(void)
{
  if (created) nftw(root, &rm_one, 16, FTW_DEPTH | FTW_PHYS);
  created = 0;
}

#define fail(code, err, ...) do { \
  int e_ = (err); \
  cleanup(); \
  errno = e_; \
  if (e_) s6net_diesys(code, __VA_ARGS__); \
  s6net_die(code, __VA_ARGS__); \
} while (0)

static int plain_component(char const *s, size_t len)
{
  if (!len || s[0] == '.' || memchr(s, '/', len) || memchr(s, 0, len)) return 0;
  return 1;
}

static void mkdir_checked(char const *path, int existing_ok)
{
  if (mkdir(path, 0755) < 0 && !(existing_ok && errno == EEXIST))
    fail(111, errno, "unable to mkdir %s", path);
}

static void write_file(char const *path, char const *a, size_t alen, char const *b, size_t blen)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(111, errno, "unable to create %s", path);
  if (!alen) { a = b; alen = blen; blen = 0; }
  while (alen) {
    ssize_t w = write(fd, a, alen);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(111, errno, "unable to write %s", path);
    }
    a += w;
    alen -= (size_t)w;
    if (!alen && blen) { a = b; alen = blen; blen = 0; }
  }
  if (close(fd) < 0) fail(111, errno, "unable to close %s", path);
}

static void join(char *buf, char const *a, char const *b, size_t blen)
{
  int n = snprintf(buf, PATH_MAX, "%s/%.*s", a, (int)blen, b);
  if (n < 0 || n >= PATH_MAX) fail(100, 0, "path too long under %s", a);
}

/* One env modification: "VAR=value" becomes file VAR holding value
 * (newlines stored as NULs, which envdir turns back into newlines, so the
 * round trip is exact) plus a final newline; "VAR" becomes an empty file. */
static void write_env(char const *envdir, char const *mod)
{
  char path[PATH_MAX], val[S6NET_ACCESSRULES_ENV_MAX];
  char const *eq = strchr(mod, '=');
  size_t nlen = eq ? (size_t)(eq - mod) : strlen(mod);
  if (!plain_component(mod, nlen)) fail(111, 0, "invalid variable name in %s", envdir);
  join(path, envdir, mod, nlen);
  if (!eq) {
    write_file(path, "", 0, "", 0);
    return;
  }
  size_t vlen = strlen(eq + 1);
  for (size_t i = 0; i < vlen; i++) val[i] = eq[1 + i] == '\n' ? 0 : eq[1 + i];
  write_file(path, val, vlen, "\n", 1);
}

static void write_rule(char const *key, size_t klen, unsigned char const *v, size_t vlen)
{
  static s6net_accessrules_params p;
  char type[PATH_MAX], rule[PATH_MAX], path[PATH_MAX];
  char const *slash = memchr(key, '/', klen);
  if (!slash || !plain_component(key, (size_t)(slash - key)) || !plain_component(slash + 1, klen - (size_t)(slash - key) - 1))
    fail(111, 0, "invalid key in the CDB: %.*s", (int)(klen > 200 ? 200 : klen), key);
  s6net_accessrules_result r = s6net_accessrules_value_decode(v, vlen, &p);
  if (r != S6NET_ACCESSRULES_ALLOW && r != S6NET_ACCESSRULES_DENY)
    fail(111, 0, "invalid value in the CDB for key %.*s", (int)klen, key);
  join(type, root, key, (size_t)(slash - key));
  mkdir_checked(type, 1);
  join(rule, type, slash + 1, klen - (size_t)(slash - key) - 1);
  /* A key can appear twice in a CDB; lookups only ever see the first. */
  if (mkdir(rule, 0755) < 0) {
    if (errno == EEXIST) return;
    fail(111, errno, "unable to mkdir %s", rule);
  }
  if (r == S6NET_ACCESSRULES_DENY) {
    join(path, rule, "deny", 4);
    write_file(path, "", 0, "", 0);
    return;
  }
  join(path, rule, "allow", 5);
  write_file(path, "", 0, "", 0);
  if (p.envlen) {
    join(path, rule, "env", 3);
    mkdir_checked(path, 0);
    for (size_t i = 0; i < p.envlen; i += strlen(p.env + i) + 1) write_env(path, p.env + i);
  }
  if (p.execlen) {
    join(path, rule, "exec", 4);
    write_file(path, p.exec, p.execlen, "", 0);
  }
}

int main(int argc, char const *const *argv)
{
  s6net_accessrules_cdb c;
  s6net_prog = "s6-accessrules-fs-from-cdb";
  if (argc != 3 || !argv[1][0] || !argv[2][0]) s6net_dieusage(USAGE);
  root = argv[1];
  if (s6net_accessrules_cdb_open(&c, argv[2]) < 0) {
    if (errno == EPROTO) s6net_die(111, "%s is not a CDB file", argv[2]);
    s6net_diesys(111, "unable to open %s", argv[2]);
  }
  if (mkdir(root, 0755) < 0) s6net_diesys(111, "unable to mkdir %s", root);
  created = 1;

  size_t pos = 0, kl, dl;
  unsigned char const *k, *v;
  for (;;) {
    int r = s6net_accessrules_cdb_next(&c, &pos, &k, &kl, &v, &dl);
    if (r < 0) fail(111, 0, "%s is not a valid CDB file", argv[2]);
    if (!r) break;
    write_rule((char const *)k, kl, v, dl);
  }
  s6net_accessrules_cdb_close(&c);
  return 0;
}
