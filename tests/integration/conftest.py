"""Shared fixtures for the integration suite.

Every test drives the real programs from the build tree (S6NET_BUILD, set
by `make check`) against real peers on 127.0.0.1 / ::1, port 0 only, and
every process a test starts is killed and reaped when the test ends.
"""
import atexit
import glob
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types

import pytest

from util import Certs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The build tree make wrote (make check sets S6NET_BUILD).
BUILD_TREE = os.environ.get("S6NET_BUILD", os.path.join(ROOT, "build"))
# S6NET_SANITIZE: "1" in the AddressSanitizer build (make
# sanitize-address), "undefined" in the UBSan build (make
# sanitize-undefined), empty otherwise. SANITIZE is the ASan build (no
# clone backend, no static links); CHECKED is either checked build, whose
# programs carry a sanitizer runtime.
SANITIZE = os.environ.get("S6NET_SANITIZE") == "1"
CHECKED = os.environ.get("S6NET_SANITIZE", "") != ""
SANITIZER_FLAGS = {"1": ["-fsanitize=address,undefined"], "undefined": ["-fsanitize=undefined"]}.get(
    os.environ.get("S6NET_SANITIZE", ""), [])
IS_ROOT = os.geteuid() == 0
# Several peers (haproxy, chronyd, dnsmasq, oidentd) live in sbin, which
# an ordinary user's PATH often leaves out.
_path = os.environ.get("PATH", "/usr/bin:/bin").split(":")
os.environ["PATH"] = ":".join(_path + [d for d in ("/usr/local/sbin", "/usr/sbin", "/sbin") if d not in _path])
# Peers that tools/install-deps.sh unpacked privately because installing
# them would have removed a package of the machine's (chrony replaces
# systemd-timesyncd): last in PATH, after everything installed.
os.environ["PATH"] += "".join(":" + d for d in sorted(glob.glob(os.path.join(ROOT, ".peers", "*", "usr", "*bin"))))
# The build tree as make's B= for tests that run make -C ROOT: relative,
# since make cannot take a path with a space in it.
MAKE_B = os.path.relpath(BUILD_TREE, ROOT)


# ---- the stage: what processes of other uids must reach -------------------
#
# Many tests run our programs, helpers or files as another uid (nobody, or
# a throwaway uid after a privilege drop). The checkout may sit where such
# a uid cannot search (/root, a 0700 home, mktemp -d) or on a path with a
# space (which LD_PRELOAD and sh -c strings would split). So the session
# copies the built programs (bin), helpers and library (lib) once into a
# private directory it creates under /tmp, mode 0755, owned by the user
# running the suite (others may read and search it, not write to it), and
# points BUILD, BIN and HELPERS there; prog() and helper() return staged
# paths. The stage is removed when the session ends. Tests put the files
# that another uid must reach in shared_tmp (fixture) or shared_dir().
# See tests/README.md.

STAGE_PREFIX = "s6net-stage-"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_stages(tmp="/tmp"):
    """Stages left by a session that was killed (its pid is gone)."""
    try:
        names = os.listdir(tmp)
    except OSError:
        return
    for n in names:
        d = os.path.join(tmp, n)
        if not n.startswith(STAGE_PREFIX):
            continue
        try:
            if os.lstat(d).st_uid != os.geteuid():
                continue
            with open(os.path.join(d, "owner.pid")) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(d, ignore_errors=True)


def _open_up(top):
    """Everything under top readable by all, directories and executables
    searchable/executable by all, nothing writable by others."""
    for d, dirs, files in os.walk(top):
        os.chmod(d, 0o755)
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p):
                continue
            m = os.stat(p).st_mode & 0o777
            os.chmod(p, 0o755 if m & 0o100 else 0o644)


def _make_stage():
    _remove_stale_stages()
    stage = tempfile.mkdtemp(prefix=STAGE_PREFIX, dir="/tmp")
    os.chmod(stage, 0o755)
    with open(os.path.join(stage, "owner.pid"), "w") as f:
        f.write("%d\n" % os.getpid())
    for sub in ("bin", "helpers", "lib"):
        src = os.path.join(BUILD_TREE, sub)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(stage, sub), symlinks=True)
    os.mkdir(os.path.join(stage, "tmp"))
    _open_up(stage)
    return stage


def _stage():
    """One stage per pytest process, even when this file is imported under
    two module names (tests/stress loads it as s6net_integration_conftest)."""
    holder = sys.modules.get("_s6net_stage")
    if holder is None:
        holder = types.ModuleType("_s6net_stage")
        holder.path = _make_stage()
        holder.pid = os.getpid()
        sys.modules["_s6net_stage"] = holder

        def remove(h=holder):
            if os.getpid() == h.pid:    # not in a forked child
                shutil.rmtree(h.path, ignore_errors=True)
        atexit.register(remove)
    return holder.path


STAGE = _stage()
BUILD = STAGE
BIN = os.path.join(STAGE, "bin")
HELPERS = os.path.join(STAGE, "helpers")


def shared_dir(prefix="s6net-"):
    """A new directory that every uid can search and read (mode 0755,
    owned by the user running the suite), inside the stage. The caller
    removes it, or leaves it to the end of the session."""
    d = tempfile.mkdtemp(prefix=prefix, dir=os.path.join(STAGE, "tmp"))
    os.chmod(d, 0o755)
    return d


