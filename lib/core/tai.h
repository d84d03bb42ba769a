/* The TAI64 label offset and big-endian packing. Pure functions. */
#ifndef S6NET_CORE_TAI_H
#define S6NET_CORE_TAI_H

#include <stdint.h>

#define S6NET_TAI64_OFFSET 4611686018427387904ULL /* 2^62 */

void s6net_u64_pack_be(unsigned char *out, uint64_t u);
uint64_t s6net_u64_unpack_be(unsigned char const *in);
void s6net_u32_pack_be(unsigned char *out, uint32_t u);
uint32_t s6net_u32_unpack_be(unsigned char const *in);
void s6net_u16_pack_be(unsigned char *out, uint16_t u);
uint16_t s6net_u16_unpack_be(unsigned char const *in);

#endif
