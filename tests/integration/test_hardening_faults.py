"""Faults: descriptor, process and memory limits, signal storms during
accept/spawn/relay, handlers that exit early, closed or full stdout, a
full disk under the rules compiler. Each one ends with the documented exit
code or a logged warning, and the server keeps serving where it can."""
import os
import resource
import socket
import ssl
import struct
import subprocess
import time

import pytest

from conftest import SANITIZE, base_env, helper, need, prog, run
from conftest import needs_root
from hardening_util import (free_uid, handler_musl, limit_fds_to_open, listen_port, log_lines, serve_one,
                            tls_client_ctx)
from tls_util import server_env
from util import acceptors, children, processes, wait_until


def tcpserver(procs, opts, app, env=None, stderr=subprocess.PIPE, **kw):
    return procs.server([prog("s6-tcpserver"), "-1"] + list(opts) + ["127.0.0.1", "0"] + list(app),
                        env=env or base_env(), stderr=stderr, **kw)


# ---- descriptors ---------------------------------------------------------


def test_no_readiness_before_setup_is_complete(procs):
    """With so few descriptors that the last set-up step fails, the server
    must fail before announcing readiness, not right after. Four
    descriptors: 0-2 and the signal descriptor; opening /dev/null for the
    readiness step is the one that fails."""
    def lim():
        resource.setrlimit(resource.RLIMIT_NOFILE, (4, 4))
    p = procs.start([prog("s6-tcpserver"), "-1", "127.0.0.1", "0", helper("hard_handler"), "env"],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=lim, env=base_env())
    out = p.stdout.read()
    rc = p.wait(10)
    err = p.stderr.read()
    assert not out, (out, rc, err)
    assert rc == 111 and b"fatal: unable to" in err and err.count(b"\n") == 1, (rc, err)


def test_emfile_on_accept_waits_and_recovers(procs):
    """Out of descriptors at accept(): one warning per back-off, the client
    stays queued, and is served as soon as descriptors are available.
    An acceptor already blocked in accept() holds the descriptor it will
    return (the kernel takes it before waiting), so with acceptors the
    clients they already wait for are served first."""
    p, port = tcpserver(procs, [], [helper("hard_handler"), "env"])
    assert serve_one(port).startswith(b"ENV TCP ")
    # Two acceptors once the one that served the first connection has
    # been replaced (none in sanitizer builds).
    nacc = 0 if SANITIZE else 2
    assert wait_until(lambda: len(acceptors(p.pid)) == nacc, 10)
    soft, hard = limit_fds_to_open(p.pid)
    for pid in acceptors(p.pid):
        limit_fds_to_open(pid)
    served = 0
    for _ in range(nacc + 1):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.settimeout(0.5)
        try:
            assert s.recv(100).startswith(b"ENV TCP ")
            served += 1
            s.close()
        except socket.timeout:
            break
    else:
        pytest.fail("every client was served")
    assert served == nacc
    # The acceptors started since inherited the limit; lift it everywhere.
    for pid in [p.pid] + acceptors(p.pid):
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    s.settimeout(10)
    assert s.recv(100).startswith(b"ENV TCP ")
    s.close()
    assert p.poll() is None
    assert serve_one(port).startswith(b"ENV TCP ")
    p.terminate()
    assert p.wait(10) == 0
    lines = log_lines(p)
    assert lines and all(l == "s6-tcpserverd: warning: unable to accept: Too many open files" for l in lines), lines


def test_emfile_in_tls_engine_is_a_clean_exit(procs, certs):
    """s6-tlsd with too few descriptors (it keeps its own at 10 and up):
    the chain ends with exit 111 and one message, never a signal; with
    enough, it serves."""
    app = [prog("s6-tlsd"), "--", helper("hard_handler"), "env"]
    env = server_env(certs)
    results = set()
    for n in (6, 8, 10, 12, 14, 16, 20, 32):
        def lim(n=n):
            resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
        p, port = tcpserver(procs, ["-v"], app, env=env, preexec_fn=lim)
        try:
            s = tls_client_ctx().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
            s.settimeout(10)
            results.add(s.recv(100)[:8])
            s.close()
        except (OSError, ssl.SSLError):
            results.add("refused")
        assert wait_until(lambda: not children(p.pid), 10)
        p.terminate()
        assert p.wait(10) == 0
        ends = [l for l in log_lines(p) if " end pid " in l]
        assert len(ends) == 1 and " exit " in ends[0], ends
        assert all(" fatal: " in l or " info: " in l for l in log_lines(p)), log_lines(p)
    assert b"ENV TCP " in results


