"""The README's "Coming from ucspi-tcp / ipsvd / stunnel" command lines,
run as shown (with this run's ports and files), next to the programs they
replace where those are installed: each line must appear in the README
verbatim once the README's values are put back, and must work."""
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, ROOT, base_env, connect, free_port, need, needs_root
from util import ABRUPT_EOF, recv_all

# The README's command lines are an administrator's: their answers name
# uid 0, and some drop to another account.
pytestmark = needs_root("the README's command lines run as root (-u, uid 0 in the answers)")

README_VALUES = {"PORT": "8000", "TLSPORT": "8443", "FRONT": "8001", "KEY": "/etc/ssl/svc.key",
                 "CERT": "/etc/ssl/svc.pem", "CA": "/etc/ssl/certs/ca-certificates.crt",
                 "REMOTE": "example.org 443"}


def readme_section():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    start = text.index("## Coming from ucspi-tcp / ipsvd / stunnel")
    end = text.index("\n## ", start + 3)
    blocks = re.findall(r"```sh\n(.*?)```", text[start:end], flags=re.S)
    # join continuation lines, drop comments and trailing comments
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    out = []
    for l in lines:
        l = re.sub(r"\s+#.*$", "", l).strip()
        if l and not l.startswith("#"):
            out.append(re.sub(r"\s+", " ", l))
    return out


def shown(template):
    """The README line for a template; fails if the README lacks it."""
    line = re.sub(r"\s+", " ", template.format(**README_VALUES))
    assert any(line == l or l.endswith(" " + line) for l in readme_section()), \
        "README does not show: %s" % line
    return template


@pytest.fixture
def box():
    """A directory every uid may enter (the ipsvd line drops to nobody)."""
    top = tempfile.mkdtemp(prefix="s6net-readme-", dir="/tmp")
    os.chmod(top, 0o755)
    yield top
    shutil.rmtree(top, ignore_errors=True)


def script(path, body):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)


def env(**extra):
    return base_env(PATH=BIN + ":/usr/bin:/bin", **extra)


