#include "tls/tls_zygote_msg.h"
#include "tls/tlsopt.h"
#include "core/tai.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>

static int cmpstr(void const *a, void const *b)
{
  return strcmp(*(char const *const *)a, *(char const *const *)b);
}

size_t s6net_tlsz_fingerprint(char *buf, size_t cap, unsigned int clientcert, unsigned int snilevel,
                              char const *alpn, char const *const *envp)
{
  char const *keys[512];
  size_t nk = 0;
  int n = snprintf(buf, cap, "k=%u%cy=%u%ca=%s%c", snilevel, 0, clientcert, 0, alpn ? alpn : "", 0);
  if (n < 0 || (size_t)n >= cap) return 0;
  size_t len = (size_t)n;
  for (; *envp; envp++) {
    if (!s6net_tls_is_keyvar(*envp)) continue;
    if (nk >= sizeof keys / sizeof *keys) return 0;
    keys[nk++] = *envp;
  }
  /* Sorted, so that two environments with the same variables in a
   * different order give the same fingerprint. */
  qsort(keys, nk, sizeof *keys, cmpstr);
  for (size_t i = 0; i < nk; i++) {
    size_t l = strlen(keys[i]) + 1;
    if (len + l > cap) return 0;
    memcpy(buf + len, keys[i], l);
    len += l;
  }
  return len;
}

void s6net_tlsz_hdr_encode(unsigned char out[S6NET_TLSZ_HDR], s6net_tlsz_req const *r)
{
  memcpy(out, "s6tz", 4);
  out[4] = S6NET_TLSZ_VERSION;
  out[5] = r->closenotify;
  out[6] = r->strict;
  out[7] = (unsigned char)r->peerlen;
  s6net_u32_pack_be(out + 8, r->kimeout);
  s6net_u32_pack_be(out + 12, r->verbosity);
  s6net_u32_pack_be(out + 16, r->fplen);
  s6net_u64_pack_be(out + 20, r->digest);
  memset(out + 28, 0, 4);
}

int s6net_tlsz_hdr_decode(unsigned char const *in, size_t len, s6net_tlsz_req *r)
{
  if (len < S6NET_TLSZ_HDR || memcmp(in, "s6tz", 4) || in[4] != S6NET_TLSZ_VERSION || in[5] > 1 || in[6] > 1
   || in[7] > S6NET_TLSZ_PEERMAX || in[28] || in[29] || in[30] || in[31]) return -1;
  uint32_t fplen = s6net_u32_unpack_be(in + 16), peerlen = in[7];
  if (fplen > S6NET_TLSZ_FPMAX || len != S6NET_TLSZ_HDR + (size_t)fplen + peerlen) return -1;
  /* The peer goes into log lines: no control characters, no spaces. */
  for (size_t i = len - peerlen; i < len; i++) if (in[i] < 0x21 || in[i] > 0x7e) return -1;
  r->closenotify = in[5];
  r->strict = in[6];
  r->peerlen = peerlen;
  r->kimeout = s6net_u32_unpack_be(in + 8);
  r->verbosity = s6net_u32_unpack_be(in + 12);
  r->fplen = fplen;
  r->digest = s6net_u64_unpack_be(in + 20);
  return 0;
}

int s6net_tlsz_is_filevar(char const *e, size_t len)
{
  static char const *const names[] = { "KEYFILE", "CERTFILE", "CAFILE", "CADIR" };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    size_t n = strlen(names[i]);
    if (len > n && !memcmp(e, names[i], n) && (e[n] == '=' || (i < 2 && e[n] == ':'))) return 1;
  }
  return 0;
}

