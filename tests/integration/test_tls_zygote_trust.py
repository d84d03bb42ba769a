"""The TLS zygote as an attacker sees it: who can reach it, replace it,
kill it or feed it, and what the application may receive. Also the
TLS_UID / TLS_GID rules of every engine."""
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading

import pytest

from conftest import need, prog, run
from tls_util import server_env, keeper_pid, zygote_pid, zygote_workers
from tls_util import start_tlsserver, stderr_lines, tls_get
from util import alive, listen_inode, recv_all, wait_until


def test_tls_uid_without_tls_gid_is_a_usage_error(certs, tmp_path):
    """Without TLS_GID the engine would keep group 0 and root's
    supplementary groups: every engine refuses it before loading keys."""
    env = server_env(certs, TLS_UID="65534")
    for argv in ([prog("s6-tlsserver"), "-1", "127.0.0.1", "0", "true"],
                 [prog("s6-tlsd-io"), "--", "3", "4"],
                 [prog("s6-tlsc-io"), "--", "3", "4"]):
        r = run(argv, env=env, timeout=10)
        assert r.returncode == 100, (argv, r.stderr)
        lines = r.stderr.decode().splitlines()
        assert len(lines) == 1 and lines[0].endswith("TLS_UID is set but TLS_GID is not"), (argv, lines)


# ---- helpers -----------------------------------------------------------------------

NOBODY = 65534      # TLS_UID / TLS_GID in these tests
APP_UID = 40001     # the application's account (throwaway, never in /etc/passwd)
OTHER_UID = 40002   # an unrelated local user


def need_root():
    if os.geteuid() != 0:
        pytest.skip("needs root: runs processes under other uids")


def as_uid(uid):
    def f():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    return f


def start_server(procs, certs, tmp_path, *opts, app=None, **env):
    e = server_env(certs, TLS_UID=str(NOBODY), TLS_GID=str(NOBODY), **env)
    return start_tlsserver(procs, tmp_path, e, *opts, app=app)


def socket_inodes(pid):
    out = set()
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:   # gone meanwhile
        return out
    for fd in fds:
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.startswith("socket:["):
            out.add(t[8:-1])
    return out


def request(fp, peer=b"", version=2, digest=0):
    """A zygote request datagram (tls_zygote_msg.h), for tests that play s6-tlsd."""
    return (b"s6tz" + bytes([version, 0, 0, len(peer)]) + struct.pack(">III", 0, 1, len(fp))
            + struct.pack(">Q", digest) + b"\0" * 4 + fp + peer)


# ---- nobody can reach, replace or feed the zygote -----------------------------------------------


def test_no_name_anyone_could_bind_or_reach(procs, certs, tmp_path):
    """The zygote's sockets have no name (no abstract or filesystem path in
    /proc/net/unix, whoever reads it), its command line holds no secret,
    and the service works."""
    need_root()
    p, port = start_server(procs, certs, tmp_path, "-u", str(APP_UID), "-g", str(APP_UID))
    assert tls_get(port, certs) == b"ok\n"
    z = zygote_pid(p.pid)
    assert z
    argv = open("/proc/%d/cmdline" % z, "rb").read().split(b"\0")
    assert argv[argv.index(b"-X") + 1].isdigit()
    mine = socket_inodes(z) | socket_inodes(keeper_pid(p.pid))
    for w in zygote_workers(z, 8):
        mine |= socket_inodes(w)
    assert mine
    for uid in (OTHER_UID, NOBODY, APP_UID):
        r = run(["cat", "/proc/net/unix"], preexec_fn=as_uid(uid), timeout=10)
        assert r.returncode == 0
        table = r.stdout.decode().splitlines()[1:]
        # the old abstract name (other services on the machine may have theirs)
        assert not [l for l in table if "@s6net-tlsd/%d/" % p.pid in l]
        for line in table:
            f = line.split()
            if f[6] in mine:
                assert len(f) == 7, line   # no path: unreachable by name


