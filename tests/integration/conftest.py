"""Shared fixtures for the integration suite.

Every test drives the real programs from the build tree (S6NET_BUILD, set
by `make check`) against real peers on 127.0.0.1 / ::1, port 0 only, and
every process a test starts is killed and reaped when the test ends.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("S6NET_BUILD", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "bin")
HELPERS = os.path.join(BUILD, "helpers")
SANITIZE = os.environ.get("S6NET_SANITIZE") == "1"


def prog(name):
    """Absolute path of one of our programs in the build tree."""
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        pytest.fail("program not built: %s" % path)
    return path


def helper(name):
    path = os.path.join(HELPERS, name)
    if not os.path.exists(path):
        pytest.fail("test helper not built: %s" % path)
    return path


def have(tool):
    return shutil.which(tool) is not None


def need(tool):
    """Real peers are installed by tools/install-deps.sh; a missing one is
    a broken set-up, so this fails rather than skips."""
    if not have(tool):
        pytest.fail("required peer %r is not installed (run tools/install-deps.sh)" % tool)


def run(args, input=None, env=None, timeout=20, **kw):
    """Run a command to completion; returns CompletedProcess (bytes)."""
    return subprocess.run(args, input=input, env=env, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def base_env(**extra):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for k in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    env.update(extra)
    return env


class Procs:
    """Tracks started processes; kills and reaps them all at teardown."""

    def __init__(self):
        self.procs = []

    def start(self, args, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("start_new_session", True)
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def server(self, args, timeout=10, **kw):
        """Start a server that prints its port on stdout when ready (-1).
        Returns (Popen, port)."""
        kw.setdefault("stdout", subprocess.PIPE)
        p = self.start(args, **kw)
        line = read_line(p.stdout, timeout)
        if not line:
            err = b""
            if p.stderr:
                try:
                    p.wait(1)
                    err = p.stderr.read()
                except Exception:
                    pass
            pytest.fail("server did not become ready: %r %r" % (args, err))
        return p, int(line)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    try:
                        p.kill()
                    except ProcessLookupError:
                        pass
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()


def read_line(f, timeout):
    """Read one line from a pipe with a deadline (no sleeping)."""
    import select
    buf = b""
    deadline = time.monotonic() + timeout
    fd = f.fileno()
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return None
        chunk = os.read(fd, 1)
        if not chunk:
            return buf.decode() or None
        buf += chunk
    return buf.decode().strip()


@pytest.fixture
def procs():
    p = Procs()
    yield p
    p.cleanup()


def connect(host, port, timeout=10):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def recv_all(s, limit=1 << 26):
    out = b""
    while len(out) < limit:
        d = s.recv(65536)
        if not d:
            break
        out += d
    return out


def free_port(host="127.0.0.1", kind=socket.SOCK_STREAM):
    """Only for peers that cannot report a port 0 binding themselves."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, kind)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# s6-tcpserverd keeps idle acceptors (processes waiting in accept() for the
# next connection) under this process name; they are not connections.
ACCEPTOR_COMM = "s6-tcp-acceptor"


def comm(pid):
    """A process's name (/proc/PID/comm), None once it is gone."""
    try:
        with open("/proc/%d/comm" % int(pid)) as f:
            return f.read().strip()
    except OSError:
        return None


def is_acceptor(pid):
    return comm(pid) == ACCEPTOR_COMM
