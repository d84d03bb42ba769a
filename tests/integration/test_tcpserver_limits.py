"""s6-tcpserver: -c / -C limits, per-prefix sources, rate limit, logging."""
import select
import subprocess

import pytest

from conftest import prog
from tcpserver_util import LOOP, Holder, Log, fetch, parse_env, server, start
from util import children, state, wait_until


@pytest.mark.parametrize("fam", ["4", "6"])
def test_maxconn_queues_in_backlog(procs, fam):
    host = LOOP[fam]
    p, port = server(procs, host=host, mode=("hold",), opts=["-c", "1"])
    first = Holder(procs, host, port)
    assert first.pid()
    second = Holder(procs, host, port)
    # Not served while the only slot is taken, and not closed either.
    r, _, _ = select.select([second.p.stdout], [], [], 0.5)
    assert not r
    assert second.p.poll() is None
    first.close()
    assert second.pid() is not None
    second.close()


def test_flood_beyond_maxconn_is_served_in_turn(procs):
    p, port = server(procs, opts=["-c", "2", "-C", "2"])
    clients = [procs.start(["socat", "-u", "TCP4:127.0.0.1:%d" % port, "-"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for _ in range(30)]
    outs = [c.communicate(timeout=30)[0] for c in clients]
    assert all(parse_env(o).get("PROTO") == "TCP" for o in outs)
    assert p.poll() is None
    assert wait_until(lambda: not children(p.pid))


@pytest.mark.parametrize("fam", ["4", "6"])
def test_localmaxconn_accepts_and_closes(procs, fam):
    host = LOOP[fam]
    p, port = server(procs, host=host, mode=("hold",), opts=["-C", "1"])
    log = Log(p)
    first = Holder(procs, host, port)
    assert first.pid()
    # Over the per-IP limit: closed at once (EOF), not queued.
    assert fetch(host, port, timeout=10) == b""
    line = log.wait_for("refused")
    assert line and line.startswith("s6-tcpserverd: warning: refused")
    assert host in line and "1/1" in line
    first.close()


def test_localmaxconn_is_per_address(procs):
    p, port = server(procs, mode=("hold",), opts=["-C", "1"])
    a = Holder(procs, "127.0.0.1", port)
    assert a.pid()
    b = Holder(procs, "127.0.0.1", port, bind="127.0.0.2")
    assert b.pid()


def test_quiet_does_not_log_refusals(procs):
    p, port = server(procs, mode=("hold",), opts=["-q", "-C", "1"])
    a = Holder(procs, "127.0.0.1", port)
    assert a.pid()
    assert fetch("127.0.0.1", port) == b""
    a.close()
    p.terminate()
    assert p.wait(10) == 0
    assert p.stderr.read() == b""


def test_prefix_groups_ipv4_sources(procs):
    script = 'echo "n=$TCPCONNNUM"; exec cat >/dev/null'
    p, port = start(procs, [prog("s6-tcpserver"), "-1", "-P", "8,64", "127.0.0.1", "0",
                            "sh", "-c", script])
    a = Holder(procs, "127.0.0.1", port)
    assert a.output(10) == "n=0"
    b = Holder(procs, "127.0.0.1", port, bind="127.0.0.2")
    assert b.output(10) == "n=1"


def test_prefix_with_localmaxconn(procs):
    p, port = server(procs, mode=("hold",), opts=["-P", "24,64", "-C", "1"])
    a = Holder(procs, "127.0.0.1", port)
    assert a.pid()
    assert fetch("127.0.0.1", port, bind="127.0.0.9") == b""
    # A different /24 is another source.
    c = Holder(procs, "127.0.0.1", port, bind="127.0.1.9")
    assert c.pid()


def test_default_prefix_separates_addresses(procs):
    script = 'echo "n=$TCPCONNNUM"; exec cat >/dev/null'
    p, port = start(procs, [prog("s6-tcpserver"), "-1", "127.0.0.1", "0", "sh", "-c", script])
    a = Holder(procs, "127.0.0.1", port)
    assert a.output(10) == "n=0"
    b = Holder(procs, "127.0.0.1", port, bind="127.0.0.2")
    assert b.output(10) == "n=0"


@pytest.mark.parametrize("fam", ["4", "6"])
def test_rate_limit(procs, fam):
    host = LOOP[fam]
    p, port = server(procs, host=host, opts=["-R", "1"])
    log = Log(p)
    outs = [fetch(host, port) for _ in range(4)]
    assert parse_env(outs[0])["PROTO"] == "TCP"
    assert b"" in outs[1:]
    line = log.wait_for("per second")
    assert line and "refused" in line


def test_no_rate_limit_by_default(procs):
    p, port = server(procs)
    outs = [fetch("127.0.0.1", port) for _ in range(20)]
    assert all(parse_env(o).get("PROTO") == "TCP" for o in outs)


@pytest.mark.parametrize("fam", ["4", "6"])
def test_verbose_logs_connection_and_exit(procs, fam):
    host = LOOP[fam]
    p, port = server(procs, host=host, opts=["-v"], mode=("exit", "3"))
    log = Log(p)
    fetch(host, port)
    line = log.wait_for(" from ")
    assert line is not None
    peer = ("[%s]:" % host) if fam == "6" else ("%s:" % host)
    assert line.startswith("s6-tcpserverd: info: pid ")
    assert peer in line and "connections 1/40" in line and "source 1/40" in line
    pid = line.split()[3]
    end = log.wait_for("end pid " + pid)
    assert end is not None and "exit 3" in end and "connections 0/40" in end


def test_verbose_logs_signal_death(procs):
    p, port = server(procs, opts=["-v"], mode=("hold",))
    log = Log(p)
    h = Holder(procs, "127.0.0.1", port)
    pid = h.pid()
    import os
    import signal
    os.kill(pid, signal.SIGKILL)
    assert "signal 9" in (log.wait_for("end pid %d" % pid) or "")


def test_default_verbosity_is_silent_per_connection(procs):
    p, port = server(procs)
    fetch("127.0.0.1", port)
    p.terminate()
    assert p.wait(10) == 0
    assert p.stderr.read() == b""


def test_no_zombies_after_many_connections(procs):
    p, port = server(procs, opts=["-c", "5"])
    for _ in range(40):
        fetch("127.0.0.1", port)
    assert wait_until(lambda: not children(p.pid))
    assert state(p.pid) in ("S", "R")


def test_Q_after_v_is_normal_verbosity(procs):
    """-Q: warnings (refusals) but no per-connection lines; last option wins."""
    p, port = server(procs, mode=("hold",), opts=["-v", "-Q", "-C", "1"])
    log = Log(p)
    a = Holder(procs, "127.0.0.1", port)
    assert a.pid()
    assert fetch("127.0.0.1", port) == b""
    assert log.wait_for("refused") is not None
    a.close()
    p.terminate()
    assert p.wait(10) == 0
    rest = log.drain(1)
    assert not any(" from " in l or "end pid" in l or "starting" in l for l in rest)


def test_source_counts_survive_table_reshuffles(procs):
    """Many sources share the per-source table; when one source's last
    connection ends its entry is removed and colliding entries move.
    Every source must still count from 0 afterwards (a connection that
    kept a stale table position left its source throttled for good)."""
    import socket
    script = 'echo "n=$TCPCONNNUM"; exec cat >/dev/null'
    p, port = start(procs, [prog("s6-tcpserver"), "-1", "-c", "40", "-C", "1",
                            "127.0.0.1", "0", "sh", "-c", script])
    addrs = ["127.0.0.%d" % i for i in range(2, 42)]

    def one_round():
        socks = []
        try:
            for a in addrs:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.settimeout(10)
                s.bind((a, 0))
                s.connect(("127.0.0.1", port))
                f = s.makefile("rb")
                line = f.readline().decode().strip()
                f.close()
                assert line == "n=0", (a, line)
            assert wait_until(lambda: len(children(p.pid)) == len(addrs))
        finally:
            # Closed in the order they were opened: each removal can
            # shift the entries inserted after it.
            for s in socks:
                s.close()
        assert wait_until(lambda: len(children(p.pid)) == 0)

    for _ in range(3):
        one_round()
