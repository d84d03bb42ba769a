#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* The physical limit of a super-server on this machine, measured without
 * any server:
 *   tcpsrv_phys spawn HANDLER N   spawn+reap HANDLER N times (stdin and
 *                                 stdout on /dev/null), posix_spawn and vfork
 *   tcpsrv_phys net N             N loopback connect/accept/close rounds
 * Prints "us_per_op=..." lines. */
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/types.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int spawn_bench(char const *path, long n)
{
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return 111;
  char *argv[] = { (char *)path, 0 };
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, null, 0);
  posix_spawn_file_actions_adddup2(&fa, null, 1);
  double t0 = now_us();
  for (long i = 0; i < n; i++) {
    pid_t pid;
    if (posix_spawn(&pid, path, &fa, 0, argv, environ)) return 111;
    waitpid(pid, 0, 0);
  }
  double t1 = now_us();
  printf("posix_spawn us_per_op=%.2f\n", (t1 - t0) / n);
  for (long i = 0; i < n; i++) {
    pid_t pid = vfork();
    if (pid < 0) return 111;
    if (!pid) {
      dup2(null, 0);
      dup2(null, 1);
      execve(path, argv, environ);
      _exit(127);
    }
    waitpid(pid, 0, 0);
  }
  double t2 = now_us();
  printf("vfork us_per_op=%.2f\n", (t2 - t1) / n);
  return 0;
}

static int net_bench(long n)
{
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(0x7f000001);
  socklen_t len = sizeof sa;
  if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 64)
   || getsockname(l, (struct sockaddr *)&sa, &len)) return 111;
  char buf[64];
  double t0 = now_us();
  for (long i = 0; i < n; i++) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof sa)) return 111;
    int s = accept4(l, 0, 0, SOCK_CLOEXEC);
    if (s < 0) return 111;
    close(s);
    while (read(c, buf, sizeof buf) > 0) ;
    close(c);
  }
  printf("net us_per_op=%.2f\n", (now_us() - t0) / n);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 4 && !strcmp(argv[1], "spawn")) return spawn_bench(argv[2], atol(argv[3]));
  if (argc == 3 && !strcmp(argv[1], "net")) return net_bench(atol(argv[2]));
  fprintf(stderr, "usage: tcpsrv_phys spawn HANDLER N | net N\n");
  return 100;
}