def test_idle_workers_killed_by_tls_uid_are_replaced(procs, certs, tmp_path):
    """Any TLS_UID process can kill idle workers (not the master, which
    keeps root): they are replaced and the service goes on."""
    need_root()
    p, port = start_server(procs, certs, tmp_path)
    z = zygote_pid(p.pid)
    old = zygote_workers(z, 8)
    assert len(old) == 8

    def uid(pid):
        try:
            return int(open("/proc/%d/status" % pid).read().split("\nUid:")[1].split()[0])
        except (OSError, IndexError):
            return None
    # workers drop to TLS_UID right after fork, before taking anything
    assert wait_until(lambda: all(uid(w) == NOBODY for w in old))
    r = run(["kill", "-9"] + [str(w) for w in old], preexec_fn=as_uid(NOBODY), timeout=10)
    assert r.returncode == 0, r.stderr
    r = run(["kill", "-9", str(z)], preexec_fn=as_uid(NOBODY), timeout=10)
    assert r.returncode != 0          # EPERM: the master is not TLS_UID's
    for _ in range(3):
        assert tls_get(port, certs) == b"ok\n"
    assert wait_until(lambda: len(zygote_workers(z)) == 8 and not set(zygote_workers(z)) & set(old))
    assert zygote_pid(p.pid) == z


def test_idle_workers_stopped_by_tls_uid_are_replaced(procs, certs, tmp_path):
    """A process of TLS_UID (a worker gone bad, for one) can stop every
    idle worker with SIGSTOP: stopped, none would take a request and every
    connection would wait. The zygote kills and replaces them, with one
    warning each, and connections go on being served."""
    need_root()
    p, port = start_server(procs, certs, tmp_path)
    z = zygote_pid(p.pid)
    old = zygote_workers(z, 8)
    assert len(old) == 8
    assert wait_until(lambda: all(open("/proc/%d/status" % w).read().count("\nUid:\t%d\t" % NOBODY) for w in old))
    r = run(["kill", "-STOP"] + [str(w) for w in old], preexec_fn=as_uid(NOBODY), timeout=10)
    assert r.returncode == 0, r.stderr
    for _ in range(3):
        assert tls_get(port, certs, timeout=10) == b"ok\n"
    assert wait_until(lambda: not [w for w in old if alive(w)])
    assert wait_until(lambda: len(zygote_workers(z)) == 8 and not set(zygote_workers(z)) & set(old))
    w = stderr_lines(tmp_path, "was stopped by signal %d: killed it" % signal.SIGSTOP)
    assert len(w) == 8, w
    assert zygote_pid(p.pid) == z and p.poll() is None


def test_zygote_master_killed_is_replaced_with_one_warning(procs, certs, tmp_path):
    need_root()
    p, port = start_server(procs, certs, tmp_path)
    z = zygote_pid(p.pid)
    zygote_workers(z, 8)
    os.kill(z, signal.SIGKILL)
    for _ in range(5):   # the first ones may get a fresh engine: none fails
        assert tls_get(port, certs) == b"ok\n"
    z2 = wait_until(lambda: zygote_pid(p.pid) not in (None, z) and zygote_pid(p.pid))
    assert z2 and z2 != z
    assert len(zygote_workers(z2, 8)) == 8
    for _ in range(3):
        assert tls_get(port, certs) == b"ok\n"
    w = stderr_lines(tmp_path, "restarting it")
    assert len(w) == 1 and ("TLS zygote pid %d killed by signal 9" % z) in w[0], w


