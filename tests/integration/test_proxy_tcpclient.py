"""s6-tcpclient -P: the sending side. The header describes the original
client from the UCSPI variables s6-tcpclient inherited; proxy-server
behind ucspi-tcp's tcpserver is the receiver."""
import socket
import subprocess

import pytest

from conftest import base_env, need, prog, run
from proxy_util import parse_dump, start_backend
from util import recv_all

# The application run by s6-tcpclient: prints its own TCPLOCALPORT, sends
# a payload, half-closes, and prints what the server sent back.
APP = r"""
import os, socket, sys
s = socket.socket(fileno=7)
sys.stdout.buffer.write(b"LOCALPORT=" + os.environb.get(b"TCPLOCALPORT", b"") + b"\n")
s.sendall(b"payload after the header\n")
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    d = os.read(6, 65536)
    if not d:
        break
    out += d
sys.stdout.buffer.write(out)
"""

ORIG = dict(PROTO="TCP", TCPREMOTEIP="192.0.2.10", TCPREMOTEPORT="40000",
            TCPLOCALIP="198.51.100.20", TCPLOCALPORT="443")


def client(port, version, **env):
    r = run([prog("s6-tcpclient"), "-H", "-P", version, "127.0.0.1", str(port),
             "/usr/bin/python3", "-c", APP], env=base_env(**env))
    assert r.returncode == 0, r.stderr
    first, _, rest = r.stdout.partition(b"\n")
    env_, data = parse_dump(rest)
    return first.decode().split("=", 1)[1], env_, data


@pytest.mark.parametrize("version", ["1", "2"])
def test_sends_original_client(procs, version):
    back = start_backend(procs, [])
    _, env, data = client(back, version, **ORIG)
    assert env["TCPREMOTEIP"] == "192.0.2.10"
    assert env["TCPREMOTEPORT"] == "40000"
    assert env["TCPLOCALIP"] == "198.51.100.20"
    assert env["TCPLOCALPORT"] == "443"
    assert data == b"payload after the header\n"


def test_v2_forwards_tls_variables(procs):
    back = start_backend(procs, ["--only-v2"])
    _, env, data = client(back, "2", SSL_PROTOCOL="TLSv1.3", SSL_CIPHER="TLS_AES_128_GCM_SHA256",
                          SSL_PEER_CERT_CN="alice", SSL_TLS_SNI_SERVERNAME="svc.example", **ORIG)
    assert env["SSL_PROTOCOL"] == "TLSv1.3"
    assert env["SSL_CIPHER"] == "TLS_AES_128_GCM_SHA256"
    assert env["SSL_PEER_CERT_CN"] == "alice"
    assert env["SSL_TLS_SNI_SERVERNAME"] == "svc.example"
    assert env["PROXY_SSL_CLIENT"] == "3"
    assert env["TCPREMOTEIP"] == "192.0.2.10"


def test_ipv6_original_client(procs):
    back = start_backend(procs, ["-1"])
    _, env, _ = client(back, "1", PROTO="TCP", TCPREMOTEIP="2001:db8::7", TCPREMOTEPORT="1",
                       TCPLOCALIP="2001:db8::8", TCPLOCALPORT="2")
    assert (env["TCPREMOTEIP"], env["TCPLOCALIP"]) == ("2001:db8::7", "2001:db8::8")


@pytest.mark.parametrize("version", ["1", "2"])
def test_no_original_client_keeps_real_endpoints(procs, version):
    """Not under a super-server: v1 UNKNOWN / v2 LOCAL, and the server sees
    the real connection."""
    back = start_backend(procs, [])
    localport, env, data = client(back, version)
    assert env["TCPREMOTEIP"] == "127.0.0.1"
    assert env["TCPREMOTEPORT"] == localport
    assert data == b"payload after the header\n"


@pytest.mark.parametrize("arg", ["0", "3", "x", ""])
def test_bad_version_is_usage(arg):
    r = run([prog("s6-tcpclient"), "-P", arg, "127.0.0.1", "1", "true"], env=base_env())
    assert r.returncode == 100
    assert r.stderr.count(b"\n") == 1


def test_malformed_original_client_exits_100(procs):
    back = start_backend(procs, [])
    r = run([prog("s6-tcpclient"), "-H", "-P", "2", "127.0.0.1", str(back), "true"],
            env=base_env(PROTO="TCP", TCPREMOTEIP="192.0.2.300", TCPREMOTEPORT="1",
                         TCPLOCALIP="192.0.2.1", TCPLOCALPORT="2"))
    assert r.returncode == 100
    assert b"PROXY header" in r.stderr


def test_suite_as_the_proxy(procs):
    """s6-tcpserver -> s6-tcpclient -P 2 -> (socat relay) -> tcpserver ->
    proxy-server: the backend sees the real client's port."""
    need("socat")
    back = start_backend(procs, [])
    p, front = procs.server([prog("s6-tcpserver"), "-1", "127.0.0.1", "0",
                             prog("s6-tcpclient"), "-H", "-P", "2", "127.0.0.1", str(back),
                             "socat", "FD:0", "FD:6"],
                            stderr=subprocess.PIPE, env=base_env())
    s = socket.create_connection(("127.0.0.1", front), timeout=10)
    s.sendall(b"through two hops\n")
    s.shutdown(socket.SHUT_WR)
    env, data = parse_dump(recv_all(s))
    assert env["TCPREMOTEPORT"] == str(s.getsockname()[1])
    assert env["TCPLOCALPORT"] == str(front)
    assert data == b"through two hops\n"


@pytest.mark.parametrize("version", ["1", "2"])
def test_haproxy_accepts_our_header(procs, tmp_path, version):
    """A real receiver: haproxy with accept-proxy takes the client from our
    header (a v2 one carries a CRC32C, which haproxy checks) and passes it
    on in its own header to proxy-server."""
    from proxy_util import start_haproxy
    back = start_backend(procs, [])
    front = start_haproxy(procs, tmp_path, "accept-proxy", "server s 127.0.0.1:%d send-proxy-v2" % back)
    _, env, data = client(front, version, **ORIG)
    assert env["TCPREMOTEIP"] == "192.0.2.10"
    assert env["TCPREMOTEPORT"] == "40000"
    assert env["TCPLOCALIP"] == "198.51.100.20"
    assert env["TCPLOCALPORT"] == "443"
    assert data == b"payload after the header\n"
