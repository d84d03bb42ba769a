/* The common body of s6-ucspitlsd and s6-ucspitlsc (UCSPI-TLS, delayed
 * TLS for STARTTLS-style protocols).
 *
 * The program forks. The parent execs the application with SSLCTLFD,
 * SSLREADFD and SSLWRITEFD in its environment and the network still on
 * its usual fds. The child (the "helper") waits for one command byte on
 * the control socket: 'y' or 'Y' makes it exec the engine
 * (s6-tlsd-io / s6-tlsc-io) between the network and the application's
 * pipes, with the control socket as the engine's handshake notification
 * fd for 'Y'; EOF makes it exit 0 (TLS declined); any other byte makes
 * it exit 100. Like tls_wrapper.c, this does not link the TLS backend. */
#ifndef S6NET_TLS_UCSPITLS_H
#define S6NET_TLS_UCSPITLS_H

#include "tls/tls.h"

#include <stddef.h>

typedef struct {
  s6net_tls_conf const *c; /* options to pass on to the engine */
  int netr, netw;          /* the network, as the program holds it */
  int keepkeys;            /* -Z */
  char const *const *prog;
} s6net_ucspitls;

/* Never returns: the parent execs prog, the child waits for a command and
 * execs the engine or exits (0 declined, 100 bad command, 111 system). */
_Noreturn void s6net_ucspitls_run(s6net_ucspitls const *u, char const *const *envp);

/* The command byte: 1 = start TLS ('y'), 2 = start TLS and send the
 * connection information back on the control socket ('Y'), 0 = unknown. */
int s6net_ucspitls_command(unsigned char cmd);

/* The application's environment (pure): envp without the key variables
 * (unless keepkeys) and without stale SSLCTLFD / SSLREADFD / SSLWRITEFD,
 * plus those three set to ctl, rfd, wfd. buf (at least 64 bytes) holds
 * the new strings. Returns the number of entries (out is
 * NULL-terminated), or -1 if outmax (counting the NULL) is too small. */
long s6net_ucspitls_appenv(char const **out, size_t outmax, char *buf, size_t buflen,
                           char const *const *envp, int keepkeys, int ctl, int rfd, int wfd);

#endif