@pytest.fixture
def shared_tmp():
    """Like tmp_path (a pathlib.Path, fresh for each test), but searchable
    and readable by every uid: for programs, scripts, rules and sockets
    that a process running as nobody or a throwaway uid must reach. Files
    made in it follow the umask: chmod what another uid must read, and
    chmod/chown what it must write."""
    d = shared_dir("test-")
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


def skip_if_denied(err, what):
    """For a test that binds a port below 1024 (IDENT's 113): when err is
    the PermissionError of bind() as another user than root, skip."""
    if isinstance(err, PermissionError) and not IS_ROOT:
        pytest.skip("needs root: " + what)


def needs_root(why):
    """Mark for a test (or pytestmark for a module) that needs root: it
    skips, with the reason, when the suite runs as another user.
        @needs_root("drops privileges to nobody")"""
    return pytest.mark.skipif(not IS_ROOT, reason="needs root: " + why)


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


# The Debian package of every program the suite runs that is not ours:
# tools/install-deps.sh must list each (tests/integration/test_deps.py
# checks it). Add a peer here when a test starts using it, and call
# need("tool") before running it.
TOOL_PACKAGES = {
    "cc": "gcc", "make": "make", "pkg-config": "pkg-config", "musl-gcc": "musl-tools",
    "nm": "binutils", "readelf": "binutils",
    "openssl": "openssl", "curl": "curl", "socat": "socat", "haproxy": "haproxy",
    "chronyd": "chrony", "dnsmasq": "dnsmasq-base", "oidentd": "oidentd", "strace": "strace",
    "cdb": "tinycdb", "execlineb": "execline", "pgrep": "procps",
    "setpriv": "util-linux", "unshare": "util-linux",
    "tcpserver": "ucspi-tcp-ipv6", "tcpclient": "ucspi-tcp-ipv6",
    "tcprules": "ucspi-tcp-ipv6", "tcprulescheck": "ucspi-tcp-ipv6",
    "s6-supervise": "s6", "s6-svc": "s6", "s6-svok": "s6", "s6-svstat": "s6", "s6-svwait": "s6",
    "s6-sudo": "s6", "s6-sudod": "s6", "s6-ipcserver": "s6", "s6-envuidgid": "s6",
    "s6-accessrules-cdb-from-fs": "s6",
    "systemd-socket-activate": "systemd",
    "mandoc": "mandoc", "stunnel4": "stunnel4", "tcpsvd": "ipsvd",
}

_withheld = {}


def withheld(pkg):
    """The installed packages that installing pkg would remove (chrony
    replaces any other time daemon, oidentd any other ident server), as
    apt-get -s reports them; tools/install-deps.sh leaves such a package
    out. Empty when pkg can be installed alongside."""
    if pkg not in _withheld:
        try:
            r = subprocess.run(["apt-get", "-s", "-o", "Debug::NoLocking=1", "install",
                                "--no-install-recommends", pkg], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=60)
            out = r.stdout.decode(errors="replace").splitlines()
            _withheld[pkg] = [l.split()[1] for l in out if l.startswith("Remv ")]
        except (OSError, subprocess.TimeoutExpired):
            _withheld[pkg] = []
    return _withheld[pkg]


def need(tool):
    """Real peers are installed by tools/install-deps.sh; a missing one is
    a broken set-up, so this fails rather than skips, unless the script
    left its package out on purpose because it would replace an installed
    package: then the test skips and says so."""
    if have(tool):
        return
    pkg = TOOL_PACKAGES.get(os.path.basename(tool))
    if pkg:
        gone = withheld(pkg)
        if gone:
            pytest.skip("peer %r not installed: its package %s would remove %s "
                        "(tools/install-deps.sh leaves it out)" % (tool, pkg, ", ".join(gone)))
        pytest.fail("required peer %r (Debian package %s) is not installed (run tools/install-deps.sh)"
                    % (tool, pkg))
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


def free_port(host="127.0.0.1", kind=socket.SOCK_STREAM):
    """Only for peers that cannot report a port 0 binding themselves."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, kind)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- fixtures shared by several test files --------------------------------
#
# Test files take these by naming them as arguments, never by importing
# them. A fixture used by one file only stays in that file.


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """The test PKI (util.Certs), made once per session."""
    return Certs(str(tmp_path_factory.mktemp("tlscerts")))


@pytest.fixture
def sockdir():
    """A temporary directory any user can traverse (clients run as nobody),
    with a short path: a UNIX socket's path is limited to 107 bytes."""
    d = tempfile.mkdtemp(prefix="s6net-ipc-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


def _closed_after(cls):
    """The body of a fixture that yields start(*args) -> cls(*args), and
    closes every one it made after the test."""
    made = []

    def start(*args):
        made.append(cls(*args))
        return made[-1]
    yield start
    for s in made:
        s.close()


@pytest.fixture
def udp_server():
    """start(handler, host="127.0.0.1") -> a clock_util.UdpServer on port
    0 of host, answering through handler; all closed after the test."""
    from clock_util import UdpServer   # clock_util imports this module
    yield from _closed_after(UdpServer)


@pytest.fixture
def ident():
    """make(handler, addr=None) -> a tcpclient_util.IdentServer answering
    through handler; all closed after the test."""
    from tcpclient_util import IdentServer   # tcpclient_util imports this module
    yield from _closed_after(IdentServer)
