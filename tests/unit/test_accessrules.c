/* Access rules library: value codec, CDB reader, key derivation, the
 * directory backend. */
#include "unit.h"
#include <s6net/accessrules.h>

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- value codec ---------------------------------------------------- */

static s6net_accessrules_params P;

static s6net_accessrules_result dec(char const *v, size_t len)
{
  s6net_accessrules_params_init(&P);
  return s6net_accessrules_value_decode((unsigned char const *)v, len, &P);
}

static void test_value_decode(void **state)
{
  (void)state;
  assert_int_equal(dec("D", 1), S6NET_ACCESSRULES_DENY);
  assert_int_equal(dec("Dxyz", 4), S6NET_ACCESSRULES_DENY);
  assert_int_equal(dec("", 0), S6NET_ACCESSRULES_NOTFOUND);
  assert_int_equal(dec("X", 1), S6NET_ACCESSRULES_NOTFOUND);
  assert_int_equal(dec("A\0\0\0\0", 5), S6NET_ACCESSRULES_ALLOW);
  assert_int_equal(P.envlen, 0);
  assert_int_equal(P.execlen, 0);
  /* What the reference compiler wrote for env {B unset, A=hello} and an
   * exec file "echo hi\n". */
  static char const v[] = "A\0\x0a" "B\0A=hello\0" "\0\x08" "echo hi\n";
  assert_int_equal(dec(v, sizeof v - 1), S6NET_ACCESSRULES_ALLOW);
  assert_int_equal(P.envlen, 10);
  assert_memory_equal(P.env, "B\0A=hello\0", 10);
  assert_int_equal(P.execlen, 8);
  assert_string_equal(P.exec, "echo hi\n");
}

static void test_value_decode_hostile(void **state)
{
  (void)state;
  /* truncated headers */
  assert_int_equal(dec("A", 1), S6NET_ACCESSRULES_ERROR);
  assert_int_equal(errno, EPROTO);
  assert_int_equal(dec("A\0\0\0", 4), S6NET_ACCESSRULES_ERROR);
  /* env length past the end */
  assert_int_equal(dec("A\0\x09" "X=1\0\0\0", 8), S6NET_ACCESSRULES_ERROR);
  /* trailing garbage: total length must be exactly 5 + E + X */
  assert_int_equal(dec("A\0\0\0\0z", 6), S6NET_ACCESSRULES_ERROR);
  /* exec length past the end */
  assert_int_equal(dec("A\0\0\0\x05" "ab", 7), S6NET_ACCESSRULES_ERROR);
  /* env not NUL-terminated, empty entry, nameless entry */
  assert_int_equal(dec("A\0\x03" "X=1" "\0\0", 8), S6NET_ACCESSRULES_ERROR);
  assert_int_equal(dec("A\0\x04" "\0X=1" "\0\0", 9), S6NET_ACCESSRULES_ERROR);
  assert_int_equal(dec("A\0\x03" "=1\0" "\0\0", 8), S6NET_ACCESSRULES_ERROR);
  assert_int_equal(dec("A\0\x05" "X\0\0Y\0" "\0\0", 10), S6NET_ACCESSRULES_ERROR);
  /* oversized parts, even when consistent */
  static unsigned char big[5 + 5000];
  memset(big, 'a', sizeof big);
  big[0] = 'A'; big[1] = 0; big[2] = 0; big[3] = 5000 >> 8; big[4] = 5000 & 255;
  assert_int_equal(dec((char *)big, sizeof big), S6NET_ACCESSRULES_ERROR);
  big[1] = 5000 >> 8; big[2] = 5000 & 255;
  assert_int_equal(dec((char *)big, sizeof big), S6NET_ACCESSRULES_ERROR);
}

static void test_value_encode(void **state)
{
  (void)state;
  unsigned char out[9000];
  static char env[S6NET_ACCESSRULES_ENV_MAX];
  size_t n = s6net_accessrules_value_encode_allow(out, sizeof out, "A=1\0", 4, "true", 4);
  assert_int_equal(n, 13);
  assert_memory_equal(out, "A\0\x04" "A=1\0" "\0\x04" "true", 13);
  assert_int_equal(s6net_accessrules_value_decode(out, n, &P), S6NET_ACCESSRULES_ALLOW);
  assert_int_equal(P.envlen, 4);
  assert_string_equal(P.exec, "true");
  assert_int_equal(s6net_accessrules_value_encode_allow(out, 12, "A=1\0", 4, "true", 4), 0);
  assert_int_equal(s6net_accessrules_value_encode_allow(out, sizeof out, env, S6NET_ACCESSRULES_ENV_MAX + 1, "", 0), 0);
  assert_int_equal(s6net_accessrules_value_encode_allow(out, sizeof out, "", 0, env, S6NET_ACCESSRULES_EXEC_MAX + 1), 0);
}

