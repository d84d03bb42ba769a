/* Reading an envdir the way s6-envdir does without options: one variable
 * per file, the value being the first line (cut to 4095 bytes, trailing
 * spaces, tabs and CRs removed, NULs turned into newlines); an empty file
 * unsets the variable. */
#include <s6net/accessrules.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int s6net_envdir_value(char const *data, size_t len, char *out, size_t *outlen)
{
  if (!len) return 0;
  size_t n = 0;
  while (n < len && n < S6NET_ENVDIR_VALUE_MAX && data[n] != '\n') n++;
  while (n && (data[n - 1] == ' ' || data[n - 1] == '\t' || data[n - 1] == '\r')) n--;
  for (size_t i = 0; i < n; i++) out[i] = data[i] ? data[i] : '\n';
  *outlen = n;
  return 1;
}

int s6net_envdir_name_ok(char const *name)
{
  return name[0] && name[0] != '.' && !strchr(name, '=');
}

/* Read at most one more byte than the clamp: enough to see the whole
 * first line that matters, and whether the file is empty. */
static int read_var(int dfd, char const *name, char *val, size_t *vlen, int *set)
{
  char raw[S6NET_ENVDIR_VALUE_MAX + 1];
  struct stat st;
  size_t got = 0;
  /* O_NONBLOCK: a FIFO planted in the directory must not hang us. */
  int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return -1;
  if (fstat(fd, &st) < 0) goto err;
  if (!S_ISREG(st.st_mode)) {
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    goto err;
  }
  while (got < sizeof raw) {
    ssize_t r = read(fd, raw + got, sizeof raw - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      goto err;
    }
    if (!r) break;
    got += (size_t)r;
  }
  close(fd);
  *set = s6net_envdir_value(raw, got, val, vlen);
  return 0;
err:
  {
    int e = errno;
    close(fd);
    errno = e;
  }
  return -1;
}

int s6net_envdir_read(char const *dir, char *buf, size_t max, size_t *len)
{
  char val[S6NET_ENVDIR_VALUE_MAX];
  size_t n = 0;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return -1;
  DIR *d = fdopendir(dfd);
  if (!d) {
    int e = errno;
    close(dfd);
    errno = e;
    return -1;
  }
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) goto err;
      break;
    }
    if (!s6net_envdir_name_ok(de->d_name)) continue;
    size_t vlen = 0;
    int set = 0;
    if (read_var(dirfd(d), de->d_name, val, &vlen, &set) < 0) goto err;
    size_t nlen = strlen(de->d_name);
    size_t need = nlen + 1 + (set ? vlen + 1 : 0);
    if (need > max - n) {
      errno = ENAMETOOLONG;
      goto err;
    }
    memcpy(buf + n, de->d_name, nlen);
    n += nlen;
    if (set) {
      buf[n++] = '=';
      memcpy(buf + n, val, vlen);
      n += vlen;
    }
    buf[n++] = 0;
  }
  closedir(d);
  *len = n;
  return 0;
err:
  {
    int e = errno;
    closedir(d);
    errno = e;
  }
  return -1;
}
