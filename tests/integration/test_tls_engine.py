"""s6-tlsd / s6-tlsc and their engines against real peers: openssl
s_client / s_server, curl, Python's ssl module, under ucspi-tcp."""
import hashlib
import os
import socket
import ssl
import subprocess

import pytest

from conftest import base_env, need, prog, run
from tls_util import client_env, server_env, tcpserver
from util import ABRUPT_EOF, recv_all, wait_listen

ENVDUMP = "env | grep -E '^(SSL_|KEYFILE|CERTFILE|CAFILE|CADIR|TLS_)' | sort"


def tlsd(*opts, app):
    return [prog("s6-tlsd")] + list(opts) + ["--", "sh", "-c", app]


def s_client(port, c, *extra, data=b"", servername="localhost", ca="ca.pem"):
    need("openssl")
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", c.p(ca),
            "-verify_return_error", "-servername", servername, "-ign_eof", "-quiet"] + list(extra)
    return run(args, input=data, timeout=20)


def py_client(port, c, name="localhost", send=b"", cert=None, version=None):
    ctx = ssl.create_default_context(cafile=c.p("ca.pem"))
    if cert:
        ctx.load_cert_chain(c.p(cert + ".pem"), c.p(cert + ".key"))
    if version:
        ctx.minimum_version = ctx.maximum_version = version
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    s = ctx.wrap_socket(raw, server_hostname=name)
    if send:
        s.sendall(send)
    out = recv_all(s, ignore=ABRUPT_EOF)
    info = (s.version(), s.cipher())
    s.close()
    return out, info


def test_server_env_and_key_vars_hidden(procs, certs):
    _, port = tcpserver(procs, tlsd(app=ENVDUMP), server_env(certs, CAFILE=certs.p("ca.pem"), TLS_UID="0", TLS_GID="0"))
    out, (ver, _) = py_client(port, certs)
    lines = dict(l.split("=", 1) for l in out.decode().splitlines())
    assert lines["SSL_PROTOCOL"] == ver == "TLSv1.3"
    assert lines["SSL_TLS_SNI_SERVERNAME"] == "localhost"
    assert lines["SSL_CIPHER"].startswith("TLS_")
    for k in ("KEYFILE", "CERTFILE", "CAFILE", "TLS_UID", "TLS_GID", "SSL_PEER_CERT_HASH"):
        assert k not in lines


def test_server_minus_Z_keeps_key_vars(procs, certs):
    _, port = tcpserver(procs, tlsd("-Z", app=ENVDUMP), server_env(certs, CADIR=certs.p("cadir")))
    out, _ = py_client(port, certs)
    text = out.decode()
    assert "KEYFILE=" + certs.p("server.key") in text
    assert "CADIR=" in text


def test_s_client_roundtrip_tls12_and_13_close_modes(procs, certs):
    """-S ends with close_notify (s_client exits 0); the default -s only
    half-closes TCP, which s_client reports as an unexpected EOF."""
    app = "read l; echo \"got $l $SSL_PROTOCOL\""
    _, port_s = tcpserver(procs, tlsd(app=app), server_env(certs))
    _, port_S = tcpserver(procs, tlsd("-S", app=app), server_env(certs))
    for v, name in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        r = s_client(port_S, certs, v, data=b"ping\n")
        assert r.returncode == 0, r.stderr
        assert r.stdout == ("got ping %s\n" % name).encode()
        r = s_client(port_s, certs, v, data=b"ping\n")
        assert r.stdout == ("got ping %s\n" % name).encode()
        assert b"unexpected eof" in r.stderr


def test_server_refuses_tls11(procs, certs):
    _, port = tcpserver(procs, tlsd(app="echo no"), server_env(certs))
    r = s_client(port, certs, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", data=b"x\n")
    assert b"no" not in r.stdout
    assert r.returncode != 0


def test_client_cert_required_optional(procs, certs):
    app = 'echo "subj=$SSL_PEER_CERT_SUBJECT hash=$SSL_PEER_CERT_HASH"'
    env = server_env(certs, CAFILE=certs.p("ca.pem"))
    _, preq = tcpserver(procs, tlsd("-y", app=app), env)
    _, popt = tcpserver(procs, tlsd("-Y", app=app), env)
    out, _ = py_client(preq, certs, cert="client")
    assert b"subj=CN=test client,O=s6net hash=SHA256:" in out
    fp = hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(certs.p("client.pem")).read())).hexdigest()
    assert fp.encode() in out
    # Required and absent: no application output.
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        out, _ = py_client(preq, certs)
        if not out:
            raise ssl.SSLError("closed")
    out, _ = py_client(popt, certs)
    assert out == b"subj= hash=\n"
    out, _ = py_client(popt, certs, cert="client")
    assert b"subj=CN=test client" in out


def _big(n, seed=7):
    return hashlib.shake_256(bytes([seed])).digest(n)


