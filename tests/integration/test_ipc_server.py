"""s6-ipcserver, s6-ipcserverd, s6-ipcserver-socketbinder and
s6-ipcclient over UNIX sockets in a temporary directory."""
import os
import signal
import socket
import stat
import subprocess

import pytest

from conftest import base_env, prog, read_line, run
from conftest import needs_root
from ipc_util import as_user, nobody, start_host
from util import wait_until

SHOW = r"""#!/bin/sh
for v in PROTO IPCREMOTEEUID IPCREMOTEEGID IPCREMOTEPATH IPCCONNNUM; do
  eval "printf '%s=%s ' $v \"\${$v-UNSET}\""
done
grep ^Uid: /proc/self/status | tr '\t' ' '
[ "$1" = hold ] && cat > /dev/null
exit 0
"""


def show_script(d):
    p = os.path.join(d, "show.sh")
    with open(p, "w") as f:
        f.write(SHOW)
    os.chmod(p, 0o755)
    return p


def parse(line):
    out = {}
    for w in line.split():
        if "=" in w:
            k, v = w.split("=", 1)
            out[k] = v
    return out


def connect(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    return s


def first_line(s):
    buf = b""
    while b"\n" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return buf.decode()


@needs_root("a client runs as nobody")
def test_environment_and_connnum(procs, sockdir):
    path = os.path.join(sockdir, "s")
    start_host(procs, path, [show_script(sockdir), "hold"])
    a = connect(path)
    la = parse(first_line(a))
    assert la["PROTO"] == "IPC"
    assert la["IPCREMOTEEUID"] == str(os.geteuid())
    assert la["IPCREMOTEEGID"] == str(os.getegid())
    assert la["IPCREMOTEPATH"] == ""
    assert la["IPCCONNNUM"] == "1"  # the connection itself counts
    b = connect(path)
    assert parse(first_line(b))["IPCCONNNUM"] == "2"
    # Another uid is another source.
    uid, gid = nobody()
    r = run([prog("s6-ipcclient"), path, "sh", "-c", "exec head -n1 <&6"], env=base_env(),
            preexec_fn=as_user(uid, gid))
    ln = parse(r.stdout.decode())
    assert (ln["IPCREMOTEEUID"], ln["IPCREMOTEEGID"], ln["IPCCONNNUM"]) == (str(uid), str(gid), "1")
    a.close()
    b.close()


def test_ipcclient_env_and_localpath(procs, sockdir):
    path = os.path.join(sockdir, "s")
    start_host(procs, path, [show_script(sockdir)])
    local = os.path.join(sockdir, "client")
    r = run([prog("s6-ipcclient"), "-p", local, path, "sh", "-c",
             'echo "$PROTO|$IPCLOCALPATH"; exec head -n1 <&6'], env=base_env())
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().split("\n")
    assert lines[0] == "IPC|" + local
    assert parse(lines[1])["IPCREMOTEPATH"] == local
    r = run([prog("s6-ipcclient"), "-l", "name", path, "sh", "-c", 'echo "$IPCLOCALPATH"'], env=base_env())
    assert r.stdout == b"name\n"


def test_ipcclient_errors(sockdir):
    r = run([prog("s6-ipcclient"), os.path.join(sockdir, "none"), "true"], env=base_env())
    assert r.returncode == 111
    assert b"unable to connect" in r.stderr
    assert r.stderr.startswith(b"s6-ipcclient: fatal: unable to connect to ") and r.stderr.count(b"\n") == 1
    # -q quiets warnings, not the reason the program gives up (as Debian's)
    r = run([prog("s6-ipcclient"), "-q", os.path.join(sockdir, "none"), "true"], env=base_env())
    assert r.returncode == 111
    assert r.stderr.startswith(b"s6-ipcclient: fatal: unable to connect to ") and r.stderr.count(b"\n") == 1
    # a -p path that cannot be bound is named as such
    busy = os.path.join(sockdir, "busy")
    open(busy, "w").close()
    r = run([prog("s6-ipcclient"), "-p", busy, os.path.join(sockdir, "none"), "true"], env=base_env())
    assert r.returncode == 111
    assert r.stderr.startswith(b"s6-ipcclient: fatal: unable to bind to " + busy.encode() + b": ")
    r = run([prog("s6-ipcclient"), "/" + "x" * 200, "true"], env=base_env())
    assert r.returncode == 100
    assert run([prog("s6-ipcclient"), "onlypath"]).returncode == 100


def test_no_credentials(procs, sockdir):
    path = os.path.join(sockdir, "s")
    start_host(procs, path, [show_script(sockdir)], opts=["-P"])
    ln = parse(first_line(connect(path)))
    assert (ln["IPCREMOTEEUID"], ln["IPCREMOTEEGID"]) == ("UNSET", "UNSET")
    assert ln["PROTO"] == "IPC"


@needs_root("clients run as nobody")
def test_localmaxconn_per_uid(procs, sockdir):
    path = os.path.join(sockdir, "s")
    start_host(procs, path, [show_script(sockdir), "hold"], opts=["-C", "1"])
    a = connect(path)
    assert parse(first_line(a))["IPCCONNNUM"] == "1"
    b = connect(path)
    assert first_line(b) == ""  # accepted and closed at once
    uid, gid = nobody()
    r = run([prog("s6-ipcclient"), path, "sh", "-c", "exec head -n1 <&6"], env=base_env(),
            preexec_fn=as_user(uid, gid))
    assert parse(r.stdout.decode())["IPCREMOTEEUID"] == str(uid)
    a.close()
    b.close()


def test_maxconn_queues(procs, sockdir):
    path = os.path.join(sockdir, "s")
    start_host(procs, path, [show_script(sockdir), "hold"], opts=["-c", "1"])
    a = connect(path)
    first_line(a)
    b = connect(path)  # sits in the backlog
    b.settimeout(0.3)
    try:
        got = b.recv(10)
    except socket.timeout:
        got = None
    assert got is None
    a.close()
    b.settimeout(10)
    assert parse(first_line(b))["IPCCONNNUM"] == "1"
    b.close()


@needs_root("the server drops to nobody")
def test_privilege_drop(procs, sockdir):
    uid, gid = nobody()
    path = os.path.join(sockdir, "s")
    p = start_host(procs, path, [show_script(sockdir)], opts=["-u", str(uid), "-g", str(gid)])
    ln = first_line(connect(path))
    assert ln.split("Uid:")[1].split()[0] == str(uid)
    # The daemon is our s6-ipcserverd, running as nobody; the socket was
    # bound by root before the drop.
    exe = os.readlink("/proc/%d/exe" % p.pid)
    assert exe == os.path.realpath(prog("s6-ipcserverd"))
    assert os.stat("/proc/%d" % p.pid).st_uid == uid
    env = base_env(UID=str(uid), GID=str(gid), GIDLIST="")
    path2 = os.path.join(sockdir, "s2")
    start_host(procs, path2, [show_script(sockdir)], env=env, opts=["-U"])
    assert first_line(connect(path2)).split("Uid:")[1].split()[0] == str(uid)


def test_sigterm_exits(procs, sockdir):
    path = os.path.join(sockdir, "s")
    p = start_host(procs, path, [show_script(sockdir)])
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 0


def test_socketbinder_perms_and_flags(sockdir):
    path = os.path.join(sockdir, "b")
    check = [prog("s6-ipcserver-socketbinder"), "-a", "0640", path, "python3", "-c",
             "import fcntl, os, socket; s = socket.socket(fileno=0); "
             "print(oct(os.stat(%r).st_mode & 0o777), bool(fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK), "
             "s.type == socket.SOCK_STREAM, s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))" % path]
    r = run(check, env=base_env())
    assert r.stdout.split() == [b"0o640", b"True", b"True", b"1"], r.stderr
    # -d (default) replaces the stale socket; -B leaves it blocking.
    check.insert(1, "-B")
    r = run(check, env=base_env())
    assert r.stdout.split() == [b"0o640", b"False", b"True", b"1"], r.stderr
    # -D refuses to replace it.
    r = run([prog("s6-ipcserver-socketbinder"), "-D", path, "true"], env=base_env())
    assert r.returncode == 111
    assert b"unable to bind" in r.stderr
    # A regular file is never deleted.
    f = os.path.join(sockdir, "file")
    open(f, "w").close()
    r = run([prog("s6-ipcserver-socketbinder"), f, "true"], env=base_env())
    assert r.returncode == 111
    assert os.path.isfile(f)


def test_socketbinder_dgram_not_listening(sockdir):
    path = os.path.join(sockdir, "d")
    r = run([prog("s6-ipcserver-socketbinder"), "-m", "-b0", path, "python3", "-c",
             "import socket; s = socket.socket(fileno=0); "
             "print(s.type == socket.SOCK_DGRAM, s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))"],
            env=base_env())
    assert r.stdout.split() == [b"True", b"0"], r.stderr
    assert stat.S_ISSOCK(os.stat(path).st_mode)


def test_socketbinder_usage(sockdir):
    for args in (["-a", "0800", "p", "true"], ["-a", "x", "p", "true"], ["-b", "-1", "p", "true"], ["p"], []):
        assert run([prog("s6-ipcserver-socketbinder")] + args).returncode == 100
    assert run([prog("s6-ipcserver-socketbinder"), "/" + "y" * 200, "true"]).returncode == 100


def test_ipcserverd_usage():
    for args in (["-c", "0", "true"], ["-c", "1001", "true"], ["-v", "x", "true"], []):
        assert run([prog("s6-ipcserverd")] + args).returncode == 100
    assert run([prog("s6-ipcserver"), "onlypath"]).returncode == 100


def test_ipcserverd_stdin_must_be_a_listening_socket(sockdir):
    # One line and 100, never a hang (with fd 0 closed the server's own
    # pipes would take it) nor a late accept() failure.
    def check(**kw):
        r = run([prog("s6-ipcserverd"), "true"], env=base_env(), timeout=5, **kw)
        assert r.returncode == 100
        assert r.stderr.count(b"\n") == 1 and b"stdin is not a" in r.stderr
    check(stdin=subprocess.DEVNULL)
    check(preexec_fn=lambda: os.close(0))
    a, b = socket.socketpair()
    try:
        check(stdin=a)
    finally:
        a.close()
        b.close()
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    d.bind(os.path.join(sockdir, "dg"))
    try:
        check(stdin=d)
    finally:
        d.close()


def test_ipcserver_ready_only_after_listen(procs, sockdir):
    """-1 is written once the socket accepts connections."""
    path = os.path.join(sockdir, "r")
    p = procs.start([prog("s6-ipcserver"), "-1", path, "true"], env=base_env(), stdout=subprocess.PIPE)
    assert read_line(p.stdout, 10) == ""
    s = connect(path)
    s.close()


def _install(d, names):
    import shutil
    b = os.path.join(d, "bin")
    os.makedirs(b, exist_ok=True)
    for n in names:
        shutil.copy2(prog(n), os.path.join(b, n))
    return b


def test_chains_use_our_siblings_not_path(procs, sockdir):
    """Run from an "installed" directory: the chain links come from there,
    never from PATH, where Debian's same-named programs are."""
    env = base_env()
    env["PATH"] = "/usr/bin:/bin"
    lone = _install(os.path.join(sockdir, "lone"), ["s6-sudo", "s6-ipcserver"])
    r = run([os.path.join(lone, "s6-sudo"), os.path.join(sockdir, "nosock"), "x"], env=env)
    assert r.returncode == 111
    assert os.path.join(lone, "s6-ipcclient").encode() in r.stderr
    r = run([os.path.join(lone, "s6-ipcserver"), os.path.join(sockdir, "x"), "true"], env=env)
    assert r.returncode == 111
    assert os.path.join(lone, "s6-ipcserver-socketbinder").encode() in r.stderr
    full = _install(os.path.join(sockdir, "full"), ["s6-sudo", "s6-ipcclient", "s6-sudoc", "s6-sudod",
                                                    "s6-ipcserver", "s6-ipcserver-socketbinder", "s6-ipcserverd"])
    path = os.path.join(sockdir, "inst")
    p = procs.start([os.path.join(full, "s6-ipcserver"), "-1", path, os.path.join(full, "s6-sudod"), "echo", "hi"],
                    env=env, stdout=subprocess.PIPE)
    assert read_line(p.stdout, 10) == ""
    assert os.readlink("/proc/%d/exe" % p.pid) == os.path.join(full, "s6-ipcserverd")
    r = run([os.path.join(full, "s6-sudo"), path, "there"], env=env)
    assert (r.returncode, r.stdout) == (0, b"hi there\n")


def test_verbose_log_names_the_uid(procs, sockdir):
    path = os.path.join(sockdir, "s")
    p = start_host(procs, path, [show_script(sockdir)], opts=["-v"])
    first_line(connect(path))
    line = read_line(p.stderr, 10)
    assert line.startswith("s6-ipcserverd: info:") and "uid %d gid %d" % (os.geteuid(), os.getegid()) in line


def test_stdout_closed_without_ready_option(procs, sockdir):
    # "It closes its stdin and stdout": a pipe on the server's stdout must
    # see EOF once it serves, or whatever reads that pipe waits forever.
    import select
    path = os.path.join(sockdir, "s")
    p = procs.start([prog("s6-ipcserver"), path, "sh", "-c", "echo up"], env=base_env(),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def serving():
        try:
            return first_line(connect(path)) == "up\n"
        except OSError:
            return False
    assert wait_until(serving), "the server did not answer"
    r, _, _ = select.select([p.stdout], [], [], 10)
    assert r, "the server still holds its stdout open"
    assert p.stdout.read() == b""
    assert p.poll() is None


HOLD = r"""#!/bin/sh
trap 'echo TERM >> "$0.log"; exit 0' TERM
echo up
while :; do sleep 0.1; done
"""


@pytest.mark.parametrize("sig,server_exits,child_sees", [
    (signal.SIGHUP, False, "TERM"),   # children told to go, server stays
    (signal.SIGQUIT, True, "TERM"),   # children told to go, server exits
    (signal.SIGABRT, True, "KILL"),   # children killed, server exits
])
def test_ipcserverd_signals(procs, sockdir, sig, server_exits, child_sees):
    script = os.path.join(sockdir, "hold.sh")
    with open(script, "w") as f:
        f.write(HOLD)
    os.chmod(script, 0o755)
    path = os.path.join(sockdir, "s")
    p = start_host(procs, path, [script])
    c = connect(path)
    assert first_line(c) == "up\n"
    p.send_signal(sig)
    # the child is gone either way: its end of the connection closes
    c.settimeout(10)
    assert c.recv(10) == b""
    log = script + ".log"
    if child_sees == "TERM":
        assert wait_until(lambda: os.path.exists(log)), "the handler did not get SIGTERM"
    else:
        assert not os.path.exists(log)
    if server_exits:
        assert p.wait(10) == 0
    else:
        assert p.poll() is None
        assert first_line(connect(path)) == "up\n"


def test_U_without_UID_refuses_to_serve(sockdir):
    # The chain must not go on serving as root when UID/GID are missing.
    path = os.path.join(sockdir, "s")
    r = run([prog("s6-ipcserver"), "-U", path, "true"], env=base_env(GID="65534"), timeout=10)
    assert r.returncode == 100
    assert b"UID not set" in r.stderr


def test_socketbinder_default_perms_ignore_umask(sockdir):
    # Default 0777 "meaning everyone can connect", whatever the umask.
    path = os.path.join(sockdir, "p")
    r = run([prog("s6-ipcserver-socketbinder"), path, "stat", "-c", "%a", path], env=base_env(),
            preexec_fn=lambda: os.umask(0o077))
    assert (r.returncode, r.stdout) == (0, b"777\n"), r.stderr
