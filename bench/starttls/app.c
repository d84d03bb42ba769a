/* The benchmark's server application, in C so that its own start-up
 * cost stays small next to what is measured: a greeting, then QUIT ->
 * 221; STARTTLS -> 220 and 'y' on $SSLCTLFD, then the same over
 * $SSLREADFD / $SSLWRITEFD. Under s6-tlsd it simply talks on 0/1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rd = 0, wr = 1;

static int getline_fd(char *buf, size_t cap)
{
  size_t n = 0;
  while (n + 1 < cap) {
    if (read(rd, buf + n, 1) != 1) return -1;
    if (buf[n++] == '\n') break;
  }
  buf[n] = 0;
  return 0;
}

static void say(char const *s)
{
  if (write(wr, s, strlen(s)) < 0) _exit(111);
}

int main(void)
{
  char buf[256];
  char const *ctl = getenv("SSLCTLFD");
  say("220 bench ready\r\n");
  while (getline_fd(buf, sizeof buf) == 0) {
    if (!strncmp(buf, "STARTTLS", 8) && ctl && rd == 0) {
      say("220 go ahead\r\n");
      if (write(atoi(ctl), "y", 1) != 1) return 111;
      rd = atoi(getenv("SSLREADFD"));
      wr = atoi(getenv("SSLWRITEFD"));
      close(0);
      close(1);
    } else if (!strncmp(buf, "QUIT", 4)) {
      say("221 bye\r\n");
      return 0;
    } else say("500 what\r\n");
  }
  return 0;
}
