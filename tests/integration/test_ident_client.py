"""s6-ident-client against an IDENT server run by the test on a random
127.x.y.z:113: good, negative, hostile (slow, endless, garbage, wrong
ports) answers. Nothing may hang past -t."""
import time

import pytest

from tcpclient_util import ident_client, ports_of, reply


LOCAL = "127.0.0.1"


def test_positive(ident):
    srv = ident(reply("{r} , {l} : USERID : UNIX : alice\r\n"))
    r = ident_client(srv.addr, 4242, LOCAL, 5151)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"alice\n"
    assert r.stderr == b""
    # The query: the server's own port first, then ours.
    assert srv.queries == [b"4242 , 5151\r\n"]


def test_query_comes_from_localaddr(ident):
    # The server answers about connections to the host that asks: the
    # query leaves from localaddr, not from whatever the kernel picks.
    peers = []

    def h(c, q, stop):
        peers.append(c.getpeername()[0])
        reply("{r} , {l} : USERID : UNIX : erin\r\n")(c, q, stop)
    srv = ident(h)
    local = "127.0.0.%d" % (srv.addr != "127.0.0.5" and 5 or 6)
    r = ident_client("-t", "5000", srv.addr, 1, local, 2)
    assert r.returncode == 0, r.stderr
    assert peers == [local]


def test_ipv6(ident):
    # ::1 is the only IPv6 loopback address: if another run holds [::1]:113
    # for a moment, wait for it (bounded).
    deadline = time.monotonic() + 20
    while True:
        try:
            srv = ident(reply("{r} , {l} : USERID : UNIX : frank\r\n"), "::1")
            break
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail("[::1]:113 stayed busy")
            time.sleep(0.05)
    r = ident_client("-t", "5000", "::1", 4242, "::1", 5151)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"frank\n"
    assert srv.queries == [b"4242 , 5151\r\n"]


def test_positive_with_charset_and_spaces(ident):
    srv = ident(reply("{r},{l}:USERID:OTHER , UTF-8:  bob the builder\r\n"))
    r = ident_client("-t", "5000", srv.addr, 1, LOCAL, 2)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"bob the builder\n"


def test_lone_lf_is_accepted(ident):
    srv = ident(reply("{r},{l}:USERID:UNIX:carol\n"))
    r = ident_client(srv.addr, 1, LOCAL, 2)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"carol\n"


@pytest.mark.parametrize("token,msg", [
    ("NO-USER", b"no such user"),
    ("HIDDEN-USER", b"hidden user"),
    ("INVALID-PORT", b"invalid port"),
    ("UNKNOWN-ERROR", b"unknown error"),
    ("XSECRET", b"extended error XSECRET"),
])
def test_negative(ident, token, msg):
    srv = ident(reply("{r} , {l} : ERROR : " + token + "\r\n"))
    r = ident_client("-t", "5000", srv.addr, 1, LOCAL, 2)
    assert r.returncode == 1
    assert r.stdout == b""
    assert r.stderr == b"s6-ident-client: fatal: negative answer: " + msg + b"\n"


def test_closed_without_answer_is_negative(ident):
    srv = ident(lambda c, q, stop: None)
    r = ident_client("-t", "5000", srv.addr, 1, LOCAL, 2)
    assert r.returncode == 1
    assert b"negative answer: connection closed without an answer" in r.stderr


@pytest.mark.parametrize("text", [
    "{r} , {l} : WHOIS : UNIX : alice\r\n",        # unknown keyword
    "{r} , {l} : ERROR : NOT-A-TOKEN\r\n",         # unknown error
    "garbage\r\n",
    "\r\n",
    "{r} , {l} : USERID : UNIX : ali",             # no end of line
    "{r} , {l} : USERID : UNIX : al\0ice\r\n",     # NUL byte
    "{r} , {l} : USERID : UNIX :\r\n",             # empty id
])
def test_garbage_is_111(ident, text):
    srv = ident(reply(text))
    r = ident_client("-t", "5000", srv.addr, 1, LOCAL, 2)
    assert r.returncode == 111, r.stderr
    assert r.stdout == b""
    assert r.stderr.startswith(b"s6-ident-client: fatal: unable to ")


@pytest.mark.parametrize("text", [
    "{l} , {r} : USERID : UNIX : alice\r\n",
    "9 , {l} : USERID : UNIX : alice\r\n",
    "{r} , 9 : ERROR : NO-USER\r\n",
])
def test_wrong_ports_is_111(ident, text):
    srv = ident(reply(text))
    r = ident_client("-t", "5000", srv.addr, 1000, LOCAL, 2000)
    assert r.returncode == 111
    assert b"it is about ports" in r.stderr


def test_overlong_line_is_111(ident):
    def endless(c, q, stop):
        r, l = ports_of(q)
        c.sendall(b"%d , %d : USERID : UNIX : " % (r, l))
        chunk = b"x" * 4096
        while not stop.is_set():
            try:
                c.sendall(chunk)
            except OSError:
                return
    srv = ident(endless)
    t0 = time.monotonic()
    r = ident_client("-t", "10000", srv.addr, 1, LOCAL, 2)
    assert r.returncode == 111
    assert b"malformed answer" in r.stderr
    assert time.monotonic() - t0 < 9   # it did not wait for the deadline


def test_slow_server_times_out(ident):
    srv = ident(lambda c, q, stop: stop.wait(15))
    t0 = time.monotonic()
    r = ident_client("-t", "300", srv.addr, 1, LOCAL, 2, timeout=10)
    assert r.returncode == 99
    assert r.stderr == (b"s6-ident-client: fatal: unable to get an IDENT answer from %s: timed out\n"
                        % srv.addr.encode())
    assert time.monotonic() - t0 < 5


def test_trickling_server_times_out(ident):
    # One byte at a time, never a line end: the deadline still holds.
    def trickle(c, q, stop):
        while not stop.wait(0.05):
            try:
                c.sendall(b"1")
            except OSError:
                return
    srv = ident(trickle)
    t0 = time.monotonic()
    r = ident_client("-t", "500", srv.addr, 1, LOCAL, 2, timeout=10)
    assert r.returncode == 99
    assert time.monotonic() - t0 < 5


def test_refused_is_111():
    from tcpclient_util import loopback_addr
    r = ident_client("-t", "5000", loopback_addr(), 1, LOCAL, 2)
    assert r.returncode == 111
    assert b"Connection refused" in r.stderr


@pytest.mark.parametrize("args", [
    [],
    ["127.0.0.1", "1", "127.0.0.1"],
    ["127.0.0.1", "1", "127.0.0.1", "2", "extra"],
    ["127.0.0.1", "1", "::1", "2"],             # families differ
    ["localhost", "1", "127.0.0.1", "2"],
    ["127.0.0.1", "x", "127.0.0.1", "2"],
    ["127.0.0.1", "1", "127.0.0.1", "65536"],
    ["-t", "soon", "127.0.0.1", "1", "127.0.0.1", "2"],
    ["-z", "127.0.0.1", "1", "127.0.0.1", "2"],
])
def test_usage_errors(args):
    r = ident_client(*args)
    assert r.returncode == 100
    assert r.stderr.startswith(b"s6-ident-client: ")
