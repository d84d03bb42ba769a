"""s6-tcpclient -T and -t against addresses that never answer: a listening
socket whose accept queue is full drops every new SYN."""
import subprocess
import time

import pytest

from conftest import Procs, base_env, prog, run
from tcpclient_util import Dnsmasq, accept_unless_exited, black_hole, env_of, listener

NODNS = "127.0.0.1:1"
HOLE = "127.78.0.2"
GOOD = "127.78.0.3"


def timed(args, env=None):
    t0 = time.monotonic()
    r = run([prog("s6-tcpclient")] + args, env=env or base_env(DNSCACHEIP=NODNS), timeout=30)
    return r, time.monotonic() - t0


def test_conn_timeouts_two_rounds():
    hole, fillers = black_hole()
    port = hole.getsockname()[1]
    r, el = timed(["-H", "-T", "1+1", "127.0.0.1", str(port), "true"])
    assert r.returncode == 111
    assert r.stderr == (b"s6-tcpclient: fatal: unable to connect to 127.0.0.1 port %d: "
                        b"Connection timed out\n" % port)
    # Two rounds of one second each: it waited for both.
    assert 1.8 <= el < 20


def test_conn_timeout_single_round():
    hole, fillers = black_hole()
    port = hole.getsockname()[1]
    r, el = timed(["-v", "-H", "-T", "1", "127.0.0.1", str(port), "true"])
    assert r.returncode == 111
    assert b"Connection timed out" in r.stderr
    # One round: a single attempt (-v reports each), which waited its second.
    assert r.stderr.count(b"warning: unable to connect to 127.0.0.1:%d" % port) == 1
    assert 0.9 <= el < 20


def test_global_timeout_overrides():
    hole, fillers = black_hole()
    port = hole.getsockname()[1]
    # Default -T 2+58 would wait a minute; -t 1 cuts it after a second.
    r, el = timed(["-H", "-t", "1", "127.0.0.1", str(port), "true"])
    assert r.returncode == 111
    assert r.stderr == b"s6-tcpclient: fatal: unable to connect to 127.0.0.1 port %d: timed out\n" % port
    assert 0.9 <= el < 10


def test_global_timeout_bounds_dns():
    # A DNS server that never answers: a UDP socket nobody reads.
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    r, el = timed(["-t", "1", "a.test", "80", "true"],
                  env=base_env(DNSCACHEIP="127.0.0.1:%d" % s.getsockname()[1]))
    assert r.returncode == 111
    assert r.stderr == b"s6-tcpclient: fatal: unable to resolve a.test: timed out\n"
    assert el < 10
    s.close()


@pytest.fixture(scope="module")
def dns():
    procs = Procs()
    try:
        yield Dnsmasq(procs, ["--address=/slow.test/%s" % HOLE, "--address=/slow.test/%s" % GOOD])
    finally:
        procs.cleanup()


def test_name_with_a_black_hole_and_a_good_address(dns):
    # Same port on both addresses: one never answers, the other accepts.
    hole, fillers = black_hole(HOLE)
    port = hole.getsockname()[1]
    srv = listener(GOOD, port)
    p = subprocess.Popen([prog("s6-tcpclient"), "-H", "-T", "1+5", "slow.test", str(port), "env", "-0"],
                         env=dns.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peer = accept_unless_exited(srv, p)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert peer is not None
    assert env_of(out)["TCPREMOTEIP"] == GOOD


def test_conn_timeout_zero_means_no_limit():
    # -T 0: the attempt is not cut short; only -t ends it.
    hole, fillers = black_hole()
    port = hole.getsockname()[1]
    r, el = timed(["-H", "-T", "0", "-t", "1", "127.0.0.1", str(port), "true"])
    assert r.returncode == 111
    assert r.stderr == b"s6-tcpclient: fatal: unable to connect to 127.0.0.1 port %d: timed out\n" % port
    assert el >= 0.9


def test_global_timeout_bounds_reverse_lookups():
    # Connected at once, then a DNS server that never answers: -t ends the
    # reverse lookups (not the connection); the names stay unset.
    import socket
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    srv = listener()
    port = srv.getsockname()[1]
    t0 = time.monotonic()
    p = subprocess.Popen([prog("s6-tcpclient"), "-t", "1", "127.0.0.1", str(port), "env", "-0"],
                         env=base_env(DNSCACHEIP="127.0.0.1:%d" % u.getsockname()[1]),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    srv.settimeout(10)
    c, _ = srv.accept()
    out, err = p.communicate(timeout=30)
    el = time.monotonic() - t0
    c.close()
    srv.close()
    u.close()
    assert p.returncode == 0, err
    env = env_of(out)
    assert "TCPREMOTEHOST" not in env and "TCPLOCALHOST" not in env
    assert el < 15   # the built-in bound for the lookups is 30 s
