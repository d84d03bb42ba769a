"""s6-ucspitlsd under s6-tcpserver, driven by a scriptable UCSPI-TLS
application and Python's ssl module as the TLS client: the y and Y
commands, the connection information block, key variables, declining,
unknown commands, a peer that never answers (-K), the control socket
closed during the handshake, and nothing left behind."""
import errno
import os
import ssl

import pytest

from conftest import base_env, prog, run
from starttls_util import (Line, Report, app, client_ctx, server_env, tls_exchange, tls_half_close, ucspid,
                           wait_group)
from util import ABRUPT_EOF, recv_all

GREET = ["send:220 app ready", "expect:STARTTLS", "send:220 go ahead"]


def upgrade_echo(cmd="Y"):
    steps = GREET + ["ctl:" + cmd]
    if cmd == "Y":
        steps.append("info")
    return steps + ["upgrade", "echo", "wait"]


def client_upgrade(port, c, cert=None, name="localhost"):
    lc = Line(port)
    assert lc.readline() == "220 app ready"
    lc.send("STARTTLS")
    assert lc.readline() == "220 go ahead"
    return lc, lc.starttls(client_ctx(c, cert), name)


def info_dict(line):
    assert line.startswith("INFO ") and line != "INFO none", line
    return dict(kv.split("=", 1) for kv in line[5:].split("|"))


def test_Y_returns_connection_info(procs, certs, tmp_path):
    rep = Report(tmp_path)
    p, port = ucspid(procs, [], app("server", *upgrade_echo("Y")), server_env(certs, rep))
    lc, s = client_upgrade(port, certs)
    s.sendall(b"hello over tls\n")
    tls_half_close(s)
    assert recv_all(s, ignore=ABRUPT_EOF) == b"hello over tls\n"
    info = info_dict(rep.wait("INFO"))
    assert info["SSL_PROTOCOL"] == s.version() == "TLSv1.3"
    assert info["SSL_CIPHER"] == s.cipher()[0]
    assert info["SSL_TLS_SNI_SERVERNAME"] == "localhost"
    assert "SSL_PEER_CERT_HASH" not in info
    s.close()
    assert rep.wait("HELPER") == "HELPER exit 0"
    rep.wait("DONE")
    wait_group(p.pid, keep=[p.pid])


def test_y_sends_nothing_back(procs, certs, tmp_path):
    rep = Report(tmp_path)
    steps = GREET + ["ctl:y", "info", "upgrade", "echo", "wait"]
    p, port = ucspid(procs, [], app("server", *steps), server_env(certs, rep))
    lc, s = client_upgrade(port, certs)
    s.sendall(b"x" * 1000)
    tls_half_close(s)
    assert recv_all(s, ignore=ABRUPT_EOF) == b"x" * 1000
    # After 'y' the control socket just reaches EOF.
    assert rep.wait("INFO") == "INFO none"
    assert rep.wait("HELPER") == "HELPER exit 0"
    s.close()


def test_bulk_both_ways_byte_for_byte(procs, certs, tmp_path):
    rep = Report(tmp_path)
    p, port = ucspid(procs, [], app("server", *upgrade_echo("Y")), server_env(certs, rep))
    lc, s = client_upgrade(port, certs)
    data = os.urandom(4 << 20)
    got = tls_exchange(s, data)
    assert len(got) == len(data) and got == data
    s.close()
    assert rep.wait("HELPER") == "HELPER exit 0"


