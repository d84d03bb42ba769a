/* The benchmark's connection handler: read the request (up to the blank
 * line, or EOF), answer a fixed HTTP reply, exit. Built musl-static by
 * bench/tcpserver/run.sh so that its own start-up costs next to nothing;
 * the Makefile also builds it as an ordinary test helper. */
#include <string.h>
#include <unistd.h>

static char const reply[] =
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

int main(void)
{
  char buf[4096];
  size_t len = 0;
  for (;;) {
    ssize_t r = read(0, buf + len, sizeof buf - 1 - len);
    if (r <= 0) break;
    len += (size_t)r;
    buf[len] = 0;
    if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n") || len >= sizeof buf - 1) break;
  }
  return write(1, reply, sizeof reply - 1) == (ssize_t)(sizeof reply - 1) ? 0 : 111;
}
