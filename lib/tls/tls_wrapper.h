/* The common body of s6-tlsd and s6-tlsc: start the engine (or hand the
 * connection to the zygote), wait for the handshake notification, then
 * exec the application with cleartext pipes where the network was. Does
 * not link the TLS backend. */
#ifndef S6NET_TLS_TLS_WRAPPER_H
#define S6NET_TLS_TLS_WRAPPER_H

#include "tls/tls.h"

typedef struct {
  s6net_tls_conf const *c; /* options to pass on to the engine */
  int netr, netw;          /* the network, as the wrapper holds it */
  int appr, appw;          /* the fds the application reads / writes */
  int keepkeys;            /* -Z */
  char const *const *prog;
} s6net_tlswrap;

/* Never returns: execs prog, or exits with the engine's failure code. */
_Noreturn void s6net_tlswrap_run(s6net_tlswrap const *w, char const *const *envp);

#endif
