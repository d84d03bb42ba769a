/* s6-tcprules-import [ -u ] [ -m mode ] cdbfile [ tmpfile ] < rules
 * Compile a ucspi-tcp tcprules source file into an s6net access-rules CDB,
 * the format s6-tcpserver-access -x reads. As with tcprules, the first
 * rule for an address wins, and the CDB is replaced atomically: written to
 * a temporary file in the same directory, synced, then renamed. */
#include "core/diag.h"
#include "core/num.h"
#include "core/opt.h"
#include "tcprules/tcprules.h"
#include <s6net/accessrules.h>

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE "[ -u ] [ -m mode ] cdbfile [ tmpfile ] < rulesfile"
#define LINE_MAX_LEN 65536

static char tmpname[4096];

/* Never leave a temporary file behind: a failed run keeps the old CDB. */
_Noreturn static void cleanup_die(int code, char const *what, char const *arg, int err)
{
  if (tmpname[0]) unlink(tmpname);
  errno = err;
  if (err) s6net_diesys(code, "%s %s", what, arg);
  s6net_die(code, "%s %s", what, arg);
}

int main(int argc, char const *const *argv)
{
  int skip_unsupported = 0;
  unsigned int mode = 0644;
  s6net_prog = "s6-tcprules-import";
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  int opt;
  while ((opt = s6net_sgetopt_next(&g, argc, argv, "um:")) != -1) {
    if (opt == 'u') { skip_unsupported = 1; continue; }
    if (opt != 'm') s6net_dieusage(USAGE);
    unsigned long long u = 0;
    char const *s = g.arg;
    for (char const *p = s; *p; p++) {
      if (*p < '0' || *p > '7' || u > 0777) s6net_die(100, "invalid mode: %s", s);
      u = u * 8 + (unsigned)(*p - '0');
    }
    if (!*s || u > 07777) s6net_die(100, "invalid mode: %s", s);
    mode = (unsigned int)u;
  }
  int i = g.ind;
  if (argc - i < 1 || argc - i > 2) s6net_dieusage(USAGE);
  char const *cdbfile = argv[i];

  int fd;
  if (argc - i == 2) {
    if (strlen(argv[i + 1]) >= sizeof tmpname) s6net_die(100, "name too long: %s", argv[i + 1]);
    strcpy(tmpname, argv[i + 1]);
    fd = open(tmpname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  } else {
    if (snprintf(tmpname, sizeof tmpname, "%s.tmpXXXXXX", cdbfile) >= (int)sizeof tmpname)
      s6net_die(100, "name too long: %s", cdbfile);
    fd = mkostemp(tmpname, O_CLOEXEC);
  }
  if (fd < 0) { int e = errno; tmpname[0] = 0; cleanup_die(111, "unable to create a temporary file for", cdbfile, e); }

  struct cdb_make cm;
  if (cdb_make_start(&cm, fd) < 0) cleanup_die(111, "unable to start", tmpname, errno);

  static char line[LINE_MAX_LEN + 2];
  static s6net_tcprules_rule r;
  static unsigned char val[S6NET_TCPRULES_ENVMAX + 8];
  unsigned long lineno = 0, rules = 0, keys = 0, shadowed = 0;
  while (fgets(line, sizeof line, stdin)) {
    size_t len = strlen(line);
    lineno++;
    if (len && line[len - 1] == '\n') len--;
    else if (len > LINE_MAX_LEN) { char n[24]; snprintf(n, sizeof n, "%lu", lineno); cleanup_die(100, "line too long:", n, 0); }
    int rc = s6net_tcprules_parse(line, len, &r);
    if (rc == S6NET_TCPRULES_SKIP) continue;
    if (rc != S6NET_TCPRULES_RULE) {
      if (rc == S6NET_TCPRULES_UNSUPPORTED && skip_unsupported) {
        s6net_warn("line %lu skipped: %s", lineno, r.why);
        continue;
      }
      char msg[256];
      snprintf(msg, sizeof msg, "line %lu: %s", lineno, r.why);
      cleanup_die(100, "invalid rules:", msg, 0);
    }
    size_t vlen;
    if (r.allow) {
      vlen = s6net_accessrules_value_encode_allow(val, sizeof val, r.env, r.envlen, "", 0);
      if (!vlen) { char n[24]; snprintf(n, sizeof n, "%lu", lineno); cleanup_die(100, "environment too large on line", n, 0); }
    } else { val[0] = 'D'; vlen = 1; }
    rules++;
    for (size_t k = 0; k < r.nkeys; k++) {
      /* The first rule for a key wins, as with tcprules. */
      int put = cdb_make_put(&cm, r.keys[k], (unsigned)strlen(r.keys[k]), val, (unsigned)vlen, CDB_PUT_INSERT);
      if (put < 0) cleanup_die(111, "unable to write to", tmpname, errno);
      if (put > 0) shadowed++; else keys++;
    }
  }
  if (ferror(stdin)) cleanup_die(111, "unable to read", "stdin", errno);
  if (cdb_make_finish(&cm) < 0) cleanup_die(111, "unable to finish", tmpname, errno);
  if (fchmod(fd, mode) < 0) cleanup_die(111, "unable to chmod", tmpname, errno);
  if (fsync(fd) < 0) cleanup_die(111, "unable to sync", tmpname, errno);
  if (close(fd) < 0) cleanup_die(111, "unable to close", tmpname, errno);
  if (rename(tmpname, cdbfile) < 0) cleanup_die(111, "unable to rename to", cdbfile, errno);
  tmpname[0] = 0;
  if (shadowed) s6net_warn("%lu keys already defined by earlier rules were ignored", shadowed);
  (void)rules; (void)keys;
  return 0;
}
