"""s6-tcpserverd's acceptors: the idle processes that wait in accept() and
become the connection's child (Linux x86_64/aarch64 builds; sanitizer
builds accept in the server and have none). What must hold: they count
towards -c, they are not connections for the signals, they never outlive
the server, and killing them never loses or miscounts a connection."""
import os
import signal
import socket
import subprocess

import pytest

from conftest import SANITIZE, base_env, prog
from tcpserver_util import Holder, handler, parse_env, server, start
from util import acceptors, alive, children, comm, recv_all, wait_until

pytestmark = pytest.mark.skipif(SANITIZE, reason="sanitizer builds have no acceptors (the server accepts)")

NACC = 2   # idle acceptors s6-tcpserverd keeps


def test_two_idle_acceptors_named_in_ps(procs):
    p, port = server(procs, mode=("hold",))
    assert wait_until(lambda: len(acceptors(p.pid)) == NACC)
    assert all(comm(a) == "s6-tcp-acceptor" for a in acceptors(p.pid))
    assert children(p.pid) == []
    h = Holder(procs, "127.0.0.1", port)
    pid = h.pid()
    # The connection's child is one of them, gone through execve.
    assert comm(pid) == "tcpsrv_handler"
    assert children(p.pid) == [pid]
    assert wait_until(lambda: len(acceptors(p.pid)) == NACC)
    h.close()


def test_acceptors_hold_places_of_maxconn(procs):
    """-c 3: two acceptors and no connection, then one acceptor fewer for
    each connection past the first; at three connections none is left and
    a fourth client waits in the backlog until one ends."""
    p, port = server(procs, opts=["-c", "3"], mode=("hold",))
    assert wait_until(lambda: len(acceptors(p.pid)) == 2)
    hs = []
    for n, left in ((1, 2), (2, 1), (3, 0)):
        hs.append(Holder(procs, "127.0.0.1", port))
        assert hs[-1].pid()
        assert wait_until(lambda: len(children(p.pid)) == n and len(acceptors(p.pid)) == left), \
            (n, children(p.pid), acceptors(p.pid))
    waiting = Holder(procs, "127.0.0.1", port)
    assert waiting.pid(timeout=0.5) is None
    hs[0].close()
    assert waiting.pid()
    assert len(children(p.pid)) == 3


def test_sighup_and_sigquit_leave_idle_acceptors_alone(procs):
    p, port = server(procs, mode=("hold",))
    h = Holder(procs, "127.0.0.1", port)
    conn = h.pid()
    assert wait_until(lambda: len(acceptors(p.pid)) == NACC)
    idle = acceptors(p.pid)
    p.send_signal(signal.SIGHUP)
    assert wait_until(lambda: not alive(conn))
    assert all(alive(a) for a in idle) and sorted(acceptors(p.pid)) == sorted(idle)
    # They got no pending SIGTERM either: the next connections live on.
    hs = [Holder(procs, "127.0.0.1", port) for _ in range(3)]
    pids = [x.pid() for x in hs]
    assert all(pids) and all(alive(x) for x in pids)
    p.send_signal(signal.SIGQUIT)
    assert p.wait(10) == 0
    assert wait_until(lambda: not any(alive(x) for x in pids + acceptors(p.pid)))


def test_signals_sent_to_idle_acceptors_never_reach_a_connection(procs):
    """An idle acceptor holds the server's blocked signals; whatever was
    sent to it while idle (by hand, to the process group, a terminal's
    hangup) is dropped, not delivered to the program of the connection it
    then serves."""
    p, port = server(procs, mode=("hold",))
    assert wait_until(lambda: len(acceptors(p.pid)) == NACC)
    idle = acceptors(p.pid)
    for a in idle:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE):
            os.kill(a, sig)
    assert all(alive(a) for a in idle)
    hs = [Holder(procs, "127.0.0.1", port) for _ in range(NACC + 1)]
    pids = [h.pid() for h in hs]
    assert all(pids), pids
    assert set(idle) <= set(pids)   # both signalled acceptors became connections
    assert not wait_until(lambda: not all(alive(x) for x in pids), timeout=0.5)
    for h in hs:
        h.close()
    assert p.poll() is None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_acceptors_never_outlive_the_server(procs, sig):
    """SIGTERM: the server kills them; SIGKILL: the kernel does
    (PR_SET_PDEATHSIG). Connections live on either way."""
    p, port = server(procs, mode=("hold",))
    h = Holder(procs, "127.0.0.1", port)
    conn = h.pid()
    assert wait_until(lambda: len(acceptors(p.pid)) == NACC)
    idle = acceptors(p.pid)
    p.send_signal(sig)
    p.wait(10)
    assert wait_until(lambda: not any(alive(a) for a in idle))
    assert alive(conn)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).recv(1)
    h.close()


def live_acceptors(pid):
    return [a for a in acceptors(pid) if alive(a)]


