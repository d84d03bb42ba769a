"""s6-tlsserver and the TLS engines: the client's SNI in the environment,
-L (timeout, SSL variables from the PROXY header), and what the TLS
programs say when something is wrong."""
import socket
import ssl
import subprocess
import time

import pytest

from conftest import prog, run, need, base_env, read_line
from tls_util import server_env
from util import children


def tlsserver(procs, certs, *opts, app, env=None, **extra):
    e = env or server_env(certs, **extra)
    return procs.server([prog("s6-tlsserver")] + list(opts) + ["-1", "--", "127.0.0.1", "0"] + app,
                        env=e, stderr=subprocess.PIPE)


def s_client(port, *extra, input=b""):
    need("openssl")
    return run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-quiet"] + list(extra),
               input=input, timeout=20)


def stderr_lines(p, want, timeout=10):
    """Read the server's stderr until a line containing want (bounded)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = read_line(p.stderr, max(0.01, deadline - time.monotonic()))
        if line is None:
            break
        seen.append(line)
        if want in line:
            return seen
    return seen


@pytest.mark.parametrize("opts", [(), ("-X",)])
def test_sni_exported_only_if_host_name(procs, certs, opts):
    """SSL_TLS_SNI_SERVERNAME carries the client's SNI only when it is a
    host name; otherwise it is unset, and -v logs one line."""
    app = ["sh", "-c", 'echo "[${SSL_TLS_SNI_SERVERNAME-unset}]"']
    p, port = tlsserver(procs, certs, "-v", *opts, app=app)
    assert s_client(port, "-servername", "Good-Name.example").stdout == b"[Good-Name.example]\n"
    for bad in ("bad_name.example", "x;reboot", "name.with.trailing.", "a..b", "-lead.example"):
        r = s_client(port, "-servername", bad)
        assert r.stdout == b"[unset]\n", (bad, r.stdout)
    lines = stderr_lines(p, "SSL_TLS_SNI_SERVERNAME left unset")
    assert any("s6-tlsd-io" in l and "not a valid host name" in l for l in lines), lines


def _silent_client_dropped(port, timeout):
    """A client that connects and sends nothing: True if the server closes
    the connection before timeout seconds."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    finally:
        s.close()


def _tls_through_proxy(port, certs):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"PROXY TCP4 192.0.2.7 198.51.100.1 4242 443\r\n")
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    t = ctx.wrap_socket(s, server_hostname="localhost")
    out = t.recv(100)
    t.close()
    return out


def test_L_header_timeout_from_K(procs, certs):
    """-L: proxy-server runs with -K's limit; a client that sends nothing
    is dropped and gives its slot back (-c 1)."""
    app = ["sh", "-c", 'echo "$TCPREMOTEIP"']
    _, port = tlsserver(procs, certs, "-L", "-K", "300", "-c", "1", app=app)
    t0 = time.monotonic()
    assert _silent_client_dropped(port, 5)
    assert time.monotonic() - t0 < 5
    assert _tls_through_proxy(port, certs) == b"192.0.2.7\n"


def test_L_header_default_timeout(procs, certs):
    """Without -K the header has a 10-second limit (proxy-server -t 10000
    in the chain): checked on the command line, not by waiting."""
    p, port = tlsserver(procs, certs, "-L", app=["cat"])
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    deadline = time.monotonic() + 10
    found = None
    while found is None and time.monotonic() < deadline:
        for c in children(p.pid):
            try:
                argv = open("/proc/%d/cmdline" % c, "rb").read().split(b"\0")
            except OSError:
                continue
            if argv[0].endswith(b"/proxy-server"):
                found = argv
        if found is None:
            time.sleep(0.01)
    s.close()
    assert found and found[1:3] == [b"-t", b"10000"], found


# ---- -L: the SSL variables come from the PROXY header ----------------------

def _dump_through_L(port, header, sni="localhost"):
    from proxy_util import exchange
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(header)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname=sni)
    env, _ = exchange(t, b"payload\n")
    t.close()
    return env


@pytest.mark.parametrize("client_byte", [1, 0])
def test_L_ssl_variables_from_handmade_v2_header(procs, certs, client_byte):
    """A v2 header whose SSL field has the client-SSL bit: the application
    sees the proxy's view of the client's TLS (SSL_PROTOCOL, SSL_CIPHER,
    SSL_PEER_CERT_CN, SSL_TLS_SNI_SERVERNAME), not the proxy-to-us hop.
    Without the bit, the hop's own values stand."""
    from proxy_util import DUMP, inet4, tlv, v2
    _, port = tlsserver(procs, certs, "-L", app=DUMP)
    ssl_tlv = tlv(0x20, bytes([client_byte]) + b"\0\0\0\0" + tlv(0x21, b"TLSv1.2")
                  + tlv(0x23, b"ECDHE-RSA-AES256-GCM-SHA384") + tlv(0x22, b"front client"))
    h = v2(1, 0x11, inet4("203.0.113.9", "203.0.113.10", 6000, 443), tlv(0x02, b"front.example") + ssl_tlv)
    env = _dump_through_L(port, h, sni="hop.example")
    assert env["TCPREMOTEIP"] == "203.0.113.9"
    if client_byte & 1:
        assert env["PROXY_SSL_CLIENT"] == "1"
        assert env["SSL_PROTOCOL"] == "TLSv1.2"
        assert env["SSL_CIPHER"] == "ECDHE-RSA-AES256-GCM-SHA384"
        assert env["SSL_PEER_CERT_CN"] == "front client"
        assert env["SSL_TLS_SNI_SERVERNAME"] == "front.example"
    else:
        assert env["SSL_PROTOCOL"] == "TLSv1.3"
        assert env["SSL_TLS_SNI_SERVERNAME"] == "hop.example"
    for k in ("SSL_PEER_CERT_HASH", "SSL_PEER_CERT_SUBJECT", "SSL_ALPN"):
        assert k not in env


