/* TAI64N labels and the 12-byte clock adjustment format. Pure functions. */
#ifndef S6NET_CORE_TAI_H
#define S6NET_CORE_TAI_H

#include <stdint.h>

#define S6NET_TAI64_OFFSET 4611686018427387904ULL /* 2^62 */

typedef struct {
  uint64_t sec;   /* TAI64 label (2^62 + TAI seconds since 1970 TAI) */
  uint32_t nano;  /* 0..999999999 */
} s6net_tai64n;

void s6net_tai64n_pack(unsigned char out[12], s6net_tai64n const *t);
/* -1 (EINVAL) if nano >= 10^9. */
int s6net_tai64n_unpack(unsigned char const in[12], s6net_tai64n *t);
void s6net_u64_pack_be(unsigned char *out, uint64_t u);
uint64_t s6net_u64_unpack_be(unsigned char const *in);
void s6net_u32_pack_be(unsigned char *out, uint32_t u);
uint32_t s6net_u32_unpack_be(unsigned char const *in);
void s6net_u16_pack_be(unsigned char *out, uint16_t u);
uint16_t s6net_u16_unpack_be(unsigned char const *in);

#endif
