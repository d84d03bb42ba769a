#include "core/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int s6net_fd_move(int to, int from)
{
  if (to == from) {
    int fl = fcntl(from, F_GETFD);
    if (fl < 0) return -1;
    return fl & FD_CLOEXEC ? fcntl(from, F_SETFD, fl & ~FD_CLOEXEC) : 0;
  }
  while (dup2(from, to) < 0) if (errno != EINTR) return -1;
  close(from);
  return 0;
}

int s6net_fd_cloexec(int fd)
{
  int fl = fcntl(fd, F_GETFD);
  if (fl < 0) return -1;
  return fl & FD_CLOEXEC ? 0 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

int s6net_fd_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return -1;
  return fl & O_NONBLOCK ? 0 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int s6net_fd_block(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return -1;
  return fl & O_NONBLOCK ? fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) : 0;
}

int s6net_fd_ensure012(void)
{
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) continue;
    int n = open("/dev/null", fd ? O_WRONLY : O_RDONLY);
    if (n < 0) return -1;
    if (n != fd) { errno = EBADF; close(n); return -1; }
  }
  return 0;
}

void s6net_fd_close(int fd)
{
  int e = errno;
  close(fd);
  errno = e;
}

int s6net_write_all(int fd, void const *buf, size_t len)
{
  char const *p = buf;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static ssize_t read_once(int fd, void *buf, size_t len)
{
  ssize_t r;
  do r = read(fd, buf, len); while (r < 0 && errno == EINTR);
  return r;
}

ssize_t s6net_read_full(int fd, void *buf, size_t len)
{
  size_t got = 0;
  while (got < len) {
    ssize_t r = read_once(fd, (char *)buf + got, len - got);
    if (r < 0) return -1;
    if (!r) break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}
