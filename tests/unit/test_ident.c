/* IDENT answer parsing and framing: annotated vectors, then the network
 * part against a peer on loopback in a child process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <s6net/ident.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include "core/addr.h"
#include "core/deadline.h"

/* Expected outcome of s6net_ident_reply_parse(line, 6191, 23). */
struct vec {
  char const *why;
  char const *line;
  int ret;            /* 1 positive, 0 negative, -1 protocol error */
  int err;            /* errno for 0 and -1 */
  char const *id;     /* positive: the id */
};

static struct vec const vecs[] = {
  { "RFC 1413 example, canonical spacing",
    "6191, 23 : USERID : UNIX : stjohns", 1, 0, "stjohns" },
  { "no blanks at all", "6191,23:USERID:UNIX:joe", 1, 0, "joe" },
  { "blanks and tabs everywhere", " \t6191 \t,\t 23\t : \tUSERID\t : UNIX\t :\t joe", 1, 0, "joe" },
  { "charset field", "6191 , 23 : USERID : UNIX , US-ASCII : joe", 1, 0, "joe" },
  { "charset without blanks", "6191,23:USERID:OTHER,UTF-8:x y", 1, 0, "x y" },
  { "id keeps inner blanks, colons and commas", "6191,23:USERID:OTHER: a:b, c", 1, 0, "a:b, c" },
  { "id keeps trailing blanks", "6191,23:USERID:UNIX:joe  ", 1, 0, "joe  " },
  { "keywords are case-insensitive", "6191,23:userid:UNIX:joe", 1, 0, "joe" },
  { "ports with leading zeros", "06191,00023:USERID:UNIX:joe", 1, 0, "joe" },
  { "high-bit octets in the id", "6191,23:USERID:OTHER:\xc3\xa9t\xc3\xa9", 1, 0, "\xc3\xa9t\xc3\xa9" },

  { "INVALID-PORT", "6191, 23 : ERROR : INVALID-PORT", 0, EINVAL, 0 },
  { "NO-USER", "6191, 23 : ERROR : NO-USER", 0, ESRCH, 0 },
  { "HIDDEN-USER", "6191,23:ERROR:HIDDEN-USER", 0, EPERM, 0 },
  { "UNKNOWN-ERROR with trailing blanks", "6191,23:ERROR: UNKNOWN-ERROR \t", 0, EIO, 0 },
  { "extended error token", "6191,23:ERROR:XNOT-TODAY", 0, EEXIST, 0 },
  { "lower-case error token", "6191,23:error:no-user", 0, ESRCH, 0 },

  { "empty line", "", -1, EPROTO, 0 },
  { "ports only", "6191, 23", -1, EPROTO, 0 },
  { "wrong remote port", "6192, 23 : USERID : UNIX : joe", -1, EPROTO, 0 },
  { "wrong local port", "6191, 24 : USERID : UNIX : joe", -1, EPROTO, 0 },
  { "ports swapped", "23, 6191 : USERID : UNIX : joe", -1, EPROTO, 0 },
  { "error about other ports", "1, 2 : ERROR : NO-USER", -1, EPROTO, 0 },
  { "port over 65535", "6191, 65536 : USERID : UNIX : joe", -1, EPROTO, 0 },
  { "port with six digits", "6191, 000023 : USERID : UNIX : joe", -1, EPROTO, 0 },
  { "signed port", "+6191, 23 : USERID : UNIX : joe", -1, EPROTO, 0 },
  { "missing comma", "6191 23 : USERID : UNIX : joe", -1, EPROTO, 0 },
  { "missing colon after ports", "6191, 23 USERID : UNIX : joe", -1, EPROTO, 0 },
  { "unknown reply keyword", "6191, 23 : WHOIS : UNIX : joe", -1, EPROTO, 0 },
  { "unknown error keyword", "6191, 23 : ERROR : NO-WAY", -1, EPROTO, 0 },
  { "bare X is not a token", "6191, 23 : ERROR : X", -1, EPROTO, 0 },
  { "two error tokens", "6191, 23 : ERROR : NO-USER HIDDEN-USER", -1, EPROTO, 0 },
  { "empty error", "6191, 23 : ERROR :", -1, EPROTO, 0 },
  { "USERID without opsys or id", "6191, 23 : USERID", -1, EPROTO, 0 },
  { "USERID without id", "6191, 23 : USERID : UNIX", -1, EPROTO, 0 },
  { "empty id", "6191, 23 : USERID : UNIX :", -1, EPROTO, 0 },
  { "blank id", "6191, 23 : USERID : UNIX :   ", -1, EPROTO, 0 },
  { "empty opsys", "6191, 23 : USERID : : joe", -1, EPROTO, 0 },
  { "empty charset", "6191, 23 : USERID : UNIX , : joe", -1, EPROTO, 0 },
  { "CR inside the line", "6191, 23 : USERID : UNIX : jo\re", -1, EPROTO, 0 },
  { "LF inside the line", "6191, 23 : USERID : UNIX : jo\ne", -1, EPROTO, 0 },
};

