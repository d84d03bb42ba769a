/* The program's own code in transparent huge pages. */
#ifndef S6NET_CORE_HUGETEXT_H
#define S6NET_CORE_HUGETEXT_H

/* For a process that forks many short-lived children (the TLS zygote).
 * Replaces the executable's code segment, at the same address, by an
 * anonymous copy held in 2 MiB pages, readable and executable, never
 * writable once it is executable. A child then inherits a few huge page
 * table entries instead of faulting the code in, page after page (fork
 * never copies the entries of a file's pages), and its exit has as few
 * to tear down.
 *
 * Only for an executable linked with 2 MiB segment alignment (its code
 * segment starts on a 2 MiB boundary, and nothing is mapped between its
 * end and the next one: the Makefile's HUGE_TEXT list). The copy is
 * named name in /proc/PID/maps where the kernel allows it. Returns the
 * bytes now held in huge pages, or 0 if nothing was changed: not such an
 * executable, not Linux with glibc, a sanitizer build, no huge page to
 * be had (transparent huge pages set to "never", memory too fragmented,
 * a kernel before 6.1). Profilers that name code by the file it is
 * mapped from (perf) no longer see the code's file. */
unsigned long s6net_hugetext(char const *name);

#endif