def fetch_env(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        return parse_env(recv_all(c))


def test_killed_acceptors_are_replaced_and_counts_stay_right(procs):
    """Acceptors killed over and over between connections: the server
    replaces them, every client is served, and TCPCONNNUM (connections
    already open from the address) stays 0 for a sequential client."""
    p, port = server(procs, opts=["-C", "3"])
    for i in range(60):
        killed = live_acceptors(p.pid)
        for a in killed:
            os.kill(a, signal.SIGKILL)
        assert wait_until(lambda: not any(alive(a) for a in killed) and len(live_acceptors(p.pid)) == NACC), i
        assert fetch_env(port)["TCPCONNNUM"] == "0", i
        assert wait_until(lambda: not children(p.pid)), i
    assert p.poll() is None


def test_acceptors_killed_under_load_leave_counts_consistent(procs, tmp_path):
    """Acceptors killed at random while clients keep connecting (a client
    whose connection a dying acceptor had just taken sees it closed: the
    kernel gives it to the process it woke). An acceptor killed while it
    holds the lock on the counts is the case that matters: the server
    takes the lock back and counts again. Afterwards the server still
    serves and every count is back: TCPCONNNUM 0, and the log's
    connections and source counts 1 for a lone client."""
    import threading
    import time
    log = tmp_path / "log"
    with open(log, "w") as f:
        p, port = server(procs, opts=["-v", "-c", "20", "-C", "5"], mode=("env",), stderr=f)
    stop = time.monotonic() + 2.0
    served = [0]

    def load():
        while time.monotonic() < stop:
            try:
                if fetch_env(port).get("PROTO") == "TCP":
                    served[0] += 1
            except OSError:
                pass
    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    killed = set()
    while time.monotonic() < stop:
        for a in acceptors(p.pid):
            try:
                os.kill(a, signal.SIGKILL)
                killed.add(a)
            except ProcessLookupError:
                pass
        time.sleep(0.001)
    for t in threads:
        t.join(30)
    assert killed and served[0] > 0, (len(killed), served[0])
    # Every connection ended and every killed acceptor reaped (one that
    # had admitted a connection counts it until then; killing is not
    # instant, so a dying one still looks alive for a moment).
    assert wait_until(lambda: not children(p.pid) and not set(children(p.pid, True)) & killed)
    for _ in range(5):
        assert fetch_env(port)["TCPCONNNUM"] == "0"
        assert wait_until(lambda: not children(p.pid))   # reaped before the next
    assert p.poll() is None
    p.terminate()
    assert p.wait(10) == 0
    lines = log.read_text().splitlines()
    last = [l for l in lines if " info: pid " in l][-5:]
    assert len(last) == 5 and all(l.endswith(" connections 1/20 source 1/5") for l in last), last


def test_listener_shut_down_is_fatal_and_leaves_nothing(procs):
    """accept() failing for good (the listening socket shut down by
    whoever shares it) ends the server with 111, and its acceptors."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    p = procs.start([prog("s6-tcpserverd"), "-1", "--"] + handler("env"), stdin=ls, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, env=base_env())
    assert p.stdout.readline().strip() == str(ls.getsockname()[1]).encode()
    assert wait_until(lambda: len(acceptors(p.pid)) == NACC)
    idle = acceptors(p.pid)
    ls.shutdown(socket.SHUT_RD)
    assert p.wait(10) == 111
    assert p.stderr.read() == b"s6-tcpserverd: fatal: unable to accept: Invalid argument\n"
    assert wait_until(lambda: not any(alive(a) for a in idle))
    ls.close()


def test_refused_connections_keep_the_acceptor(procs):
    """-C 1: a refused connection is closed by its acceptor, which goes
    back to accept(): no new process per refusal, one warning each."""
    p, port = start(procs, [prog("s6-tcpserver"), "-1", "-C", "1", "127.0.0.1", "0"] + handler("hold"))
    h = Holder(procs, "127.0.0.1", port)
    assert h.pid()
    assert wait_until(lambda: len(acceptors(p.pid)) == NACC)
    idle = sorted(acceptors(p.pid))
    for _ in range(20):
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        assert c.recv(10) == b""
        c.close()
    assert sorted(acceptors(p.pid)) == idle
    h.close()
    p.terminate()
    assert p.wait(10) == 0
    warned = [l for l in p.stderr.read().decode().splitlines() if "too many connections" in l]
    assert len(warned) == 20 and all(l.startswith("s6-tcpserverd: warning: refused 127.0.0.1:") for l in warned)


def test_memory_comes_back_after_a_burst(procs):
    """Each connection slot in use holds a few pages (the child's stack and
    environment); after a burst of 200 connections the slots that sank
    deep in the free list give their pages back, so the server's RSS ends
    near where it started instead of at the burst's peak."""
    p, port = server(procs, opts=["-c", "300", "-C", "300"], mode=("hold",))

    def rss():
        with open("/proc/%d/status" % p.pid) as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

    def burst(n):
        held = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            buf = b""
            while not buf.endswith(b"\n"):
                b = s.recv(100)
                assert b
                buf += b
            held.append(s)
        return held

    for s in burst(1):
        s.close()
    assert wait_until(lambda: not children(p.pid))
    before = rss()
    for _ in range(2):
        held = burst(200)
        peak = rss()
        for s in held:
            s.close()
        assert wait_until(lambda: not children(p.pid))
        after = rss()
        assert peak - before >= 400, (before, peak)
        assert after - before <= 256, (before, peak, after)
