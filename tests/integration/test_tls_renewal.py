"""Certificate renewal through s6-tlsserver's zygote: renewed files are
served by the next connection, however they are replaced; bad files keep
the last good pair, with one warning naming the file, and never fail a
connection."""
import os
import shutil
import socket
import ssl
import threading
import time

import pytest

from conftest import base_env
from tls_util import start_tlsserver, stderr_lines
from util import recv_all


# The names every renewed certificate of these tests is valid for.
SANS = ["DNS:localhost", "DNS:sni.example", "IP:127.0.0.1"]


@pytest.fixture(scope="module")
def gens(certs, tmp_path_factory):
    """Three generations of a server certificate, kept read-only here:
    tests copy them where they need them."""
    d = str(tmp_path_factory.mktemp("gens"))
    return {cn: certs.cert(cn, cn, SANS, d=d) for cn in ("gen1", "gen2", "gen3")}


def served_cn(port, certs, host="localhost", cert=None, timeout=10):
    """Handshake, and return the CN of the certificate the server sent."""
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    if cert:
        ctx.load_cert_chain(*cert)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            subject = dict(x[0] for x in s.getpeercert()["subject"])
            return subject["commonName"], recv_all(s)


def start(procs, tmp_path, env, *opts, app=None):
    return start_tlsserver(procs, tmp_path, env, *opts, app=app)


def warnings(tmp_path, needle):
    return [l for l in stderr_lines(tmp_path, needle) if "warning" in l]


def put(src, dst):
    """Replace dst by a copy of src renamed over it (a new inode)."""
    tmp = dst + ".tmp"
    shutil.copyfile(src, tmp)
    os.rename(tmp, dst)


def rewrite(src, dst):
    """Rewrite dst in place (same inode)."""
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "r+b") as f:
        f.truncate(0)
        f.write(data)


def keypair_dir(tmp_path, gens, gen="gen1"):
    d = tmp_path / "keys"
    d.mkdir()
    k, c = str(d / "key.pem"), str(d / "cert.pem")
    shutil.copyfile(gens[gen][0], k)
    shutil.copyfile(gens[gen][1], c)
    return k, c


@pytest.mark.parametrize("how", ["rename", "inplace"])
def test_renewed_pair_served_by_next_connection(procs, certs, gens, tmp_path, how):
    k, c = keypair_dir(tmp_path, gens)
    p, port = start(procs, tmp_path, base_env(KEYFILE=k, CERTFILE=c))
    assert served_cn(port, certs) == ("gen1", b"ok\n")
    assert served_cn(port, certs)[0] == "gen1"
    op = put if how == "rename" else rewrite
    op(gens["gen2"][0], k)
    op(gens["gen2"][1], c)
    assert served_cn(port, certs)[0] == "gen2"
    assert served_cn(port, certs)[0] == "gen2"
    op(gens["gen3"][1], c)
    op(gens["gen3"][0], k)
    assert served_cn(port, certs)[0] == "gen3"
    assert warnings(tmp_path, "") == []
    assert p.poll() is None


def test_certbot_symlink_swap(procs, certs, gens, tmp_path):
    """live/ holds symlinks into archive/; renewal adds archive files and
    swaps the symlinks, as certbot does."""
    live, archive = tmp_path / "live", tmp_path / "archive"
    live.mkdir()
    archive.mkdir()
    for i, g in enumerate(("gen1", "gen2", "gen3"), 1):
        shutil.copyfile(gens[g][0], str(archive / ("privkey%d.pem" % i)))
        shutil.copyfile(gens[g][1], str(archive / ("fullchain%d.pem" % i)))

    def link(i):
        for name in ("privkey", "fullchain"):
            tmp = str(live / (name + ".tmp"))
            os.symlink("../archive/%s%d.pem" % (name, i), tmp)
            os.rename(tmp, str(live / (name + ".pem")))

    link(1)
    os.chmod(str(live), 0o700)
    env = base_env(KEYFILE=str(live / "privkey.pem"), CERTFILE=str(live / "fullchain.pem"),
                   TLS_UID="65534", TLS_GID="65534")
    p, port = start(procs, tmp_path, env)
    assert served_cn(port, certs)[0] == "gen1"
    link(2)
    assert served_cn(port, certs)[0] == "gen2"
    link(3)
    assert served_cn(port, certs)[0] == "gen3"
    assert warnings(tmp_path, "") == []


def test_sni_pair_renewed(procs, certs, gens, tmp_path):
    k, c = keypair_dir(tmp_path, gens)
    sk, sc = str(tmp_path / "sni.key"), str(tmp_path / "sni.pem")
    shutil.copyfile(gens["gen2"][0], sk)
    shutil.copyfile(gens["gen2"][1], sc)
    env = base_env(KEYFILE=k, CERTFILE=c, **{"KEYFILE:sni.example": sk, "CERTFILE:sni.example": sc})
    p, port = start(procs, tmp_path, env, "-k", "1")
    assert served_cn(port, certs, host="sni.example")[0] == "gen2"
    assert served_cn(port, certs)[0] == "gen1"
    put(gens["gen3"][0], sk)
    put(gens["gen3"][1], sc)
    assert served_cn(port, certs, host="sni.example")[0] == "gen3"
    assert served_cn(port, certs)[0] == "gen1"


