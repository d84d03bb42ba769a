"""What each checked build really runs, so that a checker's coverage
cannot vanish without a failure (tests/README.md, "Checkers").

make sanitize runs the suite on two builds: S6NET_SANITIZE=1
(AddressSanitizer + UBSan; the servers spawn with vfork and keep no
acceptors, as ASan cannot follow a clone(CLONE_VM) child) and
S6NET_SANITIZE=undefined (UBSan alone, with the clone child, the
acceptors, the futex lock and the signalfd loop kept, as shipped).
make check runs the plain build, which must have them too."""
import os
import platform

import pytest

from conftest import BIN, ROOT, base_env, prog, run
from tcpserver_util import Holder, server
from tls_util import keeper_pid, server_env, start_tlsserver, zygote_pid, zygote_workers
from util import ACCEPTOR_COMM, acceptors, children, comm, wait_until

CHECKER = os.environ.get("S6NET_SANITIZE", "")
# The symbol every object instrumented by the checker calls or links.
MARKER = {"1": b"__asan_init", "undefined": b"__ubsan_handle_"}.get(CHECKER)
# lib/server's clone backend: Linux on these two only; vfork elsewhere.
CLONE_PLATFORM = platform.system() == "Linux" and platform.machine() in ("x86_64", "aarch64")
# The build should have the clone backend and its acceptors: plain and
# UBSan builds on a clone platform, never the ASan build.
WANT_CLONE = CLONE_PLATFORM and CHECKER != "1"


def test_the_checker_is_one_make_sanitize_knows():
    # A new value would silently get the expectations of the plain build.
    assert CHECKER in ("", "1", "undefined"), CHECKER


@pytest.mark.skipif(MARKER is None, reason="plain build: no checker")
def test_every_shipped_program_is_instrumented():
    """Each program of the build, including those the plain build links
    with musl or statically (which the checker's build must not leave
    unchecked), carries the checker's instrumentation."""
    names = sorted(os.listdir(BIN))
    assert "s6-tcpserverd" in names and "s6-tlsd-io" in names, names
    bare = []
    for n in names:
        with open(os.path.join(BIN, n), "rb") as f:
            if MARKER not in f.read():
                bare.append(n)
    assert not bare, "built without %s: %s" % (MARKER.decode(), bare)


def fds(pid):
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return out


def test_server_backend_is_the_expected_one(procs):
    """The clone build: idle acceptors named s6-tcp-acceptor, signals read
    from a signalfd, acceptors' news through an eventfd, and a
    connection's child taken from the acceptors. The ASan build: none of
    that, the loop accepts and spawns with vfork."""
    p, port = server(procs, mode=("hold",))
    h = Holder(procs, "127.0.0.1", port)
    pid = h.pid()
    assert pid and comm(pid) == "tcpsrv_handler"
    assert children(p.pid) == [pid]
    links = fds(p.pid)
    if WANT_CLONE:
        assert wait_until(lambda: len(acceptors(p.pid)) == 2), children(p.pid, True)
        assert all(comm(a) == ACCEPTOR_COMM for a in acceptors(p.pid))
        assert "anon_inode:[signalfd]" in links, links
        assert "anon_inode:[eventfd]" in links, links
    else:
        assert acceptors(p.pid) == [] and children(p.pid, True) == [pid]
        assert "anon_inode:[signalfd]" not in links, links
    h.close()


def exe(pid):
    """The program a process runs: /proc/PID/exe, or, where that link is
    closed to us (an ordinary user and a non-dumpable process: the zygote
    and its workers), the path it was started as; None once it has gone."""
    try:
        try:
            return os.path.realpath(os.readlink("/proc/%d/exe" % pid))
        except PermissionError:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return os.path.realpath(f.read().split(b"\0")[0].decode())
    except (FileNotFoundError, ProcessLookupError):
        return None


def test_tls_zygote_and_keeper_run_checked_programs(procs, certs, tmp_path):
    """s6-tlsserver's keeper and zygote, and a worker the zygote forked
    for a connection, are processes of this build's (checked) programs."""
    import socket
    import ssl
    p, port = start_tlsserver(procs, tmp_path, server_env(certs))
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert s.recv(100) == b"ok\n"
    k = keeper_pid(p.pid)
    z = zygote_pid(p.pid)
    assert k and z, (k, z)
    assert exe(k) == os.path.realpath(prog("s6-tlsserver"))
    assert exe(z) == os.path.realpath(prog("s6-tlsd-io"))
    # The zygote keeps pre-forked workers waiting for the next connection.
    # (the worker that served the connection above may be exiting: the
    # check is on the ones waiting)
    want = os.path.realpath(prog("s6-tlsd-io"))
    assert wait_until(lambda: zygote_workers(z)), "the zygote has no worker"
    assert wait_until(lambda: [w for w in zygote_workers(z) if exe(w) == want]), \
        [(w, exe(w)) for w in zygote_workers(z)]


CHECKED = os.path.join(ROOT, "tools", "checked.sh")
# A fake report written where the runtime would write one: log_path.PID.
FAKE_REPORT = 'p=${%s##*log_path=}; p=${p%%%%:*}; echo "runtime error: planted" > "$p.$$"'


@pytest.mark.parametrize("checker,var", [("address", "ASAN_OPTIONS"), ("undefined", "UBSAN_OPTIONS")])
def test_checked_sh_fails_on_any_report(checker, var, tmp_path):
    """tools/checked.sh, which make sanitize runs each build's make check
    under: a report written by any process fails the run and is printed,
    even when the command itself succeeded; without one, the command's
    own exit code comes back; a log_path the caller set does not win."""
    env = base_env(**{var: "log_path=%s" % (tmp_path / "caller")})
    r = run(["sh", CHECKED, checker, "sh", "-c", FAKE_REPORT % var], env=env)
    assert r.returncode == 1, r
    assert b"runtime error: planted" in r.stdout and b"1 %s reports" % checker.encode() in r.stdout, r.stdout
    assert run(["sh", CHECKED, checker, "true"], env=env).returncode == 0
    assert run(["sh", CHECKED, checker, "sh", "-c", "exit 7"], env=env).returncode == 7
    assert not list(tmp_path.iterdir())
