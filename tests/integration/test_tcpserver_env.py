"""s6-tcpserver: the UCSPI environment, readiness, fds, address families."""
import os
import socket
import subprocess

import pytest

from conftest import base_env, prog
from tcpserver_util import LOOP, Holder, fetch, fetch_tcpclient, handler, parse_env, server, start
from util import children, wait_until


@pytest.mark.parametrize("fam", ["4", "6"])
def test_environment_with_tcpclient(procs, fam):
    host = LOOP[fam]
    p, port = server(procs, host=host)
    cport, out = fetch_tcpclient(host, port)
    env = parse_env(out)
    assert env["PROTO"] == "TCP"
    assert env["TCPLOCALIP"] == host
    assert env["TCPLOCALPORT"] == str(port)
    assert env["TCPREMOTEIP"] == host
    assert env["TCPREMOTEPORT"] == str(cport)
    assert env["TCPCONNNUM"] == "0"


@pytest.mark.parametrize("fam", ["4", "6"])
def test_environment_with_socat(procs, fam):
    host = LOOP[fam]
    p, port = server(procs, host=host)
    env = parse_env(fetch(host, port))
    assert env["PROTO"] == "TCP"
    assert env["TCPLOCALIP"] == host and env["TCPREMOTEIP"] == host
    assert env["TCPLOCALPORT"] == str(port)
    assert 0 < int(env["TCPREMOTEPORT"]) < 65536


def test_stale_variables_replaced_and_others_kept(procs):
    e = base_env(TCPREMOTEIP="10.9.9.9", TCPCONNNUM="77", PROTO="UDP", MARKER="kept")
    p, port = server(procs, env=e)
    env = parse_env(fetch("127.0.0.1", port))
    assert env["TCPREMOTEIP"] == "127.0.0.1"
    assert env["TCPCONNNUM"] == "0"
    assert env["PROTO"] == "TCP"
    assert env["MARKER"] == "kept"


def test_wildcard_ipv4_reports_real_local_address(procs):
    p, port = server(procs, host="0.0.0.0")
    for addr in ("127.0.0.1", "127.0.0.2"):
        env = parse_env(fetch(addr, port))
        assert env["TCPLOCALIP"] == addr
        assert env["TCPLOCALPORT"] == str(port)


def test_wildcard_ipv6_reports_real_local_address(procs):
    p, port = server(procs, host="::")
    env = parse_env(fetch("::1", port))
    assert env["TCPLOCALIP"] == "::1"


def test_ipv6_socket_is_v6only(procs):
    p, port = server(procs, host="::")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    with pytest.raises(ConnectionRefusedError):
        s.connect(("127.0.0.1", port))
    s.close()


def test_ipv4_mapped_reported_as_ipv4(procs):
    """A dual-stack socket handed to s6-tcpserverd (socket activation):
    IPv4 clients appear as plain IPv4, not ::ffff:a.b.c.d."""
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(("::", 0))
    ls.listen(16)
    port = ls.getsockname()[1]
    p = procs.start([prog("s6-tcpserverd"), "-1", "--"] + handler("env"), stdin=ls,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=base_env())
    ls.close()
    from conftest import read_line
    assert read_line(p.stdout, 10) == str(port)
    env = parse_env(fetch("127.0.0.1", port))
    assert env["TCPREMOTEIP"] == "127.0.0.1"
    assert env["TCPLOCALIP"] == "127.0.0.1"
    env = parse_env(fetch("::1", port))
    assert env["TCPREMOTEIP"] == "::1"


def test_readiness_line_is_port_and_stdout_closed(procs):
    p, port = server(procs)
    assert 0 < port < 65536
    # After the port line, stdout is closed: EOF, not more data.
    assert p.stdout.read() == b""


def test_no_readiness_without_1(procs):
    p = procs.start([prog("s6-tcpserver"), "127.0.0.1", "0"] + handler("env"),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=base_env())
    import select
    r, _, _ = select.select([p.stdout], [], [], 0.5)
    assert not r or p.stdout.read(1) == b""
    assert p.poll() is None