def test_new_cafile_accepted_at_once(procs, certs, tmp_path):
    """Under -y the trust anchors are renewed too: a client whose CA was
    not trusted is accepted by the next connection once CAFILE names it."""
    ca = str(tmp_path / "ca.pem")
    shutil.copyfile(certs.p("otherca.pem"), ca)
    env = base_env(KEYFILE=certs.p("server.key"), CERTFILE=certs.p("server.pem"), CAFILE=ca)
    app = ["sh", "-c", 'echo "subject=$SSL_PEER_CERT_SUBJECT"']
    p, port = start(procs, tmp_path, env, "-y", app=app)
    client = (certs.p("client.pem"), certs.p("client.key"))
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        out = served_cn(port, certs, cert=client)
        assert b"subject=" not in out[1]
        raise ConnectionError("refused")
    put(certs.p("ca.pem"), ca)
    cn, out = served_cn(port, certs, cert=client)
    assert out == b"subject=CN=test client,O=s6net\n"


BAD = ["garbage", "truncated", "mismatched", "dangling", "directory"]


@pytest.mark.parametrize("bad", BAD)
def test_bad_new_files_keep_the_old_pair(procs, certs, gens, tmp_path, bad):
    """A bad renewal keeps the last good pair: every connection is served
    with it, one warning line names the file, then a good renewal is
    picked up as usual."""
    k, c = keypair_dir(tmp_path, gens)
    p, port = start(procs, tmp_path, base_env(KEYFILE=k, CERTFILE=c), "-v")
    assert served_cn(port, certs)[0] == "gen1"
    culprit = c
    if bad == "garbage":
        with open(c + ".tmp", "wb") as f:
            f.write(b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        os.rename(c + ".tmp", c)
    elif bad == "truncated":
        data = open(gens["gen2"][1], "rb").read()
        with open(c + ".tmp", "wb") as f:
            f.write(data[:len(data) // 2])
        os.rename(c + ".tmp", c)
    elif bad == "mismatched":
        put(gens["gen2"][1], c)   # new certificate, old key
    elif bad == "dangling":
        os.unlink(k)
        os.symlink(str(tmp_path / "nowhere"), k)
        culprit = k
    else:
        os.unlink(k)
        os.mkdir(k)
        culprit = k
    for _ in range(5):
        assert served_cn(port, certs) == ("gen1", b"ok\n")
    w = warnings(tmp_path, culprit)
    assert len(w) == 1, w
    assert p.poll() is None
    # Fixed: the next connection gets the new pair.
    if os.path.isdir(k):
        os.rmdir(k)
    elif os.path.islink(k):
        os.unlink(k)
    put(gens["gen2"][0], k)
    put(gens["gen2"][1], c)
    assert served_cn(port, certs)[0] == "gen2"
    assert len(warnings(tmp_path, culprit)) == 1


def test_connections_during_repeated_swaps_all_complete(procs, certs, gens, tmp_path):
    """While the pair is swapped back and forth (key and certificate
    renamed one after the other, so mismatched states exist), every
    connection completes with one generation or the other. Bounded: at
    most 100 connections or 15 s, at most 5000 swaps."""
    k, c = keypair_dir(tmp_path, gens)
    p, port = start(procs, tmp_path, base_env(KEYFILE=k, CERTFILE=c))
    stop = threading.Event()
    swaps = [0]

    def swapper():
        for i in range(5000):
            if stop.is_set():
                break
            g = gens["gen2" if i % 2 == 0 else "gen1"]
            put(g[0], k)
            put(g[1], c)
            swaps[0] += 1
            time.sleep(0.003)

    t = threading.Thread(target=swapper)
    t.start()
    seen = {}
    try:
        deadline = time.monotonic() + 15
        for _ in range(100):
            if time.monotonic() > deadline or not t.is_alive():
                break
            cn, out = served_cn(port, certs)
            assert out == b"ok\n"
            seen[cn] = seen.get(cn, 0) + 1
    finally:
        stop.set()
        t.join(30)
    assert set(seen) <= {"gen1", "gen2"}
    assert sum(seen.values()) >= 5 and swaps[0] >= 5, (seen, swaps)
    assert p.poll() is None
    # Settled: the final pair is served.
    final = "gen2" if swaps[0] % 2 else "gen1"
    assert served_cn(port, certs)[0] == final


def test_rsa_pair_renewed(procs, certs, tmp_path):
    """RSA keys loaded at start and after a renewal both sign correctly
    (the renewed one with OpenSSL's own blinding), over several workers."""
    d = str(tmp_path)
    r1 = certs.cert("rsa1", "rsa1", SANS, kind="rsa", d=d)
    r2 = certs.cert("rsa2", "rsa2", SANS, kind="rsa", d=d)
    k, c = str(tmp_path / "k.pem"), str(tmp_path / "c.pem")
    shutil.copyfile(r1[0], k)
    shutil.copyfile(r1[1], c)
    p, port = start(procs, tmp_path, base_env(KEYFILE=k, CERTFILE=c))
    for _ in range(3):
        assert served_cn(port, certs) == ("rsa1", b"ok\n")
    put(r2[0], k)
    put(r2[1], c)
    for _ in range(10):
        assert served_cn(port, certs) == ("rsa2", b"ok\n")
