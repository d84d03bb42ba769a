"""s6-tcpserverd and s6-ipcserverd on exit: once the server process has
exited on SIGTERM or SIGQUIT, nothing of it still holds the listening
socket, so a client that connects right after is refused. Connections
already handed to children are not affected."""
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import base_env, prog, read_line
from tcpserver_util import handler, server

ROUNDS = int(os.environ.get("S6NET_EXIT_ROUNDS", "150"))
BUDGET = float(os.environ.get("S6NET_EXIT_SECONDS", "30"))


def refused(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(addr)
    except (ConnectionRefusedError, FileNotFoundError):
        return True
    except ConnectionResetError:
        return False    # it reached a listener that was going away
    finally:
        s.close()
    return False


def rounds(start, sig):
    """Start a server, signal it, wait for its exit, connect at once;
    bounded in rounds and time. Returns (rounds run, failures)."""
    bad = []
    deadline = time.monotonic() + BUDGET
    n = 0
    while n < ROUNDS and time.monotonic() < deadline:
        n += 1
        p, fam, addr = start()
        try:
            os.kill(p.pid, sig)
            assert p.wait(10) == 0
            if not refused(fam, addr):
                bad.append(n)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(5)
            p.stdout.close()
    return n, bad


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGQUIT], ids=["TERM", "QUIT"])
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"], ids=["v4", "v6"])
def test_tcp_refused_after_exit(sig, host):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET

    def start():
        p = subprocess.Popen([prog("s6-tcpserver"), "-1", host, "0"] + handler("env"),
                             env=base_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        line = read_line(p.stdout, 10)
        assert line, "server did not become ready"
        return p, fam, (host, int(line))

    n, bad = rounds(start, sig)
    assert n >= 10
    assert not bad, "connected after exit in %d of %d rounds (first %r)" % (len(bad), n, bad[:5])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGQUIT], ids=["TERM", "QUIT"])
def test_ipc_refused_after_exit(sig, sockdir):
    path = os.path.join(sockdir, "s")

    def start():
        p = subprocess.Popen([prog("s6-ipcserver"), "-1", path, "true"],
                             env=base_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        assert read_line(p.stdout, 10) is not None, "server did not become ready"
        return p, socket.AF_UNIX, path

    n, bad = rounds(start, sig)
    assert n >= 10
    assert not bad, "connected after exit in %d of %d rounds (first %r)" % (len(bad), n, bad[:5])


def test_children_outlive_the_server(procs):
    """A connection handed to a child before the exit is still served."""
    p, port = server(procs, mode=("hold",))
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        f = c.makefile("rb")
        line = f.readline()
        assert line.startswith(b"pid ")
        child = int(line[4:])
        os.kill(p.pid, signal.SIGTERM)
        assert p.wait(10) == 0
        os.kill(child, 0)           # still there
        assert refused(socket.AF_INET, ("127.0.0.1", port))
    finally:
        c.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGQUIT], ids=["TERM", "QUIT"])
def test_activated_tcp_refused_after_exit(procs, sig):
    """The same with the socket from systemd socket activation (fd 3,
    which children close before their exec)."""
    from activation_util import activate
    bad = []
    deadline = time.monotonic() + BUDGET
    n = 0
    while n < ROUNDS // 3 and time.monotonic() < deadline:
        n += 1
        p, (addr,) = activate(procs, [("127.0.0.1", None)], [prog("s6-tcpserverd"), "-1"] + handler("env"))
        # The first connection starts the server; -1 says it serves.
        socket.create_connection(addr, timeout=10).close()
        assert read_line(p.stdout, 10) == str(addr[1])
        os.kill(p.pid, sig)
        assert p.wait(10) == 0
        if not refused(socket.AF_INET, addr):
            bad.append(n)
    assert n >= 5
    assert not bad, "connected after exit in %d of %d rounds (first %r)" % (len(bad), n, bad[:5])
