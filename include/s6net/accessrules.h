/* s6net access rules: look up a client (IP address, host name, uid/gid)
 * in a ruleset kept either as a directory tree or as a CDB file, in the
 * format written by s6-accessrules-cdb-from-fs. See s6net_accessrules(3).
 *
 * Nothing here allocates: results go into caller-provided fixed buffers,
 * so a lookup costs a few system calls and no heap. */
#ifndef S6NET_ACCESSRULES_H
#define S6NET_ACCESSRULES_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  S6NET_ACCESSRULES_ERROR = -1,   /* errno says why */
  S6NET_ACCESSRULES_DENY = 0,
  S6NET_ACCESSRULES_ALLOW = 1,
  S6NET_ACCESSRULES_NOTFOUND = 2
} s6net_accessrules_result;

/* Size limits of a rule's data. The reference compiler accepts packed
 * environment modifications up to 4100 bytes (its page says 4096) and
 * truncates exec commands to 4096 bytes; we accept exactly what it writes. */
#define S6NET_ACCESSRULES_ENV_MAX 4100
#define S6NET_ACCESSRULES_EXEC_MAX 4096
/* Longest key: "reversedns/" + a DNS name, or an IPv6 prefix. */
#define S6NET_ACCESSRULES_KEY_MAX 300
/* envdir: values are cut to this many bytes (s6-envdir's clamp). */
#define S6NET_ENVDIR_VALUE_MAX 4095

/* What an allowing rule carries. env is a packed sequence of
 * NUL-terminated "VAR=value" (set) and "VAR" (unset) strings; exec is the
 * command for execlineb -c, NUL-terminated for convenience (execlen
 * excludes the NUL). Both are empty when the rule has none. */
typedef struct {
  size_t envlen;
  size_t execlen;
  char env[S6NET_ACCESSRULES_ENV_MAX];
  char exec[S6NET_ACCESSRULES_EXEC_MAX + 1];
} s6net_accessrules_params;

void s6net_accessrules_params_init(s6net_accessrules_params *p);

/* ---- CDB value encoding (pure) ------------------------------------------
 * "D" = deny; "A" + u16be E + E bytes env + u16be X + X bytes exec = allow.
 * Any other first byte is "not found"; inconsistent lengths, or sizes over
 * the limits above, are an error (errno EPROTO). */
s6net_accessrules_result s6net_accessrules_value_decode(unsigned char const *v, size_t len, s6net_accessrules_params *p);
/* Writes the allow encoding of env/exec into out (capacity outmax);
 * returns the length, or 0 if it does not fit or a part is too large. */
size_t s6net_accessrules_value_encode_allow(unsigned char *out, size_t outmax, char const *env, size_t envlen, char const *exec, size_t execlen);

/* ---- CDB files, read through a read-only mapping -------------------------
 * Our own reader (the djb format is small): it lets the per-connection
 * program be built statically without libcdb. */
typedef struct {
  unsigned char const *map;
  size_t len;
  int owned; /* a mapping to undo at close */
} s6net_accessrules_cdb;

/* 0, or -1 with errno set (a file too small to be a CDB: EPROTO). */
int s6net_accessrules_cdb_open(s6net_accessrules_cdb *c, char const *path);
/* Like open, but a file of at most max bytes is read into buf instead of
 * being mapped: fewer system calls for the small rulesets of a
 * short-lived per-connection program. Larger files are mapped. */
int s6net_accessrules_cdb_load(s6net_accessrules_cdb *c, char const *path, void *buf, size_t max);
/* Same on an existing buffer (not copied; close() then does nothing). */
int s6net_accessrules_cdb_frombuf(s6net_accessrules_cdb *c, void const *buf, size_t len);
void s6net_accessrules_cdb_close(s6net_accessrules_cdb *c);
/* Pure lookup of the first record with this key: 1 found (*data, *dlen
 * point into the map), 0 not found, -1 corrupt file (errno EPROTO). */
