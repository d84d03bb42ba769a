"""s6-tlsserver and s6-tlsclient: the documented chains, with curl,
openssl s_client / s_server and each other as peers."""
import os
import socket
import ssl
import subprocess
import time

import pytest

from conftest import prog, helper, run, need, base_env
from conftest import needs_root, SANITIZE
from tls_util import server_env, client_env, keeper_pid, tls_get, zygote_pid
from tls_util import start_tlsserver, stderr_lines, zygote_workers
from util import ABRUPT_EOF, alive, children, recv_all, wait_listen, wait_until


def tlsserver(procs, certs, *opts, app, key="server", env=None, **extra):
    e = env or server_env(certs, key=key, **extra)
    return procs.server([prog("s6-tlsserver")] + list(opts) + ["-1", "--", "127.0.0.1", "0"] + app,
                        env=e, stderr=subprocess.PIPE)


def curl(port, certs, *extra, name="localhost"):
    need("curl")
    return run(["curl", "-sS", "--max-time", "10", "--cacert", certs.p("ca.pem"),
                "--resolve", "%s:%d:127.0.0.1" % (name, port)] + list(extra)
               + ["https://%s:%d/" % (name, port)], timeout=20)


def status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split()[1:]
    return None


def test_curl_through_s6_tlsserver(procs, certs):
    _, port = tlsserver(procs, certs, app=[helper("http_ok")])
    r = curl(port, certs)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"ok"
    # Wrong name: curl refuses the certificate.
    r = curl(port, certs, name="wrong.example.com")
    assert r.returncode == 60
    for v in ("--tlsv1.2", "--tlsv1.3"):
        r = curl(port, certs, v, "--tls-max", v[6:])
        assert r.returncode == 0 and r.stdout == b"ok", (v, r.stderr)


def test_rsa_and_chain_certificates(procs, certs):
    for key, name in (("rsa", "localhost"), ("chain", "chain.example.com")):
        env = server_env(certs, key=key) if key != "chain" else \
            base_env(KEYFILE=certs.p("leaf.key"), CERTFILE=certs.p("chain.pem"))
        _, port = tlsserver(procs, certs, app=[helper("http_ok")], env=env)
        r = curl(port, certs, name=name)
        assert r.returncode == 0 and r.stdout == b"ok", (key, r.stderr)


def test_bad_key_reported_at_startup(certs, tmp_path):
    """The zygote loads the keys before s6-tlsserver listens: a bad file is
    one line naming it and exit 96, not a failure per connection."""
    for env, needle in ((dict(KEYFILE=str(tmp_path / "missing.key"), CERTFILE=certs.p("server.pem")), "missing.key"),
                        (dict(KEYFILE=certs.p("a.key"), CERTFILE=certs.p("server.pem")), "a.key")):
        r = run([prog("s6-tlsserver"), "-1", "127.0.0.1", "0", "true"], env=base_env(**env), timeout=10)
        assert r.returncode == 96, r.stderr
        assert needle.encode() in r.stderr
        assert r.stdout == b""
    r = run([prog("s6-tlsserver"), "127.0.0.1", "0", "true"], env=base_env(), timeout=10)
    assert r.returncode == 100


def test_client_certificates_with_s_client(procs, certs):
    need("openssl")
    app = ["sh", "-c", 'echo "subject=$SSL_PEER_CERT_SUBJECT"']
    _, port = tlsserver(procs, certs, "-y", app=app, CAFILE=certs.p("ca.pem"))
    base = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", certs.p("ca.pem"),
            "-servername", "localhost", "-quiet"]
    r = run(base + ["-cert", certs.p("client.pem"), "-key", certs.p("client.key")], input=b"", timeout=20)
    assert b"subject=CN=test client,O=s6net" in r.stdout
    r = run(base, input=b"", timeout=20)
    assert b"subject=" not in r.stdout
    # A certificate from an unrelated CA is refused too.
    r = run(base + ["-cert", certs.p("stranger.pem"), "-key", certs.p("stranger.key")], input=b"", timeout=20)
    assert b"subject=" not in r.stdout


