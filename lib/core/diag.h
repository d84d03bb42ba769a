/* Diagnostics: one format for every program.
 *   PROG: fatal: unable to VERB OBJECT: REASON
 * The exit code is always chosen by the caller. */
#ifndef S6NET_CORE_DIAG_H
#define S6NET_CORE_DIAG_H

#include <stddef.h>

/* Set once at the top of main(). */
extern char const *s6net_prog;

#define S6NET_FMT(a, b) __attribute__((format(printf, a, b)))

/* "PROG: fatal: <msg>" then exit(code). */
_Noreturn void s6net_die(int code, char const *fmt, ...) S6NET_FMT(2, 3);
/* Same, with ": strerror(errno)" appended. */
_Noreturn void s6net_diesys(int code, char const *fmt, ...) S6NET_FMT(2, 3);
/* "PROG: usage: PROG <usage>" then exit(100). */
_Noreturn void s6net_dieusage(char const *usage);
void s6net_warn(char const *fmt, ...) S6NET_FMT(1, 2);
void s6net_warnsys(char const *fmt, ...) S6NET_FMT(1, 2);
void s6net_info(char const *fmt, ...) S6NET_FMT(1, 2);
/* The line s6net_warn ("warning") or s6net_info ("info") would write,
 * newline included, formatted into buf (truncated to size) and not
 * written: for a process that shares our memory and must make its own
 * system calls. No I/O, no errno. Returns the length. */
size_t s6net_diag_line(char *buf, size_t size, char const *kind, char const *fmt, ...) S6NET_FMT(4, 5);

#endif