/* splitmix64's finaliser: every input bit moves about half the output. */
static uint64_t mix64(uint64_t x)
{
  x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27; x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t s6net_tlsz_digest_mix(uint64_t h, uint64_t const w[S6NET_TLSZ_STATWORDS])
{
  for (size_t i = 0; i < S6NET_TLSZ_STATWORDS; i++) h = mix64(h ^ mix64(w[i] + 0x9e3779b97f4a7c15ULL * (i + 1)));
  return h;
}

uint64_t s6net_tlsz_digest(char const *fp, size_t fplen)
{
  uint64_t h = 0x5336747a64696773ULL;
  size_t idx = 0;
  for (size_t i = 0; i < fplen; idx++) {
    char const *e = fp + i;
    size_t l = strnlen(e, fplen - i);
    i += l + 1;
    if (!s6net_tlsz_is_filevar(e, l)) continue;
    char const *eq = memchr(e, '=', l);
    if (!eq || i > fplen) continue;
    struct stat st;
    uint64_t w[S6NET_TLSZ_STATWORDS] = { idx };
    if (stat(eq + 1, &st) < 0) w[1] = (uint64_t)errno ? (uint64_t)errno : 1;
    else {
      w[2] = (uint64_t)st.st_dev; w[3] = (uint64_t)st.st_ino; w[4] = (uint64_t)st.st_size;
      w[5] = (uint64_t)st.st_mtim.tv_sec; w[6] = (uint64_t)st.st_mtim.tv_nsec;
      w[7] = (uint64_t)st.st_ctim.tv_sec; w[8] = (uint64_t)st.st_ctim.tv_nsec;
    }
    h = s6net_tlsz_digest_mix(h, w);
  }
  return h;
}

int s6net_tlsz_sendfds(int s, void const *buf, size_t len, int const *fds, unsigned int nfds)
{
  union { char buf[CMSG_SPACE(8 * sizeof(int))]; struct cmsghdr align; } u;
  struct iovec iov = { (void *)buf, len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
  if (nfds > 8) { errno = EINVAL; return -1; }
  if (nfds) {
    memset(&u, 0, sizeof u);
    m.msg_control = u.buf;
    m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
  }
  ssize_t w;
  do w = sendmsg(s, &m, MSG_NOSIGNAL); while (w < 0 && errno == EINTR);
  return w < 0 ? -1 : 0;
}

long s6net_tlsz_recvfds(int s, void *buf, size_t cap, int *fds, unsigned int maxfds, unsigned int *nfds, int flags)
{
  union { char buf[CMSG_SPACE(8 * sizeof(int))]; struct cmsghdr align; } u;
  struct iovec iov = { buf, cap };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t n;
  *nfds = 0;
#ifdef MSG_CMSG_CLOEXEC
  n = recvmsg(s, &m, flags | MSG_CMSG_CLOEXEC);
#else
  n = recvmsg(s, &m, flags);
#endif
  if (n < 0) return -1;
  int over = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int tmp[8];
    if (k > 8) k = 8;
    memcpy(tmp, CMSG_DATA(cm), k * sizeof(int));
    for (size_t i = 0; i < k; i++) {
#ifndef MSG_CMSG_CLOEXEC
      fcntl(tmp[i], F_SETFD, FD_CLOEXEC);
#endif
      if (*nfds < maxfds) fds[(*nfds)++] = tmp[i];
      else { close(tmp[i]); over = 1; }
    }
  }
  if (over || m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    for (unsigned int i = 0; i < *nfds; i++) close(fds[i]);
    *nfds = 0;
    errno = EMSGSIZE;
    return -1;
  }
  return (long)n;
}

int s6net_tlsz_check(int fd)
{
#if defined(__linux__) && defined(SO_PEERCRED)
  int v;
  socklen_t l = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0 || v != SOCK_SEQPACKET) return 0;
#ifdef SO_DOMAIN
  l = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 || v != AF_UNIX) return 0;
#else
  struct sockaddr_storage sa;
  l = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &l) < 0 || sa.ss_family != AF_UNIX) return 0;
#endif
  struct ucred cr;
  l = sizeof cr;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0 || l != sizeof cr) return 0;
  return cr.uid == 0 || cr.uid == geteuid();
#else
  (void)fd;
  return 0;
#endif
}