def test_alpn(procs, certs):
    need("openssl")
    app = ["sh", "-c", 'echo "alpn=${SSL_ALPN-none}"']
    _, port = tlsserver(procs, certs, "-a", "h2,http/1.1", app=app)
    base = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile", certs.p("ca.pem"), "-quiet"]
    assert b"alpn=http/1.1" in run(base + ["-alpn", "http/1.1"], input=b"", timeout=20).stdout
    assert b"alpn=h2" in run(base + ["-alpn", "foo,h2,http/1.1"], input=b"", timeout=20).stdout
    assert b"alpn=none" in run(base, input=b"", timeout=20).stdout
    # No protocol in common: the handshake fails (RFC 7301).
    assert b"alpn=" not in run(base + ["-alpn", "smtp"], input=b"", timeout=20).stdout


def test_tlsclient_to_tlsserver(procs, certs):
    need("openssl")
    _, port = tlsserver(procs, certs, app=["sh", "-c", 'read l; echo "srv:$l:$SSL_PROTOCOL"'])
    app = ["sh", "-c", 'echo hello >&7; read l <&6; echo "$l $SSL_TLS_SNI_SERVERNAME ${CAFILE-hidden}"']
    r = run([prog("s6-tlsclient"), "localhost", str(port)] + app, env=client_env(certs), timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"srv:hello:TLSv1.3 localhost hidden\n"
    # -Z keeps CAFILE; an IP address is verified against the IP SAN.
    r = run([prog("s6-tlsclient"), "-Z", "127.0.0.1", str(port)] + app, env=client_env(certs), timeout=20)
    assert r.stdout == ("srv:hello:TLSv1.3 127.0.0.1 %s\n" % certs.p("ca.pem")).encode(), r.stderr
    # -k overrides the name; a wrong one fails with 98, app never runs.
    r = run([prog("s6-tlsclient"), "-k", "wrong.example.com", "localhost", str(port), "sh", "-c", "echo ran"],
            env=client_env(certs), timeout=20)
    assert (r.returncode, r.stdout) == (98, b"")
    assert b"verif" in r.stderr


@pytest.mark.parametrize("case", ["good", "wrongca", "wrongname", "expired"])
def test_tlsclient_against_s_server(procs, certs, case):
    need("openssl")
    from conftest import free_port
    key, ca, name = {"good": ("server", "ca.pem", "localhost"), "wrongca": ("server", "otherca.pem", "localhost"),
                     "wrongname": ("a", "ca.pem", "localhost"), "expired": ("expired", "ca.pem", "localhost")}[case]
    port = free_port()
    srv = procs.start(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-naccept", "1",
                       "-key", certs.p(key + ".key"), "-cert", certs.p(key + ".pem"), "-rev", "-quiet"],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert wait_listen(port, srv)
    r = run([prog("s6-tlsclient"), "-H", "-k", name, "127.0.0.1", str(port),
             "sh", "-c", "echo ran; echo hello >&7; head -c 6 <&6"], env=base_env(CAFILE=certs.p(ca)), timeout=20)
    if case == "good":
        assert (r.returncode, r.stdout) == (0, b"ran\nolleh\n"), r.stderr
    else:
        assert (r.returncode, r.stdout) == (98, b""), r.stderr


def test_proxy_line_before_tls(procs, certs):
    _, port = tlsserver(procs, certs, "-L", app=["sh", "-c", 'echo "$TCPREMOTEIP $TCPREMOTEPORT $SSL_PROTOCOL"'])
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"PROXY TCP4 192.0.2.7 198.51.100.1 4242 443\r\n")
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    t = ctx.wrap_socket(s, server_hostname="localhost")
    out = recv_all(t, ignore=ABRUPT_EOF)
    t.close()
    assert out == b"192.0.2.7 4242 TLSv1.3\n"


