"""Privileges and secrets, verified from /proc: real, effective, saved and
filesystem ids, supplementary groups and capabilities after -u/-g/-G/-U
(s6-tcpserver, s6-ipcserver) and TLS_UID/TLS_GID (TLS engine); key
variables never reach the application without -Z; what of the private key
is left in which process's memory; which files the programs open."""
import os
import re
import socket
import subprocess

import pytest

from conftest import SANITIZE, base_env, need, prog, run
from conftest import needs_root
from hardening_util import free_uid, handler_musl, status, tls_client_ctx
from tls_util import server_env
from util import children, wait_until

KEYVARS = ("KEYFILE", "CERTFILE", "CAFILE", "CADIR", "TLS_UID", "TLS_GID", "KEYFILE:h.example", "CERTFILE:h.example")


def ids(pid):
    st = status(pid)
    return dict(uid=[int(x) for x in st["Uid"]], gid=[int(x) for x in st["Gid"]],
                groups=sorted(int(x) for x in st.get("Groups", [])), capeff=int(st["CapEff"][0], 16),
                capprm=int(st["CapPrm"][0], 16))


def descendants(pid):
    out = []
    todo = [pid]
    while todo:
        for c in children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


def exe_name(pid):
    try:
        return os.path.basename(os.readlink("/proc/%d/exe" % pid))
    except OSError:
        return None