def test_stdout_closed_without_1(procs):
    """The page: s6-tcpserver closes its stdin and stdout, -1 or not; a
    caller reading its stdout (a pipe, a command substitution) sees EOF."""
    import select
    p = procs.start([prog("s6-tcpserver"), "127.0.0.1", "0"] + handler("env"),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=base_env())
    r, _, _ = select.select([p.stdout], [], [], 10)
    assert r and p.stdout.read(1) == b""
    # Still running, with the listening socket as stdin; fd 1 stays
    # occupied (by /dev/null) so no later open() can land on it.
    assert wait_until(lambda: os.readlink("/proc/%d/fd/0" % p.pid).startswith("socket:"))
    assert p.poll() is None
    assert os.readlink("/proc/%d/fd/1" % p.pid) == "/dev/null"


def test_child_fds_are_only_012_and_passed(procs):
    r, w = os.pipe()
    try:
        p, port = server(procs, pass_fds=(w,))
        env = parse_env(fetch("127.0.0.1", port))
        assert env["fds"] == sorted([0, 1, 2, w])
    finally:
        os.close(r)
        os.close(w)


def test_child_fds_only_012(procs):
    p, port = server(procs)
    env = parse_env(fetch("127.0.0.1", port))
    assert env["fds"] == [0, 1, 2]


def test_stdin_and_stdout_are_the_socket(procs):
    p, port = server(procs, mode=("hold",))
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    line = f.readline()
    assert line.startswith(b"pid ")
    pid = int(line[4:])
    assert os.readlink("/proc/%d/fd/0" % pid) == os.readlink("/proc/%d/fd/1" % pid)
    assert os.readlink("/proc/%d/fd/0" % pid).startswith("socket:")
    f.close()
    s.close()
    assert wait_until(lambda: pid not in children(p.pid))


@pytest.mark.parametrize("fam", ["4", "6"])
def test_connnum_sequence(procs, fam):
    """TCPCONNNUM = connections from that IP already open (first sees 0)."""
    host = LOOP[fam]
    script = 'echo "n=$TCPCONNNUM"; exec cat >/dev/null'
    p, port = start(procs, [prog("s6-tcpserver"), "-1", host, "0", "sh", "-c", script])
    held = []
    for i in range(3):
        h = Holder(procs, host, port)
        assert h.output(10) == "n=%d" % i
        held.append(h)
    held[0].close()
    # Once the first child is reaped, two connections are open again.
    assert wait_until(lambda: len(children(p.pid)) == 2)
    h = Holder(procs, host, port)
    assert h.output(10) == "n=2"


def test_siblings_not_taken_from_path(procs, tmp_path):
    fake = tmp_path / "s6-tcpserverd"
    fake.write_text("#!/bin/sh\necho FAKE >&2\nexit 42\n")
    fake.chmod(0o755)
    (tmp_path / "s6-tcpserver-socketbinder").symlink_to(fake)
    (tmp_path / "s6-applyuidgid").symlink_to(fake)
    env = base_env()
    env["PATH"] = "%s:%s" % (tmp_path, env["PATH"])
    p, port = server(procs, env=env, opts=["-u", "65534"])
    env = parse_env(fetch("127.0.0.1", port))
    assert env["PROTO"] == "TCP" and env["uid"] == 65534


def test_runs_from_installed_tree(procs):
    import shutil
    import tempfile
    import pathlib
    # Not under pytest's private tmp: the dropped uid must reach the binaries.
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="s6net-inst-"))
    tmp_path.chmod(0o755)
    for n in ("s6-tcpserver", "s6-tcpserver-socketbinder", "s6-tcpserverd", "s6-applyuidgid"):
        shutil.copy(prog(n), tmp_path / n)
    p, port = start(procs, [str(tmp_path / "s6-tcpserver"), "-1", "-u", "65534", "127.0.0.1", "0"] + handler("env"))
    env = parse_env(fetch("127.0.0.1", port))
    assert env["TCPLOCALPORT"] == str(port) and env["uid"] == 65534
    assert os.readlink("/proc/%d/exe" % p.pid) == str(tmp_path / "s6-tcpserverd")
    p.kill()
    p.wait(10)
    shutil.rmtree(tmp_path)


