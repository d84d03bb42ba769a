"""make install / uninstall into a temporary DESTDIR, and a third-party
program built against the installed tree with pkg-config."""
import glob
import os
import subprocess

import pytest

from conftest import CHECKED, ROOT, SANITIZER_FLAGS, base_env, connect, need, run
from conftest import MAKE_B, needs_root
from util import recv_all

PREFIX = "/opt/s6net-test"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("destdir"))
    r = run(["make", "-s", "-C", ROOT, "B=" + MAKE_B, "PREFIX=" + PREFIX, "DESTDIR=" + dest,
             "install"], timeout=300, env=dict(os.environ))
    assert r.returncode == 0, r.stderr.decode()
    return dest


def test_layout(installed):
    root = installed + PREFIX
    progs = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "src/*/*.c")))
    for p in progs:
        assert os.access(os.path.join(root, "bin", p[:-2]), os.X_OK), p
    assert os.path.exists(os.path.join(root, "lib/libs6net.a"))
    assert os.path.islink(os.path.join(root, "lib/libs6net.so"))
    assert os.path.exists(os.path.join(root, "lib/pkgconfig/libs6net.pc"))
    for h in glob.glob(os.path.join(ROOT, "include/s6net/*.h")):
        assert os.path.exists(os.path.join(root, "include/s6net", os.path.basename(h)))
    for m in glob.glob(os.path.join(ROOT, "doc/*.[1-8]")):
        sec = m.rsplit(".", 1)[1]
        assert os.path.exists(os.path.join(root, "share/man/man" + sec, os.path.basename(m)))


def test_pkg_config_third_party_program(installed, tmp_path):
    """A program outside the tree includes every public header and calls
    into the library, compiled and linked only through pkg-config."""
    need("pkg-config")
    headers = sorted(os.path.basename(h) for h in glob.glob(os.path.join(ROOT, "include/s6net/*.h")))
    assert "ident.h" in headers
    src = tmp_path / "third.c"
    src.write_text("".join("#include <s6net/%s>\n" % h for h in headers) + r'''
#include <stdio.h>
#include <errno.h>
int main(void)
{
  ssize_t r = s6net_ident_reply_parse("6191, 23 : USERID : UNIX : joe", 6191, 23);
  if (r <= 0) return 1;
  printf("%s|%s\n", "6191, 23 : USERID : UNIX : joe" + r, s6net_ident_error_str(ESRCH));
  return 0;
}
''')
    env = base_env(PKG_CONFIG_PATH=installed + PREFIX + "/lib/pkgconfig",
                   PKG_CONFIG_SYSROOT_DIR=installed)
    flags = run(["pkg-config", "--cflags", "--libs", "--static", "libs6net"], env=env)
    assert flags.returncode == 0, flags.stderr
    args = flags.stdout.decode().split()
    assert "-ls6net" in args
    exe = str(tmp_path / "third")
    # A library built by make sanitize needs the sanitizer runtimes too.
    san = SANITIZER_FLAGS
    r = run(["cc", "-std=c11", "-Wall", "-Werror", "-o", exe, str(src)] + san + args,
            env=dict(os.environ, **env))
    assert r.returncode == 0, r.stderr.decode()
    # dynamic link by default: point the loader at the installed library
    r = run([exe], env=base_env(LD_LIBRARY_PATH=installed + PREFIX + "/lib"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"joe|")


STATIC_USER = r'''
#include <s6net/accessrules.h>
#include <s6net/ident.h>
#include <s6net/proxy.h>
#include <stdio.h>
int main(void)
{
  static unsigned char const hdr[] = "PROXY TCP4 192.0.2.1 192.0.2.2 1234 80\r\n";
  s6net_proxy_info info;
  s6net_accessrules_params p;
  long n = s6net_proxy_parse(hdr, sizeof hdr - 1, S6NET_PROXY_ANY, &info);
  s6net_accessrules_params_init(&p);
  printf("%ld %d %s\n", n, s6net_accessrules_name_ok("example.org"), s6net_ident_error_str(ESRCH));
  return 0;
}
'''


def test_pkg_config_static_link_needs_nothing_else(installed, tmp_path):
    """libs6net.pc lists no private dependency: linked statically with
    only what pkg-config --static says, a program using each public
    header builds (no OpenSSL, c-ares or tinycdb symbol is pulled in)
    and runs."""
    need("pkg-config")
    if CHECKED:
        pytest.skip("the sanitizer runtimes cannot be linked statically")
    env = base_env(PKG_CONFIG_PATH=installed + PREFIX + "/lib/pkgconfig",
                   PKG_CONFIG_SYSROOT_DIR=installed)
    flags = run(["pkg-config", "--static", "--cflags", "--libs", "libs6net"], env=env)
    assert flags.returncode == 0, flags.stderr
    args = flags.stdout.decode().split()
    assert not [a for a in args if a.startswith("-l") and a != "-ls6net"], args
    src = tmp_path / "static.c"
    src.write_text("#include <errno.h>\n" + STATIC_USER)
    exe = str(tmp_path / "static")
    r = run(["cc", "-std=c11", "-Wall", "-Werror", "-static", "-o", exe, str(src)] + args,
            env=dict(os.environ, **env))
    assert r.returncode == 0, r.stderr.decode()
    r = run([exe], env=base_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"40 1 ")


def test_installed_chain_runs_installed_siblings(installed, procs):
    """s6-tcpserver from the installed tree runs the installed
    s6-tcpserverd, not the build tree's and not Debian's."""
    bindir = installed + PREFIX + "/bin"
    p, port = procs.server([bindir + "/s6-tcpserver", "-1", "127.0.0.1", "0", "sh", "-c",
                            "echo ok"], env=base_env())
    s = connect("127.0.0.1", port)
    assert recv_all(s) == b"ok\n"
    s.close()
    exe = os.readlink("/proc/%d/exe" % p.pid)
    assert exe == bindir + "/s6-tcpserverd"


def test_uninstall_removes_everything(tmp_path):
    dest = str(tmp_path / "d")
    common = ["make", "-s", "-C", ROOT, "B=" + MAKE_B, "PREFIX=" + PREFIX, "DESTDIR=" + dest]
    assert run(common + ["install"], timeout=300, env=dict(os.environ)).returncode == 0
    assert run(common + ["uninstall"], timeout=60, env=dict(os.environ)).returncode == 0
    left = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs]
    assert left == []


