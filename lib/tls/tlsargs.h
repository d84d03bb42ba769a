/* The command line shared by the TLS wrappers: s6-tlsd and s6-ucspitlsd on
 * the server side, s6-tlsc and s6-ucspitlsc on the client side. One parser
 * so that the two pairs can never drift apart. OpenSSL-free. */
#ifndef S6NET_TLS_TLSARGS_H
#define S6NET_TLS_TLSARGS_H

#include "tls/tls.h"

typedef struct {
  int keepkeys;          /* -Z / -z */
  unsigned int rfd, wfd; /* client: -6 / -7 (default 6 and 7) */
} s6net_tlsargs;

/* Parse the options into c (already initialised for its side with
 * s6net_tls_conf_init) and a. Dies with the usage line (exit 100) on a bad
 * option or when no program follows. Returns the index of prog in argv. */
int s6net_tlsargs_parse(int argc, char const *const *argv, s6net_tls_conf *c, s6net_tlsargs *a, char const *usage);

#endif