def test_key_variables_hidden_by_default(procs, certs, tmp_path):
    rep = Report(tmp_path)
    env = server_env(certs, rep, CAFILE=certs.p("ca.pem"), CADIR=certs.p("cadir"),
                     TLS_UID="0", TLS_GID="0")
    env["KEYFILE:a.example.com"] = certs.p("a.key")
    env["CERTFILE:a.example.com"] = certs.p("a.pem")
    env["SSLCTLFD"] = "99"  # a stale value must not survive
    steps = ["env"] + GREET + ["ctl:Y", "info", "upgrade", "echo", "wait"]
    p, port = ucspid(procs, ["-k1"], app("server", *steps), env)
    lc, s = client_upgrade(port, certs, name="a.example.com")
    tls_half_close(s)
    recv_all(s, ignore=ABRUPT_EOF)
    s.close()
    rep.wait("DONE")
    envs = dict(l[4:].split("=", 1) for l in rep.lines() if l.startswith("ENV "))
    assert set(envs) == {"SSLCTLFD", "SSLREADFD", "SSLWRITEFD"}
    fds = [int(envs[k]) for k in ("SSLCTLFD", "SSLREADFD", "SSLWRITEFD")]
    # Single-digit fds, so that shell scripts can name them.
    assert len(set(fds)) == 3 and all(2 < fd < 10 for fd in fds)
    # The engine did get the keys: SNI picked the a.example.com pair.
    assert info_dict(rep.wait("INFO"))["SSL_TLS_SNI_SERVERNAME"] == "a.example.com"


def test_Z_keeps_key_variables(procs, certs, tmp_path):
    rep = Report(tmp_path)
    env = server_env(certs, rep, CAFILE=certs.p("ca.pem"), TLS_UID="0", TLS_GID="0")
    env["KEYFILE:a.example.com"] = certs.p("a.key")
    env["CERTFILE:a.example.com"] = certs.p("a.pem")
    p, port = ucspid(procs, ["-Z"], app("server", "env", "send:220 bye"), env)
    lc = Line(port)
    assert lc.readline() == "220 bye"
    rep.wait("DONE")
    envs = dict(l[4:].split("=", 1) for l in rep.lines() if l.startswith("ENV "))
    for k in ("KEYFILE", "CERTFILE", "CAFILE", "TLS_UID", "TLS_GID",
              "KEYFILE:a.example.com", "CERTFILE:a.example.com"):
        assert k in envs, k
    # -z after -Z restores the default.
    rep2 = Report(tmp_path, "r2")
    env["STARTTLS_REPORT"] = rep2.path
    p, port = ucspid(procs, ["-Z", "-z"], app("server", "env", "send:220 bye"), env)
    lc = Line(port)
    assert lc.readline() == "220 bye"
    rep2.wait("DONE")
    assert not any(l.startswith("ENV KEYFILE") for l in rep2.lines())


@pytest.mark.parametrize("opt,cert,ok", [("-Y", None, True), ("-Y", "client", True),
                                         ("-y", "client", True), ("-y", None, False)])
def test_client_certificates(procs, certs, tmp_path, opt, cert, ok):
    rep = Report(tmp_path)
    env = server_env(certs, rep, CAFILE=certs.p("ca.pem"))
    p, port = ucspid(procs, [opt], app("server", *upgrade_echo("Y")), env)
    lc = Line(port)
    lc.readline()
    lc.send("STARTTLS")
    lc.readline()
    try:
        s = lc.starttls(client_ctx(certs, cert))
        s.sendall(b"ping")
        tls_half_close(s)
        got = recv_all(s, ignore=ABRUPT_EOF)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        got = None
    except OSError as e:
        # A refused client's connection may be gone before its shutdown.
        if e.errno != errno.ENOTCONN:
            raise
        got = None
    if ok:
        assert got == b"ping"
        info = info_dict(rep.wait("INFO"))
        if cert:
            assert "CN=test client" in info["SSL_PEER_CERT_SUBJECT"]
            assert info["SSL_PEER_CERT_HASH"].startswith("SHA256:")
        else:
            assert "SSL_PEER_CERT_SUBJECT" not in info
        assert rep.wait("HELPER") == "HELPER exit 0"
    else:
        assert not got
        assert rep.wait("INFO") == "INFO none"
        assert rep.wait("HELPER") == "HELPER exit 98"
    wait_group(p.pid, keep=[p.pid])


def test_decline_by_closing_control(procs, certs, tmp_path):
    rep = Report(tmp_path)
    steps = ["closectl", "wait", "send:220 cleartext only", "expect:PING", "send:250 PONG"]
    p, port = ucspid(procs, [], app("server", *steps), server_env(certs, rep))
    lc = Line(port)
    assert lc.readline() == "220 cleartext only"
    lc.send("PING")
    assert lc.readline() == "250 PONG"
    assert lc.readline() == ""  # then EOF
    assert rep.wait("HELPER") == "HELPER exit 0"
    wait_group(p.pid, keep=[p.pid])


