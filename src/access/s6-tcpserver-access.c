/* s6-tcpserver-access: TCP access control in a UCSPI chain. This build
 * has no resolver: it handles IP rules itself and hands runs that need
 * DNS or IDENT lookups to s6-tcpserver-access-dns (see access/tcpaccess.h). */
#include "access/tcpaccess.h"

int main(int argc, char **argv)
{
  s6net_tcpaccess_main(argc, argv, 0);
}