@pytest.mark.parametrize("version", ["1", "2"])
def test_tlsclient_sends_proxy_header_to_tlsserver_L(procs, certs, version):
    """s6-tlsclient -P: the suite as the proxy in front of s6-tlsserver -L;
    the original client comes from the TCP* variables it inherits."""
    _, port = tlsserver(procs, certs, "-L", app=["sh", "-c", 'echo "$TCPREMOTEIP $TCPREMOTEPORT $SSL_PROTOCOL"'])
    env = client_env(certs)
    env.update(PROTO="TCP", TCPREMOTEIP="192.0.2.9", TCPREMOTEPORT="5151",
               TCPLOCALIP="198.51.100.2", TCPLOCALPORT="443")
    r = run([prog("s6-tlsclient"), "-P", version, "localhost", str(port), "sh", "-c", "cat <&6"],
            env=env, timeout=20)
    assert (r.returncode, r.stdout) == (0, b"192.0.2.9 5151 TLSv1.3\n"), r.stderr
    # without -P, s6-tlsserver -L sees garbage instead of a PROXY header
    r = run([prog("s6-tlsclient"), "localhost", str(port), "sh", "-c", "cat <&6"], env=env, timeout=20)
    assert r.stdout == b""


def _keeper(server_pid):
    return keeper_pid(server_pid)


def _zygote(server_pid):
    return zygote_pid(server_pid)


@needs_root("checks that the zygote master keeps uid and gid 0")
def test_zygote_privileges_isolation_and_no_leaks(procs, certs):
    """Keys are read as root by the zygote master, which stays root to
    re-read renewed keys but never touches a connection; every worker runs
    as TLS_UID/TLS_GID with no supplementary group; each connection gets
    its own engine process, and every one goes away."""
    app = ["sh", "-c", 'read l; echo "$l"']
    p, port = tlsserver(procs, certs, "-K", "2000", app=app, TLS_UID="65534", TLS_GID="65534")
    z = _zygote(p.pid)
    assert z, "no zygote"
    assert status(z, "Uid")[:2] == ["0", "0"]
    deadline = time.monotonic() + 10
    while len(children(z)) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    # A worker the master has just forked keeps the master's ids for the
    # few milliseconds before it drops them (before it can be handed a
    # connection): wait, bounded, for every worker listed to have dropped.
    wait_until(lambda: all(status(w, "Uid") == ["65534"] * 4 for w in children(z)))
    for w in children(z):
        assert status(w, "Uid") == ["65534"] * 4
        assert status(w, "Gid") == ["65534"] * 4
        assert status(w, "Groups") == []
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    conns = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                             server_hostname="localhost") for _ in range(3)]
    idle = 8
    deadline = time.monotonic() + 10
    while len(children(z)) < idle + 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    engines = children(z)
    assert len(engines) >= idle + 3
    for i, c in enumerate(conns):
        c.sendall(b"conn%d\n" % i)
        assert c.recv(100) == b"conn%d\n" % i
    # A peer that vanishes mid-stream (RST) ends its engine as well.
    conns[0].sendall(b"")
    raw = conns[0]
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
    raw.close()
    for c in conns[1:]:
        c.close()
    # A client stopping mid-handshake is cut off by -K.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    assert recv_all(s) == b""
    s.close()
    deadline = time.monotonic() + 10
    while len(children(z)) > idle and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(children(z)) == idle
    # only the keeper: every connection's chain is gone (reaped asynchronously)
    while len(children(p.pid)) > 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(children(p.pid)) == 1


@pytest.mark.parametrize("drop", [False, True])
def test_zygote_and_workers_die_with_the_server(procs, certs, drop):
    """The zygote holds the private keys: it must not outlive the
    super-server, also when it runs as TLS_UID/TLS_GID (changing user ids
    clears a parent-death signal set before), and neither may its idle
    workers."""
    extra = {"TLS_UID": "65534", "TLS_GID": "65534"} if drop else {}
    p, port = tlsserver(procs, certs, app=["cat"], **extra)
    z = _zygote(p.pid)
    assert z, "no zygote"
    deadline = time.monotonic() + 10
    while len(children(z)) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    family = [_keeper(p.pid), z] + children(z)
    assert len(family) == 10
    if drop:
        assert status(children(z)[0], "Uid")[:2] == ["65534", "65534"]
    p.kill()
    p.wait()
    deadline = time.monotonic() + 10
    while any(alive(x) for x in family) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not [x for x in family if alive(x)]


