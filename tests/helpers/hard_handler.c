/* Connection handler for the stress and hardening tests. Kept to plain
 * libc so that tools/stress.sh can also build it static with musl, where
 * spawning it costs a tenth of a glibc program.
 *   hard_handler env    write one line "ENV PROTO TCPREMOTEIP TCPREMOTEPORT
 *                       TCPLOCALPORT TCPCONNNUM SECRETS", then wait for EOF
 *                       (so that the connection lives for a client round
 *                       trip); SECRETS counts KEYFILE*, CERTFILE*, CAFILE,
 *                       CADIR, TLS_UID, TLS_GID variables that reached us
 *   hard_handler echo   copy stdin to stdout until EOF
 *   hard_handler ids    write "IDS uid gid groups..." and exit
 *   hard_handler early  exit at once without reading or writing
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static char const *var(char const *name)
{
  char const *v = getenv(name);
  return v && *v ? v : "-";
}

static int secrets(void)
{
  static char const *const exact[] = { "KEYFILE", "CERTFILE", "CAFILE", "CADIR", "TLS_UID", "TLS_GID", 0 };
  int n = 0;
  for (char **e = environ; *e; e++) {
    size_t l = strcspn(*e, "=");
    if (!strncmp(*e, "KEYFILE:", 8) || !strncmp(*e, "CERTFILE:", 9)) { n++; continue; }
    for (char const *const *x = exact; *x; x++)
      if (strlen(*x) == l && !strncmp(*e, *x, l)) n++;
  }
  return n;
}

static int put(char const *s, size_t len)
{
  while (len) {
    ssize_t w = write(1, s, len);
    if (w <= 0) return -1;
    s += w;
    len -= (size_t)w;
  }
  return 0;
}

int main(int argc, char **argv)
{
  char const *mode = argc > 1 ? argv[1] : "env";
  char buf[4096];
  if (!strcmp(mode, "env")) {
    int n = snprintf(buf, sizeof buf, "ENV %s %s %s %s %s %d\n", var("PROTO"), var("TCPREMOTEIP"),
                     var("TCPREMOTEPORT"), var("TCPLOCALPORT"), var("TCPCONNNUM"), secrets());
    if (n <= 0 || (size_t)n >= sizeof buf || put(buf, (size_t)n) < 0) return 111;
    while (read(0, buf, sizeof buf) > 0) ;
    return 0;
  }
  if (!strcmp(mode, "echo")) {
    for (;;) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r <= 0) return r < 0 ? 111 : 0;
      if (put(buf, (size_t)r) < 0) return 111;
    }
  }
  if (!strcmp(mode, "ids")) {
    gid_t g[64];
    int ng = getgroups(64, g);
    int n = snprintf(buf, sizeof buf, "IDS %ld %ld", (long)getuid(), (long)getgid());
    for (int i = 0; i < ng && n > 0 && (size_t)n < sizeof buf - 24; i++)
      n += snprintf(buf + n, sizeof buf - (size_t)n, " %ld", (long)g[i]);
    if (n <= 0 || (size_t)n >= sizeof buf - 1) return 111;
    buf[n++] = '\n';
    return put(buf, (size_t)n) ? 111 : 0;
  }
  if (!strcmp(mode, "early")) return 0;
  return 100;
}
