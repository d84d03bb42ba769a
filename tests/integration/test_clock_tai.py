"""s6-taiclock and s6-taiclockd."""
import os
import socket
import struct
import time

import pytest

from conftest import base_env, prog, run
from conftest import needs_root
from clock_util import TAI_UTC, decode_adj, tai_reply, taiclock


def taiclockd(procs, *args, host="127.0.0.1", env=None):
    p, port = procs.server([prog("s6-taiclockd"), "-1", "-i", host, "-p", "0"] + list(args),
                           env=env)
    return p, port


def ask(host, port, payload, timeout=2.0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(payload, (host, port))
        return s.recv(4096)
    except socket.timeout:
        return None
    finally:
        s.close()


def ctai(cookie=b"cookie!!"):
    now = time.time() + TAI_UTC
    return b"ctai" + struct.pack(">QII", (1 << 62) + int(now), 0, 0) + cookie


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_taiclock_against_taiclockd(procs, host):
    _, port = taiclockd(procs, host=host)
    r = taiclock(["-r", "5", "-p", str(port), host])
    assert r.returncode == 0, r.stderr
    assert abs(decode_adj(r.stdout)) < 0.05


def test_taiclockd_wire_format(procs):
    _, port = taiclockd(procs)
    req = ctai(b"\x01\x02\x03\x04\x05\x06\x07\x08")
    before = time.time()
    rep = ask("127.0.0.1", port, req)
    after = time.time()
    assert rep is not None and len(rep) == 28
    assert rep[:4] == b"stai"
    assert rep[20:] == req[20:]
    label, nano, atto = struct.unpack(">QII", rep[4:20])
    tai = label - (1 << 62) + nano / 1e9
    # TAI = UTC + 37 s since 2017.
    assert before + TAI_UTC - 0.01 <= tai <= after + TAI_UTC + 0.01
    assert nano < 10**9 and atto < 10**9
    # The minimal 20-byte request is answered with 20 bytes.
    rep = ask("127.0.0.1", port, req[:20])
    assert rep is not None and len(rep) == 20 and rep[:4] == b"stai"


def test_taiclockd_ignores_junk_and_survives(procs):
    p, port = taiclockd(procs)
    for junk in [b"", b"x", b"ctai", req19 := ctai()[:19], b"stai" + bytes(24), b"CTAI" + bytes(24),
                 b"ctai" + os.urandom(2000), os.urandom(28), b"\xff" * 100]:
        assert ask("127.0.0.1", port, junk, timeout=0.3) is None, junk[:8]
    assert req19
    assert p.poll() is None
    assert ask("127.0.0.1", port, ctai())[:4] == b"stai"


def proc_ids(pid):
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                ids[k] = v.split()
    return ids


@needs_root("s6-taiclockd -u/-g drops to another uid")
def test_taiclockd_drops_privileges(procs):
    p, port = taiclockd(procs, "-u", "65534", "-g", "65533")
    assert ask("127.0.0.1", port, ctai())[:4] == b"stai"
    ids = proc_ids(p.pid)
    assert ids["Uid"] == ["65534"] * 4
    assert ids["Gid"] == ["65533"] * 4
    assert ids["Groups"] == ["65533"]


@needs_root("s6-taiclockd -U drops to another uid")
def test_taiclockd_drops_privileges_from_env(procs):
    env = {"PATH": "/usr/bin:/bin", "UID": "65534", "GID": "65534", "GIDLIST": "65534,100"}
    p, port = taiclockd(procs, "-U", env=env)
    assert ask("127.0.0.1", port, ctai())[:4] == b"stai"
    ids = proc_ids(p.pid)
    assert ids["Uid"] == ["65534"] * 4
    assert ids["Gid"] == ["65534"] * 4
    assert sorted(ids["Groups"]) == ["100", "65534"]


@pytest.mark.parametrize("env,what", [
    ({}, b"UID not set"), ({"GID": "65534"}, b"UID not set"), ({"UID": "65534"}, b"GID not set"),
    ({"UID": "x", "GID": "1"}, b"invalid UID"), ({"UID": "1", "GID": "1", "GIDLIST": "1,,2"}, b"invalid GIDLIST"),
])
def test_taiclockd_U_needs_valid_UID_and_GID(env, what):
    # Missing variables must not leave the daemon running as root (as with
    # s6-applyuidgid -U), and a bad value is misuse, reported before binding.
    r = run([prog("s6-taiclockd"), "-U", "-i", "127.0.0.1", "-p", "0", "-1"], env=base_env(**env), timeout=5)
    assert r.returncode == 100
    assert r.stdout == b""
    assert r.stderr.count(b"\n") == 1 and what in r.stderr


@pytest.mark.parametrize("args", [["-p", "x"], ["-i", "nope"], ["-u", "x"], ["-U", "-u", "1"],
                                  ["extra"], ["-Z"]])
def test_taiclockd_usage(args):
    r = run([prog("s6-taiclockd")] + args)
    assert r.returncode == 100
    # one line, named: the usage, or a fatal error naming the bad argument
    assert r.stderr.count(b"\n") == 1 and r.stderr.startswith(b"s6-taiclockd: ")
    assert b"usage: s6-taiclockd " in r.stderr or b"s6-taiclockd: fatal: " in r.stderr


def test_taiclockd_bind_failure_is_111(procs):
    _, port = taiclockd(procs)
    r = run([prog("s6-taiclockd"), "-i", "127.0.0.1", "-p", str(port)])
    assert r.returncode == 111
    assert b"unable to bind" in r.stderr


@pytest.mark.parametrize("offset", [3600.25, -86400.0])
def test_taiclock_known_offset(udp_server, offset):
    srv = udp_server(lambda d, a, s: [tai_reply(d, offset=offset)])
    r = taiclock(["-r", "4", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0, r.stderr
    assert abs(decode_adj(r.stdout) - offset) < 0.005
    req = srv.requests[0][1]
    assert len(req) == 28 and req[:4] == b"ctai"
    label = struct.unpack(">Q", req[4:12])[0]
    assert abs(label - (1 << 62) - TAI_UTC - time.time()) < 5
    # Cookies differ from request to request.
    assert len({r[20:28] for _, r in srv.requests}) == 4


@pytest.mark.parametrize("kind,make", [
    ("wrong cookie", lambda d: tai_reply(d, cookie=b"XXXXXXXX")),
    ("wrong magic", lambda d: tai_reply(d, magic=b"ctai")),
    ("truncated", lambda d: tai_reply(d)[:27]),
    ("bad nanoseconds", lambda d: tai_reply(d, nano=10**9)),
])
def test_taiclock_hostile_replies(udp_server, kind, make):
    srv = udp_server(lambda d, a, s: [make(d)])
    r = taiclock(["-v", "2", "-r", "2", "-t", "300", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 111, kind
    assert r.stdout == b""
    assert b"no valid TAICLOCK reply" in r.stderr


def test_taiclock_replay_ignored(udp_server):
    def h(data, addr, srv):
        out = [srv.state["last"]] if "last" in srv.state else []
        srv.state["last"] = tai_reply(data, offset=-500)
        return out + [tai_reply(data, offset=0.5)]
    srv = udp_server(h)
    r = taiclock(["-r", "3", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0, r.stderr
    assert abs(decode_adj(r.stdout) - 0.5) < 0.005


def test_taiclock_total_timeout(udp_server):
    srv = udp_server(lambda d, a, s: [])
    r = taiclock(["-T", "300", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 1
    assert b"total timeout" in r.stderr


def test_taiclock_errmax(udp_server):
    """A reply delayed by 300 ms gives an error estimate of about 150 ms."""
    def h(data, addr, srv):
        srv.stop.wait(0.3)  # simulated network latency, not a readiness wait
        return [tai_reply(data)]
    srv = udp_server(h)
    r = taiclock(["-r", "1", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 111
    assert b"within 100 ms" in r.stderr
    r = taiclock(["-f", "-r", "1", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0
    assert len(r.stdout) == 12


def test_taiclock_usage():
    r = run([prog("s6-taiclock"), "-t"])
    assert r.returncode == 100
    assert b"usage: s6-taiclock" in r.stderr


def test_taiclockd_default_binds_every_address(procs):
    """Without -i: one socket answering over IPv4 and IPv6 alike."""
    _, port = procs.server([prog("s6-taiclockd"), "-1", "-p", "0"])
    for host in ("127.0.0.1", "::1"):
        rep = ask(host, port, ctai())
        assert rep is not None and rep[:4] == b"stai", host
        r = taiclock(["-r", "2", "-p", str(port), host])
        assert r.returncode == 0, r.stderr


def test_taiclock_defaults_and_verbosity(udp_server):
    # Default: 10 round trips. -v 2 adds the warnings about datagrams that
    # are not answers (here a stale cookie before each real reply); -v 1
    # keeps quiet about them; -v 0 prints only a fatal error.
    srv = udp_server(lambda d, a, s: [tai_reply(d, cookie=b"XXXXXXXX"), tai_reply(d, offset=2)])
    r = taiclock(["-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0, r.stderr
    assert len(srv.requests) == 10
    assert r.stderr == b""
    assert abs(decode_adj(r.stdout) - 2) < 0.005
    r = taiclock(["-v", "2", "-r", "2", "-p", str(srv.port), "127.0.0.1"])
    assert r.returncode == 0
    assert r.stderr.count(b"warning: round trip") == 2 and b"cookie" in r.stderr
    dead = udp_server(lambda d, a, s: [tai_reply(d, cookie=b"XXXXXXXX")])
    r = taiclock(["-v", "0", "-r", "2", "-t", "100", "-p", str(dead.port), "127.0.0.1"])
    assert r.returncode == 111
    assert r.stderr.count(b"\n") == 1 and b"fatal" in r.stderr
