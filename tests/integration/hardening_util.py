"""Helpers for the hardening tests: a free uid, /proc status, a static handler,
stderr collection without blocking, a TLS client context."""
import os
import select
import shutil
import socket
import ssl

from conftest import BUILD, ROOT, helper, run
from util import tcp_listeners


def free_uid():
    """A uid no process runs as (zombies of earlier runs included)."""
    used = {os.stat("/proc/" + d).st_uid for d in os.listdir("/proc") if d.isdigit() and os.path.exists("/proc/" + d)}
    for u in range(47000 + os.getpid() % 1000, 60000):
        if u not in used:
            return u
    raise RuntimeError("no free uid")


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict((k, v.split()) for k, v in (l.split(":", 1) for l in f.read().splitlines() if ":" in l))


def handler_musl():
    """hard_handler linked static with musl when possible (cheap to spawn,
    and it needs no shared library, which matters under RLIMIT_AS)."""
    out = os.path.join(BUILD, "stress", "hard_handler")
    src = os.path.join(ROOT, "tests", "helpers", "hard_handler.c")
    if shutil.which("musl-gcc"):
        if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
            # BUILD is the stage (conftest): other uids run this handler.
            os.makedirs(os.path.dirname(out), exist_ok=True)
            os.chmod(os.path.dirname(out), 0o755)
            tmp = out + ".%d" % os.getpid()
            r = run(["musl-gcc", "-static", "-O2", "-o", tmp, src], timeout=60)
            assert r.returncode == 0, r.stderr.decode()
            os.chmod(tmp, 0o755)
            os.rename(tmp, out)
        return out
    return helper("hard_handler")


_logs = {}


def log_lines(p, idle=0.3):
    """Every line p wrote on its stderr pipe so far: reads until EOF, or
    until nothing came for `idle` seconds."""
    buf = _logs.setdefault(p.pid, [b""])
    fd = p.stderr.fileno()
    while True:
        r, _, _ = select.select([fd], [], [], idle)
        if not r:
            break
        d = os.read(fd, 65536)
        if not d:
            break
        buf[0] += d
    return [l for l in buf[0].decode(errors="replace").split("\n") if l]


def serve_one(port, data=b"", host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=10)
    if data:
        s.sendall(data)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
        if out.endswith(b"\n") and out.startswith(b"ENV "):
            break
    s.close()
    return out


def tls_client_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def listen_port(pid):
    """The port of the listening socket on fd 0 of pid (for a server whose
    stdout cannot tell)."""
    link = os.readlink("/proc/%d/fd/0" % pid)
    inode = link[len("socket:["):-1]
    return next((p for p, i in tcp_listeners() if i == inode), None)


def limit_fds_to_open(pid):
    """Set pid's soft RLIMIT_NOFILE just above its highest open descriptor:
    its next open, accept or pipe fails with EMFILE. (How many descriptors
    a server holds depends on the build: a signalfd, or a self-pipe.)"""
    import resource
    top = max(int(f) for f in os.listdir("/proc/%d/fd" % pid))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (top + 1, hard))
    return soft, hard
