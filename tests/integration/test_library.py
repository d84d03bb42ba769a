"""libs6net.so exports exactly the public API (the functions declared in
include/s6net/*.h), and the library and the programs each link only the
libraries their own code uses (the ELF NEEDED entries)."""
import glob
import os
import re
import sys

import pytest

from conftest import BUILD, CHECKED, ROOT, need, run

CHECK = os.path.join(ROOT, "tools", "check-exports.py")
HEADERS = sorted(glob.glob(os.path.join(ROOT, "include", "s6net", "*.h")))
LIB = os.path.join(BUILD, "lib", "libs6net.so")


def check_exports(lib, headers):
    r = run([sys.executable, CHECK, lib] + list(headers))
    return r.returncode, r.stdout.decode() + r.stderr.decode()


# ---- exports ---------------------------------------------------------------

def test_library_exports_exactly_the_public_headers():
    need("nm")
    rc, out = check_exports(LIB, HEADERS)
    assert rc == 0, out
    assert "exactly the" in out


def test_an_undeclared_export_and_a_missing_one_fail_the_check(tmp_path):
    """The real library against edited copies of its headers: one
    declaration fewer (the library then exports an undeclared symbol),
    one more (a declared function the library does not export)."""
    need("nm")
    proxy_h = [h for h in HEADERS if h.endswith("/proxy.h")][0]
    others = [h for h in HEADERS if h != proxy_h]
    with open(proxy_h) as f:
        text = f.read()
    fewer = tmp_path / "fewer.h"
    fewer.write_text(re.sub(r"size_t s6net_proxy_want\([^;]*;", "", text))
    rc, out = check_exports(LIB, others + [str(fewer)])
    assert rc == 1, out
    assert "exports s6net_proxy_want, which no public header declares" in out

    more = tmp_path / "more.h"
    more.write_text(text.replace("#endif", "int s6net_proxy_imaginary(int x);\n#endif"))
    rc, out = check_exports(LIB, others + [str(more)])
    assert rc == 1, out
    assert "does not export s6net_proxy_imaginary" in out


HEADER = r'''
/* int commented_out(void); */
#ifndef T_H
#define T_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
#define T_MACRO(x) ((x) + 1)
typedef struct { int a; int (*cb)(void); } t_thing;
struct t_fwd;
enum t_kind { T_A, T_B };
typedef int t_fn(char const *s, size_t n);
typedef int (*t_fnptr)(void);
int t_plain(void);
t_thing *t_make(int a,
                int b);
t_fn t_via_typedef;
extern int t_object;
static inline int t_inline(int x) { return x + 1; }
#ifdef __cplusplus
}
#endif
#endif
'''

DEFS = r'''
#include "t.h"
int t_object = 1;
int t_plain(void) { return 0; }
t_thing *t_make(int a, int b) { (void)a; (void)b; return 0; }
int t_via_typedef(char const *s, size_t n) { (void)s; return (int)n; }
'''


def build_so(tmp_path, name, extra=""):
    need("cc")
    src = tmp_path / (name + ".c")
    src.write_text(DEFS + extra)
    out = str(tmp_path / (name + ".so"))
    r = run(["cc", "-shared", "-fPIC", "-I", str(tmp_path), "-o", out, str(src)])
    assert r.returncode == 0, r.stderr.decode()
    return out


def test_checker_parses_what_headers_contain(tmp_path):
    """Prototypes over several lines, functions declared through a
    function typedef, objects; not macros, typedefs, structs, static
    inline functions or comments."""
    need("nm")
    (tmp_path / "t.h").write_text(HEADER)
    rc, out = check_exports(build_so(tmp_path, "exact"), [str(tmp_path / "t.h")])
    assert rc == 0, out
    assert "exactly the 4 symbols" in out

    rc, out = check_exports(build_so(tmp_path, "leak", "int t_internal(void) { return 2; }\n"),
                            [str(tmp_path / "t.h")])
    assert rc == 1 and "exports t_internal, which no public header declares" in out, out

    (tmp_path / "t.h").write_text(HEADER.replace("t_fn t_via_typedef;", "t_fn t_via_typedef, t_gone;"))
    rc, out = check_exports(build_so(tmp_path, "gap"), [str(tmp_path / "t.h")])
    assert rc == 1 and "does not export t_gone" in out, out


# ---- NEEDED ----------------------------------------------------------------

def needed(path):
    need("readelf")
    r = run(["readelf", "-d", path])
    assert r.returncode == 0, r.stderr.decode()
    names = set()
    for so in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout.decode()):
        names.add(re.sub(r"^lib|\.so.*$", "", so))
    names.discard("c")
    if CHECKED:
        # the sanitizer runtime, and the unwinder a static libubsan needs
        names -= {"asan", "ubsan", "gcc_s"}
    return names


def test_library_links_only_what_its_modules_use():
    """The exported modules use the C library only: no OpenSSL, c-ares
    or tinycdb for a program that wants the PROXY parser, and none in
    libs6net.pc either."""
    assert needed(os.path.realpath(LIB)) == set()
    with open(os.path.join(BUILD, "lib", "libs6net.pc")) as f:
        pc = f.read()
    assert not re.search(r"^(Requires|Libs)\.private:.*\S", pc, re.M), pc
    assert not re.search(r"-l(ssl|crypto|cares|cdb)\b", pc), pc


# program -> the libraries beside libc it needs when linked dynamically
# (a static build, musl or -static-pie, needs none)
PROGRAMS = {
    "proxy-server": set(),
    "s6-tcpserver-access": set(),      # its own CDB reader; DNS is s6-tcpserver-access-dns
    "s6-tcpserver-access-dns": {"cares"},
    "s6-tcpclient": {"cares"},
    "s6-accessrules-cdb-from-fs": {"cdb"},
    "s6-tcprules-import": {"cdb"},
    "s6-tlsd": set(),
    "s6-tlsd-io": {"ssl", "crypto"},
    "s6-tlsc-io": {"ssl", "crypto"},
    "s6-tcpserverd": set(),
    "s6-ipcserverd": set(),
    "s6-ident-client": set(),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_links_only_what_it_uses(name):
    path = os.path.join(BUILD, "bin", name)
    assert os.path.exists(path), path
    got = needed(path)
    assert not got - PROGRAMS[name], "%s needs %s" % (name, sorted(got))
    if got:     # dynamic: then all of what it uses
        assert got == PROGRAMS[name]
