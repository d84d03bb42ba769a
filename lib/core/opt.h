/* Command-line options, the same way in every program.
 *
 * Like POSIX getopt, but with no global state (a parse is a value, so it
 * can be restarted or run twice) and no permutation: scanning stops at
 * the first argument that is not an option, or just after "--", so what
 * follows (the next program's command line, which often has options of
 * its own) is left alone whatever POSIXLY_CORRECT says. A lone "-" is
 * not an option either. Nothing is printed: the caller reports errors,
 * in its own words and under its own name. Pure. */
#ifndef S6NET_CORE_OPT_H
#define S6NET_CORE_OPT_H

typedef struct {
  int ind;          /* next argv index; starts at 1 */
  int pos;          /* position inside a bundle like -Sjk1 */
  char const *arg;  /* argument of the last option that takes one */
  char opt;         /* the offending option on error ('-' for a long one) */
} s6net_sgetopt;

#define S6NET_SGETOPT_INIT { 1, 0, 0, 0 }

/* spec lists the option characters; one followed by ':' takes an
 * argument, either the rest of its word (-t5) or the next word (-t 5,
 * even if that word starts with '-'). Returns the option character, -1
 * at the end of the options (g->ind is then the first operand), '?' for
 * an unknown option, ':' for a missing argument. */
int s6net_sgetopt_next(s6net_sgetopt *g, int argc, char const *const *argv, char const *spec);

/* A long option, "--name", that takes no argument and stands for the
 * short option opt. A table ends with a null name. */
typedef struct {
  char const *name;
  char opt;
} s6net_sgetopt_long;

/* s6net_sgetopt_next, where a word "--name" is also recognised when it
 * is the name of an entry of longs or an unambiguous prefix of one (as
 * getopt_long does): the entry's opt is returned. Any other "--word"
 * (unknown, ambiguous, or "--name=value") gives '?' with g->opt '-'. */
int s6net_sgetopt_next_long(s6net_sgetopt *g, int argc, char const *const *argv, char const *spec,
                            s6net_sgetopt_long const *longs);

#endif