# ---- processes and memory -------------------------------------------------


@needs_root("runs the server as a throwaway uid with its own RLIMIT_NPROC")
def test_nproc_limit_refuses_then_serves(procs):
    """RLIMIT_NPROC for the unprivileged uid the server runs as. Without
    acceptors (sanitizer builds), a spawn that fails is a warning and a
    closed connection; with them, the acceptor that cannot be started is
    one warning, and the client waits in the backlog until a process has
    gone. Either way the next client is served."""
    uid = free_uid()
    existing = len(processes(uid))

    def lim():
        resource.setrlimit(resource.RLIMIT_NPROC, (existing + 2, existing + 2))
    env = base_env()
    if SANITIZE:
        # LeakSanitizer needs a process of its own at exit, which this
        # limit refuses: its "fatal error" would fail make sanitize.
        env["ASAN_OPTIONS"] = ":".join(x for x in (env.get("ASAN_OPTIONS"), "detect_leaks=0") if x)
    p, port = tcpserver(procs, ["-u", str(uid), "-g", str(uid)], [helper("hard_handler"), "echo"],
                        env=env, preexec_fn=lim)
    a = socket.create_connection(("127.0.0.1", port), timeout=10)
    a.sendall(b"a")
    assert a.recv(10) == b"a"
    with_acceptors = not SANITIZE
    b = socket.create_connection(("127.0.0.1", port), timeout=10)
    if with_acceptors:
        b.sendall(b"b")
        b.settimeout(0.5)
        with pytest.raises(socket.timeout):
            b.recv(10)
        a.close()
        b.settimeout(10)
        assert b.recv(10) == b"b"
    else:
        try:
            assert b.recv(10) == b""
        except ConnectionResetError:
            pass
        a.close()
    b.close()
    assert wait_until(lambda: not children(p.pid), 10)
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"c")
    assert c.recv(10) == b"c"
    c.close()
    assert p.poll() is None
    lines = log_lines(p, 0.5)
    if with_acceptors:
        # Said once each time the server is left without an idle acceptor
        # (here while a, then b, are served), not at every retry.
        warned = [l for l in lines if "warning: unable to start an acceptor" in l]
        assert 1 <= len(warned) <= 3, lines
        assert all("Resource temporarily unavailable" in l for l in warned), lines
    else:
        assert any("warning: unable to spawn" in l and "Resource temporarily unavailable" in l for l in lines), lines


def image_span_kb(path):
    """The address space the kernel reserves to exec an ELF64 file: from
    its first loadable segment to the end of its last, in KiB."""
    import struct
    with open(path, "rb") as f:
        head = f.read(64)
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    loads = []
    for i in range(phnum):
        ptype, = struct.unpack_from("<I", ph, i * phentsize)
        if ptype == 1:
            vaddr, = struct.unpack_from("<Q", ph, i * phentsize + 16)
            memsz, = struct.unpack_from("<Q", ph, i * phentsize + 40)
            loads.append((vaddr, vaddr + memsz))
    return (max(e for _, e in loads) - (min(v for v, _ in loads) & ~4095)) >> 10


# AddressSanitizer reserves terabytes of address space at start: under
# make sanitize no address-space limit lets a program start, so the sweep
# shrinks to checking that the runtime refuses before our code runs.
# Otherwise the limits are set from the engine's image (its code segment
# is aligned for huge pages, see s6-tlsd-io(1)): below it the kernel
# kills any exec of it; from just above it, where the engine starts but
# cannot allocate, to where everything works.
MEMORY_LIMITS_KB = [1 << 20] if SANITIZE else [
    image_span_kb(prog("s6-tlsd-io")) + d for d in (1546, 2058, 2314, 2506, 2634, 2826, 3594, 10762)]


