#include "tcprules/tcprules.h"
#include "core/addr.h"

#include <stdio.h>
#include <string.h>

static int bad(s6net_tcprules_rule *r, int code, char const *why)
{
  r->why = why;
  return code;
}

static int addkey(s6net_tcprules_rule *r, char const *type, char const *body)
{
  if (r->nkeys >= S6NET_TCPRULES_MAXKEYS) return -1;
  int n = snprintf(r->keys[r->nkeys], S6NET_TCPRULES_KEYLEN, "%s/%s", type, body);
  if (n < 0 || n >= S6NET_TCPRULES_KEYLEN) return -1;
  r->nkeys++;
  return 0;
}

static int addcidr(s6net_tcprules_rule *r, unsigned char const *ip, int is6, unsigned bits)
{
  char a[S6NET_IP46_FMTLEN], body[S6NET_IP46_FMTLEN + 5];
  unsigned char m[16];
  memcpy(m, ip, is6 ? 16 : 4);
  s6net_ip_mask(m, is6 ? 16 : 4, bits);
  if (is6) s6net_ip6_fmt(a, m); else s6net_ip4_fmt(a, m);
  snprintf(body, sizeof body, "%s_%u", a, bits);
  return addkey(r, is6 ? "ip6" : "ip4", body);
}

static int digits(char const *s, size_t len, unsigned *v)
{
  unsigned x = 0;
  if (!len || len > 3) return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    x = x * 10 + (unsigned)(s[i] - '0');
  }
  if (x > 255) return -1;
  *v = x;
  return 0;
}

/* "1.2.3." style prefixes and "1.2.3.4-9" ranges. */
static int parse_ip4(s6net_tcprules_rule *r, char const *a, size_t len)
{
  unsigned char ip[4] = { 0 };
  unsigned n = 0;
  size_t i = 0;
  while (i < len) {
    size_t j = i;
    while (j < len && a[j] != '.' && a[j] != '-') j++;
    unsigned v;
    if (n >= 4 || digits(a + i, j - i, &v) < 0) return bad(r, S6NET_TCPRULES_BAD, "bad IPv4 address");
    ip[n++] = (unsigned char)v;
    if (j == len) {
      if (n != 4) return bad(r, S6NET_TCPRULES_BAD, "bad IPv4 address");
      return addcidr(r, ip, 0, 32) < 0 ? bad(r, S6NET_TCPRULES_BAD, "too many keys") : S6NET_TCPRULES_RULE;
    }
    if (a[j] == '-') {
      unsigned hi;
      if (n != 4 || digits(a + j + 1, len - j - 1, &hi) < 0 || hi < ip[3])
        return bad(r, S6NET_TCPRULES_BAD, "bad IPv4 range");
      /* Cover [lo, hi] with the largest aligned blocks. */
      unsigned lo = ip[3];
      while (lo <= hi) {
        unsigned size = 1, bits = 32;
        while (bits > 24 && !(lo & size) && lo + size * 2 - 1 <= hi) { size *= 2; bits--; }
        ip[3] = (unsigned char)lo;
        if (addcidr(r, ip, 0, bits) < 0) return bad(r, S6NET_TCPRULES_BAD, "too many keys");
        lo += size;
      }
      return S6NET_TCPRULES_RULE;
    }
    i = j + 1;
    if (i == len) /* trailing dot: a prefix of n octets */
      return addcidr(r, ip, 0, 8 * n) < 0 ? bad(r, S6NET_TCPRULES_BAD, "too many keys") : S6NET_TCPRULES_RULE;
  }
  return bad(r, S6NET_TCPRULES_BAD, "bad IPv4 address");
}

static int parse_ip6(s6net_tcprules_rule *r, char const *a, size_t len)
{
  char buf[64];
  unsigned char ip[16];
  if (len >= sizeof buf) return bad(r, S6NET_TCPRULES_BAD, "bad IPv6 address");
  memcpy(buf, a, len);
  buf[len] = 0;
  if (s6net_ip6_scan(buf, ip) == 0)
    return addcidr(r, ip, 1, 128) < 0 ? bad(r, S6NET_TCPRULES_BAD, "too many keys") : S6NET_TCPRULES_RULE;
  /* "2001:db8:" = the first groups of an address */
  if (len < 2 || buf[len - 1] != ':' || buf[len - 2] == ':') return bad(r, S6NET_TCPRULES_BAD, "bad IPv6 address");
  unsigned groups = 0;
  for (size_t i = 0; i < len; i++) if (buf[i] == ':') groups++;
  if (groups > 7) return bad(r, S6NET_TCPRULES_BAD, "bad IPv6 prefix");
  if (len + 2 >= sizeof buf) return bad(r, S6NET_TCPRULES_BAD, "bad IPv6 prefix");
  buf[len] = ':'; buf[len + 1] = 0;
  if (s6net_ip6_scan(buf, ip) < 0) return bad(r, S6NET_TCPRULES_BAD, "bad IPv6 prefix");
  return addcidr(r, ip, 1, 16 * groups) < 0 ? bad(r, S6NET_TCPRULES_BAD, "too many keys") : S6NET_TCPRULES_RULE;
}

