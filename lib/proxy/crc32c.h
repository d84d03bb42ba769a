/* Internal: the table-driven CRC32C, used where the CPU has no CRC32C
 * instruction; exposed so the unit tests check both paths agree. */
#ifndef S6NET_PROXY_CRC32C_H
#define S6NET_PROXY_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t s6net_crc32c_portable(uint32_t crc, void const *data, size_t len);

#endif
