"""s6-tlsserver session resumption (tickets sealed with the zygote's
rotating keys, -T) and the delayed-ACK stall: a client that leaves
TCP_NODELAY unset must not wait for the server's delayed ACK after the
handshake."""
import os
import shutil
import socket
import ssl
import struct
import subprocess
import time

import pytest

from conftest import prog, run, need
from tls_util import server_env

ECHO = ["sh", "-c", 'read l; echo "$l $SSL_PROTOCOL"']


def tlsserver(procs, certs, *opts, app=ECHO, **extra):
    return procs.server([prog("s6-tlsserver")] + list(opts) + ["-1", "--", "127.0.0.1", "0"] + app,
                        env=server_env(certs, **extra), stderr=subprocess.PIPE)


def s_client(port, certs, version, sess, *extra):
    """One openssl s_client connection; -sess_out / -sess_in through the
    file sess. Returns (resumed, output)."""
    need("openssl")
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, version, "-servername", "localhost",
            "-CAfile", certs.p("ca.pem"), "-ign_eof"] + list(extra)
    args += ["-sess_in", sess] if sess.endswith(".in") else ["-sess_out", sess]
    r = run(args, input=b"hello\n", timeout=20)
    out = r.stdout.decode(errors="replace")
    # (s_client exits 1 on the server's EOF without close_notify, -s.)
    assert "hello TLSv1." in out, out[-800:] + r.stderr.decode(errors="replace")
    if "\nReused, " in out:
        return True, out
    assert "\nNew, " in out, out[-800:]
    return False, out


def resumes_with_s_client(port, certs, version, tmp_path, *extra):
    sess = str(tmp_path / ("sess%s.in" % version))
    first, out = s_client(port, certs, version, sess[:-3] + ".out", *extra)
    assert not first
    if not os.path.exists(sess[:-3] + ".out"):
        return False, out  # nothing to resume (TLS 1.3 without a ticket)
    shutil.copy(sess[:-3] + ".out", sess)
    again, out = s_client(port, certs, version, sess, *extra)
    return again, out


@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2"])
def test_s_client_resumes(procs, certs, tmp_path, version):
    _, port = tlsserver(procs, certs)
    again, _ = resumes_with_s_client(port, certs, version, tmp_path)
    assert again


@pytest.mark.parametrize("opts", [("-T", "0"), ("-X",)])
@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2"])
def test_no_tickets_no_resumption(procs, certs, tmp_path, version, opts):
    """-T 0, and -X (no zygote to hold ticket keys): no ticket is issued
    and none is accepted."""
    _, port = tlsserver(procs, certs, *opts)
    again, out = resumes_with_s_client(port, certs, version, tmp_path)
    assert not again
    assert "TLS session ticket:" not in out


def test_resumed_session_keeps_client_certificate(procs, certs, tmp_path):
    """With -y, a resumed connection still tells the application who the
    client is (the ticket carries the client's certificate)."""
    need("openssl")
    app = ["sh", "-c", 'read l; echo "$l $SSL_PROTOCOL $SSL_PEER_CERT_SUBJECT"']
    _, port = tlsserver(procs, certs, "-y", app=app, CAFILE=certs.p("ca.pem"))
    cert = ("-cert", certs.p("client.pem"), "-key", certs.p("client.key"))
    for version in ("-tls1_3", "-tls1_2"):
        again, out = resumes_with_s_client(port, certs, version, tmp_path, *cert)
        assert again, version
        assert "CN=test client,O=s6net" in out, out[-500:]


def client_ctx(version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


def python_session(port, ctx, session=None):
    t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                        server_hostname="localhost", session=session)
    t.sendall(b"hi\n")
    line = t.recv(100)
    assert line.startswith(b"hi TLSv1."), line
    reused = t.session_reused
    s = t.session
    try:
        t.unwrap()
    except (OSError, ssl.SSLError):
        pass
    t.close()
    return reused, s


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2])
def test_python_session_resumes(procs, certs, version):
    _, port = tlsserver(procs, certs)
    ctx = client_ctx(version)
    reused, s = python_session(port, ctx)
    assert not reused
    reused, _ = python_session(port, ctx, s)
    assert reused


