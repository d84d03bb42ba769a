"""Readiness for service managers (beyond the reference): with
NOTIFY_SOCKET set, s6-tcpserverd and s6-ipcserverd send systemd's
"READY=1" once they listen and serve, alongside -1 and s6's
notification-fd; children never see the variable."""
import os
import socket
import ssl
import subprocess

import pytest

from activation_util import Notify, activate, env_handler, fetch, parse
from conftest import base_env, prog, read_line
from tls_util import server_env
from util import recv_all


@pytest.fixture(params=[False, True], ids=["path", "abstract"])
def notify(request):
    n = Notify(abstract=request.param)
    yield n
    n.close()


def test_tcpserver_notifies(procs, notify):
    p, port = procs.server([prog("s6-tcpserver"), "-1", "127.0.0.1", "0"] + env_handler(),
                           env=base_env(NOTIFY_SOCKET=notify.value), stderr=subprocess.PIPE)
    assert notify.recv() == b"READY=1"
    d = parse(fetch(("127.0.0.1", port)))
    assert "NOTIFY_SOCKET" not in d and d["PROTO"] == "TCP"
    assert notify.pending() is None       # once only


def test_tcpserverd_notifies_without_dash_1(procs, notify):
    """No -1: READY=1 is the only readiness signal, and it means the
    listener accepts: a connection made right after it is served."""
    # systemd-socket-activate passes on only the variables given with -E.
    p, (addr,) = activate(procs, [("127.0.0.1", None)], [prog("s6-tcpserverd")] + env_handler(),
                          extra=["-E", "NOTIFY_SOCKET=" + notify.value])
    # systemd-socket-activate starts the server at the first connection.
    s = socket.create_connection(addr, timeout=10)
    assert notify.recv() == b"READY=1"
    d = parse(fetch(addr))
    assert "NOTIFY_SOCKET" not in d and "LISTEN_PID" not in d
    s.close()


def test_ipcserver_notifies(procs, sockdir, notify):
    path = os.path.join(sockdir, "s")
    p = procs.start([prog("s6-ipcserver"), path] + env_handler(),
                    env=base_env(NOTIFY_SOCKET=notify.value), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert notify.recv() == b"READY=1"
    d = parse(fetch(path))
    assert "NOTIFY_SOCKET" not in d and d["PROTO"] == "IPC"


def test_tlsserver_chain_notifies(procs, certs, notify):
    """s6-tlsserver -> s6-tcpserver -> s6-tcpserverd: the variable reaches
    the daemon, which is the one that becomes ready; the TLS layer and
    the application do not see it."""
    p, port = procs.server([prog("s6-tlsserver"), "-1", "--", "127.0.0.1", "0"] + env_handler(),
                           env=server_env(certs, NOTIFY_SOCKET=notify.value), stderr=subprocess.PIPE)
    assert notify.recv() == b"READY=1"
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            out = recv_all(s)
    d = parse(out)
    assert d["PROTO"] == "TCP" and "NOTIFY_SOCKET" not in d
    assert notify.pending() is None


@pytest.mark.parametrize("value,why", [
    ("/nonexistent/notify", "unable to notify readiness to /nonexistent/notify: No such file or directory"),
    ("relative/path", "unable to notify readiness: unsupported NOTIFY_SOCKET: relative/path"),
    ("@", "unable to notify readiness: unsupported NOTIFY_SOCKET: @"),
])
def test_notify_failure_is_a_warning(procs, value, why):
    p, port = procs.server([prog("s6-tcpserver"), "-1", "127.0.0.1", "0"] + env_handler(),
                           env=base_env(NOTIFY_SOCKET=value), stderr=subprocess.PIPE)
    assert read_line(p.stderr, 10) == "s6-tcpserverd: warning: " + why
    assert parse(fetch(("127.0.0.1", port)))["PROTO"] == "TCP"
    assert p.poll() is None


def test_notification_fd_and_notify_together(procs, notify):
    """s6's readiness (-1 on a notification-fd pipe) and READY=1 both."""
    r, w = os.pipe()
    try:
        p = procs.start([prog("s6-tcpserver"), "-1", "127.0.0.1", "0"] + env_handler(),
                        env=base_env(NOTIFY_SOCKET=notify.value), stdout=w, stderr=subprocess.PIPE)
        os.close(w)
        w = -1
        with os.fdopen(r, "rb") as f:
            r = -1
            port = int(read_line(f, 10))
        assert notify.recv() == b"READY=1"
        assert parse(fetch(("127.0.0.1", port)))["TCPLOCALPORT"] == str(port)
    finally:
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)
