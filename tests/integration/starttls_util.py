"""Helpers for the UCSPI-TLS (s6-ucspitlsd / s6-ucspitlsc) tests.

Certificates are the certs fixture (conftest.py). The applications are
the example scripts in examples/starttls-service/ and the scriptable
starttls_app.py, which writes what it observes into a report file."""
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, base_env, prog
from util import is_acceptor

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "starttls_app.py")
EXAMPLE = os.path.join(ROOT, "examples", "starttls-service")


def app(role, *steps):
    return [sys.executable, APP, role] + list(steps)


def example(name):
    return os.path.join(EXAMPLE, name)


class Report:
    """The lines an application appended to its report file."""

    def __init__(self, tmp_path, name="report"):
        self.path = str(tmp_path / name)

    def lines(self):
        try:
            with open(self.path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def wait(self, prefix, timeout=15):
        """The first line starting with prefix, waiting for it with a
        deadline; fails the test if it never comes."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines():
                if line.startswith(prefix):
                    return line
            if time.monotonic() > deadline:
                pytest.fail("no %r in report: %r" % (prefix, self.lines()))
            time.sleep(0.01)

    def has(self, prefix):
        return any(line.startswith(prefix) for line in self.lines())


def group_members(pgid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state, [2] the process group.
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(d))
    return out


def wait_group(pgid, keep=(), timeout=15):
    """Wait until the only live processes of the group are in keep (idle
    acceptors of s6-tcpserverd left out: they are the server's, not a
    connection's)."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in group_members(pgid) if p not in keep and not is_acceptor(p)]
        if not left:
            return
        if time.monotonic() > deadline:
            names = []
            for p in left:
                try:
                    names.append(open("/proc/%d/cmdline" % p).read().replace("\0", " "))
                except OSError:
                    pass
            pytest.fail("processes left behind: %r" % names)
        time.sleep(0.01)


def ucspid(procs, opts, cmd, env):
    """s6-tcpserver -1 on 127.0.0.1 port 0 running s6-ucspitlsd opts -- cmd.
    Returns (Popen, port)."""
    args = [prog("s6-tcpserver"), "-1", "127.0.0.1", "0", prog("s6-ucspitlsd")] + list(opts) + ["--"] + cmd
    return procs.server(args, env=env, stderr=subprocess.PIPE)


def server_env(c, report=None, **extra):
    env = base_env(KEYFILE=c.p("server.key"), CERTFILE=c.p("server.pem"), **extra)
    if report:
        env["STARTTLS_REPORT"] = report.path
    return env


def client_ctx(c, cert=None):
    ctx = ssl.create_default_context(cafile=c.p("ca.pem"))
    if cert:
        ctx.load_cert_chain(c.p(cert + ".pem"), c.p(cert + ".key"))
    return ctx


class Line:
    """A cleartext line client that never reads past the line it wants,
    so nothing of the TLS handshake is swallowed before the upgrade."""

    def __init__(self, port, timeout=15):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def readline(self):
        buf = b""
        while not buf.endswith(b"\n"):
            c = self.s.recv(1)
            if not c:
                break
            buf += c
        return buf.rstrip(b"\r\n").decode()

    def send(self, line):
        self.s.sendall(line.encode() + b"\r\n")

    def reply(self):
        """A whole SMTP-style reply: the list of its lines."""
        out = []
        while True:
            line = self.readline()
            out.append(line)
            if len(line) < 4 or line[3] != "-":
                return out

    def starttls(self, ctx, name="localhost"):
        self.s = ctx.wrap_socket(self.s, server_hostname=name)
        return self.s

    def close(self):
        self.s.close()


def tls_half_close(s):
    """Send EOF under an SSLSocket without close_notify (the engines run
    with -j, so they take it as the end of the data), keeping the TLS
    session readable."""
    socket.socket.shutdown(s, socket.SHUT_WR)


def tls_exchange(s, data, timeout=60):
    """Send data then EOF (as tls_half_close) while reading everything the
    peer sends until its EOF, on one thread: an SSL object must not be
    read and written by two threads at once."""
    import select
    s.setblocking(False)
    view = memoryview(data)
    out = bytearray()
    shut = False
    deadline = time.monotonic() + timeout
    while True:
        progress = False
        if view:
            try:
                n = s.send(view[:65536])
                view = view[n:]
                progress = True
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        elif not shut:
            tls_half_close(s)
            shut = progress = True
        try:
            d = s.recv(262144)
            if not d:
                break
            out += d
            progress = True
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except (ssl.SSLEOFError, ConnectionResetError):
            break
        if progress or s.pending():
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail("tls_exchange: timed out with %d bytes unsent" % len(view))
        select.select([s], [s] if view else [], [], min(left, 1.0))
    s.setblocking(True)
    return bytes(out)


class StarttlsPeer:
    """A cleartext-then-TLS server built on Python's ssl module (OpenSSL),
    for s6-ucspitlsc: greets with 220, answers STARTTLS with 220, then
    does the server side of the handshake. mode: "echo" (echo until EOF,
    then half-close), "hang" (never start the handshake), "refuse"
    (answer STARTTLS with 454 and close)."""

    def __init__(self, c, mode="echo", cert="server", require_client=False):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(c.p(cert + ".pem"), c.p(cert + ".key"))
        if require_client:
            self.ctx.load_verify_locations(c.p("ca.pem"))
            self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.mode = mode
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.ls.settimeout(20)
        self.port = self.ls.getsockname()[1]
        self.error = None
        self.received = 0
        self.peercert = None
        self.sni = None
        self.done = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _sni(self, sslobj, name, ctx):
        self.sni = name

    def _run(self):
        try:
            conn, _ = self.ls.accept()
            conn.settimeout(20)
            lc = Line.__new__(Line)
            lc.s = conn
            lc.send("220 peer ready")
            while True:
                line = lc.readline()
                if not line:
                    return
                if line.upper().startswith("STARTTLS"):
                    break
                lc.send("250 " + line)
            if self.mode == "refuse":
                lc.send("454 TLS not available")
                conn.close()
                return
            lc.send("220 go ahead")
            if self.mode == "hang":
                # Never answer the ClientHello; wait for the client to go.
                while conn.recv(65536):
                    pass
                conn.close()
                return
            self.ctx.sni_callback = self._sni
            s = self.ctx.wrap_socket(conn, server_side=True)
            self.peercert = s.getpeercert()
            total = 0
            while True:
                try:
                    d = s.recv(262144)
                except (ssl.SSLEOFError, ConnectionResetError):
                    break
                if not d:
                    break
                total += len(d)
                s.sendall(d)
            self.received = total
            tls_half_close(s)
            # Wait for the client's side to go away before closing.
            try:
                while s.recv(65536):
                    pass
            except (ssl.SSLError, OSError):
                pass
            s.close()
        except Exception as e:  # reported to the test through self.error
            self.error = e
        finally:
            self.done.set()

    def finish(self, timeout=20):
        self.done.wait(timeout)
        self.ls.close()
        return self.error


def ucspic(port, opts, cmd, env, procs):
    """Our s6-tcpclient to 127.0.0.1:port, then s6-ucspitlsc opts -- cmd."""
    args = [prog("s6-tcpclient"), "127.0.0.1", str(port), prog("s6-ucspitlsc")] + list(opts) + ["--"] + cmd
    return procs.start(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
