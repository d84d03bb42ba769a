/* Byte sink for bulk transfer checks: reads an 8-byte big-endian length
 * then exactly that many bytes on stdin, answers the count it got as a
 * decimal line on stdout. Auto-terminated, so it works whatever the
 * tunnel does with half-close. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
  static unsigned char buf[1 << 17];
  unsigned char h[8];
  size_t got = 0;
  while (got < 8) {
    ssize_t r = read(0, h + got, 8 - got);
    if (r <= 0) return 1;
    got += (size_t)r;
  }
  uint64_t want = 0, n = 0;
  for (int i = 0; i < 8; i++) want = want << 8 | h[i];
  while (n < want) {
    size_t chunk = want - n < sizeof buf ? (size_t)(want - n) : sizeof buf;
    ssize_t r = read(0, buf, chunk);
    if (r <= 0) break;
    n += (uint64_t)r;
  }
  char out[32];
  int l = snprintf(out, sizeof out, "%llu\n", (unsigned long long)n);
  return write(1, out, (size_t)l) == l ? 0 : 1;
}
