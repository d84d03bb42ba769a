/* Finding and running sibling programs of this suite. A chain-loading
 * program runs *our* sibling, not one of the same name on PATH: siblings
 * are looked up in DIR/../libexec/s6net (where an install next to
 * Debian's s6 puts the programs whose names s6 also ships), then in DIR
 * itself, DIR being the directory of the running executable
 * (/proc/self/exe), or the compiled-in S6NET_BINDIR without /proc. */
#ifndef S6NET_CORE_EXEC_H
#define S6NET_CORE_EXEC_H

#include <limits.h>
#include <stddef.h>

/* Fill buf with the sibling's full path. 0, or -1 (ENAMETOOLONG). */
int s6net_sibling(char *buf, size_t len, char const *name);
/* execve the sibling with argv (argv[0] untouched) and envp; returns only on error. */
int s6net_exec_sibling(char const *name, char const *const *argv, char const *const *envp);

/* The PATH search, one rule for every program of the suite, the
 * super-servers' children and the programs spawned with s6net_spawn:
 *   - a name with a '/' is used as it is, without a search; an empty
 *     name is never found (ENOENT);
 *   - else DIR/name for each entry DIR of PATH, left to right; an empty
 *     entry (a leading, trailing or doubled ':') is the current
 *     directory, as for execvp(3); an entry for which DIR/name would
 *     not fit in PATH_MAX bytes is passed over;
 *   - PATH is the one of the environment the program is run with (never
 *     the caller's own, when the two differ); without one there,
 *     S6NET_DEFAULT_PATH. */
#define S6NET_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* The search list for a program run with envp: its PATH, or the default. */
char const *s6net_path_get(char const *const *envp);

/* The candidates for name, one per call. *pos starts at the search list
 * (s6net_path_get) and is NULL once every candidate has been given.
 * Returns 1 with the candidate in buf (NUL-terminated), 0 when there are
 * no more, -1 when this one does not fit in len bytes (it is skipped:
 * call again). No system call and errno untouched, so that a child
 * sharing the caller's memory can use it. */
int s6net_path_next(char const **pos, char const *name, char *buf, size_t len);

/* The first candidate that is a regular file we may execute, into buf:
 * 0, or -1 with errno ENOENT (none; EACCES if one was there but not
 * executable). */
int s6net_path_find(char const *name, char const *path, char *buf, size_t len);

/* execvpe-like: the program name, searched as above in the PATH of envp,
 * executed with argv and envp. Returns only on error, with errno: that of
 * the last candidate that existed, else ENOENT. */
int s6net_exec_search(char const *name, char const *const *argv, char const *const *envp);
/* s6net_exec_search of argv[0]. */
int s6net_exec(char const *const *argv, char const *const *envp);

#endif
