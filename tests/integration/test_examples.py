"""The example service directories, run the way users run them: under
Debian's s6-supervise, with readiness through notification-fd."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import BIN, ROOT, base_env, connect, free_port, need, run
from conftest import needs_root
from tls_util import certs  # noqa: F401

EXAMPLES = os.path.join(ROOT, "examples")


def supervise(procs, svc, env):
    need("s6-supervise")
    p = procs.start(["s6-supervise", svc], env=env, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
    # s6-svwait and s6-svc need s6-supervise's control pipe and status file:
    # wait until it answers (s6-svok) and has written its status.
    deadline = time.monotonic() + 30
    status = os.path.join(svc, "supervise", "status")
    while time.monotonic() < deadline:
        if run(["s6-svok", svc]).returncode == 0 and os.path.exists(status):
            break
        time.sleep(0.02)
    else:
        raise AssertionError("s6-supervise did not come up")
    return p


def stop(svc, p):
    run(["s6-svc", "-dx", svc])
    p.wait(30)


def test_tcp_service_under_s6_supervise(procs, tmp_path):
    svc = str(tmp_path / "tcp-service")
    shutil.copytree(os.path.join(EXAMPLES, "tcp-service"), svc)
    port = free_port()
    env = base_env(PORT=str(port), S6NET_BIN=BIN)
    p = supervise(procs, svc, env)
    # s6-svwait -U returns only once the server wrote its readiness line.
    # generous bound: a loaded 2-core CI machine can be slow to start things
    r = run(["s6-svwait", "-U", "-t", "30000", svc], timeout=40)
    assert r.returncode == 0, r.stderr
    s = connect("127.0.0.1", port)
    s.sendall(b"hi there\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    cport = data.split(b":")[1].split(b",")[0]
    assert data == b"hello 127.0.0.1:%s, you said: hi there\n" % cport
    # The supervised process is our s6-tcpserverd, not Debian's.
    st = run(["s6-svstat", svc]).stdout.decode()
    pid = int(st.split("pid ")[1].split(")")[0].split(",")[0])
    exe = os.readlink("/proc/%d/exe" % pid)
    assert exe == os.path.join(BIN, "s6-tcpserverd")
    stop(svc, p)


def test_tcp_service_readiness_waits_for_bind(procs, tmp_path):
    """A port already taken: the service never becomes ready."""
    svc = str(tmp_path / "tcp-service")
    shutil.copytree(os.path.join(EXAMPLES, "tcp-service"), svc)
    import socket
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    env = base_env(PORT=str(blocker.getsockname()[1]), S6NET_BIN=BIN)
    p = supervise(procs, svc, env)
    r = run(["s6-svwait", "-U", "-t", "1500", svc], timeout=10)
    assert r.returncode != 0
    stop(svc, p)
    blocker.close()


@pytest.fixture
def public_dir():
    """A directory that the unprivileged application may enter (pytest's
    tmp_path is private to root)."""
    import tempfile
    top = tempfile.mkdtemp(prefix="s6net-example-", dir="/tmp")
    os.chmod(top, 0o755)
    yield top
    shutil.rmtree(top, ignore_errors=True)


@needs_root("the example drops the engine and the application to nobody")
def test_tls_service_under_s6_supervise(procs, public_dir, certs):  # noqa: F811
    """examples/tls-service: access rules compiled at start, TLS engine and
    application unprivileged, key variables hidden from the application."""
    import ssl
    top = public_dir
    svc = os.path.join(top, "tls-service")
    shutil.copytree(os.path.join(EXAMPLES, "tls-service"), svc)
    os.makedirs(os.path.join(top, "tcp-service"))
    shutil.copy(os.path.join(EXAMPLES, "tcp-service", "handler"), os.path.join(top, "tcp-service"))
    # the key must be readable by root only; the engine reads it before dropping
    port = free_port()
    env = base_env(PORT=str(port), S6NET_BIN=BIN, KEYFILE=certs.p("server.key"),
                   CERTFILE=certs.p("server.pem"))
    p = supervise(procs, svc, env)
    r = run(["s6-svwait", "-U", "-t", "30000", svc], timeout=40)
    assert r.returncode == 0, r.stderr
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    with ctx.wrap_socket(connect("127.0.0.1", port), server_hostname="localhost") as t:
        t.sendall(b"over tls\n")
        data = b""
        while not data.endswith(b"\n"):
            d = t.recv(4096)
            if not d:
                break
            data += d
    assert data.startswith(b"hello 127.0.0.1:") and data.endswith(b"you said: over tls\n")
    assert os.path.exists(os.path.join(svc, "rules.cdb"))
    stop(svc, p)
