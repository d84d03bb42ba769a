/* Raw Linux system calls, one section per architecture, for the processes
 * that share the server's memory (spawn_clone.c, acceptors.c).
 *
 * Such a process also shares the server's thread pointer, hence its
 * errno: a libc call failing in it (execve of a missing program) would
 * overwrite the errno the loop is about to test after poll() or accept(),
 * and the server died of "unable to poll: No such file or directory". So
 * the calls that can fail are made here, returning -errno and touching no
 * memory of the server's.
 *
 * Only included when spawn_backend.h selects the clone backend, which it
 * does on these architectures alone. */
#ifndef S6NET_SERVER_SYS_LINUX_H
#define S6NET_SERVER_SYS_LINUX_H

#include <sys/syscall.h>

#if defined(__x86_64__)

static inline long srv_raw6(long n, long a, long b, long c, long d, long e, long f)
{
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return r;
}

#elif defined(__aarch64__)

static inline long srv_raw6(long n, long a, long b, long c, long d, long e, long f)
{
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile ("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}

#else
#error "raw system calls: no section for this architecture (see spawn_backend.h)"
#endif

static inline long srv_raw3(long n, long a, long b, long c)
{
  return srv_raw6(n, a, b, c, 0, 0, 0);
}

#endif
