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

int s6net_sgetopt_next_long(s6net_sgetopt *g, int argc, char const *const *argv, char const *spec,
                            s6net_sgetopt_long const *longs)
{
  if (g->pos || g->ind >= argc) return s6net_sgetopt_next(g, argc, argv, spec);
  char const *a = argv[g->ind];
  if (a[0] != '-' || a[1] != '-' || !a[2]) return s6net_sgetopt_next(g, argc, argv, spec);
  char const *name = a + 2;
  size_t len = strlen(name);
  s6net_sgetopt_long const *found = 0;
  int nfound = 0;
  for (s6net_sgetopt_long const *l = longs; l->name; l++) {
    if (strncmp(l->name, name, len)) continue;
    if (!l->name[len]) { found = l; nfound = 1; break; }
    if (!found || found->opt != l->opt) nfound++;
    found = l;
  }
  g->arg = 0;
  g->ind++;
  if (nfound != 1) { g->opt = '-'; return '?'; }
  return found->opt;
}