def test_zygote_outage_is_logged_once_not_per_connection(procs, certs, tmp_path):
    """While no zygote runs (here: killed three times in a row, so that the
    keeper waits 2 s before the next), every connection gets a fresh
    engine; the log says so once, then how many when a zygote is back."""
    need_root()
    p, port = start_server(procs, certs, tmp_path)
    z = zygote_pid(p.pid)
    for _ in range(3):
        zygote_workers(z, 8)
        os.kill(z, signal.SIGKILL)
        assert wait_until(lambda: not alive(z))
        nz = wait_until(lambda: zygote_pid(p.pid, timeout=0.1) not in (None, z) and zygote_pid(p.pid), timeout=3) \
            if _ < 2 else None
        z = nz or z
    outage = zygote_pid(p.pid, timeout=0.05) is None
    for _ in range(4):
        assert tls_get(port, certs) == b"ok\n"
    during = outage and zygote_pid(p.pid, timeout=0.05) is None
    z = zygote_pid(p.pid, timeout=10)
    assert z and len(zygote_workers(z, 8)) == 8
    assert wait_until(lambda: stderr_lines(tmp_path, "is ready:"))
    first = stderr_lines(tmp_path, "no TLS zygote is running")
    back = stderr_lines(tmp_path, "is ready:")
    assert len(first) == 1 and len(back) == 1, (first, back)
    assert ("pid %d is ready" % z) in back[0], back
    if during:   # all four came while none ran (always, but on a very slow machine)
        assert "4 connections got fresh engines" in back[0], back
    assert tls_get(port, certs) == b"ok\n"
    assert len(stderr_lines(tmp_path, "no TLS zygote is running")) == 1


def test_keeper_killed_connections_use_fresh_engines(procs, certs, tmp_path):
    """Without keeper, the zygote goes too (it holds the keys: it must not
    outlive its service); connections then get a fresh engine each."""
    need_root()
    p, port = start_server(procs, certs, tmp_path)
    k = keeper_pid(p.pid)
    z = zygote_pid(p.pid)
    family = [k, z] + zygote_workers(z, 8)
    os.kill(k, signal.SIGKILL)
    assert wait_until(lambda: not [x for x in family if alive(x)])
    for _ in range(3):
        assert tls_get(port, certs) == b"ok\n"
    assert p.poll() is None


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True


def test_keeper_does_not_hold_the_listening_socket(procs, certs, tmp_path):
    """The keeper is forked before s6-tcpserver binds: neither it nor the
    zygote can keep the port open after the super-server is gone."""
    need_root()
    p, port = start_server(procs, certs, tmp_path)
    k, z = keeper_pid(p.pid), zygote_pid(p.pid)
    family = [k, z] + zygote_workers(z, 8)
    assert tls_get(port, certs) == b"ok\n"
    ino = listen_inode(port)
    assert ino and ino in socket_inodes(p.pid)
    for x in family:
        assert ino not in socket_inodes(x), x
    p.kill()
    p.wait()
    assert wait_until(lambda: refused(port))
    assert wait_until(lambda: not [x for x in family if alive(x)])


def test_application_holds_no_socket_and_no_zygote_variable(procs, certs, tmp_path):
    need_root()
    app = ["sh", "-c", 'for f in /proc/$$/fd/*; do echo "$f $(readlink $f)"; done; '
           'echo "Z=${S6NET_TLSD_ZYGOTE-unset} uid=$(id -u)"']
    p, port = start_server(procs, certs, tmp_path, "-u", str(APP_UID), "-g", str(APP_UID), app=app)
    out = tls_get(port, certs).decode()
    assert ("Z=unset uid=%d\n" % APP_UID) in out, out
    fds = [l for l in out.splitlines() if l.startswith("/proc/")]
    assert fds and not [l for l in fds if "socket:" in l], out


