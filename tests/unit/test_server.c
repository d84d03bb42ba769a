/* Unit tests for the tables behind lib/server: source counters (open
 * addressing with backward-shift deletion) and the per-source token
 * buckets of the rate limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "server/server.h"

#define TAB 64

static s6net_server_srcent srcmem[TAB];

static void key_of(unsigned int i, unsigned char *k, unsigned int *len)
{
  k[0] = 4;
  k[1] = (unsigned char)(i >> 24); k[2] = (unsigned char)(i >> 16);
  k[3] = (unsigned char)(i >> 8); k[4] = (unsigned char)i;
  *len = 5;
}

static void insert(s6net_server_srctab *t, unsigned int id, unsigned int count)
{
  unsigned char k[S6NET_SERVER_KEYMAX];
  unsigned int l;
  key_of(id, k, &l);
  size_t i = s6net_server_src_find(t, k, l);
  assert_int_equal(t->tab[i].keylen, 0);
  memcpy(t->tab[i].key, k, l);
  t->tab[i].keylen = (unsigned char)l;
  t->tab[i].count = count;
}

static unsigned int lookup(s6net_server_srctab *t, unsigned int id)
{
  unsigned char k[S6NET_SERVER_KEYMAX];
  unsigned int l;
  key_of(id, k, &l);
  size_t i = s6net_server_src_find(t, k, l);
  return t->tab[i].keylen ? t->tab[i].count : 0;
}

static void test_src_insert_find(void **state)
{
  (void)state;
  s6net_server_srctab t = { srcmem, TAB - 1, 12345 };
  memset(srcmem, 0, sizeof srcmem);
  for (unsigned int i = 1; i <= 40; i++) insert(&t, i * 7919, i);
  for (unsigned int i = 1; i <= 40; i++) assert_int_equal(lookup(&t, i * 7919), i);
  assert_int_equal(lookup(&t, 3), 0);
}

/* Deleting in every order must keep all remaining keys reachable, also
 * with long collision chains that wrap around the end of the table. */
static void test_src_delete_keeps_chains(void **state)
{
  (void)state;
  for (unsigned int seed = 0; seed < 200; seed++) {
    s6net_server_srctab t = { srcmem, TAB - 1, seed };
    unsigned int live[48];
    unsigned int n = 0;
    memset(srcmem, 0, sizeof srcmem);
    for (unsigned int i = 0; i < 48; i++) { live[n++] = i * 131 + seed; insert(&t, live[n - 1], i + 1); }
    uint32_t r = seed * 2654435761u + 1;
    while (n) {
      r = r * 1103515245u + 12345u;
      unsigned int victim = (r >> 8) % n;
      unsigned char k[S6NET_SERVER_KEYMAX];
      unsigned int l;
      key_of(live[victim], k, &l);
      size_t i = s6net_server_src_find(&t, k, l);
      assert_int_not_equal(t.tab[i].keylen, 0);
      s6net_server_src_delete(&t, i);
      live[victim] = live[--n];
      for (unsigned int j = 0; j < n; j++) assert_int_not_equal(lookup(&t, live[j]), 0);
      assert_int_equal(lookup(&t, (unsigned int)-1), 0);
    }
    for (unsigned int i = 0; i < TAB; i++) assert_int_equal(srcmem[i].keylen, 0);
  }
}

static void test_src_distinct_lengths(void **state)
{
  (void)state;
  s6net_server_srctab t = { srcmem, TAB - 1, 1 };
  unsigned char a[S6NET_SERVER_KEYMAX] = { 6, 0 };
  memset(srcmem, 0, sizeof srcmem);
  size_t i = s6net_server_src_find(&t, a, 5);
  memcpy(t.tab[i].key, a, 5); t.tab[i].keylen = 5; t.tab[i].count = 1;
  /* Same leading bytes, longer key: a different source. */
  size_t j = s6net_server_src_find(&t, a, 17);
  assert_int_equal(t.tab[j].keylen, 0);
  assert_true(i != j);
}

static s6net_server_rateent ratemem[256];

