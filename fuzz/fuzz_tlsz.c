/* The zygote request (tls_zygote_msg.h) on hostile bytes: whatever decodes is
 * exactly as long as it says, carries a printable peer, and encodes back
 * to the same bytes; the fingerprint walk of the digest never reads
 * outside the input. */
#include "tls/tls_zygote_msg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  s6net_tlsz_req r;
  if (s6net_tlsz_hdr_decode(data, size, &r) == 0) {
    if (S6NET_TLSZ_HDR + (size_t)r.fplen + r.peerlen != size) abort();
    if (r.fplen > S6NET_TLSZ_FPMAX || r.peerlen > S6NET_TLSZ_PEERMAX) abort();
    if (r.closenotify > 1 || r.strict > 1) abort();
    for (size_t i = size - r.peerlen; i < size; i++) if (data[i] < 0x21 || data[i] > 0x7e) abort();
    unsigned char h[S6NET_TLSZ_HDR];
    s6net_tlsz_hdr_encode(h, &r);
    if (memcmp(h, data, S6NET_TLSZ_HDR)) abort();
  }
  /* The fingerprint walk, on a copy without the trailing NUL guarantee;
   * paths are made to not exist so that nothing on disk is touched
   * beyond a stat. */
  if (size && size <= 4096) {
    char *fp = malloc(size);
    if (!fp) return 0;
    memcpy(fp, data, size);
    for (size_t i = 0; i < size; i++) if (fp[i] == '/') fp[i] = '_';
    (void)s6net_tlsz_digest(fp, size);
    for (size_t i = 0, l; i < size; i += l + 1) {
      l = strnlen(fp + i, size - i);
      (void)s6net_tlsz_is_filevar(fp + i, l);
    }
    free(fp);
  }
  return 0;
}
