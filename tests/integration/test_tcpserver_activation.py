"""systemd socket activation (beyond the reference): s6-tcpserverd and
s6-ipcserverd take their listening socket from fd 3 when LISTEN_PID is
their pid and LISTEN_FDS is 1, checked and hidden from the children.
Driven by systemd-socket-activate, which binds, then starts the server
at the first connection."""
import os
import socket
import subprocess

import pytest

from activation_util import activate, env_handler, fetch, parse
from conftest import base_env, prog, read_line, run

ACTIVATION_VARS = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")


def check_child(d):
    for k in ACTIVATION_VARS:
        assert k not in d, d
    # The listener (fd 3) is close-on-exec: the child has its connection only.
    assert d["fds"] == [0, 1, 2], d


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"], ids=["v4", "v6"])
@pytest.mark.parametrize("front", ["s6-tcpserverd", "s6-tcpserver"])
def test_tcp_activation(procs, host, front):
    if front == "s6-tcpserverd":
        argv = [prog("s6-tcpserverd"), "-1"] + env_handler()
    else:
        # ip and port are checked but unused: the activated socket wins.
        argv = [prog("s6-tcpserver"), "-1", "10.9.8.7", "1"] + env_handler()
    p, (addr,) = activate(procs, [(host, None)], argv, extra=["--fdname=web"])
    for n in range(2):
        d = parse(fetch(addr))
        assert d["PROTO"] == "TCP"
        assert d["TCPREMOTEIP"] == host and d["TCPLOCALIP"] == host
        assert d["TCPLOCALPORT"] == str(addr[1])
        assert d["TCPCONNNUM"] == "0" or n > 0
        check_child(d)
        if n == 0:
            # -1 prints the activated socket's port once the server runs.
            assert read_line(p.stdout, 10) == str(addr[1])
    assert p.poll() is None


def test_tcp_activation_privileges(procs):
    if os.geteuid() != 0:
        pytest.skip("dropping privileges needs root")
    argv = [prog("s6-tcpserver"), "-u", "65534", "-g", "65534", "127.0.0.1", "0"] + env_handler()
    p, (addr,) = activate(procs, [("127.0.0.1", None)], argv)
    d = parse(fetch(addr))
    assert d["TCPLOCALPORT"] == str(addr[1])
    assert "uid=65534 gid=65534" in fetch(addr).decode()
    check_child(d)


def test_ipc_activation(procs, sockdir):
    path = os.path.join(sockdir, "s")
    p, (addr,) = activate(procs, [path], [prog("s6-ipcserverd"), "-1"] + env_handler(), extra=["--fdname=x"])
    d = parse(fetch(addr))
    assert d["PROTO"] == "IPC"
    assert d["IPCREMOTEEUID"] == str(os.geteuid())
    assert d["IPCCONNNUM"] == "1"
    check_child(d)
    assert read_line(p.stdout, 10) == ""
    assert parse(fetch(addr))["PROTO"] == "IPC"


def failing(procs, listens, argv, extra=()):
    """Start argv by activation, trigger it, return its exit code and the
    lines it wrote (systemd-socket-activate's own removed)."""
    p, addrs = activate(procs, listens, argv, extra=extra)
    try:
        fetch(addrs[0], timeout=5)
    except OSError:
        pass
    rc = p.wait(10)
    lines = [l for l in p.stderr.read().decode().splitlines()
             if not l.startswith(("Communication attempt", "Execing"))]
    return rc, lines


def test_more_than_one_socket_is_fatal(procs):
    rc, lines = failing(procs, [("127.0.0.1", None), ("127.0.0.1", None)],
                        [prog("s6-tcpserverd"), "true"])
    assert rc == 100
    assert lines == ["s6-tcpserverd: fatal: socket activation passed 2 sockets (LISTEN_FDS), only one is supported"]


