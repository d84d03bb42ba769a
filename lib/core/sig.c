#include "core/sig.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int selfpipe[2] = { -1, -1 };

static void handler(int sig)
{
  int e = errno;
  unsigned char c = (unsigned char)sig;
  if (write(selfpipe[1], &c, 1) < 0) { /* pipe full: a wakeup is pending anyway */ }
  errno = e;
}

int s6net_selfpipe_init(void)
{
  if (selfpipe[0] >= 0) return selfpipe[0];
  if (pipe(selfpipe) < 0) return -1;
  for (int i = 0; i < 2; i++) {
    if (fcntl(selfpipe[i], F_SETFD, FD_CLOEXEC) < 0
     || fcntl(selfpipe[i], F_SETFL, fcntl(selfpipe[i], F_GETFL) | O_NONBLOCK) < 0) return -1;
  }
  return selfpipe[0];
}

int s6net_selfpipe_trap(int sig)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0);
  sigfillset(&sa.sa_mask);
  return sigaction(sig, &sa, 0);
}

int s6net_selfpipe_read(void)
{
  unsigned char c;
  ssize_t r;
  do r = read(selfpipe[0], &c, 1); while (r < 0 && errno == EINTR);
  if (r == 1) return c;
  if (r < 0 && errno == EAGAIN) return 0;
  return r == 0 ? 0 : -1;
}
