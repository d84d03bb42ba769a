/* A small reader for djb's cdb format over a read-only mapping.
 * Layout: 256 (position, slot count) pairs of little-endian u32 at the
 * start; records are (klen, dlen, key, data); hash tables are arrays of
 * (hash, record position) slots. Every offset read from the file is
 * bounds-checked, so a corrupt or truncated file is an error, never a
 * read outside the map. */
#include <s6net/accessrules.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CDB_HEADER 2048

static uint32_t u32le(unsigned char const *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t cdb_hash(unsigned char const *k, size_t len)
{
  uint32_t h = 5381;
  for (size_t i = 0; i < len; i++) h = ((h << 5) + h) ^ k[i];
  return h;
}

int s6net_accessrules_cdb_frombuf(s6net_accessrules_cdb *c, void const *buf, size_t len)
{
  if (len < CDB_HEADER || len > UINT32_MAX) { errno = EPROTO; return -1; }
  c->map = buf;
  c->len = len;
  c->owned = 0;
  return 0;
}

int s6net_accessrules_cdb_load(s6net_accessrules_cdb *c, char const *path, void *buf, size_t max)
{
  struct stat st;
  /* No O_CLOEXEC: the descriptor is closed before this returns, and
   * some libcs emulate the flag with an extra fcntl. */
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  if (fstat(fd, &st) < 0) goto err;
  if (!S_ISREG(st.st_mode) || st.st_size < CDB_HEADER || (uint64_t)st.st_size > UINT32_MAX) {
    errno = S_ISDIR(st.st_mode) ? EISDIR : EPROTO;
    goto err;
  }
  size_t len = (size_t)st.st_size;
  if (buf && len <= max) {
    size_t got = 0;
    while (got < len) {
      ssize_t r = read(fd, (char *)buf + got, len - got);
      if (r < 0) {
        if (errno == EINTR) continue;
        goto err;
      }
      if (!r) break;
      got += (size_t)r;
    }
    close(fd);
    /* A file truncated while we read it is a shorter file, checked as
     * such by every lookup. */
    return s6net_accessrules_cdb_frombuf(c, buf, got);
  }
  void *m = mmap(0, len, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) goto err;
  close(fd);
  c->map = m;
  c->len = len;
  c->owned = 1;
  return 0;
err:
  {
    int e = errno;
    close(fd);
    errno = e;
  }
  return -1;
}

int s6net_accessrules_cdb_open(s6net_accessrules_cdb *c, char const *path)
{
  return s6net_accessrules_cdb_load(c, path, 0, 0);
}

void s6net_accessrules_cdb_close(s6net_accessrules_cdb *c)
{
  if (c->map && c->owned) munmap((void *)c->map, c->len);
  c->map = 0;
  c->len = 0;
  c->owned = 0;
}

int s6net_accessrules_cdb_find(s6net_accessrules_cdb const *c, void const *key, size_t klen, unsigned char const **data, size_t *dlen)
{
  unsigned char const *m = c->map;
  size_t len = c->len;
  if (!m || len < CDB_HEADER) goto bad;
  uint32_t h = cdb_hash(key, klen);
  unsigned char const *e = m + (h & 255) * 8;
  uint32_t tpos = u32le(e), nslots = u32le(e + 4);
  if (!nslots) return 0;
  if (tpos < CDB_HEADER || tpos > len || nslots > (len - tpos) / 8) goto bad;
  uint32_t slot = (h >> 8) % nslots;
  for (uint32_t i = 0; i < nslots; i++) {
    unsigned char const *s = m + tpos + (size_t)slot * 8;
    uint32_t sh = u32le(s), rpos = u32le(s + 4);
    if (!rpos) return 0;
    if (sh == h) {
      if (rpos < CDB_HEADER || rpos > len || len - rpos < 8) goto bad;
      uint32_t kl = u32le(m + rpos), dl = u32le(m + rpos + 4);
      if (kl > len - rpos - 8 || dl > len - rpos - 8 - kl) goto bad;
      if (kl == klen && !memcmp(m + rpos + 8, key, klen)) {
        *data = m + rpos + 8 + kl;
        *dlen = dl;
        return 1;
      }
    }
    if (++slot == nslots) slot = 0;
  }
  return 0;
bad:
  errno = EPROTO;
  return -1;
}

int s6net_accessrules_cdb_next(s6net_accessrules_cdb const *c, size_t *pos, unsigned char const **key, size_t *klen, unsigned char const **data, size_t *dlen)
{
  unsigned char const *m = c->map;
  size_t len = c->len, end = len;
  if (!m || len < CDB_HEADER) goto bad;
  /* Records lie between the header and the first hash table. */
  for (unsigned int i = 0; i < 256; i++) {
    size_t t = u32le(m + i * 8);
    if (t < end) end = t;
  }
  if (end < CDB_HEADER) goto bad;
  size_t p = *pos ? *pos : CDB_HEADER;
  if (p < CDB_HEADER || p > end) goto bad;
  if (p == end) return 0;
  if (end - p < 8) goto bad;
  size_t kl = u32le(m + p), dl = u32le(m + p + 4);
  if (kl > end - p - 8 || dl > end - p - 8 - kl) goto bad;
  *key = m + p + 8;
  *klen = kl;
  *data = m + p + 8 + kl;
  *dlen = dl;
  *pos = p + 8 + kl + dl;
  return 1;
bad:
  errno = EPROTO;
  return -1;
}
