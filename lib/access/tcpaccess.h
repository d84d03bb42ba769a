/* The whole of s6-tcpserver-access, shared by its two builds:
 *  - s6-tcpserver-access itself uses no resolver library, so it can be
 *    linked statically with musl and start quickly: it serves the
 *    common case (-H, no -r: IP rules only) in-process;
 *  - s6-tcpserver-access-dns adds the DNS (c-ares) and IDENT lookups.
 * When lookups are asked for, the first execs the second with the same
 * arguments and environment before doing anything else, so there is one
 * decision procedure and it runs once. */
#ifndef S6NET_ACCESS_TCPACCESS_H
#define S6NET_ACCESS_TCPACCESS_H

#include <stddef.h>
#include <stdint.h>
#include "core/addr.h"
#include "core/deadline.h"

#define S6NET_TCPACCESS_DNS_PROG "s6-tcpserver-access-dns"
#define S6NET_TCPACCESS_NAMELEN 256
#define S6NET_TCPACCESS_INFOLEN 1024

/* Outcome of one lookup. */
enum {
  S6NET_TCPACCESS_OK = 0,
  S6NET_TCPACCESS_NOTFOUND,  /* a negative answer: not an error */
  S6NET_TCPACCESS_TIMEOUT,   /* the -t deadline passed */
  S6NET_TCPACCESS_FAIL       /* a resolution error (see msg) */
};

typedef struct {
  /* in */
  s6net_ip46 remote, local;
  uint16_t rport, lport;
  int have_local;
  int want_remote, want_local; /* reverse lookups to make, in parallel */
  int hosts;                   /* -h: /etc/hosts before the DNS */
  int verbosity;
  s6net_deadline deadline;
  /* out */
  int remote_status, local_status;
  char remotehost[S6NET_TCPACCESS_NAMELEN];
  char localhost[S6NET_TCPACCESS_NAMELEN];
  char msg[256];               /* detail of the last failure */
} s6net_tcpaccess_lookup;

typedef struct {
  /* Reverse lookups as asked in l; fills the statuses and names. */
  void (*names)(s6net_tcpaccess_lookup *l);
  /* Forward lookup of l->remotehost: does it give l->remote? Returns a
   * status; OK means it matches, NOTFOUND that it does not. */
  int (*confirm)(s6net_tcpaccess_lookup *l);
  /* IDENT query; OK with the id in info (NUL-terminated). */
  int (*ident)(s6net_tcpaccess_lookup *l, char *info, size_t max);
} s6net_tcpaccess_ops;

/* Runs the program; ops NULL means "no resolver here": exec the DNS build
 * when the options need lookups. Returns only through exit or exec. */
_Noreturn void s6net_tcpaccess_main(int argc, char **argv, s6net_tcpaccess_ops const *ops);

#endif
