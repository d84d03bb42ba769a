/* Minimal HTTP responder for stdin/stdout (UCSPI or inetd style): reads
 * the request head, answers 200 "ok", exits. Used by the TLS benchmarks
 * and tests as the same per-connection application for every tunnel. */
#include <string.h>
#include <unistd.h>

int main(void)
{
  char buf[8192];
  size_t len = 0;
  while (len < sizeof buf) {
    ssize_t r = read(0, buf + len, sizeof buf - len);
    if (r <= 0) return 1;
    len += (size_t)r;
    if (memmem(buf, len, "\r\n\r\n", 4)) break;
  }
  static char const resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  return write(1, resp, sizeof resp - 1) == (ssize_t)(sizeof resp - 1) ? 0 : 1;
}