def test_app_exit_without_command(procs, certs, tmp_path):
    """The application exits without a word: the helper exits 0 and the
    connection closes."""
    p, port = ucspid(procs, [], ["true"], server_env(certs))
    lc = Line(port)
    assert lc.readline() == ""
    wait_group(p.pid, keep=[p.pid])


@pytest.mark.parametrize("byte", ["x", "n", "\\x00", "\\xff", "\\n"])
def test_unknown_command(procs, certs, tmp_path, byte):
    rep = Report(tmp_path)
    steps = ["ctl:" + byte, "wait", "send:220 still here", "expect:PING", "send:250 PONG"]
    p, port = ucspid(procs, [], app("server", *steps), server_env(certs, rep))
    lc = Line(port)
    assert rep.wait("HELPER") == "HELPER exit 100"
    assert lc.readline() == "220 still here"
    lc.send("PING")
    assert lc.readline() == "250 PONG"
    rep.wait("DONE")
    wait_group(p.pid, keep=[p.pid])
    p.kill()
    p.wait()
    err = p.stderr.read().decode()
    assert "s6-ucspitlsd: fatal: unable to obey the application: unknown UCSPI-TLS command" in err


def test_peer_never_answers_with_K(procs, certs, tmp_path):
    rep = Report(tmp_path)
    steps = GREET + ["ctl:Y", "info", "wait", "send:421 no TLS"]
    p, port = ucspid(procs, ["-K", "300"], app("server", *steps), server_env(certs, rep))
    lc = Line(port)
    lc.readline()
    lc.send("STARTTLS")
    assert lc.readline() == "220 go ahead"
    # Never send a ClientHello: the engine gives up after -K ms.
    assert rep.wait("INFO", timeout=10) == "INFO none"
    assert rep.wait("HELPER") == "HELPER exit 98"
    # The application, still holding the cleartext connection, carries on.
    assert lc.readline() == "421 no TLS"
    lc.close()
    wait_group(p.pid, keep=[p.pid])
    p.kill()
    p.wait()
    assert "timed out after 300 ms" in p.stderr.read().decode()


def test_control_closed_during_handshake_y(procs, certs, tmp_path):
    """After 'y' the control socket is no longer needed: closing it at
    once does not disturb the session."""
    rep = Report(tmp_path)
    steps = GREET + ["ctl:y", "closectl", "upgrade", "echo", "wait"]
    p, port = ucspid(procs, [], app("server", *steps), server_env(certs, rep))
    lc, s = client_upgrade(port, certs)
    s.sendall(b"abc")
    tls_half_close(s)
    assert recv_all(s, ignore=ABRUPT_EOF) == b"abc"
    s.close()
    assert rep.wait("HELPER") == "HELPER exit 0"


def test_control_closed_during_handshake_Y(procs, certs, tmp_path):
    """After 'Y' the engine owes the application the information block;
    if the application closed the control socket, the engine says so and
    exits 111, closing the connection (documented)."""
    rep = Report(tmp_path)
    steps = GREET + ["ctl:Y", "closectl", "wait"]
    p, port = ucspid(procs, [], app("server", *steps), server_env(certs, rep))
    lc = Line(port)
    lc.readline()
    lc.send("STARTTLS")
    lc.readline()
    try:
        s = lc.starttls(client_ctx(certs))
        got = recv_all(s, ignore=ABRUPT_EOF)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        got = b""
    assert got == b""
    assert rep.wait("HELPER") == "HELPER exit 111"
    wait_group(p.pid, keep=[p.pid])
    p.kill()
    p.wait()
    assert "unable to write handshake notification" in p.stderr.read().decode()


def test_missing_key_reported_at_upgrade(procs, certs, tmp_path):
    rep = Report(tmp_path)
    env = base_env(STARTTLS_REPORT=rep.path)
    steps = GREET + ["ctl:Y", "info", "wait", "send:454 TLS not available"]
    p, port = ucspid(procs, [], app("server", *steps), env)
    lc = Line(port)
    lc.readline()
    lc.send("STARTTLS")
    lc.readline()
    assert rep.wait("INFO") == "INFO none"
    assert rep.wait("HELPER") == "HELPER exit 100"
    assert lc.readline() == "454 TLS not available"