static void test_vectors(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof vecs / sizeof *vecs; i++) {
    struct vec const *v = &vecs[i];
    errno = 0;
    ssize_t r = s6net_ident_reply_parse(v->line, 6191, 23);
    if ((v->ret > 0) != (r > 0) || (v->ret == 0) != (r == 0) || (v->ret < 0) != (r < 0))
      fail_msg("%s: %s: returned %zd", v->why, v->line, r);
    if (r > 0) {
      if (strcmp(v->line + r, v->id)) fail_msg("%s: id %s", v->why, v->line + r);
    } else if (errno != v->err) fail_msg("%s: errno %d, want %d", v->why, errno, v->err);
  }
}

static void test_answer_fields(void **state)
{
  (void)state;
  s6net_ident_answer a;
  char const *s = "6191 , 23 : USERID : UNIX , US-ASCII : joe";
  assert_int_equal(s6net_ident_answer_scan(s, strlen(s), &a), 1);
  assert_int_equal(a.rport, 6191);
  assert_int_equal(a.lport, 23);
  assert_int_equal(a.opsyslen, 4);
  assert_memory_equal(s + a.opsys, "UNIX", 4);
  assert_int_equal(a.charsetlen, 8);
  assert_memory_equal(s + a.charset, "US-ASCII", 8);
  assert_int_equal(a.idlen, 3);
  assert_memory_equal(s + a.id, "joe", 3);

  s = "1,2:ERROR:XFOO";
  assert_int_equal(s6net_ident_answer_scan(s, strlen(s), &a), 0);
  assert_int_equal(a.err, EEXIST);
  assert_int_equal(a.errtoklen, 4);
  assert_memory_equal(s + a.errtok, "XFOO", 4);

  s = "1,2:USERID:UNIX:no charset";
  assert_int_equal(s6net_ident_answer_scan(s, strlen(s), &a), 1);
  assert_int_equal(a.charsetlen, 0);
}

static void test_nul_byte(void **state)
{
  (void)state;
  s6net_ident_answer a;
  static char const s[] = "6191,23:USERID:UNIX:jo\0e";
  assert_int_equal(s6net_ident_answer_scan(s, sizeof s - 1, &a), -1);
  assert_int_equal(errno, EPROTO);
}

static void test_line_scan(void **state)
{
  (void)state;
  size_t l = 99;
  /* CR LF, then trailing bytes that must be left alone. */
  assert_int_equal(s6net_ident_line_scan("ab\r\nzz", 6, &l), 4);
  assert_int_equal(l, 2);
  /* A lone LF is accepted. */
  assert_int_equal(s6net_ident_line_scan("ab\n", 3, &l), 3);
  assert_int_equal(l, 2);
  /* Missing CRLF: need more. */
  assert_int_equal(s6net_ident_line_scan("abc", 3, &l), 0);
  assert_int_equal(s6net_ident_line_scan("abc\r", 4, &l), 0);
  assert_int_equal(s6net_ident_line_scan("", 0, &l), 0);
  /* A NUL byte before the end of the line. */
  assert_int_equal(s6net_ident_line_scan("a\0b\r\n", 5, &l), -1);
  assert_int_equal(errno, EPROTO);
  assert_int_equal(s6net_ident_line_scan("a\0b", 3, &l), -1);
  /* A NUL after the line is none of our business. */
  assert_int_equal(s6net_ident_line_scan("ab\n\0", 4, &l), 3);

  /* Longest line accepted: REPLY_SIZE - 1 bytes of content. */
  char big[S6NET_IDENT_REPLY_SIZE + 8];
  memset(big, 'x', sizeof big);
  big[S6NET_IDENT_REPLY_SIZE - 1] = '\r';
  big[S6NET_IDENT_REPLY_SIZE] = '\n';
  assert_int_equal(s6net_ident_line_scan(big, S6NET_IDENT_REPLY_SIZE + 1, &l), S6NET_IDENT_REPLY_SIZE + 1);
  assert_int_equal(l, S6NET_IDENT_REPLY_SIZE - 1);
  /* One more byte is too much, CR or not. */
  memset(big, 'x', sizeof big);
  big[S6NET_IDENT_REPLY_SIZE] = '\r';
  big[S6NET_IDENT_REPLY_SIZE + 1] = '\n';
  assert_int_equal(s6net_ident_line_scan(big, S6NET_IDENT_REPLY_SIZE + 2, &l), -1);
  memset(big, 'x', sizeof big);
  big[S6NET_IDENT_REPLY_SIZE] = '\n';
  assert_int_equal(s6net_ident_line_scan(big, S6NET_IDENT_REPLY_SIZE + 1, &l), -1);
  /* Overlong without any LF: bad as soon as it cannot fit any more. */
  memset(big, 'x', sizeof big);
  assert_int_equal(s6net_ident_line_scan(big, S6NET_IDENT_REPLY_SIZE, &l), 0);
  assert_int_equal(s6net_ident_line_scan(big, sizeof big, &l), -1);
}

