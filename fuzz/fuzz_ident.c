/* libFuzzer harness for the IDENT answer parser and line framing. The
 * first two bytes choose the ports the answer is checked against. */
#include <s6net/ident.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  char line[S6NET_IDENT_REPLY_SIZE];
  size_t linelen = 0;
  s6net_ident_answer a;
  uint16_t rp = 6191, lp = 23;
  if (size >= 2 && data[0] == 0xff) { rp = data[1]; lp = (uint16_t)(data[1] + 1); data += 2; size -= 2; }
  char const *buf = (char const *)data;

  ssize_t used = s6net_ident_line_scan(buf, size, &linelen);
  if (used > 0) {
    if ((size_t)used > size || linelen >= S6NET_IDENT_REPLY_SIZE || linelen >= (size_t)used) abort();
    memcpy(line, buf, linelen);
    line[linelen] = 0;
    ssize_t id = s6net_ident_reply_parse(line, rp, lp);
    if (id > (ssize_t)linelen) abort();
  }

  /* The scanner on raw bytes too, NULs and all. */
  int r = s6net_ident_answer_scan(buf, size, &a);
  if (r == 1) {
    if (!a.idlen || a.id + a.idlen != size || !a.opsyslen || a.opsys + a.opsyslen > size) abort();
    if (a.charsetlen && a.charset + a.charsetlen > size) abort();
  } else if (r == 0) {
    if (!a.err || !a.errtoklen || a.errtok + a.errtoklen > size) abort();
  }
  return 0;
}
