"""s6-sudo, s6-sudoc and s6-sudod over a UNIX socket in a temporary
directory: arguments, environment filtering, descriptor passing, exit
codes, timeouts, disconnection, hostile peers, and interop with Debian's
s6-sudoc / s6-sudod in both directions."""
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import base_env, need, prog, run
from conftest import needs_root
from ipc_util import (SERVER_BANNER, as_user, frame, nobody, payload, recv_exact, send_with_fds, start_host,
                      sudod_direct)
from util import alive, wait_until

HOST = None  # our s6-ipcserver

SCRIPT = r"""#!/bin/sh
case "$1" in
  exit) exit "$2" ;;
  sig) kill -"$2" $$ ;;
  echo) shift; printf '[%s]' "$@"; echo; exit 0 ;;
  env) for v in FOO BAR BAZ QUX; do eval "printf '%s=%s|' $v \"\${$v-UNSET}\""; done; echo; exit 0 ;;
  cat) cat; echo "to stderr" >&2; exit 3 ;;
  uid) grep -E '^(Uid|Gid):' /proc/self/status; exit 0 ;;
  pid) echo $$ > "$2"; exec sleep 30 ;;
  fds) exec ls /proc/self/fd ;;
esac
exit 99
"""


def script(d, body=SCRIPT, name="prog.sh"):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(body)
    os.chmod(p, 0o755)
    return p


def service(procs, d, sargv, sudod_opts=(), env=None, host=HOST, ipc_opts=()):
    path = os.path.join(d, "sock")
    start_host(procs, path, [prog("s6-sudod")] + list(sudod_opts) + list(sargv),
               env=env, host=host, opts=ipc_opts)
    return path


def sudo(path, args, opts=(), env=None, **kw):
    return run([prog("s6-sudo")] + list(opts) + [path] + list(args),
               env=env if env is not None else base_env(), **kw)