static void test_rate_burst_and_refill(void **state)
{
  (void)state;
  s6net_server_ratetab t = { ratemem, 255, 7, 3 };
  unsigned char k[5] = { 4, 127, 0, 0, 1 };
  memset(ratemem, 0, sizeof ratemem);
  long long now = 1000000;
  assert_int_equal(s6net_server_rate_take(&t, k, 5, now), 1);
  assert_int_equal(s6net_server_rate_take(&t, k, 5, now), 1);
  assert_int_equal(s6net_server_rate_take(&t, k, 5, now), 1);
  assert_int_equal(s6net_server_rate_take(&t, k, 5, now), 0);
  assert_int_equal(s6net_server_rate_take(&t, k, 5, now + 100), 0);
  /* 1/3 s later one more token has come back. */
  assert_int_equal(s6net_server_rate_take(&t, k, 5, now + 340), 1);
  assert_int_equal(s6net_server_rate_take(&t, k, 5, now + 340), 0);
  /* Other sources are not affected. */
  unsigned char k2[5] = { 4, 127, 0, 0, 2 };
  assert_int_equal(s6net_server_rate_take(&t, k2, 5, now + 340), 1);
  /* After a long idle period the bucket is full again, not overfull. */
  now += 100000;
  for (int i = 0; i < 3; i++) assert_int_equal(s6net_server_rate_take(&t, k, 5, now), 1);
  assert_int_equal(s6net_server_rate_take(&t, k, 5, now), 0);
}

static void test_rate_clock_backwards(void **state)
{
  (void)state;
  s6net_server_ratetab t = { ratemem, 255, 7, 1 };
  unsigned char k[5] = { 4, 10, 0, 0, 1 };
  memset(ratemem, 0, sizeof ratemem);
  assert_int_equal(s6net_server_rate_take(&t, k, 5, 5000), 1);
  assert_int_equal(s6net_server_rate_take(&t, k, 5, 4000), 0);
}

/* A table full of fresh buckets admits new sources (fail open) and
 * reuses the slots of idle ones. */
static void test_rate_full_table(void **state)
{
  (void)state;
  s6net_server_rateent small[16];
  s6net_server_ratetab t = { small, 15, 3, 1 };
  memset(small, 0, sizeof small);
  unsigned char k[5];
  unsigned int l;
  for (unsigned int i = 0; i < 16; i++) { key_of(i, k, &l); assert_int_equal(s6net_server_rate_take(&t, k, l, 100), 1); }
  key_of(99, k, &l);
  assert_int_equal(s6net_server_rate_take(&t, k, l, 100), 1);
  assert_int_equal(s6net_server_rate_take(&t, k, l, 100), 1); /* untracked */
  /* A second later every bucket is idle: 99 gets a slot and is limited. */
  assert_int_equal(s6net_server_rate_take(&t, k, l, 1200), 1);
  assert_int_equal(s6net_server_rate_take(&t, k, l, 1200), 0);
}

static void test_hash_seeded(void **state)
{
  (void)state;
  unsigned char k[5] = { 4, 1, 2, 3, 4 };
  assert_int_equal(s6net_server_hash(1, k, 5), s6net_server_hash(1, k, 5));
  assert_int_not_equal(s6net_server_hash(1, k, 5), s6net_server_hash(2, k, 5));
}

static unsigned int keyof(char const *addr, unsigned int b4, unsigned int b6, unsigned char *k)
{
  s6net_ip46 ip;
  assert_int_equal(s6net_ip46_scan(addr, &ip), 0);
  return s6net_server_ipkey(k, &ip, b4, b6);
}

static int samekey(char const *a, char const *b, unsigned int b4, unsigned int b6)
{
  unsigned char ka[S6NET_SERVER_KEYMAX], kb[S6NET_SERVER_KEYMAX];
  unsigned int la = keyof(a, b4, b6, ka), lb = keyof(b, b4, b6, kb);
  return la == lb && !memcmp(ka, kb, la);
}

static void test_ipkey_prefixes(void **state)
{
  (void)state;
  unsigned char k[S6NET_SERVER_KEYMAX];
  assert_int_equal(keyof("10.1.2.3", 32, 128, k), 5);
  assert_int_equal(keyof("2001:db8::1", 32, 128, k), 17);
  /* Default: every address is its own source. */
  assert_false(samekey("10.1.2.3", "10.1.2.4", 32, 128));
  assert_false(samekey("2001:db8::1", "2001:db8::2", 32, 128));
  assert_true(samekey("10.1.2.3", "10.1.2.3", 32, 128));
  /* An IPv6 /64 as one source. */
  assert_true(samekey("2001:db8:0:1::1", "2001:db8:0:1:ffff:ffff:ffff:ffff", 32, 64));
  assert_false(samekey("2001:db8:0:1::1", "2001:db8:0:2::1", 32, 64));
  /* Prefixes that do not fall on a byte boundary. */
  assert_true(samekey("10.1.2.3", "10.1.3.250", 23, 128));
  assert_false(samekey("10.1.2.3", "10.1.4.1", 23, 128));
  assert_true(samekey("2001:db8::1", "2001:db9::1", 32, 31));
  /* Everything from one family is one source with /0. */
  assert_true(samekey("1.2.3.4", "200.1.1.1", 0, 128));
  /* The families never mix, even for equal bytes. */
  assert_false(samekey("0.0.0.0", "::", 0, 0));
  /* IPv4-mapped input is scanned as IPv6 here; the server maps it to
   * IPv4 before computing the key (s6net_sockaddr_get). */
}