def test_client_hangs_up_during_handshake(procs, certs, tmp_path):
    rep = Report(tmp_path)
    steps = GREET + ["ctl:Y", "info", "wait"]
    p, port = ucspid(procs, [], app("server", *steps), server_env(certs, rep))
    lc = Line(port)
    lc.readline()
    lc.send("STARTTLS")
    lc.readline()
    lc.s.sendall(b"\x16\x03\x01\x00\x05hello")  # a truncated ClientHello
    lc.close()
    assert rep.wait("INFO") == "INFO none"
    assert rep.wait("HELPER") == "HELPER exit 98"
    wait_group(p.pid, keep=[p.pid])


@pytest.mark.parametrize("args", [[], ["--"], ["-K"], ["-K", "x", "true"], ["-v", "-1", "true"],
                                  ["-k", "z", "true"], ["-q", "true"], ["-a", "", "true"]])
def test_usage(args):
    r = run([prog("s6-ucspitlsd")] + args, env=base_env())
    assert r.returncode == 100
    assert b"s6-ucspitlsd: usage:" in r.stderr


def test_options_reach_engine(procs, certs, tmp_path):
    """-S: the engine ends with close_notify when the application closes;
    -a: ALPN is negotiated; -v2: the helper logs the command."""
    rep = Report(tmp_path)
    p, port = ucspid(procs, ["-S", "-v2", "-a", "smtp,x"], app("server", *upgrade_echo("Y")),
                     server_env(certs, rep))
    lc = Line(port)
    lc.readline()
    lc.send("STARTTLS")
    lc.readline()
    ctx = client_ctx(certs)
    ctx.set_alpn_protocols(["smtp"])
    s = lc.starttls(ctx)
    assert s.selected_alpn_protocol() == "smtp"
    s.sendall(b"data")
    tls_half_close(s)
    # With -S the end is a close_notify: a clean EOF, no ragged one.
    s.suppress_ragged_eofs = False
    assert recv_all(s) == b"data"
    assert info_dict(rep.wait("INFO"))["SSL_ALPN"] == "smtp"
    rep.wait("HELPER")
    p.kill()
    p.wait()
    assert "s6-ucspitlsd: info: command Y: starting TLS" in p.stderr.read().decode()


@pytest.mark.parametrize("opt,code", [("-J", 98), ("-j", 0)])
def test_J_strict_eof(procs, certs, tmp_path, opt, code):
    """-J reaches the engine: a client that ends without close_notify
    makes it exit 98; with -j that is a normal end."""
    rep = Report(tmp_path)
    p, port = ucspid(procs, [opt], app("server", *upgrade_echo("Y")), server_env(certs, rep))
    lc, s = client_upgrade(port, certs)
    s.sendall(b"bye")
    tls_half_close(s)
    try:
        got = recv_all(s, ignore=ABRUPT_EOF)
    except ssl.SSLError:  # -J: the engine answers the bare EOF with an alert
        got = None
    s.close()
    assert rep.wait("HELPER") == "HELPER exit %d" % code
    if code == 0:
        assert got == b"bye"


def test_engine_is_our_sibling_not_path(procs, certs, tmp_path):
    """The helper runs the s6-tlsd-io next to s6-ucspitlsd, never one that
    comes first on PATH."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "s6-tlsd-io").write_text("#!/bin/sh\necho FAKE >&2\nexit 42\n")
    (fake / "s6-tlsd-io").chmod(0o755)
    rep = Report(tmp_path)
    env = server_env(certs, rep)
    env["PATH"] = str(fake) + ":" + env["PATH"]
    p, port = ucspid(procs, [], app("server", *upgrade_echo("Y")), env)
    lc, s = client_upgrade(port, certs)
    s.sendall(b"ours")
    tls_half_close(s)
    assert recv_all(s, ignore=ABRUPT_EOF) == b"ours"
    s.close()
    assert rep.wait("HELPER") == "HELPER exit 0"
