/* Print the compiled-in leap-second table, one "NTPSECONDS OFFSET" line per
 * entry, then "expires NTPSECONDS", for comparison with leap-seconds.list. */
#include "clock/clock.h"

#include <stdio.h>

int main(void)
{
  for (size_t i = 0; i < s6net_leap_table_len; i++)
    printf("%u %d\n", (unsigned)s6net_leap_table[i].ntp, (int)s6net_leap_table[i].offset);
  printf("expires %u\n", (unsigned)s6net_leap_table_expires);
  return fflush(stdout) ? 111 : 0;
}