def _switches(pid):
    """Voluntary context switches of pid, None once it is gone."""
    try:
        v = status(pid, "voluntary_ctxt_switches")
    except OSError:
        return None
    return int(v[0]) if v else None


def test_zygote_request_wakes_one_idle_worker(procs, certs):
    """Each request wakes one idle worker, not every one of them: the
    workers that stay idle while connections go by are never scheduled."""
    p, port = tlsserver(procs, certs, app=["sh", "-c", "echo ok"])
    z = _zygote(p.pid)
    assert z, "no zygote"
    assert wait_until(lambda: len(children(z)) == 8)
    first = children(z)
    assert tls_get(port, certs) == b"ok\n"   # warm-up: every worker is waiting by now
    assert wait_until(lambda: len(children(z)) == 8)
    idle = [w for w in children(z) if w in first]
    before = {w: _switches(w) for w in idle}
    for _ in range(4):
        assert tls_get(port, certs) == b"ok\n"
    assert wait_until(lambda: len(children(z)) == 8)
    after = {w: _switches(w) for w in idle}
    stayed = [w for w in idle if after[w] is not None and w in children(z)]
    assert stayed, (idle, children(z))
    woken = {w: after[w] - before[w] for w in stayed if after[w] != before[w]}
    assert not woken, woken


def test_idle_workers_live_one_ticket_period(procs, certs):
    """An idle worker older than one ticket period (-T) exits and is
    replaced, so that none keeps retired ticket keys; the pool stays full
    and connections go on being served."""
    p, port = tlsserver(procs, certs, "-T", "1", app=["sh", "-c", "echo ok"])
    z = _zygote(p.pid)
    assert z, "no zygote"
    assert wait_until(lambda: len(children(z)) == 8)
    first = set(children(z))
    assert wait_until(lambda: not first & set(children(z)), timeout=5), first & set(children(z))
    assert wait_until(lambda: len(children(z)) == 8)
    assert tls_get(port, certs) == b"ok\n"
    assert p.poll() is None and alive(z)


def _code_maps(pid):
    """pid's executable mappings: (permissions, path or "", AnonHugePages kB)."""
    out, cur = [], None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            w = line.split()
            if "-" in w[0] and len(w) >= 5:
                cur = [w[1], w[5] if len(w) > 5 else "", 0]
                if "x" in w[1]:
                    out.append(cur)
            elif w[0] == "AnonHugePages:":
                cur[2] = int(w[1])
    return out


def _thp_never():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return "[never]" in f.read()
    except OSError:
        return True


@pytest.mark.skipif(SANITIZE, reason="the AddressSanitizer build links the engine dynamically: its code stays in the files")
@pytest.mark.parametrize("knob", [None, "0"])
def test_zygote_code_in_huge_pages_shared_by_workers(procs, certs, tmp_path, knob):
    """The zygote holds the engine's code in huge pages that its workers
    inherit (nothing for a worker to fault in), never writable and
    executable at once; S6NET_TLS_HUGETEXT=0 leaves it in the file's
    pages, for profilers that name code by its file."""
    if knob is None and _thp_never():
        pytest.skip("transparent huge pages are disabled on this machine")
    env = server_env(certs) if knob is None else server_env(certs, S6NET_TLS_HUGETEXT=knob)
    p, port = start_tlsserver(procs, tmp_path, env, "-v")
    z = zygote_pid(p.pid)
    assert z, "no zygote"
    assert len(zygote_workers(z, 8)) == 8
    assert tls_get(port, certs) == b"ok\n"
    # Workers are not dumpable: only root may read their maps.
    workers = zygote_workers(z, 8)[:2] if os.geteuid() == 0 else []
    for pid in [z] + workers:
        maps = _code_maps(pid)
        assert not [m for m in maps if "w" in m[0]], maps
        engine = [m for m in maps if m[1].endswith("/s6-tlsd-io")]
        anon = [m for m in maps if not m[1]]
        if knob is None:
            assert not engine and len(anon) == 1 and anon[0][2] >= 2048, maps
        else:
            assert len(engine) == 1 and not anon, maps
    want = "code held in" if knob is None else "code left in small pages"
    assert len(stderr_lines(tmp_path, "s6-tlsd-io: info: " + want)) == 1


