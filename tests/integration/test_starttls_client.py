"""s6-ucspitlsc under our s6-tcpclient against a cleartext-then-TLS server
built on Python's ssl module (openssl s_server cannot do a cleartext
exchange before the handshake): y / Y, SNI, server verification, client
certificates, -6/-7, key variables, declining, unknown commands, a server
that never answers the handshake (-K), bulk data both ways."""
import pytest

from conftest import base_env, prog, run
from starttls_util import Report, StarttlsPeer, app, ucspic, wait_group

GREET = ["expect:220", "send:STARTTLS", "expect:220 go ahead"]


def cenv(c, rep, **extra):
    return base_env(CAFILE=c.p("ca.pem"), STARTTLS_REPORT=rep.path, **extra)


def finish(p, timeout=20):
    out, err = p.communicate(timeout=timeout)
    wait_group(p.pid)
    return p.returncode, err.decode()


def info_dict(line):
    assert line.startswith("INFO ") and line != "INFO none", line
    return dict(kv.split("=", 1) for kv in line[5:].split("|"))


def test_Y_bulk_both_ways(procs, certs, tmp_path):
    rep = Report(tmp_path)
    peer = StarttlsPeer(certs)
    steps = GREET + ["ctl:Y", "info", "upgrade", "bulk:%d" % (3 << 20), "wait"]
    p = ucspic(peer.port, ["-k", "localhost"], app("client", *steps), cenv(certs, rep), procs)
    rc, err = finish(p)
    assert peer.finish() is None
    assert rc == 0, err
    assert rep.wait("BULK") == "BULK ok %d" % (3 << 20)
    assert peer.received == 3 << 20
    info = info_dict(rep.wait("INFO"))
    assert info["SSL_PROTOCOL"] == "TLSv1.3"
    assert info["SSL_TLS_SNI_SERVERNAME"] == "localhost"
    assert info["SSL_PEER_CERT_HASH"].startswith("SHA256:")
    assert "CN=localhost" in info["SSL_PEER_CERT_SUBJECT"]
    assert peer.sni == "localhost"
    assert rep.wait("HELPER") == "HELPER exit 0"


@pytest.mark.parametrize("opt,code", [("-J", 98), ("-j", 0)])
def test_J_strict_eof(procs, certs, tmp_path, opt, code):
    """The peer ends with a bare TCP EOF: an error for the engine with -J."""
    rep = Report(tmp_path)
    peer = StarttlsPeer(certs)
    steps = GREET + ["ctl:y", "upgrade", "bulk:10", "wait"]
    p = ucspic(peer.port, [opt, "-k", "localhost"], app("client", *steps), cenv(certs, rep), procs)
    finish(p)
    peer.finish()
    assert rep.wait("HELPER") == "HELPER exit %d" % code


def test_y_without_sni(procs, certs, tmp_path):
    rep = Report(tmp_path)
    peer = StarttlsPeer(certs)
    steps = GREET + ["ctl:y", "info", "upgrade", "bulk:1000", "wait"]
    p = ucspic(peer.port, [], app("client", *steps), cenv(certs, rep), procs)
    rc, err = finish(p)
    assert rc == 0, err
    assert peer.finish() is None
    assert rep.wait("INFO") == "INFO none"
    assert rep.wait("BULK") == "BULK ok 1000"
    assert peer.sni is None
    assert rep.wait("HELPER") == "HELPER exit 0"


def test_untrusted_server(procs, certs, tmp_path):
    rep = Report(tmp_path)
    peer = StarttlsPeer(certs, cert="stranger")
    steps = GREET + ["ctl:Y", "info", "wait"]
    p = ucspic(peer.port, ["-k", "localhost"], app("client", *steps), cenv(certs, rep), procs)
    rc, err = finish(p)
    peer.finish()
    assert rep.wait("INFO") == "INFO none"
    assert rep.wait("HELPER") == "HELPER exit 98"
    # The engine's line names the program that was run and the server.
    assert ("s6-ucspitlsc: s6-tlsc-io: warning: unable to perform TLS handshake (server 127.0.0.1:%d): "
            "certificate verification failed" % peer.port) in err, err


def test_wrong_name(procs, certs, tmp_path):
    rep = Report(tmp_path)
    peer = StarttlsPeer(certs)
    steps = GREET + ["ctl:Y", "info", "wait"]
    p = ucspic(peer.port, ["-k", "other.example.com"], app("client", *steps), cenv(certs, rep), procs)
    finish(p)
    peer.finish()
    assert rep.wait("INFO") == "INFO none"
    assert rep.wait("HELPER") == "HELPER exit 98"


def test_client_certificate_y(procs, certs, tmp_path):
    rep = Report(tmp_path)
    peer = StarttlsPeer(certs, require_client=True)
    steps = GREET + ["ctl:Y", "info", "upgrade", "bulk:10", "wait"]
    env = cenv(certs, rep, KEYFILE=certs.p("client.key"), CERTFILE=certs.p("client.pem"))
    p = ucspic(peer.port, ["-y", "-k", "localhost"], app("client", *steps), env, procs)
    rc, err = finish(p)
    assert rc == 0, err
    assert peer.finish() is None
    assert rep.wait("BULK") == "BULK ok 10"
    subject = dict(x[0] for x in peer.peercert["subject"])
    assert subject["commonName"] == "test client"


