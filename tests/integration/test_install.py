"""make install / uninstall into a temporary DESTDIR, and a third-party
program built against the installed tree with pkg-config."""
import glob
import os
import subprocess

import pytest

from conftest import ROOT, SANITIZE, base_env, connect, need, recv_all, run
from conftest import MAKE_B

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
    san = ["-fsanitize=address,undefined"] if SANITIZE else []
    r = run(["cc", "-std=c11", "-Wall", "-Werror", "-o", exe, str(src)] + san + args,
            env=dict(os.environ, **env))
    assert r.returncode == 0, r.stderr.decode()
    # dynamic link by default: point the loader at the installed library
    r = run([exe], env=base_env(LD_LIBRARY_PATH=installed + PREFIX + "/lib"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"joe|")


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


def test_without_s6_ipc_skips_shared_names(tmp_path):
    dest = str(tmp_path / "d")
    r = run(["make", "-s", "-C", ROOT, "B=" + MAKE_B, "PREFIX=" + PREFIX, "DESTDIR=" + dest,
             "WITHOUT_S6_IPC=1", "install"], timeout=300, env=dict(os.environ))
    assert r.returncode == 0
    bins = os.listdir(dest + PREFIX + "/bin")
    assert "s6-tcpserver" in bins
    assert not [b for b in bins if b.startswith(("s6-ipc", "s6-sudo"))]
    assert "s6-applyuidgid" in bins  # the TCP and TLS chains need it
