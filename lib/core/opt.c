#include "core/opt.h"

#include <string.h>

int s6net_sgetopt_next(s6net_sgetopt *g, int argc, char const *const *argv, char const *spec)
{
  g->arg = 0;
  if (!g->pos) {
    if (g->ind >= argc) return -1;
    char const *a = argv[g->ind];
    if (a[0] != '-' || !a[1]) return -1;
    if (a[1] == '-' && !a[2]) { g->ind++; return -1; }
    g->pos = 1;
  }
  char const *a = argv[g->ind];
  char c = a[g->pos++];
  char const *s = c == ':' ? 0 : strchr(spec, c);
  if (!s) {
    g->opt = c;
    if (!a[g->pos]) { g->ind++; g->pos = 0; }
    return '?';
  }
  if (s[1] == ':') {
    if (a[g->pos]) g->arg = a + g->pos;
    else if (g->ind + 1 < argc) g->arg = argv[++g->ind];
    else { g->opt = c; g->ind++; g->pos = 0; return ':'; }
    g->ind++;
    g->pos = 0;
  } else if (!a[g->pos]) { g->ind++; g->pos = 0; }
  return c;
}