def test_zygote_mismatch_falls_back(procs, certs):
    """An s6-tlsd whose key variables differ from the zygote's (as with
    per-client access rules) runs its own engine with its own keys."""
    zs, cs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    r, w = os.pipe()
    z = procs.start([prog("s6-tlsd-io"), "-X", str(zs.fileno()), "-d", str(w)], env=server_env(certs, key="a"),
                    pass_fds=(w, zs.fileno()), stdout=subprocess.DEVNULL)
    os.close(w)
    zs.close()
    assert os.read(r, 1) == b"\n"
    os.close(r)
    name = str(cs.fileno())
    # The application lists its own children: the engine is one of them
    # only when s6-tlsd had to spawn it.
    app = [prog("s6-tlsd"), "--", "sh", "-c",
           'read c < /proc/$$/task/$$/children; echo "$SSL_PROTOCOL ${S6NET_TLSD_ZYGOTE-unset} [${c% }]"']
    for key, host, engine in (("a", "a.example.com", False), ("server", "localhost", True)):
        env = server_env(certs, key=key, S6NET_TLSD_ZYGOTE=name)
        _, port = procs.server([prog("s6-tcpserver"), "-1", "127.0.0.1", "0"] + app, env=env, pass_fds=(cs.fileno(),))
        ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
        t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname=host)
        out = t.recv(100)
        t.close()
        assert out.startswith(b"TLSv1.3 unset [")
        assert (out != b"TLSv1.3 unset []\n") == engine, out
    assert z.poll() is None


def test_large_transfer_through_chain(procs, certs):
    size = 32 << 20
    _, port = tlsserver(procs, certs, app=[helper("tls_sink")])
    r = run([helper("tls_hsloop"), "-b", str(size), "127.0.0.1", str(port)], timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert b"server counted %d" % size in r.stdout


def test_ipv6_and_client_certificate_both_ours(procs, certs):
    app = ["sh", "-c", 'echo "$SSL_PEER_CERT_SUBJECT|$TCPREMOTEIP"']
    env = server_env(certs, CAFILE=certs.p("ca.pem"))
    p, port = procs.server([prog("s6-tlsserver"), "-y", "-1", "::1", "0"] + app, env=env, stderr=subprocess.PIPE)
    cenv = client_env(certs, KEYFILE=certs.p("client.key"), CERTFILE=certs.p("client.pem"))
    r = run([prog("s6-tlsclient"), "-y", "::1", str(port), "sh", "-c", "cat <&6"], env=cenv, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"CN=test client,O=s6net|::1\n"
    # Without -y the client sends no certificate: the server refuses.
    r = run([prog("s6-tlsclient"), "::1", str(port), "sh", "-c", "cat <&6"], env=cenv, timeout=20)
    assert r.stdout == b""


def test_access_rules_route_and_per_client_keys(procs, certs, tmp_path):
    """-i goes to s6-tcpserver-access; a rule that sets KEYFILE/CERTFILE
    for one client makes s6-tlsd use those keys (its own engine, since the
    zygote holds the default ones); a deny rule ends the connection before
    any TLS."""
    rules = tmp_path / "rules"
    allow = rules / "ip4" / "127.0.0.1_32"
    (allow / "env").mkdir(parents=True)
    (allow / "allow").write_text("")
    (allow / "env" / "KEYFILE").write_text(certs.p("a.key") + "\n")
    (allow / "env" / "CERTFILE").write_text(certs.p("a.pem") + "\n")
    deny = rules / "ip4" / "127.0.0.2_32"
    deny.mkdir(parents=True)
    (deny / "deny").write_text("")
    app = ["sh", "-c", 'echo "$SSL_PROTOCOL ${KEYFILE-hidden}"']
    _, port = tlsserver(procs, certs, "-H", "-i", str(rules), app=app)
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="a.example.com")
    assert t.getpeercert()["subject"][-1][0][1] == "a.example.com"
    assert t.recv(100) == b"TLSv1.3 hidden\n"
    t.close()
    s = socket.socket()
    s.settimeout(10)
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    try:
        assert recv_all(s) == b""
    except ConnectionResetError:
        pass
    s.close()


def _server_random(port):
    """The 32-byte random of the ServerHello, as openssl s_client -msg shows it."""
    need("openssl")
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-msg", "-tls1_3",
                        "-servername", "localhost"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=20)
    lines = r.stdout.decode(errors="replace").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("<<<") and line.rstrip().endswith("ServerHello"):
            hexbytes = []
            for l2 in lines[i + 1:]:
                parts = l2.split()
                if not l2.startswith(" ") or not parts or not all(len(x) == 2 for x in parts):
                    break
                hexbytes += parts
            msg = bytes.fromhex("".join(hexbytes))
            assert msg[0] == 2 and len(msg) >= 38, msg
            return msg[6:38]
    raise AssertionError("no ServerHello in s_client output: %r" % r.stdout[-500:])