static void test_error_str(void **state)
{
  (void)state;
  assert_string_equal(s6net_ident_error_str(ESRCH), "no such user");
  assert_string_equal(s6net_ident_error_str(EPERM), "hidden user");
  assert_string_equal(s6net_ident_error_str(EINVAL), "invalid port");
  assert_string_equal(s6net_ident_error_str(EIO), "unknown error");
  assert_string_equal(s6net_ident_error_str(EEXIST), "extended error");
  assert_non_null(s6net_ident_error_str(12345));
}

/* Port 113 is fixed, so the servers live on 127.A.B.N with A.B chosen at
 * random (and again on a clash): several test runs may share the machine. */
static unsigned char net[2];

static void pick_net(void)
{
  net[0] = (unsigned char)(100 + rand() % 150);
  net[1] = (unsigned char)(rand() % 256);
}

/* A one-shot IDENT server on 127.A.B.N:113 in a child: reads the query,
 * sends reply (len bytes), closes; or, with reply NULL, never answers.
 * Binding port 113 needs root (or CAP_NET_BIND_SERVICE): without it, the
 * test is skipped. */
static pid_t serve(unsigned char n, char const *reply, size_t len, int *qfd)
{
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(113) };
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  for (int tries = 0;; tries++) {
    unsigned char ip[4] = { 127, net[0], net[1], n };
    memcpy(&sa.sin_addr, ip, 4);
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) == 0) break;
    if (errno == EACCES) {
      close(s);
      print_message("skipped: binding port 113 needs root\n");
      skip();
    }
    if (errno != EADDRINUSE || tries > 50) return -1;
    pick_net();
  }
  if (listen(s, 4) < 0) return -1;
  int p[2];
  if (pipe(p) < 0) return -1;
  pid_t pid = fork();
  if (!pid) {
    close(p[0]);
    int c = accept(s, 0, 0);
    char q[64];
    ssize_t r = read(c, q, sizeof q);
    if (r > 0 && write(p[1], q, (size_t)r) < 0) { /* nobody wants it */ }
    close(p[1]);
    if (!reply) { pause(); _exit(0); }
    if (len && write(c, reply, len) < 0) _exit(1);
    _exit(0);
  }
  close(s);
  close(p[1]);
  if (qfd) *qfd = p[0]; else close(p[0]);
  return pid;
}

static void reap(pid_t pid)
{
  /* Never kill(-1): serve() returns -1 when it fails, and kill(-1, SIGKILL)
   * would kill every process the user may signal. */
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  waitpid(pid, 0, 0);
}

static void addr(s6net_ip46 *a, unsigned char n)
{
  memset(a, 0, sizeof *a);
  a->ip[0] = 127; a->ip[1] = net[0]; a->ip[2] = net[1]; a->ip[3] = n;
}

static void test_client_positive(void **state)
{
  (void)state;
  s6net_ip46 ra, la;
  char id[S6NET_IDENT_REPLY_SIZE];
  static char const rep[] = "40000 , 50000 : USERID : UNIX : alice\r\n";
  pid_t pid = serve(11, rep, sizeof rep - 1, 0);
  addr(&ra, 11); addr(&la, 12);
  assert_true(pid > 0);
  ssize_t r = s6net_ident_client(id, sizeof id, &ra, 40000, &la, 50000, s6net_deadline_in(5000));
  reap(pid);
  assert_int_equal(r, 5);
  assert_string_equal(id, "alice");
}

