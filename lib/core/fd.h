/* File descriptor helpers. All retry on EINTR. */
#ifndef S6NET_CORE_FD_H
#define S6NET_CORE_FD_H

#include <stddef.h>
#include <sys/types.h>

/* Move fd from to fd to (dup2 + close); to == from clears FD_CLOEXEC. */
int s6net_fd_move(int to, int from);
int s6net_fd_cloexec(int fd);
int s6net_fd_nonblock(int fd);
int s6net_fd_block(int fd);
/* Make sure fds 0, 1, 2 are open (on /dev/null if not). */
int s6net_fd_ensure012(void);
void s6net_fd_close(int fd); /* keeps errno */
/* Write everything (blocking fds). 0 or -1. */
int s6net_write_all(int fd, void const *buf, size_t len);
/* Read exactly len bytes unless EOF; returns bytes read or -1. */
ssize_t s6net_read_full(int fd, void *buf, size_t len);

#endif