int s6net_accessrules_cdb_find(s6net_accessrules_cdb const *c, void const *key, size_t klen, unsigned char const **data, size_t *dlen);
/* Walk every record in file order: start with *pos = 0. 1 with the
 * record, 0 at the end, -1 corrupt file (errno EPROTO). */
int s6net_accessrules_cdb_next(s6net_accessrules_cdb const *c, size_t *pos, unsigned char const **key, size_t *klen, unsigned char const **data, size_t *dlen);

/* ---- backends: look up one low-level key ("ip4/10.0.0.0_8") ------------ */
typedef s6net_accessrules_result s6net_accessrules_backend_fn(char const *key, size_t klen, void const *handle, s6net_accessrules_params *p);
/* handle: char const *, the ruleset directory. */
s6net_accessrules_backend_fn s6net_accessrules_backend_fs;
/* handle: s6net_accessrules_cdb const *. */
s6net_accessrules_backend_fn s6net_accessrules_backend_cdb;

/* ---- frontends: derive the low-level keys and try them in order -------- */
/* ip4/ADDR_32 down to ip4/0.0.0.0_0. */
s6net_accessrules_result s6net_accessrules_keycheck_ip4(unsigned char const ip[4], void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend);
/* ip6/ADDR_128 down to ip6/::_0, addresses in RFC 5952 form. */
s6net_accessrules_result s6net_accessrules_keycheck_ip6(unsigned char const ip[16], void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend);
/* ip4 or ip6 depending on is6 (ip holds 4 or 16 bytes). */
s6net_accessrules_result s6net_accessrules_keycheck_ip46(unsigned char const *ip, int is6, void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend);
/* reversedns/NAME, then each shorter dot-suffix, then reversedns/@. A
 * final dot is ignored and the name is looked up in lower case. A name
 * that is not a plausible host name (see s6net_accessrules_name_ok) is
 * never looked up: the result is NOTFOUND, which callers treat as deny. */
s6net_accessrules_result s6net_accessrules_keycheck_reversedns(char const *name, void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend);
/* Letters, digits, '-', '_' and dots; labels of 1 to 63 bytes; at most
 * 253 bytes without the optional final dot. Such a name can be put in a
 * path or an environment variable without surprises. */
int s6net_accessrules_name_ok(char const *name);
/* uid/self (if uid is our euid), uid/UID, gid/self (if gid is our egid),
 * gid/GID, uid/default, then gid/default. */
s6net_accessrules_result s6net_accessrules_keycheck_uidgid(uid_t uid, gid_t gid, void const *handle, s6net_accessrules_params *p, s6net_accessrules_backend_fn *backend);

/* Pure: can a rule stored as KIND/NAME ever be found by the lookups
 * above? Returns 0 when it can, or a short static reason when it cannot
 * (an address that does not parse, a mask out of range, a name no
 * lookup produces). When a lookup would find the same rule under another
 * spelling (10.0.0.1_8 for 10.0.0.0_8, 2001:DB8::_32 for 2001:db8::_32,
 * Example.ORG. for example.org), that key is written to hint (NUL-
 * terminated, cut to hintmax; hint may be 0). A kind other than ip4, ip6,
 * reversedns, uid and gid gives "not a kind of rule that is looked up". */
char const *s6net_accessrules_key_problem(char const *kind, char const *name, char *hint, size_t hintmax);

/* ---- envdir reading ----------------------------------------------------- */
/* Pure: the value an envdir file with these contents gives. Returns 1 and
 * fills out (capacity S6NET_ENVDIR_VALUE_MAX, not NUL-terminated) with
 * *outlen bytes for "set", or 0 for "unset" (an empty file). */
int s6net_envdir_value(char const *data, size_t len, char *out, size_t *outlen);
/* Is this directory entry a variable name envdir uses? */
int s6net_envdir_name_ok(char const *name);
/* Read a whole envdir into a packed modification list (in directory
 * order). 0, or -1 with errno: ENAMETOOLONG if it does not fit in max,
 * EISDIR if an entry is a directory, or the system error. */
int s6net_envdir_read(char const *dir, char *buf, size_t max, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
