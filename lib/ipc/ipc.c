#include "ipc/ipc.h"
#include "core/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

socklen_t s6net_ipc_addr(struct sockaddr_un *sa, char const *path)
{
  size_t l = strlen(path);
  if (!l) { errno = EINVAL; return 0; }
  if (l >= sizeof sa->sun_path) { errno = ENAMETOOLONG; return 0; }
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, path, l + 1);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l + 1);
}

int s6net_ipc_connect(char const *path, char const *localpath, int *inbind)
{
  struct sockaddr_un sa;
  int dummy;
  if (!inbind) inbind = &dummy;
  *inbind = 0;
  socklen_t len = s6net_ipc_addr(&sa, path);
  if (!len) return -1;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  if (localpath) {
    struct sockaddr_un la;
    socklen_t llen = s6net_ipc_addr(&la, localpath);
    if (!llen || bind(s, (struct sockaddr *)&la, llen) < 0) { *inbind = 1; goto err; }
  }
  while (connect(s, (struct sockaddr *)&sa, len) < 0) {
    if (errno != EINTR) goto err;
  }
  return s;
err:
  s6net_fd_close(s);
  return -1;
}

ssize_t s6net_ipc_sendfds(int sock, void const *buf, size_t len, int const *fds, unsigned int nfds)
{
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int) * 8)]; } ctl;
  struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
  if (nfds > 8) { errno = EINVAL; return -1; }
  if (nfds) {
    memset(&ctl, 0, sizeof ctl);
    m.msg_control = ctl.b;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t r;
  do r = sendmsg(sock, &m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r;
}

ssize_t s6net_ipc_recvfds(int sock, void *buf, size_t len, int *fds, unsigned int max,
                          unsigned int *nfds, int *extra, int flags)
{
  /* Room for more descriptors than anyone should send, so that extras
   * are received here and closed rather than truncated by the kernel. */
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int) * 32)]; } ctl;
  struct iovec iov = { .iov_base = buf, .iov_len = len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b };
  ssize_t r;
#ifdef MSG_CMSG_CLOEXEC
  flags |= MSG_CMSG_CLOEXEC;
#endif
  do r = recvmsg(sock, &m, flags);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -1;
  if (m.msg_flags & MSG_CTRUNC) *extra = 1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    unsigned char const *d = CMSG_DATA(c);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, d + i * sizeof(int), sizeof(int));
#ifndef MSG_CMSG_CLOEXEC
      s6net_fd_cloexec(fd);
#endif
      if (*nfds < max) fds[(*nfds)++] = fd;
      else { s6net_fd_close(fd); *extra = 1; }
    }
  }
  return r;
}

int s6net_ipc_peercred(int fd, uid_t *uid, gid_t *gid, pid_t *pid)
{
#ifdef SO_PEERCRED
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) return -1;
  *uid = cr.uid; *gid = cr.gid;
  if (pid) *pid = cr.pid;
  return 0;
#else
  if (getpeereid(fd, uid, gid) < 0) return -1;
  if (pid) *pid = -1;
  return 0;
#endif
}

int s6net_ipc_read_exact(int fd, void *buf, size_t len, s6net_deadline d)
{
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n > 0) { got += (size_t)n; continue; }
    if (!n) { errno = EPIPE; return 0; }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return -1;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = s6net_poll(&p, 1, d);
    if (r < 0) return -1;
    if (!r) { errno = ETIMEDOUT; return -1; }
  }
  return 1;
}

int s6net_ipc_write_all(int fd, void const *buf, size_t len, s6net_deadline d)
{
  size_t done = 0;
  while (done < len) {
    ssize_t n = send(fd, (char const *)buf + done, len - done, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = write(fd, (char const *)buf + done, len - done);
    if (n >= 0) { done += (size_t)n; continue; }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return -1;
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int r = s6net_poll(&p, 1, d);
    if (r < 0) return -1;
    if (!r) { errno = ETIMEDOUT; return -1; }
  }
  return 0;
}
