"""s6-tcpserver under load: 100,000 connections with -c and -C saturated,
1,000 concurrent slow clients at exactly -c, clients that reset mid-way.
Afterwards the server has reaped everything, holds the same fds and the
same resident memory, and every child saw a correct environment (checked
by the client on every connection, not a sample)."""
import os
import signal
import socket

from conftest import base_env, prog
from stress_util import RSS_SLACK_KB, fds, handler, load, load_popen, rss_kb, settle
from util import comm

TOTAL = int(os.environ.get("S6NET_STRESS_CONNS", "100000"))
# -c and -C for the first test: low enough that 96 clients keep the
# server at both limits. (With pre-forked acceptors the server turns a
# connection over faster than the clients open them: at -c 64 fewer than
# ten connections were open at a time, and the limits were never met.)
MAXCONN, LOCALMAXCONN = 16, 6


def start(procs, tmp_path, opts, mode):
    log = open(tmp_path / "server.log", "wb")
    p, port = procs.server([prog("s6-tcpserver"), "-1"] + opts + ["127.0.0.1", "0", handler(), mode],
                           env=base_env(), stderr=log)
    assert comm(p.pid) == "s6-tcpserverd"
    return p, port, tmp_path / "server.log"


def log_lines(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace").splitlines()


def held_at_limits(port, logf):
    """Hold MAXCONN connections open (6, 5 and 5 from three sources, each
    one served: its ENV line read), then check that the server logged
    itself at -c and that a client from a fourth source waits unserved
    until they close."""
    sources = ["127.0.0.2"] * LOCALMAXCONN + ["127.0.0.3", "127.0.0.4"] * ((MAXCONN - LOCALMAXCONN) // 2)
    assert len(sources) == MAXCONN
    held = []
    n0 = len(log_lines(logf))
    try:
        for src in sources:
            s = socket.socket()
            s.settimeout(20)
            s.bind((src, 0))
            s.connect(("127.0.0.1", port))
            held.append(s)
            assert s.makefile("rb").readline().startswith(b"ENV "), src
        new = log_lines(logf)[n0:]
        assert [l for l in new if " from " in l and " connections %d/%d " % (MAXCONN, MAXCONN) in l], new[-3:]
        extra = socket.socket()
        extra.settimeout(1)
        extra.bind(("127.0.0.5", 0))
        extra.connect(("127.0.0.1", port))
        held.append(extra)
        try:
            got = extra.recv(64)
        except socket.timeout:
            got = None
        assert got is None, "a connection beyond -c was served: %r" % got
        for s in held[:-1]:
            s.close()
        extra.settimeout(20)
        assert extra.makefile("rb").readline().startswith(b"ENV "), "the waiting client was never served"
    finally:
        for s in held:
            s.close()


def test_100k_connections_at_c_and_C(procs, tmp_path, figures):
    """96 client processes from 3 source addresses (48, 24, 24) against
    -c 16 -C 6: the server is at maxconn (the rest wait in the backlog)
    and the first source at localmaxconn (its excess is accepted and
    closed at once) all the time; 40% of the clients reset (SO_LINGER 0),
    half of those after sending data."""
    p, port, logf = start(procs, tmp_path, ["-v", "-c", str(MAXCONN), "-C", str(LOCALMAXCONN), "-b", "1024"], "env")
    rc, c, err = load("fast", "127.0.0.1", port, 3000, 96, 3)     # warm-up: tables and pages touched
    assert rc == 0, (c, err)
    assert not settle(p.pid)
    fd0, rss0 = fds(p.pid), rss_kb(p.pid)

    rc, c, err = load("fast", "127.0.0.1", port, TOTAL, 96, 3)
    assert rc == 0, (c, err)
    assert c["ok"] + c["refused"] + c["reset"] == TOTAL, c
    assert c["bad"] == 0 and c["err"] == 0
    # Refused clients come back sooner, so the first source's share (and
    # the refusals) grow with the run: a tenth served is the floor.
    assert c["ok"] > TOTAL // 10, c
    assert c["refused"] > 0, "-C was never reached: %r" % (c,)

    left = settle(p.pid)
    assert not left, "children left (pid, state): %r" % left[:10]
    fd1, rss1 = fds(p.pid), rss_kb(p.pid)
    assert fd1 == fd0
    assert rss1 - rss0 <= RSS_SLACK_KB, (rss0, rss1)
    assert p.poll() is None
    # still serving, and nothing but refusals in the log. Fewer probe
    # connections than -C: one client's connections count against -C until
    # the server has reaped their children, which may lag behind a fast
    # sequential client (ASan, a loaded machine), and then a 20-connection
    # probe was refused twice at -C 6.
    n = LOCALMAXCONN - 1
    rc, c2, err = load("fast", "127.0.0.1", port, n, 1, 1)
    assert rc == 0 and c2["ok"] == n - 2 and c2["reset"] == 2 and c2["refused"] == 0, (c2, err)
    lines = log_lines(logf)
    refusals = [l for l in lines if "too many connections from this source (%d/%d)" % (LOCALMAXCONN, LOCALMAXCONN) in l]
    at_c = [l for l in lines if " connections %d/%d " % (MAXCONN, MAXCONN) in l]
    odd = [l for l in lines if " warning: " in l and l not in refusals or " fatal: " in l]
    assert not odd, odd[:5]
    assert len(refusals) >= c["refused"]
    # Whether the load itself drove the server to exactly -c depends on how
    # the scheduler shares two cores between 96 clients and the server (a CI
    # run once never got there): the count is recorded, and -c and -C are
    # then reached on purpose, with connections held open.
    at_c_under_load = len(at_c)
    assert not settle(p.pid)
    held_at_limits(port, logf)
    figures(what="s6-tcpserver -c %d -C %d" % (MAXCONN, LOCALMAXCONN), connections=TOTAL, ok=c["ok"], refused_by_C=c["refused"],
            refusals_logged=len(refusals), at_maxconn_under_load=at_c_under_load,
            reset=c["reset"], bad_env=c["bad"], errors=c["err"], seconds=c["ms"] / 1000,
            fds_before=fd0, fds_after=fd1, rss_kb_before=rss0, rss_kb_after=rss1, zombies=len(left))


def test_1000_slow_clients_at_c(procs, tmp_path, figures):
    """1,000 clients held open at once (250 from each of 4 addresses: -c and
    -C exactly at their limits), each echoing a byte per round; one more
    client waits unserved in the backlog until half of them close and
    half reset."""
    n = 1000
    p, port, logf = start(procs, tmp_path, ["-c", str(n), "-C", str(n // 4), "-b", "2048"], "echo")
    rc, c, err = load("slow", "127.0.0.1", port, n, 2, 0, 4)       # warm-up: every slot used once
    assert rc == 0, (c, err)
    assert not settle(p.pid)
    fd0, rss0 = fds(p.pid), rss_kb(p.pid)

    rc, c, err = load("slow", "127.0.0.1", port, n, 10, 300, 4)
    assert rc == 0, (c, err)
    assert c["ok"] == n // 2 and c["reset"] == n // 2 and c["bad"] == 0 and c["err"] == 0, c
    left = settle(p.pid)
    assert not left, left[:10]
    fd1, rss1 = fds(p.pid), rss_kb(p.pid)
    assert fd1 == fd0
    assert rss1 - rss0 <= RSS_SLACK_KB, (rss0, rss1)
    assert not log_lines(logf)
    figures(what="s6-tcpserver -c 1000 -C 250, slow echo", connections=n + 1, ok=c["ok"] + 1,
            reset=c["reset"], bad_env=c["bad"], errors=c["err"], seconds=c["ms"] / 1000,
            fds_before=fd0, fds_after=fd1, rss_kb_before=rss0, rss_kb_after=rss1, zombies=len(left))


def test_signal_storm_during_load(procs, tmp_path, figures):
    """SIGCHLD (trapped, nothing to reap), SIGCONT, SIGWINCH and SIGURG
    (ignored) and SIGSTOP/SIGCONT pairs, as fast as Python sends them,
    while 20,000 connections go through: accept and spawn are interrupted
    over and over and nothing is lost."""
    total = max(2000, TOTAL // 5)
    p, port, logf = start(procs, tmp_path, ["-c", "64", "-C", "64"], "env")
    # The baseline after a warm-up, as in the other runs: just after start
    # the server may still hold a descriptor it is about to close (seen
    # once as 6 fds before the run, 5 after).
    rc, c, err = load("fast", "127.0.0.1", port, 200, 4, 2)
    assert rc == 0, (c, err)
    assert not settle(p.pid)
    fd0 = fds(p.pid)
    lp = load_popen("fast", "127.0.0.1", port, total, 16, 2)
    sent = 0
    sigs = (signal.SIGCHLD, signal.SIGCONT, signal.SIGWINCH, signal.SIGURG, signal.SIGSTOP, signal.SIGCONT)
    while lp.poll() is None and sent < 10_000_000:
        for s in sigs:
            os.kill(p.pid, s)
        sent += len(sigs)
    os.kill(p.pid, signal.SIGCONT)
    out, err = lp.communicate(timeout=60)
    c = dict(t.split("=") for t in out.decode().split())
    c = {k: int(v) for k, v in c.items()}
    assert lp.returncode == 0, (c, err[-2000:])
    assert c["ok"] + c["refused"] + c["reset"] == total and c["refused"] == 0, c
    assert p.poll() is None
    assert not settle(p.pid)
    assert fds(p.pid) == fd0
    assert not log_lines(logf)
    figures(what="s6-tcpserver under a signal storm", connections=total, ok=c["ok"], reset=c["reset"],
            signals=sent, errors=c["err"], bad_env=c["bad"], seconds=c["ms"] / 1000)