@pytest.mark.parametrize("kb", MEMORY_LIMITS_KB)
def test_memory_limit_tls_chain_never_crashes(procs, certs, kb):
    """RLIMIT_AS from where nothing can start to where everything works:
    every process of the chain ends with an exit code (127 from the
    loader, 96/97 from the engine with a message, 0), never a signal."""
    def lim():
        resource.setrlimit(resource.RLIMIT_AS, (kb << 10, kb << 10))
    if SANITIZE:
        # Expected here: on stderr, not in make sanitize's report directory.
        env = base_env()
        env["ASAN_OPTIONS"] = ":".join(o for o in env.get("ASAN_OPTIONS", "").split(":")
                                       if not o.startswith("log_path="))
        r = subprocess.run([prog("s6-tcpserver"), "-1", "127.0.0.1", "0", "true"], preexec_fn=lim,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=20)
        # the sanitizer runtime's own refusal, before any of our code runs
        assert b"ReserveShadowMemoryRange failed" in r.stderr or r.returncode == 127, r
        return
    app = [prog("s6-tlsd"), "-K", "3000", "--", handler_musl(), "env"]
    p, port = tcpserver(procs, ["-v"], app, env=server_env(certs), preexec_fn=lim)
    for _ in range(2):
        try:
            s = tls_client_ctx().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
            s.settimeout(10)
            s.recv(100)
            s.close()
        except (OSError, ssl.SSLError):
            pass
    assert wait_until(lambda: not children(p.pid), 10)
    p.terminate()
    assert p.wait(10) == 0
    lines = log_lines(p)
    ends = [l for l in lines if " end pid " in l]
    assert len(ends) == 2, lines
    assert not [l for l in ends if " signal " in l], lines
    codes = {int(l.split(" exit ")[1].split()[0]) for l in ends}
    assert codes <= {0, 96, 97, 127}, lines


# ---- signal storms -----------------------------------------------------------


STORM = r"""
import os, select, signal, sys
pids = [int(x) for x in sys.argv[1:]]
sigs = (signal.SIGCHLD, signal.SIGWINCH, signal.SIGURG, signal.SIGSTOP, signal.SIGCONT)
n = 0
for i in range(10_000_000):
    if i % 64 == 0 and select.select([0], [], [], 0)[0]:
        break
    for pid in pids:
        for s in sigs:
            try:
                os.kill(pid, s)
                n += 1
            except ProcessLookupError:
                pass
    if i == 0:
        print("storming", flush=True)
for pid in pids:
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass
print(n)
"""


def tls_echo(s, data, timeout):
    """Send data through a TLS socket and read as much back, in one thread:
    an SSL object must not be read and written from two threads at once."""
    import select
    s.setblocking(False)
    got = bytearray()
    sent = 0
    deadline = time.monotonic() + timeout
    while len(got) < len(data) and time.monotonic() < deadline:
        want_w = sent < len(data)
        r, w, _ = select.select([s], [s] if want_w else [], [], 1)
        if s.pending() or r:
            try:
                d = s.recv(1 << 16)
                if not d:
                    break
                got.extend(d)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
        if want_w and w:
            try:
                sent += s.send(data[sent:sent + (1 << 16)])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
    s.setblocking(True)
    return bytes(got)


def storm(pids):
    """A separate process sending, as fast as it can until its stdin
    closes, signals the programs do not act on or act on harmlessly:
    SIGCHLD with nothing to reap, SIGWINCH and SIGURG (ignored),
    SIGSTOP+SIGCONT (after which Linux fails some blocking calls with
    EINTR even without a handler). Returns the Popen; close its stdin
    and read the count from its stdout."""
    p = subprocess.Popen(["/usr/bin/python3", "-c", STORM] + [str(p) for p in pids],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    # the storm is on before the transfer starts, however fast that is
    assert p.stdout.readline() == b"storming\n"
    return p


def test_signal_storm_during_tls_relay(procs, certs):
    """32 MB echoed through s6-tcpserverd -> s6-tlsd -> engine -> handler
    while every one of them is hit by a signal storm: not a byte lost or
    changed, every process exits 0."""
    p, port = tcpserver(procs, ["-v"], [prog("s6-tlsd"), "--", handler_musl(), "echo"], env=server_env(certs))
    s = tls_client_ctx().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20))
    s.settimeout(20)
    s.sendall(b"go")
    assert s.recv(2) == b"go"
    pids = [p.pid]
    for c in children(p.pid):
        pids.append(c)
        pids.extend(children(c))
    assert len(pids) >= 3, pids
    st = storm(pids)
    data = os.urandom(1 << 16) * 512
    try:
        got = tls_echo(s, data, 60)
    finally:
        st.stdin.close()
        count = int(st.stdout.read() or 0)
        st.wait(30)
    assert len(got) == len(data) and got == data
    s.close()
    assert wait_until(lambda: not children(p.pid), 10)
    assert count > 1000
    lines = log_lines(p, 0.5)
    ends = [l for l in lines if " end pid " in l]
    assert len(ends) == 1 and " exit 0 " in ends[0], lines


# ---- early exits and closed outputs ----------------------------------------