@pytest.mark.parametrize("daemon,listen,what", [
    ("s6-ipcserverd", ("127.0.0.1", None), "not a UNIX domain socket"),
    ("s6-tcpserverd", "PATH", "not an IPv4 or IPv6 socket"),
])
def test_wrong_family_is_fatal(procs, sockdir, daemon, listen, what):
    if listen == "PATH":
        listen = os.path.join(sockdir, "s")
    rc, lines = failing(procs, [listen], [prog(daemon), "true"])
    assert rc == 100
    assert lines == ["%s: fatal: fd 3 (LISTEN_FDS) is %s" % (daemon, what)]


def test_datagram_socket_is_fatal(procs, sockdir):
    path = os.path.join(sockdir, "d")
    p, _ = activate(procs, [path], [prog("s6-ipcserverd"), "true"], extra=["--datagram"])
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    c.sendto(b"x", path)
    c.close()
    assert p.wait(10) == 100
    lines = [l for l in p.stderr.read().decode().splitlines() if l.startswith("s6-")]
    assert lines == ["s6-ipcserverd: fatal: fd 3 (LISTEN_FDS) is not a listening stream socket"]


@pytest.mark.parametrize("env,msg", [
    ({"LISTEN_FDS": "x"}, "s6-tcpserverd: fatal: invalid LISTEN_FDS: x"),
    ({"LISTEN_FDS": "1"}, "s6-tcpserverd: fatal: fd 3 (LISTEN_FDS) is not a socket"),
    ({"LISTEN_FDS": "0"}, "s6-tcpserverd: fatal: socket activation passed 0 sockets (LISTEN_FDS), only one is supported"),
])
def test_bad_activation_variables(env, msg):
    # LISTEN_PID must be the daemon's own pid: sh execs into it.
    e = base_env(**env)
    r = run(["sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"', prog("s6-tcpserverd"), "true"], env=e, timeout=10)
    assert r.returncode == 100
    assert r.stderr.decode().splitlines() == [msg]


def test_variables_of_another_process_are_ignored_and_hidden(procs):
    """LISTEN_PID not ours: the listener is fd 0 as usual, and children
    never see the variables."""
    env = base_env(LISTEN_PID="1", LISTEN_FDS="1", LISTEN_FDNAMES="x")
    p, port = procs.server([prog("s6-tcpserver"), "-1", "127.0.0.1", "0"] + env_handler(), env=env,
                           stderr=subprocess.PIPE)
    d = parse(fetch(("127.0.0.1", port)))
    assert d["TCPLOCALPORT"] == str(port)
    check_child(d)


def unit(path):
    """Key=value lines of a systemd unit file (last one wins)."""
    d = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")) and "=" in line:
                k, v = line.split("=", 1)
                d[k] = v
    return d


def test_systemd_example_units(procs, tmp_path):
    """examples/tcp-service-systemd: the service's command line, run the
    way its socket unit runs it (one activated socket, Type=notify),
    serves the example's own handler and notifies readiness."""
    from activation_util import Notify
    from conftest import BIN, ROOT
    ex = os.path.join(ROOT, "examples", "tcp-service-systemd")
    sock = unit(os.path.join(ex, "s6net-hello.socket"))
    svc = unit(os.path.join(ex, "s6net-hello.service"))
    assert sock["Accept"] == "no" and svc["Type"] == "notify"
    assert "StandardInput" not in svc
    host = sock["ListenStream"].rsplit(":", 1)[0]
    argv = svc["ExecStart"].split()
    assert argv[0] == "/usr/local/bin/s6-tcpserverd"
    argv[0] = os.path.join(BIN, "s6-tcpserverd")
    argv[-1] = os.path.join(ex, "handler")
    n = Notify()
    try:
        p, (addr,) = activate(procs, [(host, None)], argv, extra=["-E", "NOTIFY_SOCKET=" + n.value])
        assert addr[0] == "127.0.0.1"
        c = socket.create_connection(addr, timeout=10)
        assert n.recv() == b"READY=1"
        c.sendall(b"hi\n")
        out = c.makefile("rb").readline()
        c.close()
        assert out.startswith(b"hello 127.0.0.1:") and out.endswith(b"you said: hi\n")
    finally:
        n.close()