def test_large_transfer_both_ways_with_half_close(procs, certs):
    """Client sends 8 MiB then half-closes; the server application echoes
    only after EOF, so both directions cross a half-closed connection."""
    data = _big(8 << 20)
    _, port = tcpserver(procs, tlsd(app="cat > \"$T\"; cat \"$T\""),
                        server_env(certs, T=os.path.join(certs.d, "echo.%d" % os.getpid())))
    need("tcpclient")
    r = run(["tcpclient", "127.0.0.1", str(port), prog("s6-tlsc"), "-k", "localhost", "--",
             "sh", "-c", "cat >&7; exec 7>&-; cat <&6"],
            input=data, env=client_env(certs), timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == len(data)
    assert r.stdout == data


def test_server_sends_large_after_client_eof_python(procs, certs):
    size = 3 << 20
    _, port = tcpserver(procs, tlsd(app="head -c %d /dev/zero" % size), server_env(certs))
    out, _ = py_client(port, certs)
    assert out == b"\0" * size


def test_sni_levels_and_wildcard(procs, certs):
    env = server_env(certs, **{"KEYFILE:a.example.com": certs.p("a.key"),
                              "CERTFILE:a.example.com": certs.p("a.pem"),
                              "KEYFILE:*.wild.example.com": certs.p("wild.key"),
                              "CERTFILE:*.wild.example.com": certs.p("wild.pem")})
    app = 'echo "$SSL_TLS_SNI_SERVERNAME"'
    _, p1 = tcpserver(procs, tlsd("-k1", app=app), env)
    _, p2 = tcpserver(procs, tlsd("-k2", app=app), env)
    assert py_client(p1, certs, name="a.example.com")[0] == b"a.example.com\n"
    assert py_client(p1, certs, name="x.wild.example.com")[0] == b"x.wild.example.com\n"
    assert py_client(p1, certs, name="localhost")[0] == b"localhost\n"
    # Only one level is wildcarded.
    with pytest.raises(ssl.SSLError):
        py_client(p1, certs, name="y.x.wild.example.com")
    # -k2: the generic pair is ignored.
    assert py_client(p2, certs, name="a.example.com")[0] == b"a.example.com\n"
    with pytest.raises(ssl.SSLError):
        py_client(p2, certs, name="localhost")


def test_s6_tlsc_against_s_server(procs, certs):
    """good CA, wrong CA, wrong name, expired: the application only runs
    when the server certificate verifies; the code is 98 otherwise."""
    need("openssl")
    need("tcpclient")
    from conftest import free_port
    results = {}
    for key, ca, name in (("server", "ca.pem", "localhost"), ("server", "otherca.pem", "localhost"),
                          ("server", "ca.pem", "wrong.example.com"), ("expired", "ca.pem", "localhost")):
        port = free_port()
        srv = procs.start(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-naccept", "1",
                           "-key", certs.p(key + ".key"), "-cert", certs.p(key + ".pem"), "-rev", "-quiet"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert wait_listen(port, srv)
        r = run(["tcpclient", "127.0.0.1", str(port), prog("s6-tlsc"), "-k", name, "--",
                 "sh", "-c", "echo ran; echo hello >&7; head -c 6 <&6"],
                env=base_env(CAFILE=certs.p(ca)), timeout=20)
        results[(key, ca, name)] = (r.returncode, r.stdout)
        srv.kill()
    assert results[("server", "ca.pem", "localhost")] == (0, b"ran\nolleh\n")
    for k, v in results.items():
        if k != ("server", "ca.pem", "localhost"):
            assert v == (98, b""), k

@pytest.mark.parametrize("what", ["missing", "mismatch", "garbage", "der"])
def test_bad_key_files_exit_96(certs, what, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    env = {"missing": dict(KEYFILE=str(tmp_path / "nope.key"), CERTFILE=certs.p("server.pem")),
           "mismatch": dict(KEYFILE=certs.p("a.key"), CERTFILE=certs.p("server.pem")),
           "garbage": dict(KEYFILE=str(bad), CERTFILE=certs.p("server.pem")),
           "der": dict(KEYFILE=certs.p("server.key.der"), CERTFILE=certs.p("server.der"))}[what]
    a, b = socket.socketpair()
    r = subprocess.run([prog("s6-tlsd-io"), "-K", "300", "--", "0", "1"], stdin=a, stdout=a,
                       stderr=subprocess.PIPE, env=base_env(**env), timeout=10)
    a.close(); b.close()
    if what == "der":
        # DER key and certificate load fine; the handshake then times out.
        assert r.returncode == 98, r.stderr
        assert b"timed out" in r.stderr
        return
    assert r.returncode == 96, r.stderr
    assert env["KEYFILE"].encode() in r.stderr
    assert r.stderr.count(b"\n") == 1


def test_missing_vars_exit_100(certs):
    r = run([prog("s6-tlsd-io"), "0", "1"], env=base_env(CERTFILE=certs.p("server.pem")))
    assert r.returncode == 100
    r = run([prog("s6-tlsc-io"), "0", "1"], env=base_env())
    assert r.returncode == 100
    r = run([prog("s6-tlsd-io"), "-x", "0", "1"], env=base_env())
    assert r.returncode == 100


def test_garbage_clienthello_and_timeout(procs, certs):
    _, port = tcpserver(procs, tlsd("-K", "500", app="echo never"), server_env(certs))
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    try:
        got = recv_all(s)
    except ConnectionResetError:
        got = b""
    assert b"never" not in got
    s.close()
    # A client that says nothing is cut off by -K.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert s.recv(4096) == b""
    s.close()