def test_handler_exiting_early(procs, certs):
    """A handler that exits without reading: the client sees the
    connection end (EOF or reset), the server reaps it and serves on; the
    same behind s6-tlsd, where the engine ends the TLS session cleanly."""
    p, port = tcpserver(procs, ["-v"], [helper("hard_handler"), "early"])
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            s.sendall(b"x" * 100000)
            assert s.recv(10) == b""
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.close()
    assert wait_until(lambda: not children(p.pid), 10)
    p2, port2 = tcpserver(procs, ["-v"], [prog("s6-tlsd"), "--", helper("hard_handler"), "early"],
                          env=server_env(certs))
    s = tls_client_ctx().wrap_socket(socket.create_connection(("127.0.0.1", port2), timeout=10))
    s.settimeout(10)
    assert s.recv(10) == b""
    s.close()
    assert wait_until(lambda: not children(p2.pid), 10)
    for srv in (p, p2):
        assert srv.poll() is None
        srv.terminate()
        assert srv.wait(10) == 0
    ends = [l for l in log_lines(p) if " end pid " in l]
    assert len(ends) == 20 and all(" exit 0 " in l for l in ends)
    ends = [l for l in log_lines(p2) if " end pid " in l]
    assert len(ends) == 1 and " exit 0 " in ends[0], ends


def test_server_with_stdout_closed(procs):
    """No stdout at all: the server must not hand a connection out as
    its fd 1 or write into one; children get exactly 0, 1, 2."""
    p = procs.start([prog("s6-tcpserver"), "-1", "127.0.0.1", "0", helper("tcpsrv_handler"), "env"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=base_env(),
                    preexec_fn=lambda: os.close(1))
    port = []

    def bound():
        try:
            port[:] = [listen_port(p.pid)]
        except OSError:
            return False
        return port[0] is not None
    assert wait_until(bound, 10)
    out = serve_one(port[0])
    assert b"fds: 0 1 2\n" in out, out
    assert b"PROTO=TCP" in out
    assert p.poll() is None


def test_readiness_into_closed_pipe():
    """-1 with nobody reading the pipe: exit 111 with a message (not a
    silent death by SIGPIPE)."""
    r, w = os.pipe()
    os.close(r)
    p = subprocess.run([prog("s6-tcpserver"), "-1", "127.0.0.1", "0", "true"], stdout=w,
                       stderr=subprocess.PIPE, env=base_env(), timeout=10)
    os.close(w)
    assert p.returncode == 111, (p.returncode, p.stderr)
    assert b"unable to write readiness notification" in p.stderr


@pytest.mark.parametrize("args", [["s6-getservbyname", "http", "tcp"]])
def test_output_to_full_device(args):
    with open("/dev/full", "wb") as full:
        r = subprocess.run([prog(args[0])] + args[1:], stdout=full, stderr=subprocess.PIPE,
                           env=base_env(), timeout=10)
    assert r.returncode == 111, r
    assert b"No space left on device" in r.stderr


# ---- full disk -----------------------------------------------------------------


@needs_root("mounts a small tmpfs in a private namespace (unshare -m)")
def test_rules_compiler_on_a_full_disk(tmp_path):
    """A 64 kB tmpfs in a private mount namespace: the compiler exits 111
    naming the file, leaves no temporary file and the old database intact."""
    need("unshare")
    rules = tmp_path / "rules"
    for i in range(300):
        d = rules / "ip4" / ("10.0.%d.%d_32" % (i // 256, i % 256))
        (d / "env").mkdir(parents=True)
        (d / "allow").write_text("")
        (d / "env" / "VAR").write_text("value-%0400d\n" % i)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = ('mount -t tmpfs -o size=64k tmpfs "$1" && echo old > "$1/rules.cdb" && '
              '{ "$2" "$1/rules.cdb" "$3"; echo "rc=$?"; ls -a "$1"; cat "$1/rules.cdb"; }')
    r = run(["unshare", "-m", "sh", "-c", script, "sh", str(mnt), prog("s6-accessrules-cdb-from-fs"),
             str(rules)], env=base_env(), timeout=60)
    out = r.stdout.decode().split("\n")
    assert out[0] == "rc=111", (out, r.stderr)
    assert sorted(out[1:4]) == [".", "..", "rules.cdb"], out
    assert out[4] == "old"
    err = r.stderr.decode()
    assert err.count("\n") == 1 and "fatal: unable to write" in err and "No space left on device" in err, err
    # the same rules fit anywhere else
    r = run([prog("s6-accessrules-cdb-from-fs"), str(tmp_path / "ok.cdb"), str(rules)], env=base_env())
    assert r.returncode == 0, r.stderr