def test_args_and_exit_codes(procs, sockdir):
    path = service(procs, sockdir, [script(sockdir)])
    r = sudo(path, ["echo", "a b", "", "; rm -rf /"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"[a b][][; rm -rf /]\n"
    for code in (0, 1, 7, 100, 255):
        assert sudo(path, ["exit", str(code)]).returncode == code
    # Killed by signal N: the client exits 128+N.
    assert sudo(path, ["sig", "TERM"]).returncode == 128 + signal.SIGTERM
    assert sudo(path, ["sig", "KILL"]).returncode == 128 + signal.SIGKILL


def test_sudo_passes_client_options(procs, sockdir):
    # -p and -l go to s6-ipcclient: the server sees the bound path as
    # IPCREMOTEPATH, and IPCLOCALPATH travels in the client environment
    # (accepted because the server's is present but empty); -v is
    # s6-ipcclient's verbosity.
    path = os.path.join(sockdir, "sock")
    start_host(procs, path, ["env", "IPCLOCALPATH=", prog("s6-sudod"), "sh", "-c",
                             'echo "$IPCREMOTEPATH|$IPCLOCALPATH"'])
    bind = os.path.join(sockdir, "client")
    r = sudo(path, [], opts=["-v", "-p", bind, "-l", "lname"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("%s|lname\n" % bind).encode()
    assert b"s6-ipcclient: info: connected to" in r.stderr
    r = sudo(path, [], opts=["-q", "-e"])
    assert (r.returncode, r.stdout, r.stderr) == (0, b"|\n", b"")


def test_oversized_request_reports_the_servers_refusal(procs, sockdir):
    # Over s6-sudod's 1 MiB limit: the client must say the server refused
    # (the errno it sent back), not just that its send broke off.
    path = service(procs, sockdir, ["true"])
    r = sudo(path, ["a" * 100000] * 12)
    assert r.returncode == 111
    assert r.stderr.count(b"\n") == 1 and b"Protocol error" in r.stderr, r.stderr


def test_fds_reach_the_program(procs, sockdir):
    path = service(procs, sockdir, [script(sockdir)])
    r = sudo(path, ["cat"], input=b"through stdin\n")
    assert r.returncode == 3
    assert r.stdout == b"through stdin\n"
    assert b"to stderr" in r.stderr


def test_environment_filtering(procs, sockdir):
    senv = base_env(FOO="", BAR="server", QUX="")
    path = service(procs, sockdir, [script(sockdir)], env=senv)
    cenv = base_env(FOO="client", BAR="client", BAZ="client")
    r = sudo(path, ["env"], env=cenv)
    assert r.returncode == 0, r.stderr
    # FOO empty on the server: client's value. BAR set: server's. BAZ
    # absent on the server: never. QUX empty and not sent: stays empty.
    assert r.stdout == b"FOO=client|BAR=server|BAZ=UNSET|QUX=|\n"
    r = sudo(path, ["env"], opts=["-e"], env=cenv)
    assert r.stdout == b"FOO=|BAR=server|BAZ=UNSET|QUX=|\n"


def test_server_options_012(procs, sockdir):
    path = service(procs, sockdir, [script(sockdir)], sudod_opts=["-0", "-1", "-2"])
    r = sudo(path, ["cat"], input=b"secret\n")
    assert r.returncode == 3
    assert r.stdout == b""
    assert r.stderr == b""


@needs_root("the client runs as nobody")
def test_root_service_for_nobody(procs, sockdir):
    """A root-owned service runs one fixed command for an unprivileged
    client; the client only adds arguments."""
    uid, gid = nobody()
    path = service(procs, sockdir, [script(sockdir), "uid"])
    r = sudo(path, ["ignored"], preexec_fn=as_user(uid, gid))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().split("\n")
    assert lines[0].split()[1:] == ["0", "0", "0", "0"]
    # The client side really was nobody.
    r = run(["sh", "-c", "grep ^Uid: /proc/self/status"], preexec_fn=as_user(uid, gid))
    assert r.stdout.split()[1] == str(uid).encode()


@needs_root("the client runs as nobody")
def test_socket_permissions_deny(procs, sockdir):
    uid, gid = nobody()
    path = service(procs, sockdir, [script(sockdir), "uid"], ipc_opts=["-a", "0700"])
    r = sudo(path, ["x"], preexec_fn=as_user(uid, gid))
    assert r.returncode == 111
    assert b"unable to connect" in r.stderr
    r = sudo(path, ["x"])  # root, the socket's owner, still gets in
    assert (r.returncode, r.stdout[:4]) == (0, b"Uid:")


def test_client_killed_mid_run(procs, sockdir):
    path = service(procs, sockdir, [script(sockdir)])
    pidfile = os.path.join(sockdir, "pid")
    c = procs.start([prog("s6-sudo"), path, "pid", pidfile], env=base_env())
    pid = wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip())
    assert pid, "no pid file"
    pid = int(pid)
    assert alive(pid)
    os.killpg(c.pid, signal.SIGKILL)
    c.wait(5)
    # s6-sudod sends SIGTERM + SIGCONT to the program.
    assert wait_until(lambda: not alive(pid)), "the program was not terminated"


def test_detach_keeps_running(procs, sockdir):
    path = service(procs, sockdir, [script(sockdir)], sudod_opts=["-d"])
    pidfile = os.path.join(sockdir, "pid")
    c = procs.start([prog("s6-sudo"), path, "pid", pidfile], env=base_env())
    pid = wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip())
    assert pid, "no pid file"
    pid = int(pid)
    os.killpg(c.pid, signal.SIGKILL)
    c.wait(5)
    # Still alive a while later (bounded check), then clean it up.
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        assert alive(pid)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def test_client_timeout_run(procs, sockdir):
    path = service(procs, sockdir, [script(sockdir)])
    pidfile = os.path.join(sockdir, "pid")
    r = sudo(path, ["pid", pidfile], opts=["-T", "300"])
    assert r.returncode == 111
    assert b"timed out" in r.stderr
    pid = int(open(pidfile).read())
    assert wait_until(lambda: not alive(pid)), "the program was not terminated"


def test_client_timeout_conn(sockdir):
    """A listening socket nobody accepts from: no banner ever comes."""
    path = os.path.join(sockdir, "silent")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(5)
    try:
        r = sudo(path, ["x"], opts=["-t", "200"])
        assert r.returncode == 111
        assert b"timed out" in r.stderr
    finally:
        s.close()


def test_wrong_peer(sockdir):
    path = os.path.join(sockdir, "http")
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(5)
    try:
        p = subprocess.Popen([prog("s6-sudo"), "-t", "5000", path, "x"], env=base_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        c, _ = s.accept()
        c.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
        out, err = p.communicate(timeout=10)
        c.close()
        assert p.returncode == 100
        assert b"not a s6-sudod" in err
        # A peer that closes at once.
        p = subprocess.Popen([prog("s6-sudo"), path, "x"], env=base_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        c, _ = s.accept()
        c.close()
        out, err = p.communicate(timeout=10)
        assert p.returncode == 111
    finally:
        s.close()


def test_sudoc_without_connection():
    r = run([prog("s6-sudoc"), "x"], env=base_env())
    assert r.returncode == 100
    assert r.stderr.startswith(b"s6-sudoc: fatal:")


# ---- hostile clients against s6-sudod, run directly on a socketpair ----

def _marker_script(d):
    m = os.path.join(d, "ran")
    return script(d, "#!/bin/sh\ntouch %s\n" % m, "mark.sh"), m


@pytest.mark.parametrize("case", ["badbanner", "nofds", "fourfds", "argc", "nonul", "huge", "short"])
def test_sudod_rejects_malformed(sockdir, case):
    prog_, marker = _marker_script(sockdir)
    p, s = sudod_direct([prog_])
    try:
        assert recv_exact(s, 15) == SERVER_BANNER
        pl = payload([b"x"], [])
        fds = [0, 1, 2]
        if case == "badbanner":
            pl = payload([b"x"], [], b"s6-sudo z v1.0\n")
        elif case == "nofds":
            fds = []
        elif case == "fourfds":
            fds = [0, 1, 2, 2]
        elif case == "argc":
            pl = pl[:15] + b"\0\0\0\5" + pl[19:]
        elif case == "nonul":
            pl = pl[:-1] + b"y"
        data = frame(pl, len(fds))
        if case == "huge":
            data = b"\x40\0\0\0\0\3" + pl
        elif case == "short":
            data = b"\0\0\0\x05\0\3" + pl[:5]
        send_with_fds(s, data, fds)
        rest = recv_exact(s, 10)
        rc = p.wait(10)
        assert rc == 100, p.stderr.read()
        assert len(rest) <= 1 and rest != b"\0"  # an errno, never "started"
        assert not os.path.exists(marker)
    finally:
        s.close()
        if p.poll() is None:
            p.kill()
        p.wait()


def test_sudod_timeout_on_silent_client(sockdir):
    prog_, marker = _marker_script(sockdir)
    p, s = sudod_direct(["-t", "200", prog_])
    try:
        assert recv_exact(s, 15) == SERVER_BANNER
        assert p.wait(10) == 111
        assert b"timed out" in p.stderr.read()
        assert not os.path.exists(marker)
    finally:
        s.close()


def test_sudod_client_gone_before_request(sockdir):
    prog_, marker = _marker_script(sockdir)
    p, s = sudod_direct([prog_])
    assert recv_exact(s, 15) == SERVER_BANNER
    s.close()
    assert p.wait(10) == 100
    assert not os.path.exists(marker)


def test_sudod_exec_failure_reported(sockdir):
    p, s = sudod_direct([os.path.join(sockdir, "missing")])
    try:
        recv_exact(s, 15)
        send_with_fds(s, frame(payload([], [])), [0, 1, 2])
        assert recv_exact(s, 1) == bytes([2])  # ENOENT
        assert p.wait(10) == 111
    finally:
        s.close()


def test_sudod_nothing_to_run():
    p, s = sudod_direct([])
    try:
        recv_exact(s, 15)
        send_with_fds(s, frame(payload([], [])), [0, 1, 2])
        assert recv_exact(s, 1) == bytes([22])  # EINVAL
        assert p.wait(10) == 100
    finally:
        s.close()


def test_sudod_leaks_no_fd(sockdir):
    """The program sees exactly 0, 1, 2: no socket, no self-pipe, no
    spare copy of a passed descriptor."""
    p, s = sudod_direct([script(sockdir), "fds"])
    r, w = os.pipe()
    try:
        recv_exact(s, 15)
        send_with_fds(s, frame(payload([], [])), [0, w, 2])
        os.close(w)
        assert recv_exact(s, 1) == b"\0"
        assert recv_exact(s, 4) == b"\0\0\0\0"
        out = os.read(r, 1000)
        fds = sorted(int(x) for x in out.split())
        assert fds[:3] == [0, 1, 2]
        assert len(fds) == 4  # and ls's own directory fd
        assert p.wait(10) == 0
    finally:
        os.close(r)
        s.close()


def test_sudod_client_disconnect_exit_1(sockdir):
    pidfile = os.path.join(sockdir, "pid")
    p, s = sudod_direct([script(sockdir), "pid", pidfile])
    recv_exact(s, 15)
    send_with_fds(s, frame(payload([], [])), [0, 1, 2])
    assert recv_exact(s, 1) == b"\0"
    pid = wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip())
    assert pid, "no pid"
    pid = int(pid)
    s.close()
    assert p.wait(10) == 1
    assert wait_until(lambda: not alive(pid)), "the program was not terminated"


def test_bad_options():
    for args in (["-t", "x"], ["-z"], ["-t", "-1"]):
        assert run([prog("s6-sudod")] + args).returncode == 100
        assert run([prog("s6-sudoc")] + args).returncode == 100
    assert run([prog("s6-sudo")]).returncode == 100


# ---- interop with Debian's s6 ----

def test_interop_our_client_debian_server(procs, sockdir):
    need("s6-sudod")
    path = os.path.join(sockdir, "sock")
    senv = base_env(FOO="")
    start_host(procs, path, ["/usr/bin/s6-sudod", script(sockdir)], env=senv, host="/usr/bin/s6-ipcserver")
    r = sudo(path, ["echo", "x y", ""], env=base_env(FOO="c"))
    assert (r.returncode, r.stdout) == (0, b"[x y][]\n")
    r = sudo(path, ["env"], env=base_env(FOO="c", BAR="c"))
    assert r.stdout == b"FOO=c|BAR=UNSET|BAZ=UNSET|QUX=UNSET|\n"
    assert sudo(path, ["exit", "42"]).returncode == 42
    assert sudo(path, ["sig", "TERM"]).returncode == 143
    r = sudo(path, ["cat"], input=b"in\n")
    assert (r.returncode, r.stdout) == (3, b"in\n")


def test_interop_debian_client_our_server(procs, sockdir):
    need("s6-sudo")
    path = service(procs, sockdir, [script(sockdir)], env=base_env(FOO=""))
    env = base_env(FOO="c", BAR="c")
    env["PATH"] = "/usr/bin:/bin"  # Debian's s6-ipcclient + s6-sudoc

    def deb(args, **kw):
        return run(["/usr/bin/s6-sudo", path] + args, env=env, **kw)
    r = deb(["echo", "x y", ""])
    assert (r.returncode, r.stdout) == (0, b"[x y][]\n")
    assert deb(["env"]).stdout == b"FOO=c|BAR=UNSET|BAZ=UNSET|QUX=UNSET|\n"
    assert deb(["exit", "42"]).returncode == 42
    assert deb(["sig", "TERM"]).returncode == 143
    r = deb(["cat"], input=b"in\n")
    assert (r.returncode, r.stdout) == (3, b"in\n")


def test_sudod_timeout_on_partial_request(sockdir):
    """A client that sends part of its request and stalls is cut off by -t
    even though bytes keep the connection busy."""
    prog_, marker = _marker_script(sockdir)
    p, s = sudod_direct(["-t", "300", prog_])
    try:
        recv_exact(s, 15)
        data = frame(payload([b"x"], []))
        send_with_fds(s, data[:10], [0, 1, 2])
        assert p.wait(10) == 111
        assert not os.path.exists(marker)
    finally:
        s.close()


def test_sudod_request_in_pieces(sockdir):
    """Descriptors on the first byte, the rest trickling in: still fine."""
    p, s = sudod_direct([script(sockdir), "echo"])
    r, w = os.pipe()
    try:
        recv_exact(s, 15)
        data = frame(payload([b"a", b"b c"], [b"X=1"]))
        send_with_fds(s, data[:1], [0, w, 2])
        os.close(w)
        for i in range(1, len(data)):
            s.send(data[i:i + 1])
        assert recv_exact(s, 5) == b"\0\0\0\0\0"
        assert os.read(r, 100) == b"[a][b c]\n"
        assert p.wait(10) == 0
    finally:
        os.close(r)
        s.close()