static void test_client_query_and_negative(void **state)
{
  (void)state;
  s6net_ip46 ra, la;
  char id[64], q[64];
  static char const rep[] = "40000,50000:ERROR:HIDDEN-USER\r\n";
  int qfd;
  pid_t pid = serve(13, rep, sizeof rep - 1, &qfd);
  addr(&ra, 13); addr(&la, 14);
  assert_true(pid > 0);
  errno = 0;
  ssize_t r = s6net_ident_client(id, sizeof id, &ra, 40000, &la, 50000, s6net_deadline_in(5000));
  int e = errno;
  ssize_t n = read(qfd, q, sizeof q - 1);
  close(qfd);
  reap(pid);
  q[n > 0 ? n : 0] = 0;
  assert_string_equal(q, "40000 , 50000\r\n");
  assert_int_equal(r, 0);
  assert_int_equal(e, EPERM);
}

static void test_client_small_buffer(void **state)
{
  (void)state;
  s6net_ip46 ra, la;
  char id[4];
  static char const rep[] = "1,2:USERID:UNIX:alice\r\n";
  pid_t pid = serve(15, rep, sizeof rep - 1, 0);
  addr(&ra, 15); addr(&la, 16);
  ssize_t r = s6net_ident_client(id, sizeof id, &ra, 1, &la, 2, s6net_deadline_in(5000));
  reap(pid);
  assert_int_equal(r, -1);
  assert_int_equal(errno, ENAMETOOLONG);
}

static void test_client_closed_without_answer(void **state)
{
  (void)state;
  s6net_ip46 ra, la;
  char id[64];
  pid_t pid = serve(17, "", 0, 0);
  addr(&ra, 17); addr(&la, 18);
  errno = 0;
  ssize_t r = s6net_ident_client(id, sizeof id, &ra, 1, &la, 2, s6net_deadline_in(5000));
  reap(pid);
  assert_int_equal(r, 0);
  assert_int_equal(errno, EPIPE);
}

static void test_client_unterminated(void **state)
{
  (void)state;
  s6net_ip46 ra, la;
  char id[64];
  static char const rep[] = "1,2:USERID:UNIX:ali";
  pid_t pid = serve(19, rep, sizeof rep - 1, 0);
  addr(&ra, 19); addr(&la, 20);
  ssize_t r = s6net_ident_client(id, sizeof id, &ra, 1, &la, 2, s6net_deadline_in(5000));
  reap(pid);
  assert_int_equal(r, -1);
  assert_int_equal(errno, EPROTO);
}

static void test_client_timeout(void **state)
{
  (void)state;
  s6net_ip46 ra, la;
  char id[64];
  pid_t pid = serve(21, 0, 0, 0);
  addr(&ra, 21); addr(&la, 22);
  int64_t t0 = s6net_now_ms();
  ssize_t r = s6net_ident_client(id, sizeof id, &ra, 1, &la, 2, s6net_deadline_in(300));
  int64_t el = s6net_now_ms() - t0;
  reap(pid);
  assert_int_equal(r, -1);
  assert_int_equal(errno, ETIMEDOUT);
  assert_true(el < 5000);
}

static void test_client_refused(void **state)
{
  (void)state;
  s6net_ip46 ra, la;
  char id[64];
  addr(&ra, 23); addr(&la, 24);
  ssize_t r = s6net_ident_client(id, sizeof id, &ra, 1, &la, 2, s6net_deadline_in(5000));
  assert_int_equal(r, -1);
  assert_int_equal(errno, ECONNREFUSED);
}

static void test_client_family_mismatch(void **state)
{
  (void)state;
  s6net_ip46 ra, la;
  char id[64];
  addr(&ra, 25);
  assert_int_equal(s6net_ip46_scan("::1", &la), 0);
  assert_int_equal(s6net_ident_client(id, sizeof id, &ra, 1, &la, 2, s6net_deadline_in(5000)), -1);
  assert_int_equal(errno, EAFNOSUPPORT);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  srand((unsigned int)getpid() ^ (unsigned int)s6net_now_ms());
  pick_net();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_vectors),
    cmocka_unit_test(test_answer_fields),
    cmocka_unit_test(test_nul_byte),
    cmocka_unit_test(test_line_scan),
    cmocka_unit_test(test_error_str),
    cmocka_unit_test(test_client_positive),
    cmocka_unit_test(test_client_query_and_negative),
    cmocka_unit_test(test_client_small_buffer),
    cmocka_unit_test(test_client_closed_without_answer),
    cmocka_unit_test(test_client_unterminated),
    cmocka_unit_test(test_client_timeout),
    cmocka_unit_test(test_client_refused),
    cmocka_unit_test(test_client_family_mismatch),
  };
  return cmocka_run_group_tests(tests, 0, 0);
}
