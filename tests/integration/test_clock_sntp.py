"""s6-sntpclock against chronyd and against scripted SNTP servers."""
import struct
import time

import pytest

from conftest import prog, run
from conftest import needs_root
from clock_util import decode_adj, sntp_handler, sntp_reply, sntpclock, start_chronyd


@needs_root("chronyd will only run as root")
def test_chronyd_gives_near_zero_adjustment(procs, tmp_path):
    port = start_chronyd(procs, tmp_path)
    r = sntpclock(["-r", "4", "-p", str(port), "127.0.0.1"])
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == 12
    # chronyd serves this very machine's clock.
    assert abs(decode_adj(r.stdout)) < 0.05


@pytest.mark.parametrize("offset", [3600.25, -86400.0, -0.25])
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_known_offset(udp_server, offset, host):
    srv = udp_server(sntp_handler(offset=offset), host)
    r = sntpclock(["-r", "5", "-p", str(srv.port), host])
    assert r.returncode == 0, r.stderr
    assert abs(decode_adj(r.stdout) - offset) < 0.005
    assert len(srv.requests) == 5


def test_requests_are_sntpv4_client_mode(udp_server):
    srv = udp_server(sntp_handler())
    before = time.time()
    r = sntpclock(["-r", "2", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0
    for _, req in srv.requests:
        assert len(req) == 48 and req[0] == 0x23 and req[1:40] == bytes(39)
        sec = struct.unpack(">I", req[40:44])[0]
        assert abs(sec - 2208988800 - before) < 5
    # Each request carries a fresh transmit value to be echoed.
    assert srv.requests[0][1][40:48] != srv.requests[1][1][40:48]


@pytest.mark.parametrize("kind,kw,msg", [
    ("wrong mode", {"mode": 3}, b"not a server-mode"),
    ("broadcast mode", {"mode": 5}, b"not a server-mode"),
    ("LI 3", {"li": 3}, b"unsynchronised"),
    ("stratum 16", {"stratum": 16}, b"unsynchronised"),
    ("zero transmit", {"xmit": 0}, b"zero receive or transmit"),
    ("old version", {"vn": 2}, b"version"),
])
def test_unusable_replies_are_rejected(udp_server, kind, kw, msg):
    srv = udp_server(sntp_handler(offset=100, **kw))
    r = sntpclock(["-r", "3", "-t", "500", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 111, kind
    assert r.stdout == b""
    assert msg in r.stderr
    assert b"no valid SNTP reply in 3 round trips" in r.stderr
    assert len(srv.requests) == 3


def test_wrong_origin_is_ignored(udp_server):
    def h(data, addr, srv):
        orig = struct.unpack(">Q", data[40:48])[0] ^ 1
        return [sntp_reply(data, offset=50, origin=orig)]
    srv = udp_server(h)
    r = sntpclock(["-v", "2", "-r", "2", "-t", "300", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 111
    assert b"originate timestamp does not match" in r.stderr


def test_replayed_reply_is_ignored_and_real_one_used(udp_server):
    """Each request first gets the (valid-looking) answer to the previous
    request, then its own: the replay must be skipped, not used."""
    def h(data, addr, srv):
        out = []
        if "last" in srv.state:
            out.append(srv.state["last"])
        good = sntp_reply(data, offset=7.5)
        srv.state["last"] = sntp_reply(data, offset=-1000)
        out.append(good)
        return out
    srv = udp_server(h)
    r = sntpclock(["-v", "2", "-r", "4", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0, r.stderr
    assert abs(decode_adj(r.stdout) - 7.5) < 0.005
    assert r.stderr.count(b"ignoring datagram") >= 3


def test_only_replays_fail(udp_server):
    def h(data, addr, srv):
        prev = srv.state.get("last")
        srv.state["last"] = sntp_reply(data, offset=3)
        return [prev] if prev else []
    srv = udp_server(h)
    r = sntpclock(["-r", "3", "-t", "300", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 111
    assert r.stdout == b""


def test_truncated_reply_is_ignored(udp_server):
    srv = udp_server(lambda d, a, s: [sntp_reply(d, offset=5)[:47]])
    r = sntpclock(["-v", "2", "-r", "2", "-t", "300", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 111
    assert b"truncated packet (47 bytes)" in r.stderr


def test_kiss_of_death_stops_at_once(udp_server):
    srv = udp_server(sntp_handler(stratum=0, li=3, refid=b"RATE"))
    r = sntpclock(["-r", "10", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 111
    assert r.stdout == b""
    assert b"kiss of death" in r.stderr and b"RATE" in r.stderr
    assert r.stderr.count(b"\n") == 1
    assert len(srv.requests) == 1


def test_forged_kiss_of_death_is_ignored(udp_server):
    """A kiss-of-death that does not echo our transmit is not believed."""
    def h(data, addr, srv):
        orig = struct.unpack(">Q", data[40:48])[0] + 1
        return [sntp_reply(data, stratum=0, li=3, refid=b"DENY", origin=orig),
                sntp_reply(data, offset=2)]
    srv = udp_server(h)
    r = sntpclock(["-r", "3", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0, r.stderr
    assert abs(decode_adj(r.stdout) - 2) < 0.005


def test_lying_timestamps_rejected(udp_server):
    """Transmit before receive makes a negative delay: not a usable sample."""
    def h(data, addr, srv):
        from clock_util import ntp_ts
        t = time.time()
        return [sntp_reply(data, recv=ntp_ts(t + 1), xmit=ntp_ts(t))]
    srv = udp_server(h)
    r = sntpclock(["-r", "2", "-t", "300", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 111
    assert b"inconsistent timestamps" in r.stderr


def test_errmax_and_force(udp_server):
    # A root dispersion of 0.5 s makes the error estimate exceed 100 ms.
    srv = udp_server(sntp_handler(offset=10, root_disp=0x8000))
    r = sntpclock(["-r", "2", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 111
    assert r.stdout == b""
    assert b"within 100 ms" in r.stderr
    r = sntpclock(["-f", "-r", "2", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0
    assert abs(decode_adj(r.stdout) - 10) < 0.005
    assert b"warning" in r.stderr
    r = sntpclock(["-e", "600", "-r", "2", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0
    assert r.stderr == b""


def test_total_timeout_exits_1(udp_server):
    srv = udp_server(lambda d, a, s: [])
    t0 = time.monotonic()
    r = sntpclock(["-r", "10", "-t", "2000", "-T", "300", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 1
    assert b"total timeout" in r.stderr
    assert time.monotonic() - t0 < 5


def test_trip_timeout_moves_on(udp_server):
    """The first request goes unanswered; -t lets the next ones succeed."""
    def h(data, addr, srv):
        return [] if len(srv.requests) == 1 else [sntp_reply(data, offset=1)]
    srv = udp_server(h)
    r = sntpclock(["-r", "3", "-t", "200", "-T", "5000", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0, r.stderr
    assert len(srv.requests) == 3
    assert b"round trip 1: no valid reply within 200 ms" in r.stderr
    assert abs(decode_adj(r.stdout) - 1) < 0.005


def test_throttle_spaces_requests(udp_server):
    srv = udp_server(sntp_handler())
    r = sntpclock(["-r", "3", "-h", "150", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0
    times = [t for t, _ in srv.requests]
    assert len(times) == 3
    assert all(b - a >= 0.14 for a, b in zip(times, times[1:]))


def test_verbosity_levels(udp_server):
    srv = udp_server(sntp_handler(offset=1))
    r = sntpclock(["-v", "3", "-r", "2", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0
    assert r.stderr.count(b"info: round trip") == 2
    srv2 = udp_server(lambda d, a, s: [] if len(s.requests) == 1 else [sntp_reply(d)])
    r = sntpclock(["-v", "0", "-r", "2", "-t", "200", "-p", str(srv2.port), "127.0.0.1"])
    assert r.returncode == 0
    assert r.stderr == b""


def test_connection_refused_is_a_failed_trip(udp_server):
    srv = udp_server(lambda d, a, s: [])
    port = srv.port
    srv.close()
    r = sntpclock(["-r", "2", "-t", "500", "-p", str(port), "127.0.0.1"])
    assert r.returncode == 111


@pytest.mark.parametrize("args", [
    [], ["-r", "0", "127.0.0.1"], ["-r", "x", "127.0.0.1"], ["-p", "0", "127.0.0.1"],
    ["-p", "70000", "127.0.0.1"], ["not-an-ip"], ["127.0.0.1", "extra"], ["-Q", "127.0.0.1"],
    ["-v", "-1", "127.0.0.1"],
])
def test_usage(args):
    r = run([prog("s6-sntpclock")] + args)
    assert r.returncode == 100
    # one line, named: the usage, or a fatal error naming the bad argument
    assert r.stderr.count(b"\n") == 1 and r.stderr.startswith(b"s6-sntpclock: ")
    assert b"usage: s6-sntpclock " in r.stderr or b"s6-sntpclock: fatal: " in r.stderr
    assert r.stdout == b""


def test_stdout_full_is_111(udp_server):
    import subprocess
    srv = udp_server(sntp_handler())
    with open("/dev/full", "wb") as full:
        p = subprocess.run([prog("s6-sntpclock"), "-r", "1", "-p", str(srv.port), "127.0.0.1"],
                           stdout=full, stderr=subprocess.PIPE, timeout=20)
    assert p.returncode == 111
    assert b"unable to write to stdout" in p.stderr


def test_default_roundtrips_is_10(udp_server):
    srv = udp_server(sntp_handler(offset=-3))
    r = sntpclock(["-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0, r.stderr
    assert len(srv.requests) == 10
    assert abs(decode_adj(r.stdout) + 3) < 0.005