static void test_listen_fds(void **state)
{
  (void)state;
  assert_int_equal(s6net_server_listen_fds("42", "1", 42), 1);
  assert_int_equal(s6net_server_listen_fds("42", "3", 42), 3);
  assert_int_equal(s6net_server_listen_fds("42", "0", 42), 0);
  /* Meant for another process, or not set: not ours, whatever LISTEN_FDS says. */
  assert_int_equal(s6net_server_listen_fds("43", "1", 42), -1);
  assert_int_equal(s6net_server_listen_fds("43", "x", 42), -1);
  assert_int_equal(s6net_server_listen_fds(0, "1", 42), -1);
  assert_int_equal(s6net_server_listen_fds("42", 0, 42), -1);
  assert_int_equal(s6net_server_listen_fds("", "1", 42), -1);
  assert_int_equal(s6net_server_listen_fds("42x", "1", 42), -1);
  assert_int_equal(s6net_server_listen_fds("0", "1", 0), -1);
  assert_int_equal(s6net_server_listen_fds("-42", "1", 42), -1);
  /* Ours, but not a count. */
  assert_int_equal(s6net_server_listen_fds("42", "", 42), -2);
  assert_int_equal(s6net_server_listen_fds("42", "one", 42), -2);
  assert_int_equal(s6net_server_listen_fds("42", "-1", 42), -2);
  assert_int_equal(s6net_server_listen_fds("42", "99999999999", 42), -2);
}

static void test_notify_addr(void **state)
{
  (void)state;
  struct sockaddr_un sa;
  size_t off = offsetof(struct sockaddr_un, sun_path);
  char name[sizeof sa.sun_path + 2];

  assert_int_equal(s6net_server_notify_addr(&sa, "/run/systemd/notify"), off + 20);
  assert_int_equal(sa.sun_family, AF_UNIX);
  assert_string_equal(sa.sun_path, "/run/systemd/notify");

  /* Abstract: a leading NUL, no trailing one in the length. */
  assert_int_equal(s6net_server_notify_addr(&sa, "@abc"), off + 4);
  assert_int_equal(sa.sun_path[0], 0);
  assert_memory_equal(sa.sun_path + 1, "abc", 3);

  assert_int_equal(s6net_server_notify_addr(&sa, ""), 0);
  assert_int_equal(s6net_server_notify_addr(&sa, "@"), 0);
  assert_int_equal(s6net_server_notify_addr(&sa, "/"), 0);
  assert_int_equal(s6net_server_notify_addr(&sa, "relative/path"), 0);
  assert_int_equal(s6net_server_notify_addr(&sa, "vsock:2:1234"), 0);

  /* The longest path leaves room for its NUL; an abstract name may fill sun_path. */
  memset(name, 'x', sizeof name);
  name[0] = '/';
  name[sizeof sa.sun_path - 1] = 0;
  assert_int_equal(s6net_server_notify_addr(&sa, name), off + sizeof sa.sun_path);
  name[sizeof sa.sun_path - 1] = 'x';
  name[sizeof sa.sun_path] = 0;
  assert_int_equal(s6net_server_notify_addr(&sa, name), 0);
  name[0] = '@';
  assert_int_equal(s6net_server_notify_addr(&sa, name), off + sizeof sa.sun_path);
  name[sizeof sa.sun_path] = 'x';
  name[sizeof sa.sun_path + 1] = 0;
  assert_int_equal(s6net_server_notify_addr(&sa, name), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_src_insert_find),
    cmocka_unit_test(test_src_delete_keeps_chains),
    cmocka_unit_test(test_src_distinct_lengths),
    cmocka_unit_test(test_rate_burst_and_refill),
    cmocka_unit_test(test_rate_clock_backwards),
    cmocka_unit_test(test_rate_full_table),
    cmocka_unit_test(test_hash_seeded),
    cmocka_unit_test(test_ipkey_prefixes),
    cmocka_unit_test(test_listen_fds),
    cmocka_unit_test(test_notify_addr),
  };
  return cmocka_run_group_tests(tests, 0, 0);
}