@pytest.mark.parametrize("key", ["server", "rsa"])
def test_zygote_workers_never_share_random_state(procs, certs, key):
    """The zygote warms OpenSSL up (a handshake with itself, in memory) and
    forks workers from that state; every worker must still draw its own
    randomness: no two connections see the same ServerHello random."""
    p, port = tlsserver(procs, certs, app=["cat"], key=key)
    assert _zygote(p.pid)
    randoms = [_server_random(port) for _ in range(6)]
    assert len(set(randoms)) == len(randoms), randoms


def test_zygote_rsa_signatures_every_scheme(procs, certs):
    """An RSA key loaded in the zygote and first used in its workers:
    every signature scheme a client can ask for must verify, connection
    after connection."""
    need("openssl")
    p, port = tlsserver(procs, certs, app=["cat"], key="rsa")
    assert _zygote(p.pid)
    schemes = [("-tls1_3", "rsa_pss_rsae_sha256", "RSA-PSS"), ("-tls1_3", "rsa_pss_rsae_sha512", "RSA-PSS"),
               ("-tls1_2", "rsa_pss_rsae_sha256", "RSA-PSS"), ("-tls1_2", "RSA+SHA256", "RSA"),
               ("-tls1_2", "RSA+SHA384", "RSA"), ("-tls1_2", "RSA+SHA512", "RSA")]
    for i in range(20):
        version, sigalg, kind = schemes[i % len(schemes)]
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, version,
                            "-sigalgs", sigalg, "-servername", "localhost", "-CAfile", certs.p("ca.pem"),
                            "-verify_return_error"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
        out = r.stdout.decode(errors="replace")
        assert r.returncode == 0 and "Verification: OK" in out, (version, sigalg, out[-600:])
        assert "Peer signature type: %s\n" % kind in out, (version, sigalg, out[-600:])


def test_zygote_sni_rsa_key_next_to_ec_default(procs, certs):
    """With -k 1 the zygote holds an EC default key and an RSA key for one
    server name: every handshake must succeed, each name with its own key
    type."""
    need("openssl")
    env = server_env(certs, **{"KEYFILE:rsa.example": certs.p("rsa.key"),
                               "CERTFILE:rsa.example": certs.p("rsa.pem")})
    p, port = tlsserver(procs, certs, "-k", "1", app=["cat"], env=env)
    assert _zygote(p.pid)
    for i in range(4):
        for name, kind in (("rsa.example", "RSA-PSS"), ("localhost", "ECDSA")):
            r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_3",
                                "-servername", name], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=20)
            out = r.stdout.decode(errors="replace")
            assert r.returncode == 0 and "Peer signature type: %s\n" % kind in out, (name, out[-600:])