/* ---- CDB reader ------------------------------------------------------- */

static char tmpdir[64];

static int setup_tmp(void **state)
{
  (void)state;
  strcpy(tmpdir, "/tmp/s6net-test-access.XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static void make_cdb(char const *path, int n)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  struct cdb_make cm;
  assert_int_equal(cdb_make_start(&cm, fd), 0);
  for (int i = 0; i < n; i++) {
    char k[32], v[32];
    int kl = snprintf(k, sizeof k, "key%d", i), vl = snprintf(v, sizeof v, "value%d", i);
    assert_int_equal(cdb_make_add(&cm, k, (unsigned)kl, v, (unsigned)vl), 0);
  }
  assert_int_equal(cdb_make_add(&cm, "dup", 3, "first", 5), 0);
  assert_int_equal(cdb_make_add(&cm, "dup", 3, "second", 6), 0);
  assert_int_equal(cdb_make_add(&cm, "", 0, "empty", 5), 0);
  assert_int_equal(cdb_make_finish(&cm), 0);
  close(fd);
}

static void test_cdb_find(void **state)
{
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/t.cdb", tmpdir);
  make_cdb(path, 1000);
  s6net_accessrules_cdb c;
  unsigned char const *d;
  size_t dl;
  assert_int_equal(s6net_accessrules_cdb_open(&c, path), 0);
  for (int i = 0; i < 1000; i++) {
    char k[32], v[32];
    int kl = snprintf(k, sizeof k, "key%d", i), vl = snprintf(v, sizeof v, "value%d", i);
    assert_int_equal(s6net_accessrules_cdb_find(&c, k, (size_t)kl, &d, &dl), 1);
    assert_int_equal(dl, (size_t)vl);
    assert_memory_equal(d, v, dl);
  }
  assert_int_equal(s6net_accessrules_cdb_find(&c, "key1000", 7, &d, &dl), 0);
  assert_int_equal(s6net_accessrules_cdb_find(&c, "dup", 3, &d, &dl), 1);
  assert_memory_equal(d, "first", 5);
  assert_int_equal(s6net_accessrules_cdb_find(&c, "", 0, &d, &dl), 1);
  /* walk every record in order */
  size_t pos = 0, kl, n = 0;
  unsigned char const *k;
  int r;
  while ((r = s6net_accessrules_cdb_next(&c, &pos, &k, &kl, &d, &dl)) == 1) n++;
  assert_int_equal(r, 0);
  assert_int_equal(n, 1003);
  s6net_accessrules_cdb_close(&c);
  /* read into a buffer when it fits, mapped when it does not */
  static unsigned char big[1 << 17], small[4096];
  assert_int_equal(s6net_accessrules_cdb_load(&c, path, big, sizeof big), 0);
  assert_false(c.owned);
  assert_true(c.map == big);
  assert_int_equal(s6net_accessrules_cdb_find(&c, "key999", 6, &d, &dl), 1);
  assert_memory_equal(d, "value999", 8);
  s6net_accessrules_cdb_close(&c);
  assert_int_equal(s6net_accessrules_cdb_load(&c, path, small, sizeof small), 0);
  assert_true(c.owned);
  assert_int_equal(s6net_accessrules_cdb_find(&c, "key999", 6, &d, &dl), 1);
  s6net_accessrules_cdb_close(&c);
  assert_int_equal(s6net_accessrules_cdb_open(&c, tmpdir), -1);
  assert_int_equal(s6net_accessrules_cdb_open(&c, "/nonexistent/x.cdb"), -1);
  assert_int_equal(errno, ENOENT);
}

/* Every prefix of a real file, and every single-byte corruption of its
 * header and tables: lookups return found, not found or error, and never
 * read outside the buffer (ASan checks the latter in make sanitize). */
static void test_cdb_hostile(void **state)
{
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/h.cdb", tmpdir);
  make_cdb(path, 20);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static unsigned char buf[8192], copy[8192];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  s6net_accessrules_cdb c;
  unsigned char const *d;
  size_t dl;
  assert_int_equal(s6net_accessrules_cdb_frombuf(&c, buf, 100), -1);
  assert_int_equal(errno, EPROTO);
  for (size_t cut = 2048; cut < len; cut++) {
    unsigned char *m = malloc(cut);
    memcpy(m, buf, cut);
    assert_int_equal(s6net_accessrules_cdb_frombuf(&c, m, cut), 0);
    int r = s6net_accessrules_cdb_find(&c, "key5", 4, &d, &dl);
    assert_true(r >= -1 && r <= 1);
    if (r == 1) assert_true(d + dl <= m + cut);
    size_t pos = 0, kl;
    unsigned char const *k;
    for (int i = 0; i < 100 && (r = s6net_accessrules_cdb_next(&c, &pos, &k, &kl, &d, &dl)) == 1; i++) ;
    free(m);
  }
  for (size_t i = 0; i < len; i += (i < 2048 ? 1 : 3)) {
    memcpy(copy, buf, len);
    copy[i] ^= 0xa5;
    assert_int_equal(s6net_accessrules_cdb_frombuf(&c, copy, len), 0);
    int r = s6net_accessrules_cdb_find(&c, "key7", 4, &d, &dl);
    assert_true(r >= -1 && r <= 1);
  }
  /* a table claiming more slots than the file has */
  memcpy(copy, buf, len);
  unsigned h = 5381;
  for (char const *p = "key3"; *p; p++) h = ((h << 5) + h) ^ (unsigned char)*p;
  copy[(h & 255) * 8 + 4] = 0xff;
  copy[(h & 255) * 8 + 5] = 0xff;
  assert_int_equal(s6net_accessrules_cdb_frombuf(&c, copy, len), 0);
  assert_int_equal(s6net_accessrules_cdb_find(&c, "key3", 4, &d, &dl), -1);
  assert_int_equal(errno, EPROTO);
}

/* ---- key derivation ----------------------------------------------------- */

static char seen[200][S6NET_ACCESSRULES_KEY_MAX];
static int nseen;
static char const *hit;
static s6net_accessrules_result hit_result;

static s6net_accessrules_result recorder(char const *key, size_t klen, void const *handle, s6net_accessrules_params *p)
{
  (void)handle; (void)p;
  assert_true(klen < S6NET_ACCESSRULES_KEY_MAX);
  memcpy(seen[nseen], key, klen);
  seen[nseen][klen] = 0;
  nseen++;
  if (hit && !strcmp(seen[nseen - 1], hit)) return hit_result;
  return S6NET_ACCESSRULES_NOTFOUND;
}

static void reset(char const *h, s6net_accessrules_result r)
{
  nseen = 0;
  hit = h;
  hit_result = r;
}

static void test_keys_ip4(void **state)
{
  (void)state;
  unsigned char ip[4] = { 192, 168, 1, 7 };
  reset(0, 0);
  assert_int_equal(s6net_accessrules_keycheck_ip4(ip, 0, &P, &recorder), S6NET_ACCESSRULES_NOTFOUND);
  assert_int_equal(nseen, 33);
  assert_string_equal(seen[0], "ip4/192.168.1.7_32");
  assert_string_equal(seen[1], "ip4/192.168.1.6_31");
  assert_string_equal(seen[2], "ip4/192.168.1.4_30");
  assert_string_equal(seen[3], "ip4/192.168.1.0_29");
  /* The reference page's example shows 192.168.0.0_28 here, which is not
   * 192.168.1.7 masked to 28 bits; we follow the arithmetic. */
  assert_string_equal(seen[4], "ip4/192.168.1.0_28");
  assert_string_equal(seen[8], "ip4/192.168.1.0_24");
  assert_string_equal(seen[9], "ip4/192.168.0.0_23");
  assert_string_equal(seen[29], "ip4/192.0.0.0_3");
  assert_string_equal(seen[31], "ip4/128.0.0.0_1");
  assert_string_equal(seen[32], "ip4/0.0.0.0_0");
  reset("ip4/192.168.0.0_16", S6NET_ACCESSRULES_DENY);
  assert_int_equal(s6net_accessrules_keycheck_ip46(ip, 0, 0, &P, &recorder), S6NET_ACCESSRULES_DENY);
  assert_int_equal(nseen, 17);
}

static void test_keys_ip6(void **state)
{
  (void)state;
  unsigned char ip[16] = { 0x2a, 0, 0x14, 0x50, 0x40, 0x02, 0x08, 0x03, 0, 0, 0, 0, 0, 0, 0x10, 0x06 };
  reset(0, 0);
  assert_int_equal(s6net_accessrules_keycheck_ip6(ip, 0, &P, &recorder), S6NET_ACCESSRULES_NOTFOUND);
  assert_int_equal(nseen, 129);
  assert_string_equal(seen[0], "ip6/2a00:1450:4002:803::1006_128");
  assert_string_equal(seen[1], "ip6/2a00:1450:4002:803::1006_127");
  assert_string_equal(seen[2], "ip6/2a00:1450:4002:803::1004_126");
  assert_string_equal(seen[3], "ip6/2a00:1450:4002:803::1000_125");
  /* Indexes are 128 - prefix length. The reference page's example
   * strays from the arithmetic in places (::1000_113, 2800::_10); we
   * follow the arithmetic (each prefix is the address masked to it). */
  assert_string_equal(seen[12], "ip6/2a00:1450:4002:803::1000_116");
  assert_string_equal(seen[13], "ip6/2a00:1450:4002:803::_115");
  assert_string_equal(seen[16], "ip6/2a00:1450:4002:803::_112");
  assert_string_equal(seen[117], "ip6/2a00::_11");
  assert_string_equal(seen[120], "ip6/2a00::_8");
  assert_string_equal(seen[123], "ip6/2800::_5");
  assert_string_equal(seen[124], "ip6/2000::_4");
  assert_string_equal(seen[125], "ip6/2000::_3");
  assert_string_equal(seen[126], "ip6/::_2");
  assert_string_equal(seen[128], "ip6/::_0");
  reset("ip6/::_0", S6NET_ACCESSRULES_ALLOW);
  assert_int_equal(s6net_accessrules_keycheck_ip46(ip, 1, 0, &P, &recorder), S6NET_ACCESSRULES_ALLOW);
}

static void test_keys_reversedns(void **state)
{
  (void)state;
  reset(0, 0);
  assert_int_equal(s6net_accessrules_keycheck_reversedns("Foo.Bar.com.", 0, &P, &recorder), S6NET_ACCESSRULES_NOTFOUND);
  assert_int_equal(nseen, 4);
  assert_string_equal(seen[0], "reversedns/foo.bar.com");
  assert_string_equal(seen[1], "reversedns/bar.com");
  assert_string_equal(seen[2], "reversedns/com");
  assert_string_equal(seen[3], "reversedns/@");
  reset("reversedns/bar.com", S6NET_ACCESSRULES_ALLOW);
  assert_int_equal(s6net_accessrules_keycheck_reversedns("foo.bar.com", 0, &P, &recorder), S6NET_ACCESSRULES_ALLOW);
  assert_int_equal(nseen, 2);
  /* Hostile names are never looked up, not even reversedns/@. */
  char const *bad[] = { "", ".", "a..b", ".a", "../ip4/0.0.0.0_0", "a/b", "a b", "a\nb", "a\x80", "a=b", "..", "foo..", 0 };
  for (int i = 0; bad[i]; i++) {
    reset("reversedns/@", S6NET_ACCESSRULES_ALLOW);
    assert_int_equal(s6net_accessrules_keycheck_reversedns(bad[i], 0, &P, &recorder), S6NET_ACCESSRULES_NOTFOUND);
    assert_int_equal(nseen, 0);
  }
  char longname[300];
  memset(longname, 'a', sizeof longname);
  longname[299] = 0;
  assert_false(s6net_accessrules_name_ok(longname));
  for (int i = 0; i < 254; i += 2) longname[i] = '.';
  longname[254] = 0;
  assert_false(s6net_accessrules_name_ok(longname)); /* leading dot */
  longname[0] = 'a';
  longname[253] = 0;
  assert_true(s6net_accessrules_name_ok(longname));
  memset(longname, 'a', 64);
  longname[64] = 0;
  assert_false(s6net_accessrules_name_ok(longname)); /* label of 64 */
  longname[63] = 0;
  assert_true(s6net_accessrules_name_ok(longname));
  assert_true(s6net_accessrules_name_ok("x_y-z.example."));
}

static void test_keys_uidgid(void **state)
{
  (void)state;
  reset(0, 0);
  assert_int_equal(s6net_accessrules_keycheck_uidgid(geteuid(), getegid(), 0, &P, &recorder), S6NET_ACCESSRULES_NOTFOUND);
  assert_int_equal(nseen, 6);
  char buf[64];
  assert_string_equal(seen[0], "uid/self");
  snprintf(buf, sizeof buf, "uid/%u", (unsigned)geteuid());
  assert_string_equal(seen[1], buf);
  assert_string_equal(seen[2], "gid/self");
  snprintf(buf, sizeof buf, "gid/%u", (unsigned)getegid());
  assert_string_equal(seen[3], buf);
  assert_string_equal(seen[4], "uid/default");
  assert_string_equal(seen[5], "gid/default");
  reset("gid/4242", S6NET_ACCESSRULES_DENY);
  assert_int_equal(s6net_accessrules_keycheck_uidgid(geteuid() + 1, 4242, 0, &P, &recorder), S6NET_ACCESSRULES_DENY);
  assert_int_equal(nseen, 2);
  snprintf(buf, sizeof buf, "uid/%u", (unsigned)geteuid() + 1);
  assert_string_equal(seen[0], buf);
  assert_string_equal(seen[1], "gid/4242");
}

/* ---- envdir ----------------------------------------------------------- */

static int val(char const *data, size_t len, char *out, size_t *olen)
{
  return s6net_envdir_value(data, len, out, olen);
}

static void test_envdir_value(void **state)
{
  (void)state;
  static char out[S6NET_ENVDIR_VALUE_MAX], in[6000];
  size_t n;
  /* Cases checked against the reference compiler's output. */
  assert_int_equal(val("", 0, out, &n), 0);
  assert_int_equal(val("hello  \t\r\nsecond\n", 17, out, &n), 1);
  assert_int_equal(n, 5);
  assert_memory_equal(out, "hello", 5);
  assert_int_equal(val("\n\nabc", 5, out, &n), 1);
  assert_int_equal(n, 0);
  assert_int_equal(val("a\v\f \n", 5, out, &n), 1);
  assert_int_equal(n, 3);
  assert_memory_equal(out, "a\v\f", 3);
  assert_int_equal(val("\0\0x  \0 \n", 8, out, &n), 1);
  assert_int_equal(n, 6);
  assert_memory_equal(out, "\n\nx  \n", 6);
  memset(in, 'b', sizeof in);
  assert_int_equal(val(in, 5000, out, &n), 1);
  assert_int_equal(n, 4095);
  /* cut first, then strip */
  memcpy(in + 4093, "   x", 4);
  assert_int_equal(val(in, 4097, out, &n), 1);
  assert_int_equal(n, 4093);
}

static void writef(char const *dir, char const *name, char const *data, size_t len)
{
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
}

static int has_mod(char const *buf, size_t len, char const *mod)
{
  for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
    if (!strcmp(buf + i, mod)) return 1;
  return 0;
}

static void test_envdir_read(void **state)
{
  (void)state;
  char dir[128], buf[S6NET_ACCESSRULES_ENV_MAX];
  size_t len;
  snprintf(dir, sizeof dir, "%s/env", tmpdir);
  assert_int_equal(mkdir(dir, 0755), 0);
  writef(dir, "A", "one\n", 4);
  writef(dir, "B", "", 0);
  writef(dir, ".hidden", "x", 1);
  writef(dir, "C=D", "x", 1);
  writef(dir, "E", "two\0lines  \n", 12);
  assert_int_equal(s6net_envdir_read(dir, buf, sizeof buf, &len), 0);
  assert_int_equal(len, 6 + 2 + 12);
  assert_true(has_mod(buf, len, "A=one"));
  assert_true(has_mod(buf, len, "B"));
  assert_true(has_mod(buf, len, "E=two\nlines"));
  /* too much for the buffer */
  assert_int_equal(s6net_envdir_read(dir, buf, 10, &len), -1);
  assert_int_equal(errno, ENAMETOOLONG);
  /* a FIFO must not block us; a subdirectory is an error */
  char p[256];
  snprintf(p, sizeof p, "%s/F", dir);
  assert_int_equal(mkfifo(p, 0644), 0);
  assert_int_equal(s6net_envdir_read(dir, buf, sizeof buf, &len), -1);
  assert_int_equal(errno, EINVAL);
  unlink(p);
  assert_int_equal(mkdir(p, 0755), 0);
  assert_int_equal(s6net_envdir_read(dir, buf, sizeof buf, &len), -1);
  assert_int_equal(errno, EISDIR);
  rmdir(p);
  assert_int_equal(s6net_envdir_read("/nonexistent/env", buf, sizeof buf, &len), -1);
  assert_int_equal(errno, ENOENT);
  assert_true(s6net_envdir_name_ok("X"));
  assert_false(s6net_envdir_name_ok(""));
  assert_false(s6net_envdir_name_ok(".X"));
  assert_false(s6net_envdir_name_ok("X=Y"));
}

/* ---- directory backend -------------------------------------------------- */

static void mkpath(char const *type, char const *rule, char const *sub)
{
  char p[256], cmd[300];
  snprintf(p, sizeof p, "%s/rules/%s/%s%s", tmpdir, type, rule, sub);
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
  assert_int_equal(system(cmd), 0);
}

static void test_backend_fs(void **state)
{
  (void)state;
  char rules[128], rule[256];
  snprintf(rules, sizeof rules, "%s/rules", tmpdir);
  mkpath("ip4", "10.0.0.0_8", "/env");
  snprintf(rule, sizeof rule, "%s/ip4/10.0.0.0_8", rules);
  writef(rule, "allow", "", 0);
  writef(rule, "exec", "echo hi\n", 8);
  snprintf(rule, sizeof rule, "%s/ip4/10.0.0.0_8/env", rules);
  writef(rule, "X", "y\n", 2);
  mkpath("ip4", "10.1.0.0_16", "");
  snprintf(rule, sizeof rule, "%s/ip4/10.1.0.0_16", rules);
  writef(rule, "deny", "", 0);
  /* both allow and deny: allow wins */
  mkpath("ip4", "10.2.0.0_16", "");
  snprintf(rule, sizeof rule, "%s/ip4/10.2.0.0_16", rules);
  writef(rule, "deny", "", 0);
  writef(rule, "allow", "", 0);
  /* a rule "directory" that is a file: an error, not a fall-through */
  snprintf(rule, sizeof rule, "%s/ip4", rules);
  writef(rule, "10.3.0.0_16", "", 0);

  unsigned char a[4] = { 10, 9, 9, 9 };
  assert_int_equal(s6net_accessrules_keycheck_ip4(a, rules, &P, &s6net_accessrules_backend_fs), S6NET_ACCESSRULES_ALLOW);
  assert_int_equal(P.envlen, 4);
  assert_memory_equal(P.env, "X=y\0", 4);
  assert_string_equal(P.exec, "echo hi\n");
  a[1] = 1;
  assert_int_equal(s6net_accessrules_keycheck_ip4(a, rules, &P, &s6net_accessrules_backend_fs), S6NET_ACCESSRULES_DENY);
  a[1] = 2;
  assert_int_equal(s6net_accessrules_keycheck_ip4(a, rules, &P, &s6net_accessrules_backend_fs), S6NET_ACCESSRULES_ALLOW);
  assert_int_equal(P.envlen, 0);
  assert_int_equal(P.execlen, 0);
  a[1] = 3;
  assert_int_equal(s6net_accessrules_keycheck_ip4(a, rules, &P, &s6net_accessrules_backend_fs), S6NET_ACCESSRULES_ERROR);
  a[0] = 11;
  assert_int_equal(s6net_accessrules_keycheck_ip4(a, rules, &P, &s6net_accessrules_backend_fs), S6NET_ACCESSRULES_NOTFOUND);
  /* an env too large for a rule is an error */
  mkpath("reversedns", "example.org", "/env");
  snprintf(rule, sizeof rule, "%s/reversedns/example.org", rules);
  writef(rule, "allow", "", 0);
  static char big[4000];
  memset(big, 'v', sizeof big);
  snprintf(rule, sizeof rule, "%s/reversedns/example.org/env", rules);
  writef(rule, "V1", big, sizeof big);
  assert_int_equal(s6net_accessrules_keycheck_reversedns("www.example.org", rules, &P, &s6net_accessrules_backend_fs), S6NET_ACCESSRULES_ALLOW);
  writef(rule, "V2", big, sizeof big);
  assert_int_equal(s6net_accessrules_keycheck_reversedns("www.example.org", rules, &P, &s6net_accessrules_backend_fs), S6NET_ACCESSRULES_ERROR);
}

/* Rule names no lookup can produce: the compiler's warnings. Each row:
 * kind, name, the start of the reason (0: fine), the hint (key lookups
 * would use) when the rule is only spelled differently. */
static void test_key_problem(void **st)
{
  (void)st;
  static struct { char const *kind, *name, *why, *hint; } const cases[] = {
    { "ip4", "10.0.0.0_8", 0, 0 },
    { "ip4", "0.0.0.0_0", 0, 0 },
    { "ip4", "255.255.255.255_32", 0, 0 },
    { "ip4", "300.1.1.1_32", "not an IPv4 address", 0 },        /* octet > 255 */
    { "ip4", "10.0.0.0_99", "the mask is not a number from 0 to 32", 0 },
    { "ip4", "10.0.0.0_33", "the mask is not a number from 0 to 32", 0 },
    { "ip4", "10.0.0.0_08", "the mask is not", 0 },            /* leading zero */
    { "ip4", "10.0.0.0_", "the mask is not", 0 },
    { "ip4", "10.0.0.0_-1", "the mask is not", 0 },
    { "ip4", "10.0.0.0", "no _MASK", 0 },
    { "ip4", "10.0.0.1_8", "never looked up", "ip4/10.0.0.0_8" },  /* host bits set */
    { "ip4", "::1_32", "not an IPv4 address", 0 },
    { "ip6", "::1_128", 0, 0 },
    { "ip6", "2001:db8::_32", 0, 0 },
    { "ip6", "2001:DB8::_32", "never looked up", "ip6/2001:db8::_32" },  /* not RFC 5952 */
    { "ip6", "2001:db8:0:0:0:0:0:1_128", "never looked up", "ip6/2001:db8::1_128" },
    { "ip6", "2001:db8::1_32", "never looked up", "ip6/2001:db8::_32" },
    { "ip6", "::1_129", "the mask is not a number from 0 to 128", 0 },
    { "ip6", "10.0.0.0_8", "not an IPv6 address", 0 },
    { "reversedns", "@", 0, 0 },
    { "reversedns", "example.org", 0, 0 },
    { "reversedns", "Example.ORG", "never looked up", "reversedns/example.org" },
    { "reversedns", "example.org.", "never looked up", "reversedns/example.org" },
    { "reversedns", "exa mple", "not a host name", 0 },
    { "reversedns", "a..b", "not a host name", 0 },
    { "uid", "0", 0, 0 },
    { "uid", "65534", 0, 0 },
    { "uid", "self", 0, 0 },
    { "gid", "default", 0, 0 },
    { "uid", "root", "not a number", 0 },
    { "gid", "007", "not a number", 0 },
    { "uid", "4294967295", "not a number", 0 },              /* (uid_t)-1 */
    { "other", "thing", "not a kind of rule", 0 },
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    char hint[64];
    char const *why = s6net_accessrules_key_problem(cases[k].kind, cases[k].name, hint, sizeof hint);
    if (!cases[k].why) {
      if (why) fail_msg("%s/%s: unexpected \"%s\"", cases[k].kind, cases[k].name, why);
      assert_string_equal(hint, "");
      continue;
    }
    if (!why || strncmp(why, cases[k].why, strlen(cases[k].why)))
      fail_msg("%s/%s: got \"%s\"", cases[k].kind, cases[k].name, why ? why : "(null)");
    assert_string_equal(hint, cases[k].hint ? cases[k].hint : "");
  }
  /* a short hint buffer is cut, never overrun; a null one is fine */
  char small[6];
  assert_non_null(s6net_accessrules_key_problem("ip4", "10.0.0.1_8", small, sizeof small));
  assert_string_equal(small, "ip4/1");
  assert_non_null(s6net_accessrules_key_problem("ip4", "10.0.0.1_8", 0, 0));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_value_decode),
    cmocka_unit_test(test_value_decode_hostile),
    cmocka_unit_test(test_value_encode),
    cmocka_unit_test(test_cdb_find),
    cmocka_unit_test(test_cdb_hostile),
    cmocka_unit_test(test_keys_ip4),
    cmocka_unit_test(test_keys_ip6),
    cmocka_unit_test(test_keys_reversedns),
    cmocka_unit_test(test_keys_uidgid),
    cmocka_unit_test(test_envdir_value),
    cmocka_unit_test(test_envdir_read),
    cmocka_unit_test(test_backend_fs),
    cmocka_unit_test(test_key_problem),
  };
  return cmocka_run_group_tests_name("accessrules", tests, setup_tmp, teardown_tmp);
}