def test_L_ssl_variables_behind_haproxy(procs, certs, tmp_path):
    """haproxy terminates the client's TLS 1.2 and re-encrypts to
    s6-tlsserver -L (TLS 1.3, its own SNI) with send-proxy-v2-ssl: the
    application sees the client's protocol, cipher and server name."""
    from proxy_util import DUMP, start_haproxy
    _, back = tlsserver(procs, certs, "-L", app=DUMP)
    pem = str(tmp_path / "front.pem")
    with open(pem, "w") as f:
        f.write(open(certs.p("server.pem")).read() + open(certs.p("server.key")).read())
    front = start_haproxy(procs, tmp_path, "ssl crt %s" % pem,
                          "server s 127.0.0.1:%d ssl verify none sni str(hop.example) "
                          "send-proxy-v2-ssl proxy-v2-options ssl-cipher,authority" % back)
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")
    from proxy_util import exchange
    t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", front), timeout=10), server_hostname="localhost")
    env, _ = exchange(t, b"via haproxy\n")
    t.close()
    assert int(env["PROXY_SSL_CLIENT"]) & 1
    assert env["SSL_PROTOCOL"] == "TLSv1.2"
    assert env["SSL_CIPHER"] == "ECDHE-ECDSA-AES256-GCM-SHA384"
    assert env["SSL_TLS_SNI_SERVERNAME"] == "localhost"


# ---- messages ----------------------------------------------------------------

def test_engine_errors_name_the_program_run(procs, certs, tmp_path):
    """A key error comes from the engine, but names the program the user
    ran first (the wrappers pass it as -N)."""
    missing = str(tmp_path / "missing.key")
    env = base_env(KEYFILE=missing, CERTFILE=certs.p("server.pem"))
    r = run([prog("s6-tlsserver"), "-1", "127.0.0.1", "0", "true"], env=env, timeout=10)
    assert r.returncode == 96
    assert r.stderr.startswith(b"s6-tlsserver: s6-tlsd-io: fatal: unable to read KEYFILE " + missing.encode()), r.stderr
    # s6-tlsd's own engine (no zygote), per connection.
    p = procs.start([prog("s6-tcpserver"), "-1", "127.0.0.1", "0", prog("s6-tlsd"), "--", "true"],
                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    port = int(read_line(p.stdout, 10))
    socket.create_connection(("127.0.0.1", port), timeout=10).close()
    lines = stderr_lines(p, "fatal")
    assert any(l.startswith("s6-tlsd: s6-tlsd-io: fatal: unable to read KEYFILE") for l in lines), lines
    # The client side: s6-tlsclient runs s6-tlsc, whose engine names it.
    _, port = tlsserver(procs, certs, app=["cat"])
    r = run([prog("s6-tlsclient"), "localhost", str(port), "true"],
            env=base_env(CAFILE=str(tmp_path / "missing.pem")), timeout=20)
    assert r.returncode == 96
    assert r.stderr.startswith(b"s6-tlsc: s6-tlsc-io: fatal: unable to read CAFILE"), r.stderr


def test_tlsclient_without_trust_fails_before_connecting():
    """No CADIR/CAFILE and no --no-verify-cert: s6-tlsclient cannot verify
    the server, so it says so and exits 100 without connecting."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    port = lst.getsockname()[1]
    r = run([prog("s6-tlsclient"), "localhost", str(port), "true"], env=base_env(), timeout=20)
    assert r.returncode == 100
    assert r.stderr.startswith(b"s6-tlsclient: fatal: ") and r.stderr.count(b"\n") == 1, r.stderr
    assert b"CADIR or CAFILE" in r.stderr
    lst.settimeout(0.2)
    with pytest.raises(socket.timeout):
        lst.accept()  # nothing ever connected
    lst.close()
    # --no-verify-cert needs no trust anchors: it gets as far as connecting.
    r = run([prog("s6-tlsclient"), "--no-verify-cert", "127.0.0.1", "1", "true"], env=base_env(), timeout=20)
    assert r.returncode == 111 and b"s6-tcpclient: fatal: unable to connect" in r.stderr, r.stderr


def test_handshake_warning_names_the_client(procs, certs):
    """A failed handshake is logged with the client's address and port."""
    p, port = tlsserver(procs, certs, "-X", app=["true"])
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    cport = s.getsockname()[1]
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    try:
        s.recv(100)
    except ConnectionResetError:
        pass
    s.close()
    lines = stderr_lines(p, "handshake")
    want = "s6-tlsd: s6-tlsd-io: warning: unable to perform TLS handshake (client 127.0.0.1:%d): " % cport
    assert any(l.startswith(want) for l in lines), lines
