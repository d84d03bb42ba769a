/* s6-getservbyname name proto: print the port of a service. */
#include "core/diag.h"

#include <netdb.h>
#include <stdio.h>
#include <arpa/inet.h>

int main(int argc, char const *const *argv)
{
  s6net_prog = "s6-getservbyname";
  if (argc != 3 || !argv[1][0] || !argv[2][0]) s6net_dieusage("name proto");
  struct servent *se = getservbyname(argv[1], argv[2]);
  if (!se) return 1;
  if (printf("%u\n", (unsigned)ntohs((unsigned short)se->s_port)) < 0 || fflush(stdout) == EOF)
    s6net_diesys(111, "unable to write to stdout");
  return 0;
}
