#include "tls/tlsz.h"
#include "tls/tlsopt.h"
#include "core/tai.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

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

void s6net_tlsz_hdr_encode(unsigned char out[S6NET_TLSZ_HDR], s6net_tlsz_req const *r, uint32_t fplen)
{
  memcpy(out, "s6tz", 4);
  out[4] = 1;
  out[5] = r->closenotify;
  out[6] = r->strict;
  out[7] = 0;
  s6net_u32_pack_be(out + 8, r->kimeout);
  s6net_u32_pack_be(out + 12, r->verbosity);
  s6net_u32_pack_be(out + 16, fplen);
  memset(out + 20, 0, 4);
}

long s6net_tlsz_hdr_decode(unsigned char const *in, size_t len, s6net_tlsz_req *r)
{
  if (len < S6NET_TLSZ_HDR || memcmp(in, "s6tz", 4) || in[4] != 1 || in[5] > 1 || in[6] > 1) return -1;
  uint32_t fplen = s6net_u32_unpack_be(in + 16);
  if (fplen > S6NET_TLSZ_FPMAX || len != S6NET_TLSZ_HDR + (size_t)fplen) return -1;
  r->closenotify = in[5];
  r->strict = in[6];
  r->kimeout = s6net_u32_unpack_be(in + 8);
  r->verbosity = s6net_u32_unpack_be(in + 12);
  return (long)fplen;
}

socklen_t s6net_tlsz_addr(struct sockaddr_un *sa, char const *name)
{
  size_t l = strlen(name);
  if (!l || l + 1 > sizeof sa->sun_path) return 0;
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  sa->sun_path[0] = 0; /* abstract: nothing to clean up on the filesystem */
  memcpy(sa->sun_path + 1, name, l);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l);
}

int s6net_tlsz_request(char const *name, int const fds[4], s6net_tlsz_req const *r,
                       char const *fp, size_t fplen)
{
#ifdef __linux__
  struct sockaddr_un sa;
  socklen_t salen = s6net_tlsz_addr(&sa, name);
  if (!salen || fplen > S6NET_TLSZ_FPMAX) { errno = EINVAL; return -1; }
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  if (connect(s, (struct sockaddr *)&sa, salen) < 0) goto err;
  unsigned char hdr[S6NET_TLSZ_HDR];
  s6net_tlsz_hdr_encode(hdr, r, (uint32_t)fplen);
  struct iovec iov[2] = { { hdr, sizeof hdr }, { (void *)fp, fplen } };
  union { char buf[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } u;
  memset(&u, 0, sizeof u);
  struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(4 * sizeof(int));
  memcpy(CMSG_DATA(cm), fds, 4 * sizeof(int));
  ssize_t w;
  do w = sendmsg(s, &m, MSG_NOSIGNAL); while (w < 0 && errno == EINTR);
  if (w < 0) goto err;
  return s;
err:
  {
    int e = errno;
    close(s);
    errno = e;
  }
  return -1;
#else
  (void)name; (void)fds; (void)r; (void)fp; (void)fplen;
  errno = ENOSYS;
  return -1;
#endif
}
