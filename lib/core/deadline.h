/* Deadlines on the monotonic clock, in milliseconds. */
#ifndef S6NET_CORE_DEADLINE_H
#define S6NET_CORE_DEADLINE_H

#include <stdint.h>
#include <poll.h>
#include <sys/socket.h>

typedef int64_t s6net_deadline; /* absolute monotonic ms; INT64_MAX = never */
#define S6NET_DEADLINE_NEVER INT64_MAX

int64_t s6net_now_ms(void);
/* ms == 0 means no deadline. */
s6net_deadline s6net_deadline_in(unsigned int ms);
/* Timeout for poll(): -1 for never, else remaining ms (>= 0). */
int s6net_deadline_remaining(s6net_deadline d);
int s6net_deadline_passed(s6net_deadline d);
/* poll() until an event or the deadline; EINTR is retried with the
 * remaining time. Returns like poll (0 = deadline passed). */
int s6net_poll(struct pollfd *fds, nfds_t n, s6net_deadline d);
/* connect() a non-blocking socket, waiting for the outcome until the
 * deadline. 0 when connected; -1 with errno set, ETIMEDOUT when the
 * deadline passed, otherwise the connection's own error. */
int s6net_connect_deadline(int fd, struct sockaddr const *sa, socklen_t len, s6net_deadline d);

#endif
