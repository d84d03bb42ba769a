/* Sequential connection benchmark client and spawn-rate probe.
 *   client conn HOST PORT SECONDS   connect, read to EOF, close; repeat
 *   client spawn SECONDS PROG...    posix_spawn PROG and reap it; repeat
 * Prints the rate per second on stdout. The client resets its end on
 * close (SO_LINGER 0) so that tens of thousands of connections leave no
 * TIME_WAIT sockets behind to exhaust the ephemeral ports. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int one(struct sockaddr_in const *sa)
{
  char buf[256];
  int fd = socket(AF_INET, SOCK_STREAM, 0), got = 0;
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr const *)sa, sizeof *sa) < 0) { close(fd); return -1; }
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    got += (int)r;
  }
  struct linger lg = { 1, 0 };
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
  return got > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
  if (argc >= 5 && !strcmp(argv[1], "conn")) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) return 100;
    double secs = atof(argv[4]), start = now(), end = start + secs;
    long n = 0, bad = 0;
    while (now() < end) {
      if (one(&sa) < 0 && ++bad > 100) { fprintf(stderr, "client: too many failures\n"); return 111; }
      n++;
    }
    printf("%.1f\n", (n - bad) / (now() - start));
    return 0;
  }
  if (argc >= 4 && !strcmp(argv[1], "spawn")) {
    double secs = atof(argv[2]), start = now(), end = start + secs;
    long n = 0;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    while (now() < end) {
      pid_t pid;
      int st;
      if (posix_spawn(&pid, argv[3], &fa, 0, argv + 3, environ)) return 111;
      if (waitpid(pid, &st, 0) < 0) return 111;
      n++;
    }
    printf("%.1f\n", n / (now() - start));
    return 0;
  }
  fprintf(stderr, "usage: client conn HOST PORT SECONDS | client spawn SECONDS PROG...\n");
  return 100;
}
