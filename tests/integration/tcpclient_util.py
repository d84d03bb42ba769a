"""Peers for the s6-tcpclient / s6-ident-client tests: TCP listeners,
black holes, a dnsmasq on loopback and a scriptable IDENT server.

Everything binds loopback addresses only. Addresses in 127.0.0.0/8 other
than 127.0.0.1 are used so that the DNS records (PTR) of a test do not
depend on what 127.0.0.1 is called on the machine."""
import random
import select
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import base_env, free_port, need, prog
from conftest import skip_if_denied


def listener(host="127.0.0.1", port=0, backlog=16):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(backlog)
    return s


def accept(s, timeout=10):
    s.settimeout(timeout)
    c, addr = s.accept()
    c.settimeout(timeout)
    return c, addr


def accept_unless_exited(srv, p, timeout=20):
    """Accept one connection on srv and close it, unless process p exits
    first (then None). Returns the peer address."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([srv], [], [], 0.05)
        if r:
            c, peer = srv.accept()
            c.close()
            return peer
        if p.poll() is not None:
            return None
    pytest.fail("no connection and no exit within %ss" % timeout)


def env_of(out):
    """Parse the output of `env -0` into a dict."""
    d = {}
    for item in out.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            d[k.decode()] = v.decode()
    return d


def black_hole(host="127.0.0.1", port=0):
    """A listening socket whose accept queue is full: further SYNs are
    dropped, so a connection attempt to it never completes. Returns
    (listener, fillers). Checks that a probe really hangs."""
    s = listener(host, port, backlog=0)
    port = s.getsockname()[1]
    fam = s.family
    fillers = []
    for _ in range(8):
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect((host, port))
        except BlockingIOError:
            pass
        fillers.append(c)
        _, w, _ = select.select([], [c], [], 0.3)
        if not w:
            break   # this one is stuck: the queue is full
    else:
        pytest.fail("could not fill the accept queue of a black hole")
    return s, fillers


def loopback_addr(prefix=None):
    """A random 127.x.y.z address (never 127.0.0.1)."""
    if prefix is None:
        prefix = "127.%d.%d" % (random.randint(100, 250), random.randint(0, 255))
    return "%s.%d" % (prefix, random.randint(2, 250))


# ---- DNS -------------------------------------------------------------------

def _query(name, qtype=1):
    qid = random.randint(0, 65535)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    return qid, q


class Dnsmasq:
    """dnsmasq on 127.0.0.1, a free port, answering only from its records:
    names under .test and reverse names it does not know are NXDOMAIN."""

    def __init__(self, procs, records):
        need("dnsmasq")
        self.procs = procs
        for _ in range(5):
            self.port = free_port("127.0.0.1", socket.SOCK_DGRAM)
            args = ["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                    "--pid-file=", "--port=%d" % self.port, "--listen-address=127.0.0.1",
                    "--bind-interfaces", "--local=/test/", "--local=/in-addr.arpa/",
                    "--local=/ip6.arpa/"]
            args += records
            self.proc = procs.start(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if self._ready():
                return
            self.proc.kill()
        pytest.fail("dnsmasq did not start")

    def _ready(self, timeout=10):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                qid, q = _query("probe.test")
                s.sendto(q, ("127.0.0.1", self.port))
                r, _, _ = select.select([s], [], [], 0.2)
                if r:
                    data = s.recv(512)
                    if data[:2] == q[:2]:
                        return True
            return False
        finally:
            s.close()

    @property
    def servers(self):
        return "127.0.0.1:%d" % self.port

    def env(self, **extra):
        return base_env(DNSCACHEIP=self.servers, **extra)


# ---- IDENT -------------------------------------------------------------------

class IdentServer:
    """An IDENT server on addr:113 run in a thread. handler(conn, query)
    does whatever it likes with the connection; query is the first line
    received (bytes, CRLF included) or None."""

    def __init__(self, handler, addr=None):
        self.handler = handler
        self.queries = []
        self.stop = threading.Event()
        for _ in range(20):
            self.addr = addr or loopback_addr()
            try:
                self.sock = listener(self.addr, 113)
                break
            except OSError as e:
                skip_if_denied(e, "binds port 113 (IDENT)")
                if addr:
                    raise
        else:
            pytest.fail("no free loopback address for an IDENT server")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                c.settimeout(5)
                q = b""
                while b"\n" not in q and len(q) < 1000:
                    d = c.recv(100)
                    if not d:
                        break
                    q += d
                self.queries.append(q)
                self.handler(c, q, self.stop)
            except OSError:
                pass
            finally:
                c.close()

    def close(self):
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


def ports_of(query):
    """(rport, lport) of a query line."""
    a, b = query.decode().strip().split(",")
    return int(a), int(b)


def reply(text):
    """A handler sending text (a str with {r} and {l} for the queried ports)."""
    def h(c, q, stop):
        r, l = ports_of(q)
        c.sendall(text.format(r=r, l=l).encode("latin-1"))
    return h


def ident_client(*args, timeout=20):
    return subprocess.run([prog("s6-ident-client")] + [str(a) for a in args], env=base_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