def s6_names():
    build = MAKE_B
    r = run(["make", "-s", "-C", ROOT, "B=" + build, "print-s6-names"], env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().split()


def test_s6_names_are_what_debian_s6_ships():
    """The Makefile's one list is every program of ours whose name Debian's
    s6 package also installs, and nothing else."""
    need("dpkg-query")
    r = run(["dpkg-query", "-L", "s6"])
    assert r.returncode == 0, "Debian's s6 is a test peer (tools/install-deps.sh)"
    theirs = {os.path.basename(l) for l in r.stdout.decode().splitlines() if "/bin/" in l}
    ours = {os.path.basename(p)[:-2] for p in glob.glob(os.path.join(ROOT, "src/*/*.c"))}
    assert sorted(s6_names()) == sorted(theirs & ours)
    # lib/core/exec.c looks in libexec/s6net for these names only
    import re
    src = open(os.path.join(ROOT, "lib/core/exec.c")).read()
    table = re.search(r"s6_names\[\] = \{(.*?)\};", src, re.S).group(1)
    assert sorted(re.findall(r'"([^"]+)"', table)) == sorted(s6_names())


FOREIGN_BIN = "#!/bin/sh\n# foreign %s\necho \"foreign $0 ran\" >> \"%s\"\nexit 111\n"


def foreign_tree(dest, names, marker):
    """What a Debian s6 leaves in a prefix: a program and a man page for
    each shared name (ours would be overwritten without the option)."""
    files = {}
    for n in names:
        files[dest + "/usr/bin/" + n] = (FOREIGN_BIN % (n, marker)).encode()
        files[dest + "/usr/share/man/man1/" + n + ".1"] = (".\\\" foreign page of %s\n" % n).encode()
    for path, data in files.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o755 if "/bin/" in path else 0o644)
    return files


def all_files(dest):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs)


def make_install(dest, *args, target="install"):
    build = MAKE_B
    r = run(["make", "-s", "-C", ROOT, "B=" + build, "PREFIX=/usr", "DESTDIR=" + dest] + list(args)
            + [target], timeout=300, env=dict(os.environ))
    assert r.returncode == 0, r.stderr.decode()
    return r


@pytest.fixture(scope="module", params=["WITHOUT_S6_NAMES=1", "WITHOUT_S6_IPC=1"])
def beside_s6(request, tmp_path_factory):
    """make install PREFIX=/usr into a DESTDIR that already holds Debian's
    s6 files with our names."""
    base = tmp_path_factory.mktemp("beside")
    dest = str(base / "d")
    marker = str(base / "foreign-ran")
    files = foreign_tree(dest, s6_names(), marker)
    make_install(dest, request.param)
    return dest, files, marker, request.param


