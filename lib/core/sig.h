/* Signals through a self-pipe: handlers only write the signal number. */
#ifndef S6NET_CORE_SIG_H
#define S6NET_CORE_SIG_H

#include <signal.h>

/* Create the pipe (non-blocking, close-on-exec); returns the read end. */
int s6net_selfpipe_init(void);
/* Route sig to the pipe. */
int s6net_selfpipe_trap(int sig);
/* Next pending signal number, 0 if none, -1 on error. */
int s6net_selfpipe_read(void);

#endif