# ---- the delayed-ACK stall -------------------------------------------------

def unacked(sock):
    """tcpi_unacked of struct tcp_info (Linux): our segments not yet
    acknowledged by the peer."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from("I", info, 24)[0]


# Linux delays an ACK by at least 40 ms (TCP_DELACK_MIN): an ACK seen
# before this bound was not a delayed one.
QUICK = 0.025


def ack_after_handshake(port, ctx, session=None):
    """Handshake from a client that leaves Nagle on, then watch, without
    sending anything, how long the client's last handshake segment stays
    unacknowledged. Returns (seconds, resumed); the request then sent in a
    separate write must reach the application."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
    t = ctx.wrap_socket(raw, server_hostname="localhost", session=session, do_handshake_on_connect=False)
    t.do_handshake()
    t0 = time.monotonic()
    while unacked(t) and time.monotonic() - t0 < 1:
        pass
    dt = time.monotonic() - t0
    t.sendall(b"request\n")
    assert t.recv(100).startswith(b"request TLSv1."), "the request did not reach the application"
    reused, s = t.session_reused, t.session
    try:
        t.unwrap()
    except (OSError, ssl.SSLError):
        pass
    t.close()
    return dt, reused, s


@pytest.mark.parametrize("case", ["T0-tls13", "X-tls13", "tls12-resumed"])
def test_no_delayed_ack_after_handshake(procs, certs, case):
    """The server acknowledges the client's last handshake flight at once
    (TCP_QUICKACK), so the client's Nagle algorithm never holds its first
    request back for a delayed ACK. The ACK must come well before the
    40 ms delayed-ACK timer; a loaded machine may delay our engine, so the
    fastest of a few connections counts (the timer never fires early)."""
    opts = {"T0-tls13": ("-T", "0"), "X-tls13": ("-X",), "tls12-resumed": ()}[case]
    version = ssl.TLSVersion.TLSv1_2 if case == "tls12-resumed" else ssl.TLSVersion.TLSv1_3
    _, port = tlsserver(procs, certs, *opts)
    ctx = client_ctx(version)
    session = None
    if case == "tls12-resumed":
        _, reused, session = ack_after_handshake(port, ctx)
        assert not reused
    times = []
    for _ in range(10):
        dt, reused, _ = ack_after_handshake(port, ctx, session)
        assert reused == (session is not None)
        times.append(dt)
        if dt < QUICK:
            break
    assert min(times) < QUICK, times


@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2"])
def test_ticket_bound_to_server_name(procs, certs, tmp_path, version):
    """A session resumes only under the server name it was made for (RFC
    6066): offered with another name, or none, it is a full handshake, and
    the application sees the name the client asked for this time."""
    app = ["sh", "-c", 'read l; echo "$l $SSL_PROTOCOL [${SSL_TLS_SNI_SERVERNAME-}]"']
    _, port = tlsserver(procs, certs, app=app)
    out = str(tmp_path / "s.out")
    first, _ = s_client_named(port, certs, version, "a.example", ["-sess_out", out])
    assert not first
    for name, resumed in (("a.example", True), ("A.Example", True), ("b.example", False), (None, False)):
        again, text = s_client_named(port, certs, version, name, ["-sess_in", out])
        assert again == resumed, (name, text[-600:])
        # (TLS 1.2 resumption reports the name as first sent: any case.)
        assert "[%s]" % (name or "").lower() in text.lower(), text[-600:]


def s_client_named(port, certs, version, name, extra):
    need("openssl")
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, version, "-ign_eof"]
    args += ["-servername", name] if name else ["-noservername"]
    r = run(args + extra, input=b"hello\n", timeout=20)
    out = r.stdout.decode(errors="replace")
    assert "hello TLSv1." in out, out[-800:]
    return "\nReused, " in out, out
