"""The example service directories, run the way users run them: under
Debian's s6-supervise, with readiness through notification-fd."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import BIN, ROOT, base_env, connect, free_port, need, run
from conftest import needs_root
from clock_util import NO_SYS_TIME, sntp_handler

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


def alone(name, top):
    """Copy examples/NAME on its own into top: nothing else of the tree
    is next to it."""
    os.makedirs(top, exist_ok=True)
    dst = os.path.join(top, name)
    shutil.copytree(os.path.join(EXAMPLES, name), dst)
    assert os.listdir(top) == [name]
    return dst


def read_line_tls(t):
    data = b""
    while not data.endswith(b"\n"):
        d = t.recv(4096)
        if not d:
            break
        data += d
    return data


def uids_of(exe):
    out = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/exe" % pid) == exe:
                out.add(os.stat("/proc/%s" % pid).st_uid)
        except OSError:
            pass
    return out



@needs_root("the example drops the engine and the application to nobody")
def test_tls_service_under_s6_supervise(procs, public_dir, certs):
    """examples/tls-service copied alone: KEYFILE and CERTFILE come from
    its env/ directory, access rules are compiled at start, the engine runs
    as TLS_UID and the application as nobody, a different account, and
    the key variables never reach the application."""
    import ssl
    svc = alone("tls-service", public_dir)
    # what a user does: write the paths into the environment directory
    with open(os.path.join(svc, "env", "KEYFILE"), "w") as f:
        f.write(certs.p("server.key") + "\n")
    with open(os.path.join(svc, "env", "CERTFILE"), "w") as f:
        f.write(certs.p("server.pem") + "\n")
    tls_uid = int(open(os.path.join(svc, "env", "TLS_UID")).read())
    assert tls_uid != 65534  # not nobody, the application's account
    port = free_port()
    # no KEYFILE in the supervisor's environment: env/ is the only source
    p = supervise(procs, svc, base_env(PORT=str(port), S6NET_BIN=BIN))
    r = run(["s6-svwait", "-U", "-t", "30000", svc], timeout=40)
    assert r.returncode == 0, r.stderr
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    with ctx.wrap_socket(connect("127.0.0.1", port), server_hostname="localhost") as t:
        engines = uids_of(os.path.join(BIN, "s6-tlsd-io"))
        t.sendall(b"over tls\n")
        data = read_line_tls(t)
    cport = data.split(b":")[1].split(b" ")[0]
    assert data == (b"hello 127.0.0.1:%s (loopback, TLSv1.3, uid 65534), you said: over tls\n" % cport), data
    assert engines and engines <= {0, tls_uid}, engines  # the zygote's workers drop to TLS_UID
    assert tls_uid in engines
    assert os.path.exists(os.path.join(svc, "rules.cdb"))
    stop(svc, p)


def test_tls_service_bad_rule_stops_it(procs, public_dir, certs):
    """run compiles the rules with -s: a rule no lookup can find keeps the
    service from starting, with a line that names it."""
    svc = alone("tls-service", public_dir)
    os.makedirs(os.path.join(svc, "rules", "ip4", "127.0.0.1_8"))
    open(os.path.join(svc, "rules", "ip4", "127.0.0.1_8", "allow"), "w").close()
    env = base_env(PORT=str(free_port()), S6NET_BIN=BIN)
    r = run(["sh", "./run"], cwd=svc, env=env, timeout=20)
    assert r.returncode == 111
    assert b"ip4/127.0.0.1_8: never looked up" in r.stdout
    assert not os.path.exists(os.path.join(svc, "rules.cdb"))


def test_tcp_service_runit_alone(procs, tmp_path):
    """examples/tcp-service-runit copied alone runs its own handler (runit
    itself is not needed to show it: run is what runsv would execute)."""
    svc = alone("tcp-service-runit", str(tmp_path))
    port = free_port()
    p = procs.start(["./run"], cwd=svc, env=base_env(PORT=str(port), S6NET_BIN=BIN),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            s = connect("127.0.0.1", port, timeout=2)
            break
        except OSError:
            assert p.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    s.sendall(b"runit\n")
    data = read_line_tls(s)
    s.close()
    assert data.startswith(b"hello 127.0.0.1:") and data.endswith(b"you said: runit\n")


def test_proxied_service_alone(procs, tmp_path):
    """examples/proxied-service copied alone: its own handler, and the
    address it reports is the one in the PROXY header, not ours."""
    import select
    svc = alone("proxied-service", str(tmp_path))
    port = free_port()
    # run sends the port line to fd 3: its stdout here, as in the README
    p = procs.start(["sh", "-c", "exec ./run 3>&1"], cwd=svc, env=base_env(PORT=str(port), S6NET_BIN=BIN),
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert select.select([p.stdout], [], [], 30)[0], "no readiness line"
    s = connect("127.0.0.1", port)
    s.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 9003\r\nproxied\n")
    data = read_line_tls(s)
    s.close()
    assert data == b"hello 192.0.2.7:40000, you said: proxied\n", data


def test_clock_sync_alone(procs, tmp_path, udp_server):
    """examples/clock-sync copied alone: one round of its loop asks our
    SNTP peer and hands the adjustment to s6-clockadd, whose clock call is
    recorded by the shim and never reaches the clock (no CAP_SYS_TIME)."""
    from conftest import SANITIZE, helper
    need("setpriv")
    svc = alone("clock-sync", str(tmp_path / "box"))
    srv = udp_server(sntp_handler(offset=0.5))
    rec = tmp_path / "clock.rec"
    env = base_env(S6NET_BIN=BIN, NTP_SERVER="127.0.0.1", NTP_PORT=str(srv.port),
                   LD_PRELOAD=helper("shim_clock.so"), S6NET_SHIM_CLOCK_FILE=str(rec))
    if SANITIZE:
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    before = time.time()
    procs.start(NO_SYS_TIME + ["./run"], cwd=svc, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not (rec.exists() and rec.read_text().endswith("\n")):
        assert time.monotonic() < deadline, "no clock adjustment recorded"
        time.sleep(0.02)
    name, clk, sec, nsec = rec.read_text().splitlines()[0].split()
    assert (name, clk) == ("clock_settime", "0")
    target = int(sec) + int(nsec) / 1e9
    assert before + 0.5 - 0.2 <= target <= time.time() + 0.5 + 0.2


SCRIPT_DIRS = ["tcp-service", "tcp-service-runit", "tls-service", "starttls-service",
               "proxied-service", "clock-sync", "demo"]


@pytest.mark.parametrize("name", SCRIPT_DIRS)
def test_example_reaches_nothing_outside_itself(name):
    """Every file of an example stays inside its directory: no ../ path
    (README text included), so it works when copied on its own."""
    top = os.path.join(EXAMPLES, name)
    for d, _, files in os.walk(top):
        for f in files:
            text = open(os.path.join(d, f), "rb").read()
            assert b"../" not in text, os.path.join(d, f)
