"""make static: the musl-static programs work, chain into each other from
their own directory, and really are static."""
import os

import pytest

from conftest import ROOT, base_env, connect, need, run
from util import recv_all

SBIN = os.path.join(ROOT, "build-static", "bin")


@pytest.fixture(scope="module")
def static_build():
    need("musl-gcc")
    r = run(["make", "-s", "-C", ROOT, "static"], timeout=600, env=dict(os.environ))
    assert r.returncode == 0, r.stderr.decode()
    with open(os.path.join(ROOT, "build-static", "STATIC-PROGRAMS")) as f:
        return set(f.read().split())


def is_static(path):
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    # ELF with no PT_INTERP: no dynamic loader is involved.
    return head[:4] == b"\x7fELF" and b"ld-linux" not in head and b"ld-musl" not in head


def test_per_connection_programs_are_static(static_build):
    for p in ("s6-tcpserver", "s6-tcpserverd", "s6-tcpserver-socketbinder", "s6-tcpserver-access",
              "proxy-server", "s6-applyuidgid", "s6-ipcserverd", "s6-tlsd"):
        assert p in static_build, p
        assert is_static(os.path.join(SBIN, p)), p


def test_directory_is_complete(static_build):
    built = {os.path.basename(p)[:-2] for d in ("src",) for p in
             __import__("glob").glob(os.path.join(ROOT, d, "*", "*.c"))}
    assert built <= set(os.listdir(SBIN))


def test_static_chain_serves(static_build, procs, tmp_path):
    rules = tmp_path / "rules"
    (rules / "ip4" / "127.0.0.1_32").mkdir(parents=True)
    (rules / "ip4" / "127.0.0.1_32" / "allow").write_text("")
    cdb = str(tmp_path / "rules.cdb")
    assert run([os.path.join(SBIN, "s6-accessrules-cdb-from-fs"), cdb, str(rules)]).returncode == 0
    p, port = procs.server([os.path.join(SBIN, "s6-tcpserver"), "-1", "127.0.0.1", "0",
                            os.path.join(SBIN, "s6-tcpserver-access"), "-H", "-x", cdb,
                            "sh", "-c", "echo $PROTO $TCPREMOTEIP"], env=base_env())
    s = connect("127.0.0.1", port)
    assert recv_all(s) == b"TCP 127.0.0.1\n"
    s.close()
    assert os.readlink("/proc/%d/exe" % p.pid) == os.path.join(SBIN, "s6-tcpserverd")
