/* The benchmark's connection handler: one short reply, then exit. */
#include <unistd.h>

int main(void)
{
  static char const msg[] = "ok\n";
  return write(1, msg, sizeof msg - 1) == sizeof msg - 1 ? 0 : 111;
}
