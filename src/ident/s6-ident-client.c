/* s6-ident-client [ -t millisecs ] remoteaddr remoteport localaddr localport
 * Ask remoteaddr:113 who owns the connection remoteaddr:remoteport ->
 * localaddr:localport. Exit 0 (id on stdout), 1 (negative answer), 99
 * (timeout), 100 (usage), 111 (system error or nonsense from the server). */
#include <s6net/ident.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/deadline.h"
#include "core/diag.h"
#include "core/fd.h"
#include "core/num.h"
#include "core/opt.h"

#define USAGE "[ -t millisecs ] remoteaddr remoteport localaddr localport"

int main(int argc, char **argv)
{
  unsigned int ms = 0;
  int c;
  s6net_ip46 ra, la;
  uint16_t rp, lp;
  char line[S6NET_IDENT_REPLY_SIZE];
  s6net_ident_answer a;

  s6net_prog = "s6-ident-client";
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  while ((c = s6net_sgetopt_next(&g, argc, (char const *const *)argv, "t:")) != -1) {
    if (c != 't') s6net_dieusage(USAGE);
    if (s6net_scan_uint(g.arg, 0, 0x7fffffff, &ms) < 0) s6net_die(100, "invalid timeout: %s", g.arg);
  }
  argv += g.ind;
  if (argc - g.ind != 4) s6net_dieusage(USAGE);
  if (s6net_ip46_scan(argv[0], &ra) < 0) s6net_die(100, "invalid IP address: %s", argv[0]);
  if (s6net_scan_port(argv[1], &rp) < 0) s6net_die(100, "invalid port: %s", argv[1]);
  if (s6net_ip46_scan(argv[2], &la) < 0) s6net_die(100, "invalid IP address: %s", argv[2]);
  if (s6net_scan_port(argv[3], &lp) < 0) s6net_die(100, "invalid port: %s", argv[3]);
  if (ra.is6 != la.is6) s6net_die(100, "%s and %s are not of the same address family", argv[0], argv[2]);

  ssize_t r = s6net_ident_reply_get(line, &ra, rp, &la, lp, s6net_deadline_in(ms));
  if (r < 0) {
    if (errno == ETIMEDOUT) s6net_die(99, "unable to get an IDENT answer from %s: timed out", argv[0]);
    if (errno == EPROTO) s6net_die(111, "unable to read the IDENT answer from %s: malformed answer", argv[0]);
    s6net_diesys(111, "unable to get an IDENT answer from %s", argv[0]);
  }
  if (!r) s6net_die(1, "negative answer: %s", s6net_ident_error_str(EPIPE));
  int k = s6net_ident_answer_scan(line, (size_t)r, &a);
  if (k < 0) s6net_die(111, "unable to parse the IDENT answer from %s: malformed answer", argv[0]);
  if (a.rport != rp || a.lport != lp)
    s6net_die(111, "unable to parse the IDENT answer from %s: it is about ports %u, %u", argv[0], (unsigned)a.rport, (unsigned)a.lport);
  if (!k) {
    if (a.err == EEXIST)
      s6net_die(1, "negative answer: %s %.*s", s6net_ident_error_str(a.err), (int)a.errtoklen, line + a.errtok);
    s6net_die(1, "negative answer: %s", s6net_ident_error_str(a.err));
  }
  line[a.id + a.idlen] = '\n';
  if (s6net_write_all(1, line + a.id, a.idlen + 1) < 0) s6net_diesys(111, "unable to write to stdout");
  return 0;
}
