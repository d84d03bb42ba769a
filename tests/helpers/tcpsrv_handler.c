/* Connection handler for the s6-tcpserver tests.
 *   tcpsrv_handler env     print the UCSPI variables and the open fds, exit
 *   tcpsrv_handler hold    print "pid N", then wait for EOF on stdin
 *   tcpsrv_handler stubborn  like hold, but ignore SIGTERM
 *   tcpsrv_handler exit N  exit with code N at once
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char const *const names[] = {
  "PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPCONNNUM",
  "TCPLOCALHOST", "TCPREMOTEHOST", "UID", "GID", "GIDLIST", "MARKER",
};

static void fds(FILE *out)
{
  DIR *d = opendir("/proc/self/fd");
  if (!d) return;
  int self = dirfd(d);
  fputs("fds:", out);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (atoi(e->d_name) == self) continue;
    fprintf(out, " %s", e->d_name);
  }
  fputc('\n', out);
  closedir(d);
}

static void hold(void)
{
  char buf[256];
  printf("pid %ld\n", (long)getpid());
  fflush(stdout);
  while (read(0, buf, sizeof buf) > 0) ;
}

int main(int argc, char **argv)
{
  char const *mode = argc > 1 ? argv[1] : "env";
  if (!strcmp(mode, "env")) {
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
      char const *v = getenv(names[i]);
      if (v) printf("%s=%s\n", names[i], v);
      else printf("%s unset\n", names[i]);
    }
    printf("uid=%ld gid=%ld\n", (long)getuid(), (long)getgid());
    gid_t g[64];
    int n = getgroups(64, g);
    printf("groups:");
    for (int i = 0; i < n; i++) printf(" %ld", (long)g[i]);
    printf("\n");
    fflush(stdout);
    fds(stdout);
    return 0;
  }
  if (!strcmp(mode, "hold")) { hold(); return 0; }
  if (!strcmp(mode, "stubborn")) { signal(SIGTERM, SIG_IGN); hold(); return 0; }
  if (!strcmp(mode, "exit") && argc > 2) return atoi(argv[2]);
  return 100;
}
