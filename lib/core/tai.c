#include "core/tai.h"

void s6net_u64_pack_be(unsigned char *out, uint64_t u)
{
  for (int i = 7; i >= 0; i--) { out[i] = (unsigned char)u; u >>= 8; }
}

uint64_t s6net_u64_unpack_be(unsigned char const *in)
{
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u = u << 8 | in[i];
  return u;
}

void s6net_u32_pack_be(unsigned char *out, uint32_t u)
{
  out[0] = (unsigned char)(u >> 24); out[1] = (unsigned char)(u >> 16);
  out[2] = (unsigned char)(u >> 8); out[3] = (unsigned char)u;
}

uint32_t s6net_u32_unpack_be(unsigned char const *in)
{
  return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

void s6net_u16_pack_be(unsigned char *out, uint16_t u)
{
  out[0] = (unsigned char)(u >> 8); out[1] = (unsigned char)u;
}

uint16_t s6net_u16_unpack_be(unsigned char const *in)
{
  return (uint16_t)((unsigned)in[0] << 8 | in[1]);
}
