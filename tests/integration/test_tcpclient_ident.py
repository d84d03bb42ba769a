"""s6-tcpclient -r: TCPREMOTEINFO from the IDENT server of the remote
host, a scriptable one in the test and oidentd, a real one."""
import os
import pwd
import socket
import subprocess
import threading
import time

import pytest

from conftest import base_env, need, prog, run
from conftest import needs_root
from tcpclient_util import env_of, listener, loopback_addr, reply

NODNS = "127.0.0.1:1"


def run_client(addr, opts, env=None):
    """s6-tcpclient opts addr port env -0, against a listener on addr.
    Returns (returncode, env dict, stderr, elapsed)."""
    srv = listener(addr)
    port = srv.getsockname()[1]
    t0 = time.monotonic()
    p = subprocess.Popen([prog("s6-tcpclient"), "-H"] + opts + [addr, str(port), "env", "-0"],
                         env=env or base_env(DNSCACHEIP=NODNS), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Keep the accepted connection open while the IDENT exchange runs.
    srv.settimeout(20)
    c, _ = srv.accept()
    out, err = p.communicate(timeout=30)
    c.close()
    srv.close()
    return p.returncode, env_of(out), err, time.monotonic() - t0, port


def test_remoteinfo(ident):
    srv = ident(reply("{r} , {l} : USERID : UNIX : alice\r\n"))
    rc, env, err, _, port = run_client(srv.addr, ["-r"])
    assert rc == 0, err
    assert env["TCPREMOTEINFO"] == "alice"
    # Asked about our connection: the server's port, then our local port.
    assert srv.queries == [b"%d , %s\r\n" % (port, env["TCPLOCALPORT"].encode())]


def test_remoteinfo_ipv6(ident):
    # [::1]:113 may be held for a moment by another run: wait (bounded).
    deadline = time.monotonic() + 20
    while True:
        try:
            srv = ident(reply("{r} , {l} : USERID : UNIX : grace\r\n"), "::1")
            break
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail("[::1]:113 stayed busy")
            time.sleep(0.05)
    rc, env, err, _, port = run_client("::1", ["-r"])
    assert rc == 0, err
    assert env["TCPREMOTEINFO"] == "grace"
    assert srv.queries == [b"%d , %s\r\n" % (port, env["TCPLOCALPORT"].encode())]


def test_remoteinfo_through_a_v4_mapped_literal(ident):
    # The IDENT query goes over IPv4, the family of the actual connection.
    srv = ident(reply("{r} , {l} : USERID : UNIX : dave\r\n"))
    lst = listener(srv.addr)
    port = lst.getsockname()[1]
    p = subprocess.Popen([prog("s6-tcpclient"), "-H", "-r", "::ffff:" + srv.addr, str(port), "env", "-0"],
                         env=base_env(DNSCACHEIP=NODNS), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lst.settimeout(20)
    c, _ = lst.accept()
    out, err = p.communicate(timeout=30)
    c.close()
    lst.close()
    assert p.returncode == 0, err
    env = env_of(out)
    assert env["TCPREMOTEIP"] == srv.addr
    assert env["TCPREMOTEINFO"] == "dave"


def test_R_asks_nothing(ident):
    srv = ident(reply("{r} , {l} : USERID : UNIX : alice\r\n"))
    for opts in ([], ["-r", "-R"]):
        rc, env, err, _, _ = run_client(srv.addr, opts, env=base_env(DNSCACHEIP=NODNS, TCPREMOTEINFO="stale"))
        assert rc == 0, err
        assert "TCPREMOTEINFO" not in env
    assert srv.queries == []


@pytest.mark.parametrize("text", [
    "{r} , {l} : ERROR : HIDDEN-USER\r\n",
    "{l} , {r} : USERID : UNIX : wrong-ports\r\n",
    "garbage\r\n",
])
def test_no_remoteinfo_on_bad_answers(ident, text):
    srv = ident(reply(text))
    rc, env, err, _, _ = run_client(srv.addr, ["-r"])
    assert rc == 0, err
    assert "TCPREMOTEINFO" not in env
    assert len(srv.queries) == 1


def test_negative_answer_reported_only_with_v(ident):
    srv = ident(reply("{r} , {l} : ERROR : HIDDEN-USER\r\n"))
    rc, env, err, _, _ = run_client(srv.addr, ["-r"])
    assert rc == 0 and err == b""
    rc, env, err, _, _ = run_client(srv.addr, ["-v", "-r"])
    assert rc == 0, err
    assert b"s6-tcpclient: warning: no IDENT information: hidden user\n" in err
    assert "TCPREMOTEINFO" not in env


def test_no_ident_server():
    rc, env, err, _, _ = run_client(loopback_addr(), ["-r"])
    assert rc == 0, err
    assert "TCPREMOTEINFO" not in env


def test_silent_ident_server_bounded_by_t(ident):
    srv = ident(lambda c, q, stop: stop.wait(20))
    rc, env, err, elapsed, _ = run_client(srv.addr, ["-r", "-t", "1"])
    assert rc == 0, err
    assert "TCPREMOTEINFO" not in env
    assert elapsed < 10


@needs_root("oidentd binds port 113")
def test_real_ident_server_oidentd(procs):
    need("oidentd")
    addr = loopback_addr()
    procs.start(["oidentd", "-i", "-S", "-q", "-a", addr, "-p", "113"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # oidentd cannot report readiness: probe until it accepts, bounded.
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((addr, 113), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail("oidentd did not start")
            time.sleep(0.02)
    # oidentd only knows accepted sockets: accept in a thread that is
    # already waiting when the client connects, before it asks. That is
    # still a race (on a loaded machine the thread can be scheduled after
    # oidentd has looked, and oidentd answers NO-USER), so a few bounded
    # attempts; a client that cannot read oidentd's answer fails them all.
    for attempt in range(3):
        srv = listener(addr)
        port = srv.getsockname()[1]
        held = []
        t = threading.Thread(target=lambda: held.append(srv.accept()[0]), daemon=True)
        t.start()
        r = run([prog("s6-tcpclient"), "-H", "-r", addr, str(port), "env", "-0"], env=base_env(DNSCACHEIP=NODNS))
        t.join(10)
        for c in held:
            c.close()
        srv.close()
        assert r.returncode == 0, r.stderr
        env = env_of(r.stdout)
        if "TCPREMOTEINFO" in env:
            break
    # The server end of the connection belongs to this test process.
    assert env.get("TCPREMOTEINFO") == pwd.getpwuid(os.getuid()).pw_name, r.stderr
