"""proxy-server with TLS: before the handshake (s6-tlsserver -L, haproxy
as the sender, the ClientHello right behind the header) and inside the
tunnel (proxy-server reading a pipe from the TLS engine)."""
import socket
import ssl
import subprocess

import pytest

from conftest import prog
from proxy_util import DUMP, exchange, inet4, start_haproxy, tlv, v2
from tls_util import server_env


@pytest.mark.parametrize("mode", ["send-proxy", "send-proxy-v2 proxy-v2-options crc32c"])
def test_haproxy_header_then_tls_into_tlsserver_L(procs, tmp_path, certs, mode):
    """haproxy writes the header and its ClientHello back to back: -L must
    take the header and leave every handshake byte to the TLS engine."""
    _, back = procs.server([prog("s6-tlsserver"), "-L", "-1", "--", "127.0.0.1", "0"] + DUMP,
                           env=server_env(certs), stderr=subprocess.PIPE)
    front = start_haproxy(procs, tmp_path, "", "server s 127.0.0.1:%d ssl verify none %s" % (back, mode))
    for _ in range(2):  # twice: a second connection through the same chain
        s = socket.create_connection(("127.0.0.1", front), timeout=10)
        env, data = exchange(s, b"secret payload\n")
        assert env["TCPREMOTEIP"] == "127.0.0.1"
        assert env["TCPREMOTEPORT"] == str(s.getsockname()[1])
        assert env["TCPLOCALPORT"] == str(front)
        assert env["SSL_PROTOCOL"].startswith("TLSv1.")
        s.close()


@pytest.mark.parametrize("pieces", [1, 3, 40])
def test_header_inside_the_tunnel(procs, certs, pieces):
    """s6-tlsserver ... proxy-server prog: the header travels encrypted and
    reaches proxy-server through the engine's pipe, here in several TLS
    records."""
    _, port = procs.server([prog("s6-tlsserver"), "-1", "--", "127.0.0.1", "0", prog("proxy-server"), "-t", "5000"] + DUMP,
                           env=server_env(certs), stderr=subprocess.PIPE)
    h = v2(1, 0x11, inet4("203.0.113.9", "203.0.113.10", 6000, 443),
           tlv(0x02, b"inner.example") + tlv(0x20, b"\x01\0\0\0\0" + tlv(0x21, b"TLSv1.2")), crc=True)
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    step = max(1, len(h) // pieces)
    for i in range(0, len(h), step):
        t.sendall(h[i:i + step])
    env, data = exchange(t, b"after the header\n")
    assert env["TCPREMOTEIP"] == "203.0.113.9"
    assert env["TCPREMOTEPORT"] == "6000"
    assert env["SSL_TLS_SNI_SERVERNAME"] == "inner.example"
    assert env["SSL_PROTOCOL"] == "TLSv1.2"  # the header's word overrides the engine's
    t.close()