def start(procs, line, cwd, **kw):
    return procs.start(["sh", "-c", "exec " + line], cwd=cwd, env=kw.pop("env", env()),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def talk(port, data=b"", wrap=None, timeout=30):
    """Connect once the server listens (bounded wait: these command lines
    have no readiness option), send data, read to EOF."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = connect("127.0.0.1", port, timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    if wrap:
        s = wrap(s)
    if data:
        s.sendall(data)
    out = recv_all(s, ignore=ABRUPT_EOF)
    s.close()
    return out


HANDLER = 'IFS= read -r line; echo "$GREETING from $TCPREMOTEIP uid $(id -u): $line"\n'


def test_tcprules_and_tcpserver(procs, box):
    """tcprules + tcpserver -x, and the s6net lines from the same
    rules.txt: the same answers for an allowed client."""
    script(os.path.join(box, "handler"), HANDLER)
    with open(os.path.join(box, "rules.txt"), "w") as f:
        f.write('127.0.0.1:allow,GREETING="hi"\n:deny\n')
    r = subprocess.run(["sh", "-c", "exec " + shown("s6-tcprules-import rules.cdb < rules.txt")],
                       cwd=box, env=env(), timeout=20)
    assert r.returncode == 0
    port = free_port()
    start(procs, shown("s6-tcpserver -v -c 100 127.0.0.1 {PORT} s6-tcpserver-access -H -R -x rules.cdb ./handler")
          .format(PORT=port), box)
    ours = talk(port, b"ping\n")
    assert ours == b"hi from 127.0.0.1 uid 0: ping\n"
    need("tcpserver")
    need("tcprules")
    theirs_dir = os.path.join(box, "ucspi")
    os.makedirs(theirs_dir)
    shutil.copy(os.path.join(box, "handler"), theirs_dir)
    r = subprocess.run(["sh", "-c", "tcprules rules.cdb rules.tmp < ../rules.txt"], cwd=theirs_dir, timeout=20)
    assert r.returncode == 0
    port2 = free_port()
    start(procs, "tcpserver -v -H -R -c 100 -x rules.cdb 127.0.0.1 %d ./handler" % port2, theirs_dir)
    assert talk(port2, b"ping\n") == ours


def test_tcpclient(procs, box):
    script(os.path.join(box, "client"), 'echo request >&7; IFS= read -r l <&6; echo "got: $l"\n')
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    srv.settimeout(30)
    results = []
    for line in (shown("s6-tcpclient 127.0.0.1 {PORT} ./client").format(PORT=port),
                 "tcpclient 127.0.0.1 %d ./client" % port):
        if line.startswith("tcpclient"):
            need("tcpclient")
        p = procs.start(["sh", "-c", "exec " + line], cwd=box, env=env(), stdout=subprocess.PIPE)
        c, _ = srv.accept()
        c.settimeout(30)
        assert c.recv(100) == b"request\n"
        c.sendall(b"answer\n")
        c.close()
        out, _ = p.communicate(timeout=30)
        results.append((p.returncode, out))
    srv.close()
    assert results[0] == (0, b"got: answer\n")
    assert results[0] == results[1]


def test_tcpsvd_user(procs, box):
    script(os.path.join(box, "handler"), HANDLER)
    port = free_port()
    start(procs, shown("s6-envuidgid nobody s6-tcpserver -v -c 100 -U 127.0.0.1 {PORT} ./handler")
          .format(PORT=port), box, env=env(GREETING="hey"))
    ours = talk(port, b"x\n")
    assert ours == b"hey from 127.0.0.1 uid 65534: x\n"
    need("tcpsvd")
    port2 = free_port()
    start(procs, "tcpsvd -v -c 100 -u nobody 127.0.0.1 %d ./handler" % port2, box, env=env(GREETING="hey"))
    assert talk(port2, b"x\n") == ours


def tls_env(certs, **extra):
    return env(KEYFILE=certs.p("server.key"), CERTFILE=certs.p("server.pem"), TLS_UID="65534",
               TLS_GID="65534", **extra)


def test_readme_exports_the_tls_variables():
    line = "export KEYFILE={KEY} CERTFILE={CERT} TLS_UID=65534 TLS_GID=65534"
    shown(line)


def tls_wrap(certs):
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    return lambda s: ctx.wrap_socket(s, server_hostname="localhost")


def test_stunnel_server_direct(procs, box, certs):
    script(os.path.join(box, "handler"), HANDLER)
    port = free_port()
    start(procs, shown("s6-tlsserver 127.0.0.1 {TLSPORT} ./handler").format(TLSPORT=port), box,
          env=tls_env(certs, GREETING="tls"))
    assert talk(port, b"direct\n", wrap=tls_wrap(certs)) == b"tls from 127.0.0.1 uid 0: direct\n"


def test_stunnel_server_relay(procs, box, certs):
    """The relay line in front of a plain service, and stunnel itself in
    the same place: the service sees the same request."""
    script(os.path.join(box, "handler"), HANDLER)
    # the plain service, ready before the relay is used (-1)
    _, backend = procs.server(["s6-tcpserver", "-1", "127.0.0.1", "0", "./handler"], cwd=box,
                              env=env(GREETING="plain"))
    front = free_port()
    start(procs, shown("s6-tlsserver 127.0.0.1 {TLSPORT} s6-tcpclient 127.0.0.1 {PORT} s6-ioconnect")
          .format(TLSPORT=front, PORT=backend), box, env=tls_env(certs))
    ours = talk(front, b"relayed\n", wrap=tls_wrap(certs))
    assert ours == b"plain from 127.0.0.1 uid 0: relayed\n"
    need("stunnel4")
    sport = free_port()
    conf = os.path.join(box, "stunnel.conf")
    with open(conf, "w") as f:
        f.write("foreground = yes\npid =\n[svc]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
                "cert = %s\nkey = %s\n" % (sport, backend, certs.p("server.pem"), certs.p("server.key")))
    procs.start(["stunnel4", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert talk(sport, b"relayed\n", wrap=tls_wrap(certs)) == ours


@pytest.mark.parametrize("relay", ["s6-ioconnect", "socat STDIO 'FD:6!!FD:7'"])
def test_stunnel_client(procs, box, certs, relay):
    """The client-side line: a plain listener whose connections go out
    over TLS, verified against CAFILE (here our own TLS server, by IP)."""
    script(os.path.join(box, "handler"), HANDLER)
    # the remote TLS service, ready before the front is used (-1)
    _, tport = procs.server(["s6-tlsserver", "-1", "127.0.0.1", "0", "./handler"], cwd=box,
                            env=tls_env(certs, GREETING="far"))
    front = free_port()
    line = shown("s6-tcpserver 127.0.0.1 {FRONT} s6-tlsclient {REMOTE} s6-ioconnect")
    if relay != "s6-ioconnect":
        need("socat")
        line = line.replace("s6-ioconnect", relay)
    start(procs, line.format(FRONT=front, REMOTE="127.0.0.1 %d" % tport), box, env=env(CAFILE=certs.p("ca.pem")))
    assert talk(front, b"out\n") == b"far from 127.0.0.1 uid 0: out\n"
    # the CAFILE= prefix is on the README's line
    assert any(l.startswith("CAFILE={CA} ".format(**README_VALUES)) for l in readme_section())
