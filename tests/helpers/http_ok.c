/* The per-connection HTTP application of the tests and benchmarks, for
 * stdin/stdout (UCSPI or inetd style): reads the request head (up to the
 * blank line, EOF, or a full buffer), answers 200 with the body "ok",
 * exits. One program for every server compared (s6-tcpserver, tcpserver,
 * tcpsvd, socat; s6-tlsserver, stunnel, socat), so a comparison is about
 * the server. bench/tcpserver/run.sh also builds it static with musl, so
 * that its own start-up costs next to nothing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>
#include <unistd.h>

static char const reply[] =
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

int main(void)
{
  char buf[8192];
  size_t len = 0;
  while (len < sizeof buf) {
    ssize_t r = read(0, buf + len, sizeof buf - len);
    if (r <= 0) break;
    len += (size_t)r;
    if (memmem(buf, len, "\r\n\r\n", 4) || memmem(buf, len, "\n\n", 2)) break;
  }
  return write(1, reply, sizeof reply - 1) == (ssize_t)(sizeof reply - 1) ? 0 : 111;
}