def test_beside_s6_foreign_files_survive_install(beside_s6):
    dest, files, _, _ = beside_s6
    for path, data in files.items():
        assert open(path, "rb").read() == data, path
    bins = os.listdir(dest + "/usr/bin")
    assert "s6-tcpserver" in bins and "s6-tlsserver" in bins
    priv = sorted(os.listdir(dest + "/usr/libexec/s6net"))
    assert priv == sorted(s6_names())
    # no man page of ours for a name we did not put in BINDIR
    for n in s6_names():
        assert open(dest + "/usr/share/man/man1/%s.1" % n, "rb").read().startswith(b".\\\" foreign")
    assert os.path.exists(dest + "/usr/share/man/man1/s6-tcpserver.1")


@needs_root("the chain drops to uid 0 and gid 0 with -u 0 -g 0")
def test_beside_s6_chain_runs_our_applyuidgid(beside_s6, procs):
    """s6-tcpserver -u/-g chains through s6-applyuidgid: the installed
    tree's own, from libexec/s6net, not the foreign one next to it in
    bin/ (which would record that it ran and fail)."""
    dest, _, marker, _ = beside_s6
    bindir = dest + "/usr/bin"
    p, port = procs.server([bindir + "/s6-tcpserver", "-1", "-u", "0", "-g", "0", "127.0.0.1", "0",
                            "sh", "-c", "echo ok"], env=base_env())
    s = connect("127.0.0.1", port)
    assert recv_all(s) == b"ok\n"
    s.close()
    assert os.readlink("/proc/%d/exe" % p.pid) == bindir + "/s6-tcpserverd"
    assert not os.path.exists(marker), open(marker).read()


@needs_root("the chain drops to uid 0 and gid 0 with -u 0 -g 0")
def test_beside_s6_private_programs_find_each_other(beside_s6, procs, tmp_path):
    """Our s6-ipcserver, kept out of bin/, still runs: its siblings are
    found next to it in libexec/s6net."""
    import socket as so
    dest, _, marker, _ = beside_s6
    path = str(tmp_path / "sock")
    priv = dest + "/usr/libexec/s6net"
    p = procs.start([priv + "/s6-ipcserver", "-1", "-u", "0", "-g", "0", path, "sh", "-c", "echo ipc-ok"],
                    stdout=subprocess.PIPE, env=base_env())
    assert p.stdout.readline() == b"\n" or os.path.exists(path)
    c = so.socket(so.AF_UNIX, so.SOCK_STREAM)
    c.settimeout(10)
    c.connect(path)
    assert recv_all(c) == b"ipc-ok\n"
    c.close()
    assert os.readlink("/proc/%d/exe" % p.pid) == priv + "/s6-ipcserverd"
    assert not os.path.exists(marker)


def test_beside_s6_uninstall_leaves_only_foreign_files(tmp_path):
    """Uninstall removes what install put there and nothing else: the
    foreign files are as they were, byte for byte, and no file of ours
    is left (the manifest included)."""
    dest = str(tmp_path / "d")
    marker = str(tmp_path / "m")
    files = foreign_tree(dest, s6_names(), marker)
    make_install(dest, "WITHOUT_S6_NAMES=1")
    make_install(dest, "WITHOUT_S6_NAMES=1", target="uninstall")
    assert all_files(dest) == sorted(files)
    for path, data in files.items():
        assert open(path, "rb").read() == data, path
    assert not os.path.exists(dest + "/usr/libexec/s6net")
    assert not os.path.exists(dest + "/usr/include/s6net")


def test_uninstall_keeps_a_file_replaced_since_install(tmp_path):
    """A full install, then another package writes over one of our
    programs: uninstall leaves that file alone (it is not ours any more)."""
    dest = str(tmp_path / "d")
    make_install(dest)
    victim = dest + "/usr/bin/s6-ipcserver"
    with open(victim, "wb") as f:
        f.write(b"#!/bin/sh\n# Debian's, installed later\n")
    r = make_install(dest, target="uninstall")
    assert all_files(dest) == [victim]
    assert b"keeping " + victim.encode() in r.stderr


def test_reinstall_with_the_option_moves_programs_out_of_bin(tmp_path):
    """An install, then one with WITHOUT_S6_NAMES=1: the shared names are
    taken back from bin/ (they were ours), not left behind stale."""
    dest = str(tmp_path / "d")
    make_install(dest)
    assert os.path.exists(dest + "/usr/bin/s6-applyuidgid")
    make_install(dest, "WITHOUT_S6_NAMES=1")
    bins = os.listdir(dest + "/usr/bin")
    assert not set(s6_names()) & set(bins)
    assert sorted(os.listdir(dest + "/usr/libexec/s6net")) == sorted(s6_names())
    make_install(dest, "WITHOUT_S6_NAMES=1", target="uninstall")
    assert all_files(dest) == []
