"""The example service in examples/starttls-service: smtpd-lite under
s6-tcpserver + s6-ucspitlsd against real clients (openssl s_client
-starttls smtp, Python's ssl module), and starttls-client under
s6-tcpclient + s6-ucspitlsc against it."""
import os
import subprocess
import time

from conftest import need, prog, run
from tls_util import tcpserver
from starttls_util import Line, client_ctx, example, server_env, tls_exchange, ucspid, wait_group
from conftest import base_env


def smtpd(procs, c, *opts):
    return ucspid(procs, list(opts), [example("smtpd-lite")], server_env(c))


def test_openssl_s_client_starttls_smtp(procs, certs):
    need("openssl")
    p, port = smtpd(procs, certs, "-S")
    r = run(["openssl", "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:%d" % port,
             "-CAfile", certs.p("ca.pem"), "-verify_return_error", "-servername", "localhost",
             "-quiet"], input=b"ECHO hello over tls\r\nTLSINFO\r\nQUIT\r\n", timeout=20)
    out = r.stdout.decode().replace("\r", "").splitlines()
    assert r.returncode == 0, r.stderr.decode()
    assert "250 hello over tls" in out
    info = [l for l in out if l.startswith("250 SSL_PROTOCOL=")]
    assert info and "SSL_PROTOCOL=TLSv1.3" in info[0] and "SSL_TLS_SNI_SERVERNAME=localhost" in info[0]
    assert out[-1] == "221 2.0.0 Bye"
    wait_group(p.pid, keep=[p.pid])


def test_openssl_s_client_tls12(procs, certs):
    need("openssl")
    p, port = smtpd(procs, certs, "-S")
    r = run(["openssl", "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:%d" % port,
             "-CAfile", certs.p("ca.pem"), "-verify_return_error", "-tls1_2", "-quiet"],
            input=b"TLSINFO\r\nQUIT\r\n", timeout=20)
    assert r.returncode == 0, r.stderr.decode()
    assert b"SSL_PROTOCOL=TLSv1.2" in r.stdout


def test_cleartext_then_tls_then_bulk(procs, certs):
    p, port = smtpd(procs, certs)
    lc = Line(port)
    assert lc.readline().startswith("220 ")
    lc.send("EHLO tester")
    assert "250-STARTTLS" in lc.reply()
    lc.send("ECHO in clear")
    assert lc.reply() == ["250 in clear"]
    lc.send("STARTTLS")
    assert lc.reply() == ["220 2.0.0 Ready to start TLS"]
    s = lc.starttls(client_ctx(certs))
    lc.send("EHLO tester")
    assert "250-STARTTLS" not in lc.reply()  # not offered twice
    lc.send("STARTTLS")
    assert lc.reply()[0].startswith("503 ")
    lc.send("CAT")
    assert lc.reply()[0].startswith("354 ")
    data = os.urandom(2 << 20)
    got = tls_exchange(s, data)
    assert len(got) == len(data) and got == data
    s.close()
    wait_group(p.pid, keep=[p.pid])


def test_cleartext_only_session(procs, certs):
    p, port = smtpd(procs, certs)
    lc = Line(port)
    lc.readline()
    lc.send("NOOP")
    assert lc.reply() == ["250 2.0.0 OK"]
    lc.send("BOGUS")
    assert lc.reply()[0].startswith("500 ")
    lc.send("QUIT")
    assert lc.reply() == ["221 2.0.0 Bye"]
    assert lc.readline() == ""
    wait_group(p.pid, keep=[p.pid])


def test_example_client_against_example_server(procs, certs):
    p, port = smtpd(procs, certs)
    env = base_env(CAFILE=certs.p("ca.pem"))
    r = run([prog("s6-tcpclient"), "127.0.0.1", str(port), prog("s6-ucspitlsc"), "-k", "localhost",
             "--", example("starttls-client"), "ECHO one", "ECHO two", "TLSINFO"], env=env, timeout=20)
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode().splitlines()
    assert out[:2] == ["250 one", "250 two"]
    assert out[2].startswith("250 SSL_PROTOCOL=TLSv1.3")
    err = r.stderr.decode()
    assert "250-STARTTLS" in err and "SSL_PEER_CERT_SUBJECT=" in err


def test_example_client_refuses_untrusted(procs, certs):
    p, port = smtpd(procs, certs)
    env = base_env(CAFILE=certs.p("otherca.pem"))
    r = run([prog("s6-tcpclient"), "127.0.0.1", str(port), prog("s6-ucspitlsc"), "-k", "localhost",
             "--", example("starttls-client"), "ECHO secret"], env=env, timeout=20)
    assert r.returncode == 1
    assert b"secret" not in r.stdout
    assert b"starttls-client: TLS handshake failed" in r.stderr


def test_under_ucspi_tcp_tcpserver(procs, certs):
    """Any UCSPI server will do: ucspi-tcp's tcpserver as the host."""
    need("tcpserver")
    p, port = tcpserver(procs, [prog("s6-ucspitlsd"), "--", example("smtpd-lite")], server_env(certs))
    lc = Line(port)
    lc.readline()
    lc.send("STARTTLS")
    lc.reply()
    s = lc.starttls(client_ctx(certs))
    lc.send("ECHO via tcpserver")
    assert lc.reply() == ["250 via tcpserver"]
    s.close()


def test_service_directory_under_s6_supervise(procs, certs, tmp_path):
    """examples/starttls-service as users run it: s6-supervise, readiness
    through notification-fd, the engine dropping to TLS_UID/TLS_GID."""
    import shutil
    from conftest import BIN, free_port
    need("s6-supervise")
    svc = str(tmp_path / "starttls-service")
    shutil.copytree(example(""), svc)
    port = free_port()
    env = base_env(PORT=str(port), S6NET_BIN=BIN, KEYFILE=certs.p("server.key"),
                   CERTFILE=certs.p("server.pem"))
    p = procs.start(["s6-supervise", svc], env=env, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
    # s6-svwait needs the status file s6-supervise creates when it starts.
    status = os.path.join(svc, "supervise", "status")
    deadline = time.monotonic() + 10
    while not os.path.exists(status) and time.monotonic() < deadline:
        time.sleep(0.01)
    r = run(["s6-svwait", "-U", "-t", "10000", svc], timeout=15)
    assert r.returncode == 0, r.stderr
    lc = Line(port)
    assert lc.readline().startswith("220 ")
    lc.send("STARTTLS")
    assert lc.reply() == ["220 2.0.0 Ready to start TLS"]
    s = lc.starttls(client_ctx(certs))
    lc.send("TLSINFO")
    assert lc.reply()[0].startswith("250 SSL_PROTOCOL=TLSv1.3")
    s.close()
    run(["s6-svc", "-dx", svc])
    p.wait(10)
