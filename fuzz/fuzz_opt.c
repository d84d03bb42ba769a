/* The option scanner against the C library's getopt and getopt_long in
 * the mode the programs used before ("+" spec, no messages): for any
 * command line and spec, the same options in the same order, the same
 * arguments, the same errors and the same first operand. Also: every
 * call moves forward, and an argument is a suffix of an argv word.
 *
 * Input: the spec (letters and digits, ':' after one that takes an
 * argument), a NUL, then the argv words separated by NULs. */
#include "core/opt.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXARGS 24

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

static s6net_sgetopt_long const longs[] = {
  { "only-v1", '1' }, { "only-v2", '2' }, { "udp", 'u' }, { "uniq", 'q' },
  { "verbose", 'v' }, { "verbosity", 'v' }, { 0, 0 }
};

static struct option const glongs[] = {
  { "only-v1", no_argument, 0, '1' }, { "only-v2", no_argument, 0, '2' },
  { "udp", no_argument, 0, 'u' }, { "uniq", no_argument, 0, 'q' },
  { "verbose", no_argument, 0, 'v' }, { "verbosity", no_argument, 0, 'v' },
  { 0, 0, 0, 0 }
};

static int inside(char const *p, char const *const *argv, int argc)
{
  for (int i = 0; i < argc; i++)
    if (p >= argv[i] && p <= argv[i] + strlen(argv[i])) return 1;
  return 0;
}

static void compare(int argc, char const *const *argv, char const *spec, int uselong)
{
  char gspec[80] = "+:";
  strcat(gspec, spec);
  s6net_sgetopt g = S6NET_SGETOPT_INIT;
  optind = 0;  /* glibc: start a new scan */
  opterr = 0;
  size_t steps = 0, bound = 2;
  for (int i = 0; i < argc; i++) bound += strlen(argv[i]) + 1;
  for (;;) {
    int ind = g.ind, pos = g.pos;
    int c = uselong ? s6net_sgetopt_next_long(&g, argc, argv, spec, longs)
                    : s6net_sgetopt_next(&g, argc, argv, spec);
    int e = uselong ? getopt_long(argc, (char *const *)argv, gspec, glongs, 0)
                    : getopt(argc, (char *const *)argv, gspec);
    if (c != e) abort();
    if (c == -1) break;
    if (++steps > bound) abort();
    if (g.ind < ind || (g.ind == ind && g.pos <= pos) || g.ind > argc) abort();
    if (g.arg && !inside(g.arg, argv, argc)) abort();
    if (c == '?' || c == ':') {
      /* getopt_long reports a bad long option with its value */
      if (g.opt != '-' && g.opt != optopt) abort();
      if (g.arg) abort();
    } else if ((g.arg == 0) != (optarg == 0) || (g.arg && strcmp(g.arg, optarg))) abort();
  }
  if (g.ind != optind || g.ind < 1 || g.ind > argc) abort();
}

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size)
{
  static char buf[4096];
  if (size >= sizeof buf) return 0;
  memcpy(buf, data, size);
  buf[size] = 0;

  /* The spec: letters and digits only, as the programs use, ':' only
   * right after one of them, each option once. */
  char spec[64];
  size_t sl = 0;
  size_t speclen = strlen(buf);
  for (size_t i = 0; i < speclen && sl + 2 < sizeof spec; i++) {
    char ch = buf[i];
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (ok && !memchr(spec, ch, sl)) {
      spec[sl++] = ch;
      if (buf[i + 1] == ':') spec[sl++] = ':';
    }
  }
  spec[sl] = 0;

  char const *argv[MAXARGS + 1];
  int argc = 0;
  argv[argc++] = "p";
  size_t off = speclen + 1;
  while (off <= size && argc < MAXARGS) {
    argv[argc++] = buf + off;
    off += strlen(buf + off) + 1;
  }
  argv[argc] = 0;

  compare(argc, argv, spec, 0);
  compare(argc, argv, spec, 1);
  return 0;
}