def test_prog_found_in_path(procs, tmp_path):
    (tmp_path / "myhandler").symlink_to(handler()[0])
    env = base_env()
    env["PATH"] = "%s:%s" % (tmp_path, env["PATH"])
    p, port = start(procs, [prog("s6-tcpserver"), "-1", "127.0.0.1", "0", "myhandler", "env"], env=env)
    assert parse_env(fetch("127.0.0.1", port))["PROTO"] == "TCP"


def test_missing_prog_warns_and_keeps_serving(procs):
    p, port = start(procs, [prog("s6-tcpserver"), "-1", "127.0.0.1", "0", "/nonexistent/prog"])
    assert fetch("127.0.0.1", port) == b""
    from tcpserver_util import Log
    assert "unable to spawn /nonexistent/prog" in (Log(p).wait_for("unable to spawn") or "")
    assert p.poll() is None


def test_failing_children_do_not_kill_the_server(procs, tmp_path):
    """A child whose exec fails sets errno as it goes; the server's own
    errno (tested after an interrupted poll or a drained accept) must not
    see it. A flood of connections to a program looked up along a long
    PATH and never found used to end in "unable to poll: No such file or
    directory" within a second."""
    import socket
    import struct
    import time
    env = base_env()
    env["PATH"] = ":".join(str(tmp_path / ("d%d" % i)) for i in range(32)) + ":" + env["PATH"]
    # Closed with a reset: no TIME_WAIT, so the flood uses up no ports.
    rst = struct.pack("ii", 1, 0)
    p, port = start(procs, [prog("s6-tcpserver"), "-1", "-q", "-c", "1000", "-C", "1000",
                            "127.0.0.1", "0", "s6net-no-such-handler"], env=env,
                    stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 4
    n = 0
    while n < 20000 and time.monotonic() < deadline and p.poll() is None:
        socks = []
        for _ in range(50):
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            except OSError:
                break
        n += len(socks)
        for s in socks:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, rst)
            s.close()
    assert p.poll() is None, "server died after %d connections" % n
    # And it still serves: the refused exec closes the connection at once.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert s.recv(1) == b""
    s.close()


def _script(path, text):
    path.write_text("#!/bin/sh\necho %s\n" % text)
    path.chmod(0o755)


def test_prog_path_search_empty_entry_is_cwd(procs, tmp_path):
    """prog is searched in the children's PATH by the rule of every program
    of the suite (core/exec.h): an empty entry is the current directory,
    at start as in a child that searches again. The start-up lookup used
    to skip it and run the copy further along PATH."""
    cwd, bindir = tmp_path / "cwd", tmp_path / "bin"
    cwd.mkdir()
    bindir.mkdir()
    _script(cwd / "s6net-probe", "from-cwd")
    _script(bindir / "s6net-probe", "from-bin")
    e = base_env(PATH="/nonexistent::%s:%s" % (bindir, base_env()["PATH"]))
    args = [prog("s6-tcpserver"), "-1", "127.0.0.1", "0", "s6net-probe"]
    p, port = start(procs, args, env=e, cwd=str(cwd))
    assert fetch("127.0.0.1", port) == b"from-cwd\n"
    # Not there at start: each child searches, by the same rule.
    p2, port2 = start(procs, [prog("s6-tcpserver"), "-1", "127.0.0.1", "0", "s6net-late"], env=e, cwd=str(cwd))
    _script(bindir / "s6net-late", "late-from-bin")
    assert fetch("127.0.0.1", port2) == b"late-from-bin\n"
    _script(cwd / "s6net-late", "late-from-cwd")
    assert fetch("127.0.0.1", port2) == b"late-from-cwd\n"
