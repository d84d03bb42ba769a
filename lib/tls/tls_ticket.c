/* Session-ticket keys of the zygote (tls.h). This is a stub: tickets are
 * off whatever the period, and nothing ever needs rotating. */
#include "tls/tls.h"

int s6net_tls_tickets_start(unsigned int period)
{
  (void)period;
  return 0;
}

long s6net_tls_tickets_tick(void)
{
  return -1;
}
