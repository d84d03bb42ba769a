/* The server's tables: the source counts behind -C, the token buckets
 * behind -R, and the pid index that finds a reaped child's slot. All are
 * open addressing over power-of-two tables carved from the server's one
 * mapping (setup.c); nothing here allocates or makes a system call, so
 * acceptors may use them under the lock (acceptors.c). */
#include "server/internal.h"

#include <string.h>

unsigned int s6net_server_hash(unsigned int seed, unsigned char const *key, unsigned int len)
{
  uint32_t h = 2166136261u ^ seed;
  for (unsigned int i = 0; i < len; i++) { h ^= key[i]; h *= 16777619u; }
  /* FNV alone mixes the last bytes poorly into the low bits we index with. */
  h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
  return h;
}

unsigned int s6net_server_ipkey(unsigned char *key, s6net_ip46 const *ip, unsigned int bits4, unsigned int bits6)
{
  unsigned int len = ip->is6 ? 16 : 4;
  key[0] = ip->is6 ? 6 : 4;
  memcpy(key + 1, ip->ip, len);
  s6net_ip_mask(key + 1, len, ip->is6 ? bits6 : bits4);
  return len + 1;
}

/* ---- source counts ---- */

size_t s6net_server_src_find(s6net_server_srctab const *t, unsigned char const *key, unsigned int keylen)
{
  size_t i = s6net_server_hash(t->seed, key, keylen) & t->mask;
  for (;;) {
    s6net_server_srcent const *e = t->tab + i;
    if (!e->keylen) return i;
    if (e->keylen == keylen && !memcmp(e->key, key, keylen)) return i;
    i = (i + 1) & t->mask;
  }
}

void s6net_server_src_delete(s6net_server_srctab *t, size_t i)
{
  size_t j = i;
  for (;;) {
    j = (j + 1) & t->mask;
    s6net_server_srcent *e = t->tab + j;
    if (!e->keylen) break;
    size_t k = s6net_server_hash(t->seed, e->key, e->keylen) & t->mask;
    /* e stays if its home k lies cyclically in (i, j]. */
    if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
    t->tab[i] = *e;
    i = j;
  }
  t->tab[i].keylen = 0;
  t->tab[i].count = 0;
}

void srv_src_add(s6net_server_srctab *t, size_t i, unsigned char const *key, unsigned int keylen)
{
  s6net_server_srcent *e = t->tab + i;
  if (!e->keylen) {
    memcpy(e->key, key, keylen);
    e->keylen = (unsigned char)keylen;
  }
  e->count++;
}

int srv_uncount(s6net_server *s, conn *c)
{
  if (!c->keylen) return 0;
  size_t si = s6net_server_src_find(&s->src, c->key, c->keylen);
  if (s->src.tab[si].keylen && !--s->src.tab[si].count) s6net_server_src_delete(&s->src, si);
  s->nlive--;
  c->keylen = 0;
  return 1;
}

/* ---- rate buckets ---- */

#define RATE_PROBES 32

int s6net_server_rate_take(s6net_server_ratetab *t, unsigned char const *key, unsigned int keylen, long long now)
{
  size_t i = s6net_server_hash(t->seed, key, keylen) & t->mask;
  s6net_server_rateent *reuse = 0;
  unsigned int cap = t->rate * 1000u;
  for (unsigned int n = 0; n < RATE_PROBES; n++, i = (i + 1) & t->mask) {
    s6net_server_rateent *e = t->tab + i;
    if (e->keylen == keylen && !memcmp(e->key, key, keylen)) {
      long long dt = now - e->last;
      if (dt < 0) dt = 0;
      unsigned long long tok = e->tokens + (unsigned long long)dt * t->rate;
      e->tokens = tok > cap ? cap : (unsigned int)tok;
      e->last = now;
      if (e->tokens < 1000) return 0;
      e->tokens -= 1000;
      return 1;
    }
    if (!reuse && (!e->keylen || now - e->last >= 1000)) reuse = e;
    if (!e->keylen) break; /* the key cannot be further along */
  }
  if (!reuse) return 1;
  memcpy(reuse->key, key, keylen);
  reuse->keylen = (unsigned char)keylen;
  reuse->last = now;
  reuse->tokens = cap - 1000;
  return 1;
}

/* ---- pid index ---- */

static size_t pid_slot(s6net_server const *s, pid_t pid)
{
  return ((uint32_t)pid * 2654435761u) & s->pidmask;
}

void srv_pid_insert(s6net_server *s, pid_t pid, unsigned int ci)
{
  size_t i = pid_slot(s, pid);
  while (s->pidtab[i]) i = (i + 1) & s->pidmask;
  s->pidtab[i] = ci + 1;
}

long srv_pid_remove(s6net_server *s, pid_t pid)
{
  size_t i = pid_slot(s, pid);
  for (;; i = (i + 1) & s->pidmask) {
    if (!s->pidtab[i]) return -1;
    if (s->conns[s->pidtab[i] - 1].pid == pid) break;
  }
  long ci = (long)s->pidtab[i] - 1;
  size_t j = i;
  for (;;) {
    j = (j + 1) & s->pidmask;
    if (!s->pidtab[j]) break;
    size_t k = pid_slot(s, s->conns[s->pidtab[j] - 1].pid);
    if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
    s->pidtab[i] = s->pidtab[j];
    i = j;
  }
  s->pidtab[i] = 0;
  return ci;
}
