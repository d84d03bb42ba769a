/* Parsing of ucspi-tcp "tcprules" source lines, for s6-tcprules-import.
 * Pure functions: a line in, a rule out, and the access-rules keys (as
 * s6-accessrules-cdb-from-fs names them) that the rule stands for.
 *
 * Supported addresses (ucspi-tcp and its IPv6 patch):
 *   1.2.3.4          one IPv4 address           -> ip4/1.2.3.4_32
 *   1.2.3.  1.2.  1. an IPv4 prefix of octets   -> ip4/1.2.3.0_24 ...
 *   1.2.3.40-47      a range in the last octet  -> the fewest CIDR blocks
 *   ::1, 2001:db8::5 one IPv6 address           -> ip6/..._128
 *   2001:db8:        an IPv6 prefix of groups   -> ip6/2001:db8::_32
 *   =host.example    a host name                -> reversedns/host.example
 *   =.example        a domain                   -> reversedns/example
 *   (empty)          everybody                  -> ip4/0.0.0.0_0 and ip6/::_0
 * Not supported (reported, never guessed): user@address rules, "=" alone.
 * Instructions: "allow" or "deny", then ",VAR=<q>value<q>" where <q> is any
 * quoting character, or ",VAR=value" up to the next comma. */
#ifndef S6NET_TCPRULES_H
#define S6NET_TCPRULES_H

#include <stddef.h>

#define S6NET_TCPRULES_KEYLEN 300
#define S6NET_TCPRULES_ENVMAX 4096
#define S6NET_TCPRULES_MAXKEYS 16  /* a last-octet range needs at most 14 blocks */

enum {
  S6NET_TCPRULES_RULE = 1,         /* a rule was parsed */
  S6NET_TCPRULES_SKIP = 0,         /* blank line or comment */
  S6NET_TCPRULES_BAD = -1,         /* malformed */
  S6NET_TCPRULES_UNSUPPORTED = -2  /* valid tcprules, no access-rules equivalent */
};

typedef struct {
  int allow;
  size_t nkeys;
  char keys[S6NET_TCPRULES_MAXKEYS][S6NET_TCPRULES_KEYLEN];
  size_t envlen;                    /* packed "VAR=value\0" strings */
  char env[S6NET_TCPRULES_ENVMAX];
  char const *why;                  /* for BAD / UNSUPPORTED: a static reason */
} s6net_tcprules_rule;

/* Parse one line (without its newline; a trailing CR is ignored). */
int s6net_tcprules_parse(char const *line, size_t len, s6net_tcprules_rule *r);

#endif