static int name_char_ok(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

static int parse_name(s6net_tcprules_rule *r, char const *a, size_t len)
{
  char buf[256];
  if (len && a[0] == '.') { a++; len--; }   /* "=.example" = the domain */
  while (len && a[len - 1] == '.') len--;
  if (!len) return bad(r, S6NET_TCPRULES_UNSUPPORTED, "a rule for any named host has no equivalent");
  if (len >= sizeof buf) return bad(r, S6NET_TCPRULES_BAD, "host name too long");
  for (size_t i = 0; i < len; i++) {
    if (!name_char_ok(a[i]) || (a[i] == '.' && i && a[i - 1] == '.')) return bad(r, S6NET_TCPRULES_BAD, "bad host name");
    buf[i] = (a[i] >= 'A' && a[i] <= 'Z') ? (char)(a[i] + 32) : a[i];
  }
  buf[len] = 0;
  return addkey(r, "reversedns", buf) < 0 ? bad(r, S6NET_TCPRULES_BAD, "host name too long") : S6NET_TCPRULES_RULE;
}

static int env_ok(char const *s, size_t len)
{
  if (!len) return 0;
  for (size_t i = 0; i < len; i++) if (s[i] == '=' || !s[i]) return 0;
  return 1;
}

static int parse_instructions(s6net_tcprules_rule *r, char const *s, size_t len)
{
  size_t i;
  if (len >= 5 && !memcmp(s, "allow", 5)) { r->allow = 1; i = 5; }
  else if (len >= 4 && !memcmp(s, "deny", 4)) { r->allow = 0; i = 4; }
  else return bad(r, S6NET_TCPRULES_BAD, "instructions must start with allow or deny");
  while (i < len) {
    if (s[i] != ',') return bad(r, S6NET_TCPRULES_BAD, "junk after the instruction");
    size_t nstart = ++i;
    while (i < len && s[i] != '=' && s[i] != ',') i++;
    if (i == len || s[i] != '=') return bad(r, S6NET_TCPRULES_BAD, "variable setting without =");
    size_t nlen = i - nstart;
    if (!env_ok(s + nstart, nlen)) return bad(r, S6NET_TCPRULES_BAD, "bad variable name");
    i++;
    char const *v;
    size_t vlen;
    if (i < len && (s[i] == '"' || s[i] == '\'' || s[i] == '/' || s[i] == '%' || s[i] == '|' || s[i] == '#')) {
      char q = s[i++];
      v = s + i;
      while (i < len && s[i] != q) i++;
      if (i == len) return bad(r, S6NET_TCPRULES_BAD, "unterminated quoted value");
      vlen = (size_t)(s + i - v);
      i++;
    } else {
      v = s + i;
      while (i < len && s[i] != ',') i++;
      vlen = (size_t)(s + i - v);
    }
    if (memchr(v, 0, vlen)) return bad(r, S6NET_TCPRULES_BAD, "NUL byte in a value");
    if (!r->allow) continue; /* a deny rule carries no environment */
    if (r->envlen + nlen + 1 + vlen + 1 > sizeof r->env) return bad(r, S6NET_TCPRULES_BAD, "environment too large");
    memcpy(r->env + r->envlen, s + nstart, nlen);
    r->env[r->envlen + nlen] = '=';
    memcpy(r->env + r->envlen + nlen + 1, v, vlen);
    r->envlen += nlen + 1 + vlen;
    r->env[r->envlen++] = 0;
  }
  return S6NET_TCPRULES_RULE;
}

int s6net_tcprules_parse(char const *line, size_t len, s6net_tcprules_rule *r)
{
  r->allow = 0;
  r->nkeys = 0;
  r->envlen = 0;
  r->why = 0;
  if (len && line[len - 1] == '\r') len--;
  size_t k = 0;
  while (k < len && (line[k] == ' ' || line[k] == '\t')) k++;
  if (k == len || line[k] == '#') return S6NET_TCPRULES_SKIP;
  char const *colon = memchr(line, ':', len);
  /* IPv6 addresses contain colons: the address ends at the last colon
   * that is followed by "allow" or "deny". */
  char const *sep = 0;
  for (char const *p = colon; p; p = memchr(p + 1, ':', (size_t)(line + len - p - 1))) {
    size_t rest = (size_t)(line + len - p - 1);
    if ((rest >= 5 && !memcmp(p + 1, "allow", 5)) || (rest >= 4 && !memcmp(p + 1, "deny", 4))) sep = p;
    if (p + 1 >= line + len) break;
  }
  if (!sep) return bad(r, S6NET_TCPRULES_BAD, "no address:instructions separator");
  char const *addr = line;
  size_t alen = (size_t)(sep - line);
  int rc = parse_instructions(r, sep + 1, (size_t)(line + len - sep - 1));
  if (rc != S6NET_TCPRULES_RULE) return rc;
  if (memchr(addr, '@', alen)) return bad(r, S6NET_TCPRULES_UNSUPPORTED, "user@address rules have no equivalent");
  if (!alen) {
    static unsigned char const zero[16];
    addcidr(r, zero, 0, 0);
    addcidr(r, zero, 1, 0);
    return S6NET_TCPRULES_RULE;
  }
  if (addr[0] == '=') return parse_name(r, addr + 1, alen - 1);
  if (memchr(addr, ':', alen)) return parse_ip6(r, addr, alen);
  return parse_ip4(r, addr, alen);
}
