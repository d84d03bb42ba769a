/* UNIX domain socket helpers: addresses, fd passing, peer credentials. */
#ifndef S6NET_IPC_IPC_H
#define S6NET_IPC_IPC_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/deadline.h"

/* Fill a sockaddr_un for path. Returns its length, or 0 with errno
 * ENAMETOOLONG (path does not fit) or EINVAL (empty path). */
socklen_t s6net_ipc_addr(struct sockaddr_un *sa, char const *path);

/* A SOCK_STREAM socket connected to path (blocking, close-on-exec),
 * optionally bound first to localpath. -1 with errno on failure; then
 * *inbind (if not NULL) says whether binding localpath failed. */
int s6net_ipc_connect(char const *path, char const *localpath, int *inbind);

/* sendmsg with nfds descriptors attached (SCM_RIGHTS), MSG_NOSIGNAL.
 * Returns the bytes sent (maybe fewer than len on a stream) or -1. */
ssize_t s6net_ipc_sendfds(int sock, void const *buf, size_t len, int const *fds, unsigned int nfds);

/* recvmsg into buf; descriptors that arrive are stored close-on-exec
 * in fds[*nfds], *nfds incremented, up to max. Any beyond max are
 * closed at once and *extra is set, so none ever leaks. Returns the
 * bytes read (0 at EOF) or -1. */
ssize_t s6net_ipc_recvfds(int sock, void *buf, size_t len, int *fds, unsigned int max,
                          unsigned int *nfds, int *extra, int flags);

/* The peer's effective uid and gid from the kernel (SO_PEERCRED on
 * Linux, getpeereid elsewhere). pid may be NULL; -1 where unknown. */
int s6net_ipc_peercred(int fd, uid_t *uid, gid_t *gid, pid_t *pid);

/* Read exactly len bytes before the deadline, on a blocking or
 * non-blocking fd. 1 when done; 0 at EOF (errno EPIPE); -1 on error or
 * timeout (errno ETIMEDOUT). */
int s6net_ipc_read_exact(int fd, void *buf, size_t len, s6net_deadline d);
/* Write everything before the deadline (MSG_NOSIGNAL on sockets).
 * 0 or -1 (errno ETIMEDOUT on timeout). */
int s6net_ipc_write_all(int fd, void const *buf, size_t len, s6net_deadline d);

#endif
