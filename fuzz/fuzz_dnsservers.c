/* libFuzzer harness for the DNSCACHEIP list parser. */
#include "dns/dns.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char buf[512];
  s6net_ip46 ip[S6NET_DNS_MAXSERVERS];
  uint16_t port[S6NET_DNS_MAXSERVERS];
  if (size >= sizeof buf) size = sizeof buf - 1;
  memcpy(buf, data, size);
  buf[size] = 0;
  int n = s6net_dns_servers_scan(buf, ip, port, S6NET_DNS_MAXSERVERS);
  if (n < -1 || n > S6NET_DNS_MAXSERVERS) abort();
  for (int i = 0; i < n; i++) if (!port[i] || ip[i].is6 > 1) abort();
  return 0;
}