def test_no_client_certificate_by_default(procs, certs, tmp_path):
    rep = Report(tmp_path)
    peer = StarttlsPeer(certs, require_client=True)
    steps = GREET + ["ctl:Y", "info", "upgrade", "bulk:10", "wait"]
    env = cenv(certs, rep, KEYFILE=certs.p("client.key"), CERTFILE=certs.p("client.pem"))
    p = ucspic(peer.port, ["-k", "localhost"], app("client", *steps), env, procs)
    finish(p)
    assert peer.finish() is not None  # the peer refused the handshake
    assert not rep.has("BULK ok")


def test_other_fds(procs, certs, tmp_path):
    """-6/-7: the network on fds 3 and 4 instead of 6 and 7."""
    rep = Report(tmp_path)
    peer = StarttlsPeer(certs)
    steps = GREET + ["ctl:Y", "info", "upgrade", "bulk:100000", "wait"]
    inner = [prog("s6-ucspitlsc"), "-6", "3", "-7", "4", "-k", "localhost", "--"] + app("client", *steps)
    args = [prog("s6-tcpclient"), "127.0.0.1", str(peer.port), "sh", "-c",
            'exec 3<&6 4>&7 6<&- 7>&-; exec "$@"', "sh"] + inner
    p = procs.start(args, env=cenv(certs, rep, NETFDS="3,4"), stdout=-1, stderr=-1)
    rc, err = finish(p)
    assert rc == 0, err
    assert peer.finish() is None
    assert rep.wait("BULK") == "BULK ok 100000"


def test_key_variables(procs, certs, tmp_path):
    for opts, visible in (([], False), (["-Z"], True), (["-Z", "-z"], False)):
        rep = Report(tmp_path, "r%d" % len(opts))
        peer = StarttlsPeer(certs, mode="refuse")
        env = cenv(certs, rep, CADIR=certs.p("cadir"), TLS_UID="0", TLS_GID="0",
                   KEYFILE=certs.p("client.key"), CERTFILE=certs.p("client.pem"))
        p = ucspic(peer.port, opts, app("client", "env"), env, procs)
        finish(p)
        peer.finish()
        rep.wait("DONE")
        names = {l[4:].split("=", 1)[0] for l in rep.lines() if l.startswith("ENV ")}
        keys = {"KEYFILE", "CERTFILE", "CAFILE", "CADIR", "TLS_UID", "TLS_GID"}
        assert {"SSLCTLFD", "SSLREADFD", "SSLWRITEFD"} <= names
        assert (keys <= names) if visible else not (keys & names), (opts, names)


def test_declined(procs, certs, tmp_path):
    """The server refuses STARTTLS: the client closes the control socket,
    the helper exits 0, cleartext goes on."""
    rep = Report(tmp_path)
    peer = StarttlsPeer(certs, mode="refuse")
    steps = ["expect:220", "send:STARTTLS", "expect:454", "closectl", "wait"]
    p = ucspic(peer.port, [], app("client", *steps), cenv(certs, rep), procs)
    rc, err = finish(p)
    assert rc == 0, err
    assert rep.wait("HELPER") == "HELPER exit 0"
    assert peer.finish() is None


def test_unknown_command(procs, certs, tmp_path):
    rep = Report(tmp_path)
    peer = StarttlsPeer(certs, mode="refuse")
    steps = ["ctl:?", "wait", "expect:220", "send:HELLO", "expect:250 HELLO"]
    p = ucspic(peer.port, [], app("client", *steps), cenv(certs, rep), procs)
    rc, err = finish(p)
    assert rc == 0, err
    assert rep.wait("HELPER") == "HELPER exit 100"
    assert "s6-ucspitlsc: fatal: unable to obey the application: unknown UCSPI-TLS command 0x3f" in err
    peer.finish()


def test_server_never_answers_K(procs, certs, tmp_path):
    rep = Report(tmp_path)
    peer = StarttlsPeer(certs, mode="hang")
    steps = GREET + ["ctl:Y", "info", "wait"]
    p = ucspic(peer.port, ["-K", "300", "-k", "localhost"], app("client", *steps), cenv(certs, rep), procs)
    rc, err = finish(p)
    assert rep.wait("INFO") == "INFO none"
    assert rep.wait("HELPER") == "HELPER exit 98"
    assert "timed out after 300 ms" in err
    peer.finish()


@pytest.mark.parametrize("args", [[], ["--"], ["-6", "5", "-7", "5", "true"], ["-6", "x", "true"],
                                  ["-7"], ["-k", "", "true"], ["-K", "-3", "true"], ["-x", "true"]])
def test_usage(args):
    r = run([prog("s6-ucspitlsc")] + args, env=base_env())
    assert r.returncode == 100
    assert b"s6-ucspitlsc: usage:" in r.stderr


def test_network_fds_not_open():
    r = run([prog("s6-ucspitlsc"), "-6", "40", "-7", "41", "true"], env=base_env())
    assert r.returncode == 111
    assert b"s6-ucspitlsc: fatal: unable to duplicate fd 40" in r.stderr
