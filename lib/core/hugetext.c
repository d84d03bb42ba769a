#include "core/hugetext.h"

#include <link.h>

#if defined(__linux__) && defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define HUGE ((uintptr_t)2 << 20)
#define PAGE ((uintptr_t)4096)

struct seg { uintptr_t lo, hi; };

/* The executable is the first object dl_iterate_phdr reports: its code
 * is the loadable segment that is executable and not writable. */
static int exec_code(struct dl_phdr_info *info, size_t size, void *p)
{
  struct seg *s = p;
  (void)size;
  for (unsigned int i = 0; i < info->dlpi_phnum; i++) {
    ElfW(Phdr) const *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && !(ph->p_flags & PF_W)) {
      s->lo = info->dlpi_addr + ph->p_vaddr;
      s->hi = s->lo + ph->p_memsz;
      break;
    }
  }
  return 1;
}

unsigned long s6net_hugetext(char const *name)
{
  struct seg s = { 0, 0 };
  dl_iterate_phdr(exec_code, &s);
  if (!s.lo || s.lo % HUGE) return 0;
  uintptr_t end = (s.hi + PAGE - 1) & ~(PAGE - 1);
  uintptr_t top = (s.hi + HUGE - 1) & ~(HUGE - 1);
  size_t len = top - s.lo;
  /* What lies between the end of the code and the boundary must be
   * free: claim it, or change nothing. */
  if (top > end) {
    void *g = mmap((void *)end, top - end, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (g == MAP_FAILED) return 0;
    if ((uintptr_t)g != end) { munmap(g, top - end); return 0; }
  }
  char *raw = mmap(0, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) goto unclaim;
  char *copy = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
  if (copy > raw) munmap(raw, (size_t)(copy - raw));
  if (raw + HUGE > copy) munmap(copy + len, (size_t)(raw + HUGE - copy));
  if (madvise(copy, len, MADV_HUGEPAGE) < 0) goto drop;
  memcpy(copy, (void const *)s.lo, s.hi - s.lo);
  /* Every byte in a huge page, or nothing: small anonymous pages would
   * have each fork copy their entries, which costs more than it saves. */
  if (madvise(copy, len, MADV_COLLAPSE) < 0) goto drop;
  if (mprotect(copy, len, PROT_READ | PROT_EXEC) < 0) goto drop;
  /* Named in /proc/PID/maps, where the file's name no longer shows. */
  if (name) prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)copy, len, (unsigned long)name);
  if (mremap(copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)s.lo) == MAP_FAILED) goto drop;
  return (unsigned long)len;
 drop:
  munmap(copy, len);
 unclaim:
  if (top > end) munmap((void *)end, top - end);
  return 0;
}

#else

unsigned long s6net_hugetext(char const *name)
{
  (void)name;
  return 0;
}

#endif
