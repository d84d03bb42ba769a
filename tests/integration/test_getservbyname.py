"""s6-getservbyname: service name and protocol to port."""
import subprocess

import pytest

from conftest import prog, run


@pytest.mark.parametrize("name,proto,port", [
    ("smtp", "tcp", b"25\n"),
    ("domain", "udp", b"53\n"),
    ("ntp", "udp", b"123\n"),
    ("https", "tcp", b"443\n"),
])
def test_known_service(name, proto, port):
    r = run([prog("s6-getservbyname"), name, proto])
    assert r.returncode == 0
    assert r.stdout == port
    assert r.stderr == b""


def test_unknown_service_exits_1():
    r = run([prog("s6-getservbyname"), "no-such-service-xyz", "tcp"])
    assert r.returncode == 1
    assert r.stdout == b""


def test_wrong_protocol_exits_1():
    r = run([prog("s6-getservbyname"), "smtp", "no-such-proto"])
    assert r.returncode == 1


@pytest.mark.parametrize("args", [[], ["smtp"], ["smtp", "tcp", "extra"], ["", "tcp"]])
def test_usage_exits_100(args):
    r = run([prog("s6-getservbyname")] + args)
    assert r.returncode == 100
    assert r.stderr.startswith(b"s6-getservbyname: usage: ")
    assert r.stderr.count(b"\n") == 1


def test_stdout_closed_is_a_system_error():
    p = subprocess.run([prog("s6-getservbyname"), "smtp", "tcp"], stdout=open("/dev/full", "w"),
                       stderr=subprocess.PIPE, timeout=10)
    assert p.returncode == 111
    assert b"unable to write" in p.stderr