def attacker_socketpair(uid):
    """A SOCK_SEQPACKET socketpair created by a process running as uid,
    both ends handed to us: its SO_PEERCRED names that uid."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    code = ("import os, socket; os.setgroups([]); os.setgid(%d); os.setuid(%d); "
            "x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET); "
            "socket.send_fds(socket.socket(fileno=%d), [b'x'], [x.fileno(), y.fileno()])" % (uid, uid, b.fileno()))
    r = run([sys.executable, "-c", code], pass_fds=(b.fileno(),), timeout=20)
    assert r.returncode == 0, r.stderr
    b.close()
    _, fds, _, _ = socket.recv_fds(a, 1, 2)
    a.close()
    return socket.socket(fileno=fds[0]), socket.socket(fileno=fds[1])


@pytest.mark.parametrize("forged", ["other-uid-socket", "pipe", "stream-socket"])
def test_forged_zygote_variable_is_refused(procs, certs, tmp_path, forged):
    """$S6NET_TLSD_ZYGOTE pointing at something that is not the service's
    zygote: s6-tlsd sends it nothing, warns, and runs a fresh engine;
    under -y a client without a certificate never reaches the app, so no
    forged SSL_PEER_CERT_* can either."""
    need_root()
    keep = []
    if forged == "other-uid-socket":
        mine, theirs = attacker_socketpair(OTHER_UID)
        fd = theirs.fileno()
        keep += [mine, theirs]
    elif forged == "pipe":
        r, w = os.pipe()
        fd = r
        keep += [os.fdopen(r, "rb"), os.fdopen(w, "wb")]
    else:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fd = theirs.fileno()
        keep += [mine, theirs]
    err = open(str(tmp_path / "stderr"), "ab")
    app = ["sh", "-c", 'echo "subject=${SSL_PEER_CERT_SUBJECT-none}"']
    env = server_env(certs, CAFILE=certs.p("ca.pem"), S6NET_TLSD_ZYGOTE=str(fd))
    p, port = procs.server([prog("s6-tcpserver"), "-1", "127.0.0.1", "0", prog("s6-tlsd"), "-y", "--"] + app,
                           env=env, stderr=err, pass_fds=(fd,))
    err.close()
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        out = tls_get(port, certs)
        assert b"subject=" not in out, out
        raise ConnectionError("refused")
    out = tls_get(port, certs, cert=(certs.p("client.pem"), certs.p("client.key")))
    assert out == b"subject=CN=test client,O=s6net\n"
    if forged != "pipe":
        mine.setblocking(False)
        with pytest.raises(BlockingIOError):
            mine.recv(65536)
    assert len(stderr_lines(tmp_path, "is not the TLS zygote's socket")) == 2


def test_garbage_on_the_zygote_socket_forks_nothing(procs, certs, tmp_path):
    """A process given the service's end of the socket can only send
    requests: malformed ones are dropped (logged at -v2) by the idle
    workers, which go on waiting; nothing is forked; a request for other
    keys is answered '?' on its own reply socket; the next real connection
    is served."""
    zs, cs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    r, w = os.pipe()
    err = open(str(tmp_path / "stderr"), "ab")
    z = procs.start([prog("s6-tlsd-io"), "-v2", "-X", str(zs.fileno()), "-d", str(w)], env=server_env(certs),
                    pass_fds=(w, zs.fileno()), stdout=subprocess.DEVNULL, stderr=err)
    err.close()
    os.close(w)
    zs.close()
    assert os.read(r, 1) == b"\n"
    os.close(r)
    before = sorted(zygote_workers(z.pid, 8))
    assert len(before) == 8
    pr, pw = os.pipe()
    junk = [
        (b"", []),
        (b"hello", []),
        (request(b"k=0\0")[:20], [pr] * 5),
        (b"s6tx" + request(b"k=0\0")[4:], [pr] * 5),
        (request(b"k=0\0", version=1), [pr] * 5),
        (request(b"k=0\0"), [pr, pw]),
        (request(b"k=0\0"), [pr] * 6),
        (request(b"k=0\0", peer=b"a\nb"), [pr] * 5),
        (b"x" * 60000, [pr] * 5),
    ]
    for data, fds in junk:
        socket.send_fds(cs, [data], fds) if fds else cs.send(data)
    assert wait_until(lambda: len(stderr_lines(tmp_path, "refused a malformed request")) == len(junk)), \
        stderr_lines(tmp_path, "")
    # Well formed, other keys: answered on the request's own reply socket.
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    socket.send_fds(cs, [request(b"k=0\0y=0\0a=\0KEYFILE=/nowhere\0")], [pr, pw, pr, pw, theirs.fileno()])
    theirs.close()
    mine.settimeout(10)
    assert mine.recv(16) == b"?"
    assert sorted(zygote_workers(z.pid)) == before
    os.close(pr)
    os.close(pw)
    # The real thing still works, through the same socket.
    app = [prog("s6-tlsd"), "--", "sh", "-c", "echo ok"]
    env = server_env(certs, S6NET_TLSD_ZYGOTE=str(cs.fileno()))
    _, port = procs.server([prog("s6-tcpserver"), "-1", "127.0.0.1", "0"] + app, env=env, pass_fds=(cs.fileno(),))
    assert tls_get(port, certs) == b"ok\n"
    assert z.poll() is None


def test_access_exec_rule_does_not_inherit_the_zygote_socket(procs, certs, tmp_path):
    """An exec rule of s6-tcpserver-access replaces the TLS layer: the
    program it runs (plain TCP) holds no socket but the connection."""
    need("execlineb")
    from access_util import write_rules
    rules = str(tmp_path / "rules")
    script = 'sh -c "for f in /proc/$$/fd/*; do echo $f $(readlink $f); done"\n'
    write_rules(rules, {"ip4/0.0.0.0_0": {"allow": True, "exec": script}})
    p, port = start_server(procs, certs, tmp_path, "-H", "-i", rules)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        out = recv_all(s)
    lines = out.decode().splitlines()
    socks = [l for l in lines if "socket:" in l]
    assert lines and len(socks) == 2 and all(l.split()[0].rsplit("/", 1)[1] in ("0", "1") for l in socks), out


@pytest.mark.parametrize("answer", ["eof", "refuse", "taken-then-eof"])
def test_tlsd_follows_the_zygote_answers(procs, certs, tmp_path, answer):
    """The test plays the zygote: s6-tlsd sends one version-2 request with
    five fds (the fifth its own answer socket) and the client's address;
    EOF before 'T' (a worker that died before touching the connection)
    means a fresh engine with a warning, '?' a fresh engine silently, EOF
    after 'T' a failed connection."""
    zs, cs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    err = open(str(tmp_path / "stderr"), "ab")
    app = [prog("s6-tlsd"), "--", "sh", "-c", "echo ok"]
    env = server_env(certs, S6NET_TLSD_ZYGOTE=str(cs.fileno()))
    p, port = procs.server([prog("s6-tcpserver"), "-1", "127.0.0.1", "0"] + app, env=env,
                           pass_fds=(cs.fileno(),), stderr=err)
    err.close()
    cs.close()
    got = {}

    def zygote():
        zs.settimeout(20)
        msg, fds, _, _ = socket.recv_fds(zs, 70000, 8)
        got["msg"], got["nfds"] = msg, len(fds)
        if answer == "refuse":
            os.write(fds[4], b"?")
        elif answer == "taken-then-eof":
            os.write(fds[4], b"T")
        for fd in fds:
            os.close(fd)

    t = threading.Thread(target=zygote)
    t.start()
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    myport = raw.getsockname()[1]
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    out = b""
    try:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            out = s.recv(100)
    except (ssl.SSLError, OSError):
        pass
    t.join(20)
    msg = got["msg"]
    assert got["nfds"] == 5 and msg[:5] == b"s6tz\x02"
    fplen, peerlen = struct.unpack(">I", msg[16:20])[0], msg[7]
    assert len(msg) == 32 + fplen + peerlen
    assert msg[32 + fplen:] == ("127.0.0.1:%d" % myport).encode()
    assert b"KEYFILE=" + certs.p("server.key").encode() + b"\0" in msg
    warn = stderr_lines(tmp_path, "s6-tlsd: ")
    if answer == "taken-then-eof":
        assert out == b""
        assert [l for l in warn if "exited before the end of the handshake" in l], warn
    else:
        assert out == b"ok\n"
        dropped = [l for l in warn if "before taking it" in l]
        assert len(dropped) == (answer == "eof"), warn
