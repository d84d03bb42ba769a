/* Finding and running sibling programs of this suite. A chain-loading
 * program runs *our* sibling, not one of the same name on PATH: siblings
 * are looked up in DIR/../libexec/s6net (where an install next to
 * Debian's s6 puts the programs whose names s6 also ships), then in DIR
 * itself, DIR being the directory of the running executable
 * (/proc/self/exe), or the compiled-in S6NET_BINDIR without /proc. */
#ifndef S6NET_CORE_EXEC_H
#define S6NET_CORE_EXEC_H

#include <stddef.h>

/* Fill buf with the sibling's full path. 0, or -1 (ENAMETOOLONG). */
int s6net_sibling(char *buf, size_t len, char const *name);
/* execve the sibling with argv (argv[0] untouched) and envp; returns only on error. */
int s6net_exec_sibling(char const *name, char const *const *argv, char const *const *envp);
/* execvpe-like: PATH search for argv[0] with envp; returns only on error. */
int s6net_exec(char const *const *argv, char const *const *envp);

#endif
