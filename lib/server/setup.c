/* s6net_server_new: everything the loop needs, made once at start.
 *
 * Everything lives in one anonymous mapping: no malloc in the server at
 * all (less code and fewer pages touched: idle RSS), and pages of the
 * tables only appear once used. With the clone backend the mapping also
 * holds maxconn connection slots (srv_slot_layout). */
#include "server/internal.h"

#include "core/env.h"
#include "core/exec.h"
#include "core/fd.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

static size_t pow2_at_least(size_t n)
{
  size_t p = 16;
  while (p < n) p <<= 1;
  return p;
}

static size_t carve(size_t *off, size_t size)
{
  size_t o = (*off + 15) & ~(size_t)15;
  *off = o + size;
  return o;
}

/* Whether entry is one of the adapter's variables (set per connection),
 * or NOTIFY_SOCKET, which is for the server alone: a child that sent
 * its own READY=1 would speak for the server. */
static int is_var(s6net_server_adapter const *a, char const *entry)
{
  size_t l = s6net_env_namelen(entry);
  if (l == 13 && !memcmp(entry, "NOTIFY_SOCKET", 13)) return 1;
  for (unsigned int i = 0; i < a->nvars; i++)
    if (strlen(a->vars[i]) == l && !memcmp(a->vars[i], entry, l)) return 1;
  return 0;
}

/* Look the program up once, in the PATH the children get (core/exec.h),
 * rather than trying every PATH entry with a failing execve for every
 * connection. Not found (yet): each child searches by the same rule. */
static void resolve(s6net_server *s)
{
  if (s6net_path_find(s->cfg.argv[0], s6net_path_get(s->envp), s->path, sizeof s->path) < 0) {
    s->pathsearch = 1;
    s->path[0] = 0;
  }
}

s6net_server *s6net_server_new(s6net_server_config const *cfg, s6net_server_adapter const *a, void *ctx)
{
  if (!cfg->maxconn || cfg->maxconn > S6NET_SERVER_MAXCONN || !cfg->localmaxconn
   || cfg->localmaxconn > cfg->maxconn || !cfg->argv || !cfg->argv[0] || cfg->rate > 1000000
   || (a->nvars && !a->vars) || a->nvars > S6NET_SERVER_MAXVARS) {
    errno = EINVAL;
    return 0;
  }
  size_t nbase = 0, bufs = 0;
  for (char const *const *e = cfg->envp; e && *e; e++) if (!is_var(a, *e)) nbase++;
  for (unsigned int i = 0; i < a->nvars; i++) bufs += strlen(a->vars[i]) + 2 + S6NET_SERVER_VALMAX;
  size_t ptab = pow2_at_least((size_t)cfg->maxconn * 2);
  size_t rtab = cfg->rate ? pow2_at_least((size_t)cfg->maxconn * 4 < 1024 ? 1024 : (size_t)cfg->maxconn * 4) : 0;
  size_t off = 0;
  size_t o_s = carve(&off, sizeof(s6net_server));
  size_t o_conns = carve(&off, cfg->maxconn * sizeof(conn));
  size_t o_free = carve(&off, cfg->maxconn * sizeof(unsigned int));
  size_t o_pid = carve(&off, ptab * sizeof(unsigned int));
  size_t o_src = carve(&off, ptab * sizeof(s6net_server_srcent));
  size_t o_rate = carve(&off, rtab * sizeof(s6net_server_rateent));
  size_t o_envp = carve(&off, (nbase + a->nvars + 1) * sizeof(char const *));
  size_t o_slots = carve(&off, a->nvars * sizeof(envslot));
  size_t o_bufs = carve(&off, bufs);
  size_t o_scratch = carve(&off, bufs);
  size_t slotblock, o_area = off;
  size_t slotsize = srv_slot_layout(nbase + a->nvars + 1, bufs, &slotblock);
  if (slotsize) {
    o_area = (off + 4095) & ~(size_t)4095;
    off = o_area + slotsize * cfg->maxconn;
  }
  unsigned char *m = mmap(0, off, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return 0;
  s6net_server *s = (s6net_server *)(m + o_s);
  s->cfg = *cfg;
  s->a = a;
  s->ctx = ctx;
  s->conns = (conn *)(m + o_conns);
  s->freelist = (unsigned int *)(m + o_free);
  s->pidtab = (unsigned int *)(m + o_pid);
  s->src.tab = (s6net_server_srcent *)(m + o_src);
  s->envp = (char const **)(m + o_envp);
  s->slots = (envslot *)(m + o_slots);
  s->scratch = (char *)(m + o_scratch);
  s->bufs = bufs;
  if (rtab) s->rate.tab = (s6net_server_rateent *)(m + o_rate);
  s->area = m + o_area;
  s->slotsize = slotsize;
  s->slotblock = slotblock;
  s->pidmask = ptab - 1;
  s->src.mask = ptab - 1;
  {
    /* Seeded so that a client cannot choose addresses that all collide. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->src.seed = (unsigned int)ts.tv_nsec ^ ((unsigned int)getpid() << 16) ^ (unsigned int)(uintptr_t)m;
  }
  if (rtab) {
    s->rate.mask = rtab - 1;
    s->rate.seed = s->src.seed * 2654435761u + 1;
    s->rate.rate = cfg->rate;
  }
  for (char const *const *e = cfg->envp; e && *e; e++) {
    if (!is_var(a, *e)) s->envp[s->nbase++] = *e;
    else if (!strncmp(*e, "NOTIFY_SOCKET=", 14) && (*e)[14]) s->notify = *e + 14;
  }
  s->envp[s->nbase] = 0;
  {
    char *buf = (char *)(m + o_bufs);
    for (unsigned int i = 0; i < a->nvars; i++) {
      size_t l = strlen(a->vars[i]);
      s->slots[i].buf = buf;
      memcpy(buf, a->vars[i], l);
      buf[l] = '=';
      s->slots[i].namelen = l + 1;
      buf += l + 2 + S6NET_SERVER_VALMAX;
    }
  }
  resolve(s);
  if (srv_signals_init(s) < 0) return 0;
  if (srv_acceptors_init(s) < 0) return 0;
  if (!s->want && s6net_fd_nonblock(cfg->fd) < 0) return 0;
  return s;
}

int s6net_server_setenv(s6net_server *s, unsigned int i, char const *val, size_t len)
{
  if (i >= s->a->nvars) { errno = EINVAL; return -1; }
  envslot *e = s->slots + i;
  if (!val) { e->set = 0; return 0; }
  if (len > S6NET_SERVER_VALMAX) { errno = ENAMETOOLONG; return -1; }
  memcpy(e->buf + e->namelen, val, len);
  e->buf[e->namelen + len] = 0;
  e->set = 1;
  return 0;
}
