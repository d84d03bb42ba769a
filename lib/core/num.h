/* Bounded decimal number scanning (strtonum-style): the whole string must
 * be digits, no sign, no spaces, no base prefix. Return 0 on success,
 * -1 with errno EINVAL (not a number) or ERANGE (outside [min, max]). */
#ifndef S6NET_CORE_NUM_H
#define S6NET_CORE_NUM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int s6net_scan_ull(char const *s, unsigned long long min, unsigned long long max, unsigned long long *out);
int s6net_scan_uint(char const *s, unsigned int min, unsigned int max, unsigned int *out);
/* A port: 0..65535. */
int s6net_scan_port(char const *s, uint16_t *port);
/* Comma-separated list of numeric ids (gid list). At most max entries. */
int s6net_scan_idlist(char const *s, gid_t *list, size_t max, size_t *n);
/* Decimal formatting; buf needs 21 bytes; returns length, NUL-terminates. */
size_t s6net_fmt_ull(char *buf, unsigned long long u);

#endif
