"""haproxy as the real PROXY sender, proxy-server behind it as the backend
(ucspi-tcp tcpserver runs it per connection)."""
import socket
import ssl

import pytest

from proxy_util import exchange, start_backend, start_haproxy
from util import recv_all

V2_OPTS = "ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c,unique-id"


@pytest.mark.parametrize("server", ["tcpserver", "s6-tcpserver"])
@pytest.mark.parametrize("mode", ["send-proxy", "send-proxy-v2"])
def test_haproxy_plain(procs, tmp_path, mode, server):
    back = start_backend(procs, [], server=server)
    front = start_haproxy(procs, tmp_path, "", "server s 127.0.0.1:%d %s" % (back, mode))
    s = socket.create_connection(("127.0.0.1", front), timeout=10)
    env, data = exchange(s, b"\r\n\r\n\x00first bytes\n")
    # the client's own port, which the backend socket cannot know
    assert env["TCPREMOTEIP"] == "127.0.0.1"
    assert env["TCPREMOTEPORT"] == str(s.getsockname()[1])
    assert env["TCPLOCALPORT"] == str(front)
    assert env["PROTO"] == "TCP"
    s.close()


@pytest.mark.parametrize("args,mode", [(["-1"], "send-proxy"), (["--only-v2"], "send-proxy-v2")])
def test_haproxy_only_version(procs, tmp_path, args, mode):
    back = start_backend(procs, args)
    front = start_haproxy(procs, tmp_path, "", "server s 127.0.0.1:%d %s" % (back, mode))
    s = socket.create_connection(("127.0.0.1", front), timeout=10)
    env, data = exchange(s, b"x\n")
    assert env["TCPREMOTEPORT"] == str(s.getsockname()[1])


def test_haproxy_wrong_version_is_refused(procs, tmp_path):
    """-2 behind a v1 sender: the connection is dropped, the app never runs."""
    back = start_backend(procs, ["-2"])
    front = start_haproxy(procs, tmp_path, "", "server s 127.0.0.1:%d send-proxy" % back)
    s = socket.create_connection(("127.0.0.1", front), timeout=10)
    s.sendall(b"x\n")
    out = recv_all(s, ignore=ConnectionResetError)
    assert b"---" not in out


def test_haproxy_ipv6_client(procs, tmp_path):
    back = start_backend(procs, [])
    # a second bind on ::1; the frontend helper retries only its own port,
    # a collision on this one is as unlikely as on any free_port() pick
    probe = socket.socket(socket.AF_INET6)
    probe.bind(("::1", 0))
    port = probe.getsockname()[1]
    probe.close()
    start_haproxy(procs, tmp_path, "\n    bind [::1]:%d" % port,
                  "server s 127.0.0.1:%d send-proxy-v2" % back)
    s = socket.create_connection(("::1", port), timeout=10)
    env, data = exchange(s, b"six\n")
    assert env["TCPREMOTEIP"] == "::1"
    assert env["TCPREMOTEPORT"] == str(s.getsockname()[1])
    assert env["TCPLOCALIP"] == "::1"
    assert env["TCPLOCALPORT"] == str(port)


@pytest.mark.parametrize("mode", ["send-proxy-v2 proxy-v2-options " + V2_OPTS, "send-proxy-v2-ssl-cn"])
def test_haproxy_tls_tlvs(procs, certs, tmp_path, mode):
    """haproxy terminates TLS with a client certificate, SNI and ALPN; every
    TLV it can send comes out as a variable."""
    client = certs.cert("proxy-client", "proxy-client", [], client=True, d=str(tmp_path))
    back = start_backend(procs, [])
    front = start_haproxy(
        procs, tmp_path,
        "ssl crt %s ca-file %s verify optional alpn http/1.1,h2" % (certs.with_key("server"), certs.p("ca.pem")),
        "server s 127.0.0.1:%d %s" % (back, mode),
        frontend_extra="    unique-id-format UID-%ci-%cp")
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    ctx.load_cert_chain(client[1], client[0])
    ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", front), timeout=10)
    cport = raw.getsockname()[1]
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    env, data = exchange(s, b"over tls\n")
    assert env["TCPREMOTEPORT"] == str(cport)
    assert env["SSL_PEER_CERT_CN"] == "proxy-client"
    assert env["SSL_PROTOCOL"] == s.version()
    assert env["PROXY_SSL_VERIFY"] == "0"
    assert env["PROXY_ALPN"] == "h2"
    if "authority" in mode:
        assert env["SSL_CIPHER"] == s.cipher()[0]
        assert env["SSL_TLS_SNI_SERVERNAME"] == "localhost"
        assert env["PROXY_UNIQUE_ID"] == "UID-127.0.0.1-%d" % cport
        assert int(env["PROXY_SSL_CLIENT"]) & 3 == 3   # SSL, cert on this connection
        assert env["PROXY_SSL_SIG_ALG"]
        assert env["PROXY_SSL_KEY_ALG"]
    s.close()