def held_echo(port, tls=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        s = tls_client_ctx().wrap_socket(s)
    s.settimeout(10)
    s.sendall(b"ping")
    assert s.recv(4) == b"ping"
    return s


# ---- s6-tcpserver and s6-ipcserver: -u -g -G -U ------------------------------


def uidset():
    u = free_uid()
    return u, u + 1, [u + 2, u + 3]


@needs_root("drops to throwaway uids and gids")
@pytest.mark.parametrize("how", ["options", "env"])
def test_tcpserver_drop_all_ids_and_capabilities(procs, how):
    uid, gid, groups = uidset()
    if how == "options":
        opts, env = ["-u", str(uid), "-g", str(gid), "-G", ",".join(map(str, groups))], base_env()
    else:
        opts, env = ["-U"], base_env(UID=str(uid), GID=str(gid), GIDLIST=",".join(map(str, groups)))
    p, port = procs.server([prog("s6-tcpserver"), "-1"] + opts + ["127.0.0.1", "0", handler_musl(), "echo"],
                           env=env, stderr=subprocess.PIPE)
    s = held_echo(port)
    want = dict(uid=[uid] * 4, gid=[gid] * 4, groups=sorted(groups), capeff=0, capprm=0)
    assert exe_name(p.pid) == "s6-tcpserverd"
    assert ids(p.pid) == want
    child, = children(p.pid)
    assert ids(child) == want
    s.close()


@needs_root("drops to a throwaway uid")
def test_tcpserver_u_alone_keeps_gid(procs):
    """-u alone changes the user only, as with s6-applyuidgid: the group
    and supplementary groups of the starting account stay. SECURITY.md
    says to give -g and -G (or -U) as well."""
    uid = free_uid()
    p, port = procs.server([prog("s6-tcpserver"), "-1", "-u", str(uid), "127.0.0.1", "0", handler_musl(), "echo"],
                           env=base_env(), stderr=subprocess.PIPE)
    s = held_echo(port)
    got = ids(p.pid)
    assert got["uid"] == [uid] * 4 and got["capeff"] == 0
    assert got["gid"] == [os.getgid()] * 4
    assert got["groups"] == sorted(os.getgroups())
    s.close()


@needs_root("drops to throwaway uids and gids")
@pytest.mark.parametrize("how", ["options", "env"])
def test_ipcserver_drop_all_ids_and_capabilities(procs, tmp_path, how):
    uid, gid, groups = uidset()
    os.chmod(tmp_path, 0o755)
    path = str(tmp_path / "sock")
    if how == "options":
        opts, env = ["-u", str(uid), "-g", str(gid), "-G", ",".join(map(str, groups))], base_env()
    else:
        opts, env = ["-U"], base_env(UID=str(uid), GID=str(gid), GIDLIST=",".join(map(str, groups)))
    p = procs.start([prog("s6-ipcserver"), "-1"] + opts + [path, handler_musl(), "echo"], env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline()
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(10)
    c.connect(path)
    c.sendall(b"ping")
    assert c.recv(4) == b"ping"
    want = dict(uid=[uid] * 4, gid=[gid] * 4, groups=sorted(groups), capeff=0, capprm=0)
    assert exe_name(p.pid) == "s6-ipcserverd"
    assert ids(p.pid) == want
    child, = children(p.pid)
    assert ids(child) == want
    c.close()


# ---- TLS engine: TLS_UID / TLS_GID ------------------------------------------


@needs_root("the engine drops to TLS_UID/TLS_GID")
@pytest.mark.parametrize("chain", ["s6-tlsd", "s6-tlsserver"])
def test_tls_engine_runs_as_tls_uid_gid(procs, certs, chain):
    uid = free_uid()
    gid = uid + 1
    env = server_env(certs, TLS_UID=str(uid), TLS_GID=str(gid))
    if chain == "s6-tlsd":
        args = [prog("s6-tcpserver"), "-1", "127.0.0.1", "0", prog("s6-tlsd"), "--", handler_musl(), "echo"]
    else:
        args = [prog("s6-tlsserver"), "-1", "--", "127.0.0.1", "0", handler_musl(), "echo"]
    p, port = procs.server(args, env=env, stderr=subprocess.PIPE)
    s = held_echo(port, tls=True)
    engines = [x for x in descendants(p.pid) if exe_name(x) == "s6-tlsd-io"]
    assert engines
    # With s6-tlsserver, the zygote master keeps the super-server's ids (it
    # re-reads renewed keys) and never touches a connection; every engine
    # that does, pre-forked workers included, runs as TLS_UID/TLS_GID.
    masters = [x for x in engines if open("/proc/%d/comm" % int(status(x)["PPid"][0])).read().strip() == "s6-tls-keeper"]
    assert len(masters) == (chain == "s6-tlsserver")
    want = dict(uid=[uid] * 4, gid=[gid] * 4, groups=[], capeff=0, capprm=0)
    workers = [e for e in engines if e not in masters]
    # A worker the master has just forked (refilling its pool after the
    # connection above) keeps the master's ids for the few milliseconds
    # before it drops them, before it can be handed a connection.
    wait_until(lambda: all(ids(e) == want for e in workers))
    for e in workers:
        assert ids(e) == want, e
    s.close()


# ---- key variables ---------------------------------------------------------------


def environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return [x.decode(errors="replace") for x in f.read().split(b"\0") if x]


@pytest.mark.parametrize("chain", ["s6-tlsd", "s6-tlsd -Z", "s6-tlsserver", "s6-tlsserver -Z"])
def test_key_variables_never_reach_the_application(procs, certs, chain):
    env = server_env(certs, CAFILE=certs.p("ca.pem"), CADIR=certs.p("cadir"), TLS_UID="65534", TLS_GID="65534")
    env["KEYFILE:h.example"] = certs.p("server.key")
    env["CERTFILE:h.example"] = certs.p("server.pem")
    z = ["-Z"] if chain.endswith("-Z") else []
    if chain.startswith("s6-tlsd"):
        args = [prog("s6-tcpserver"), "-1", "127.0.0.1", "0", prog("s6-tlsd")] + z + ["--", handler_musl(), "echo"]
    else:
        args = [prog("s6-tlsserver"), "-1"] + z + ["--", "127.0.0.1", "0", handler_musl(), "echo"]
    p, port = procs.server(args, env=env, stderr=subprocess.PIPE)
    s = held_echo(port, tls=True)
    apps = [x for x in descendants(p.pid) if exe_name(x) == "hard_handler"]
    assert len(apps) == 1
    names = {e.split("=", 1)[0] for e in environ(apps[0])}
    leaked = names & set(KEYVARS)
    if z:
        assert leaked == set(KEYVARS)
    else:
        assert not leaked, leaked
    s.close()


# ---- key material in memory ---------------------------------------------------------


# AddressSanitizer's shadow and allocator regions are terabytes of mostly
# absent pages: not read (so under make sanitize the heap is not scanned).
BIG_MAPPING = 1 << 30


def memory(pid):
    """Every readable mapping of pid, concatenated (root reads any process)."""
    out = []
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            if "r" not in parts[1] or (len(parts) > 5 and parts[5] in ("[vvar]", "[vsyscall]", "[vvar_vclock]")):
                continue
            a, b = (int(x, 16) for x in parts[0].split("-"))
            if b - a > BIG_MAPPING:
                continue
            try:
                mem.seek(a)
                out.append(mem.read(b - a))
            except (OSError, OverflowError, ValueError):
                pass
    return b"\0".join(out)


def key_secrets(certs):
    """The PEM body lines of the key file, and the private scalar in both
    byte orders (OpenSSL's BIGNUM limbs are little-endian words)."""
    pem = open(certs.p("server.key"), "rb").read()
    body = [l for l in pem.split(b"\n") if l and not l.startswith(b"-----")]
    r = run(["openssl", "pkey", "-in", certs.p("server.key"), "-text", "-noout"])
    text = r.stdout.decode()
    hexpart = text.split("priv:")[1].split("pub:")[0]
    scalar = bytes.fromhex(re.sub(r"[^0-9a-f]", "", hexpart))
    scalar = scalar[-32:].rjust(32, b"\0")
    return body, [scalar, scalar[::-1]]


@pytest.mark.parametrize("chain", ["s6-tlsd", pytest.param("s6-tlsserver", marks=needs_root(
    "the zygote's workers are non-dumpable: only root reads their memory maps"))])
def test_key_material_in_memory(procs, certs, chain):
    """During a live connection: no process holds the PEM text of the key
    (the engine wipes its file buffer, OpenSSL its decoding buffers); the
    private scalar is where it must be, in the engine(s) that use it, and
    in no other process: not s6-tcpserverd, not the application. (No
    library can wipe a key it still signs with: that is what the separate,
    unprivileged engine process is for.)"""
    need("openssl")
    body, scalars = key_secrets(certs)
    env = server_env(certs, TLS_UID="65534", TLS_GID="65534")
    if chain == "s6-tlsd":
        args = [prog("s6-tcpserver"), "-1", "127.0.0.1", "0", prog("s6-tlsd"), "--", handler_musl(), "echo"]
    else:
        args = [prog("s6-tlsserver"), "-1", "--", "127.0.0.1", "0", handler_musl(), "echo"]
    p, port = procs.server(args, env=env, stderr=subprocess.PIPE)
    s = held_echo(port, tls=True)
    procs_seen = {x: exe_name(x) for x in [p.pid] + descendants(p.pid)}
    engines = [x for x, n in procs_seen.items() if n == "s6-tlsd-io"]
    others = [x for x, n in procs_seen.items() if n != "s6-tlsd-io"]
    assert engines and others
    for pid in procs_seen:
        mem = memory(pid)
        assert len(mem) > 100000
        # AddressSanitizer keeps freed memory untouched in quarantine, where
        # a line that OpenSSL's PEM reader freed without wiping stays
        # whole (see SECURITY.md): the engines are checked unsanitized.
        if not (SANITIZE and pid in engines):
            for line in body:
                assert line not in mem, (procs_seen[pid], "PEM text of the key")
        has_scalar = any(x in mem for x in scalars)
        if pid in others:
            assert not has_scalar, (procs_seen[pid], "private scalar")
    # the connection's engine is the one that signed: it must hold it
    assert any(any(x in memory(e) for x in scalars) for e in engines)
    s.close()


# ---- files opened, symlinks ---------------------------------------------------------


SYSTEM = re.compile(r"^(/etc/ld\.so\.cache|/(usr/)?lib(64)?/.*\.so[.0-9]*|/dev/null|/usr/lib/ssl/openssl\.cnf"
                    + (r"|/proc/.*" if SANITIZE else "") + r")$")   # the sanitizer runtime reads /proc


def traced_env(env):
    """LeakSanitizer cannot run under ptrace: off for traced programs."""
    if SANITIZE:
        env = dict(env)
        env["ASAN_OPTIONS"] = ":".join(x for x in (env.get("ASAN_OPTIONS"), "detect_leaks=0") if x)
    return env


def opened(log):
    """(pid, path, flags, ok) for every open/openat in an strace -f log."""
    out = []
    pat = re.compile(r'^(\d+)\s+open(?:at)?\((?:AT_FDCWD, |\d+, )?"([^"]*)", ([A-Z_|]+)(?:, \d+)?\) = (-?\d+)')
    for line in open(log):
        m = pat.match(line)
        if m:
            out.append((int(m.group(1)), m.group(2), m.group(3), int(m.group(4)) >= 0))
    return out


def test_tls_chain_opens_only_what_it_needs(procs, certs, tmp_path):
    """strace -f on s6-tcpserver -> s6-tlsd -> engine -> application for
    one connection: the only files opened are shared libraries, /dev/null,
    OpenSSL's configuration file (OpenSSL 3 reads it at initialisation),
    the key and the certificate; nothing is created or written."""
    need("strace")
    log = str(tmp_path / "trace")
    env = traced_env(server_env(certs))
    args = ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", log,
            prog("s6-tcpserver"), "-1", "127.0.0.1", "0", prog("s6-tlsd"), "--", handler_musl(), "env"]
    p, port = procs.server(args, env=env, stderr=subprocess.PIPE)
    s = tls_client_ctx().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
    s.settimeout(10)
    assert s.recv(100).startswith(b"ENV TCP ")
    s.close()
    server = children(p.pid)
    assert len(server) == 1
    assert wait_until(lambda: not children(server[0]), 10)
    os.kill(server[0], 15)
    assert p.wait(10) == 0
    files = opened(log)
    assert files
    allowed = {certs.p("server.key"), certs.p("server.pem")}
    odd = [f for f in files if f[3] and not SYSTEM.match(f[1]) and f[1] not in allowed]
    assert not odd, odd
    assert {f[1] for f in files if f[3]} >= allowed
    writes = [f for f in files if "O_WRONLY" in f[2] or "O_RDWR" in f[2] or "O_CREAT" in f[2]]
    assert all(f[1] == "/dev/null" for f in writes), writes


def test_rules_compiler_creates_exclusively_and_replaces_symlinks(tmp_path):
    """The compiler's temporary file is created with O_EXCL (a planted
    symlink cannot redirect it) and renamed over the target: a symlink at
    the target is replaced, its destination never written."""
    need("strace")
    rules = tmp_path / "rules"
    (rules / "ip4" / "127.0.0.1_32").mkdir(parents=True)
    (rules / "ip4" / "127.0.0.1_32" / "allow").write_text("")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    target = tmp_path / "rules.cdb"
    os.symlink(str(victim), str(target))
    log = str(tmp_path / "trace")
    r = run(["strace", "-f", "-qq", "-e", "trace=open,openat,openat2,rename,renameat,renameat2", "-o", log,
             prog("s6-accessrules-cdb-from-fs"), str(target), str(rules)], env=traced_env(base_env()))
    assert r.returncode == 0, r.stderr
    assert victim.read_text() == "precious\n"
    assert not os.path.islink(str(target)) and os.path.isfile(str(target))
    creates = [f for f in opened(log) if "O_CREAT" in f[2]]
    assert creates and all("O_EXCL" in f[2] for f in creates), creates


def test_socketbinder_does_not_follow_a_symlink(tmp_path):
    """A symlink planted at the socket path never makes the binder create
    or touch its destination."""
    os.chmod(tmp_path, 0o755)
    dest = tmp_path / "elsewhere"
    path = tmp_path / "sock"
    os.symlink(str(dest), str(path))
    r = run([prog("s6-ipcserver-socketbinder"), str(path), "true"], env=base_env())
    assert not os.path.exists(str(dest))
    assert r.returncode in (0, 111), r
    if r.returncode == 111:
        assert b"fatal:" in r.stderr


@needs_root("probes the engine from other uids")
def test_engine_memory_closed_to_its_own_uid(procs, certs):
    """After the drop the kernel marks the engine non-dumpable: another
    process running as TLS_UID cannot read the key out of its memory."""
    uid = free_uid()
    env = server_env(certs, TLS_UID=str(uid), TLS_GID=str(uid))
    args = [prog("s6-tcpserver"), "-1", "127.0.0.1", "0", prog("s6-tlsd"), "--", handler_musl(), "echo"]
    p, port = procs.server(args, env=env, stderr=subprocess.PIPE)
    s = held_echo(port, tls=True)
    engines = [x for x in descendants(p.pid) if exe_name(x) == "s6-tlsd-io"]
    assert len(engines) == 1
    probe = ("import sys\ntry:\n    open('/proc/%d/mem', 'rb')\nexcept PermissionError:\n    sys.exit(3)\n"
             "sys.exit(0)\n" % engines[0])

    def become():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    r = subprocess.run(["/usr/bin/python3", "-c", probe], preexec_fn=become, timeout=20)
    assert r.returncode == 3
    s.close()
