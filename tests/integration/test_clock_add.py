"""s6-clockadd (through the recording shim, without CAP_SYS_TIME) and
s6-clockview, alone and at the end of a client pipeline."""
import datetime
import errno
import re
import subprocess
import time

import pytest

from conftest import base_env, prog, run
from clock_util import NO_SYS_TIME, clockadd, encode_adj, sntp_handler, tai_reply


def recorded_target(lines):
    assert len(lines) == 1, lines
    name, clk, sec, nsec = lines[0].split()
    assert name == "clock_settime" and clk == "0"
    return int(sec) + int(nsec) / 1e9


def test_shim_really_interposes(tmp_path):
    """Guard for everything below: the recording shim answers, and without
    it the clock is still out of reach (no CAP_SYS_TIME)."""
    r, lines = clockadd([], encode_adj(0), tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(lines) == 1
    r = run(NO_SYS_TIME + [prog("s6-clockadd")], input=encode_adj(0), env=base_env())
    assert r.returncode == 111
    assert b"unable to set the system clock" in r.stderr


@pytest.mark.parametrize("adj,args", [(1.5, []), (-0.25, []), (3600.25, ["-f"]),
                                      (-86400.0, ["-f"]), (0.0, ["-e", "0"])])
def test_clockadd_sets_now_plus_adjustment(tmp_path, adj, args):
    before = time.time()
    r, lines = clockadd(args, encode_adj(adj), tmp_path)
    after = time.time()
    assert r.returncode == 0, r.stderr
    target = recorded_target(lines)
    assert before + adj - 0.001 <= target <= after + adj + 0.001


def test_clockadd_errmax_refuses(tmp_path):
    r, lines = clockadd([], encode_adj(3), tmp_path)
    assert r.returncode == 1
    assert b"refusing" in r.stderr and b"2000 ms" in r.stderr
    assert lines == []
    r, lines = clockadd([], encode_adj(-2.5), tmp_path)
    assert r.returncode == 1 and lines == []
    assert b"by -2.500000000 s" in r.stderr
    r, lines = clockadd(["-e", "5000"], encode_adj(-2.5), tmp_path)
    assert r.returncode == 0 and len(lines) == 1
    r, lines = clockadd(["-e", "10"], encode_adj(0.011), tmp_path)
    assert r.returncode == 1 and lines == []
    r, lines = clockadd(["-f", "-e", "10"], encode_adj(0.011), tmp_path)
    assert r.returncode == 0 and len(lines) == 1
    assert b"warning" in r.stderr


@pytest.mark.parametrize("data", [b"", b"\0" * 5, b"\0" * 11])
def test_clockadd_short_input(tmp_path, data):
    r, lines = clockadd([], data, tmp_path)
    assert r.returncode == 111
    assert b"expected 12" in r.stderr
    assert r.stderr.count(b"\n") == 1
    assert lines == []


@pytest.mark.parametrize("data", [encode_adj(0, 10**9), b"\0" * 8 + b"\xff" * 4,
                                  encode_adj(2**62, 0), encode_adj(-2**62, 0)])
def test_clockadd_malformed_input(tmp_path, data):
    r, lines = clockadd(["-f"], data, tmp_path)
    assert r.returncode == 100
    assert b"invalid adjustment" in r.stderr
    assert lines == []


def test_clockadd_settime_failure(tmp_path):
    r, lines = clockadd([], encode_adj(0.5), tmp_path, errno_=errno.EPERM)
    assert r.returncode == 111
    assert b"unable to set the system clock: Operation not permitted" in r.stderr


@pytest.mark.parametrize("args", [["-e"], ["-e", "x"], ["-x"], ["extra"]])
def test_clockadd_usage(tmp_path, args):
    r, lines = clockadd(args, encode_adj(0), tmp_path)
    assert r.returncode == 100
    # one line, named: the usage, or a fatal error naming the bad argument
    assert r.stderr.count(b"\n") == 1 and r.stderr.startswith(b"s6-clockadd: ")
    assert b"usage: s6-clockadd " in r.stderr or b"s6-clockadd: fatal: " in r.stderr
    assert lines == []


def test_pipeline_sntpclock_to_clockadd(udp_server, tmp_path):
    srv = udp_server(sntp_handler(offset=1.25))
    c = run([prog("s6-sntpclock"), "-r", "3", "-p", str(srv.port), "127.0.0.1"])
    assert c.returncode == 0
    before = time.time()
    r, lines = clockadd([], c.stdout, tmp_path)
    after = time.time()
    assert r.returncode == 0, r.stderr
    assert before + 1.245 <= recorded_target(lines) <= after + 1.255


LINE = re.compile(rb"^(before: |after:  )(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{9})$")


def view(data, tz="UTC"):
    return run([prog("s6-clockview")], input=data, env=base_env(TZ=tz))


def parse_view(out):
    lines = out.splitlines()
    assert len(lines) == 2
    vals = []
    for want, line in zip((b"before: ", b"after:  "), lines):
        m = LINE.match(line)
        assert m, line
        assert m.group(1) == want
        dt = datetime.datetime.strptime(m.group(2).decode(), "%Y-%m-%d %H:%M:%S")
        vals.append((dt, int(m.group(3))))
    return vals


@pytest.mark.parametrize("sec,nano", [(0, 0), (3600, 250000000), (-86400, 0), (-1, 750000000),
                                      (0, 999999999)])
def test_clockview_shows_before_and_after(sec, nano):
    t0 = time.time()
    r = view(encode_adj(sec, nano))
    assert r.returncode == 0, r.stderr
    (b, bn), (a, an) = parse_view(r.stdout)
    # Printed in TZ=UTC: "before" is now.
    now = datetime.datetime.utcfromtimestamp(int(t0))
    assert abs((b - now).total_seconds()) <= 2
    # Both lines come from the same instant: the difference is exact.
    diff_ns = int((a - b).total_seconds()) * 10**9 + an - bn
    assert diff_ns == sec * 10**9 + nano


def test_clockview_local_time():
    r = view(encode_adj(0), tz="Asia/Kolkata")
    assert r.returncode == 0
    (b, _), _ = parse_view(r.stdout)
    utc = datetime.datetime.utcnow()
    off = (b - utc).total_seconds()
    assert abs(off - 19800) < 5  # UTC+05:30


@pytest.mark.parametrize("data,code", [(b"", 111), (b"abc", 111), (b"\0" * 11, 111),
                                       (encode_adj(0, 10**9), 100),
                                       (encode_adj(2**63 - 1, 0), 100)])
def test_clockview_bad_input(data, code):
    r = view(data)
    assert r.returncode == code
    assert r.stdout == b""
    assert r.stderr.startswith(b"s6-clockview: fatal: ")
    assert r.stderr.count(b"\n") == 1


def test_pipeline_taiclock_to_clockview(udp_server):
    srv = udp_server(lambda d, a, s: [tai_reply(d, offset=-86400)])
    c = subprocess.Popen([prog("s6-taiclock"), "-r", "2", "-p", str(srv.port), "127.0.0.1"],
                         stdout=subprocess.PIPE)
    r = subprocess.run([prog("s6-clockview")], stdin=c.stdout, stdout=subprocess.PIPE,
                       env=base_env(TZ="UTC"), timeout=20)
    c.stdout.close()
    assert c.wait(20) == 0
    assert r.returncode == 0
    (b, bn), (a, an) = parse_view(r.stdout)
    diff = (a - b).total_seconds() + (an - bn) / 1e9
    assert abs(diff + 86400) < 0.005
