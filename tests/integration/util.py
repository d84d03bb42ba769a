"""Helpers shared by the integration and stress suites: waiting for a
condition, the processes of a server (from /proc), reading a socket to
its end, listening sockets (from /proc), and the test certificates.

Fixtures live in conftest.py; this module has none, and imports nothing
from conftest, so that conftest can use it (the certs fixture) and
tests/stress can import it as it is.
"""
import os
import ssl
import subprocess
import time


# ---- waiting --------------------------------------------------------------


def wait_until(cond, timeout=10.0, step=0.01):
    """Call cond() every `step` seconds until it returns a true value, for
    at most `timeout` seconds (and a bounded number of calls).

    Returns the first true value cond() returned (so a caller can wait
    for a value: `pid = wait_until(lambda: read_pid())`), or, at the
    deadline, what one last call returns: false unless the condition
    came true at the very end. Use it as `assert wait_until(...)`."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / step) + 1):
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            break
        time.sleep(step)
    return cond()


# ---- processes ------------------------------------------------------------

# s6-tcpserverd keeps idle acceptors (processes waiting in accept() for the
# next connection) under this process name; they are not connections.
ACCEPTOR_COMM = "s6-tcp-acceptor"
SERVER_COMM = "s6-tcpserverd"


def comm(pid):
    """A process's name (/proc/PID/comm), None once it is gone."""
    try:
        with open("/proc/%d/comm" % int(pid)) as f:
            return f.read().strip()
    except OSError:
        return None


def is_acceptor(pid):
    return comm(pid) == ACCEPTOR_COMM


def state(pid):
    """The state letter of pid (R, S, T, Z, ...), None once it is gone."""
    # A process reaped between open() and read() fails the read with ESRCH.
    try:
        with open("/proc/%d/stat" % int(pid)) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid):
    """pid exists and is not a zombie."""
    s = state(pid)
    return s is not None and s != "Z"


def unnamed_children(pid, kids):
    """Those of kids (children of pid) that s6-tcpserverd has just cloned
    or forked and that are still live and named like it: an acceptor that
    has not named itself s6-tcp-acceptor yet, or a connection's child
    before its exec. Either would be miscounted (an acceptor taken for a
    connection); they last microseconds. Empty for any other parent."""
    if comm(pid) != SERVER_COMM:
        return []
    return [c for c in kids if comm(c) == SERVER_COMM and alive(c)]


def settled(pid, list_children, timeout=2.0):
    """list_children() again until none of its children is unnamed
    (unnamed_children), at most `timeout` seconds; returns the last list.
    list_children returns pids or (pid, ...) tuples."""
    deadline = time.monotonic() + timeout
    for _ in range(10000):
        kids = list_children()
        pids = [k[0] if isinstance(k, tuple) else k for k in kids]
        if not unnamed_children(pid, pids) or time.monotonic() >= deadline:
            return kids
        time.sleep(0.001)
    return kids


def _child_pids(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def children(pid, acceptors=False, states=False):
    """The children of pid, live or zombie, once any that s6-tcpserverd
    has just started are named (settled). Without acceptors=True, the
    idle acceptors of s6-tcpserverd are left out: what remains are its
    connections. Pids, or (pid, state) pairs with states=True (a child
    gone meanwhile is left out)."""
    pids = settled(pid, lambda: _child_pids(pid))
    if not acceptors:
        pids = [c for c in pids if not is_acceptor(c)]
    if not states:
        return pids
    out = []
    for c in pids:
        s = state(c)
        if s is not None:
            out.append((c, s))
    return out


def acceptors(pid):
    """Pids of the idle acceptors of the s6-tcpserverd pid."""
    return [c for c in children(pid, acceptors=True) if is_acceptor(c)]


def processes(uid):
    """Pids of every process whose /proc entry is owned by uid (its
    effective uid, when it is dumpable), idle acceptors left out."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.stat("/proc/" + d).st_uid != uid:
                continue
        except OSError:
            continue
        if not is_acceptor(d):
            out.append(int(d))
    return out


# ---- sockets --------------------------------------------------------------


def recv_all(s, limit=1 << 27, ignore=()):
    """Everything s receives until EOF (or `limit` bytes). Exceptions in
    `ignore` end the read as EOF would: e.g. (ssl.SSLEOFError,
    ConnectionResetError) for a peer that may close without close_notify
    or with unread data. Timeouts are the socket's own."""
    out = bytearray()
    while len(out) < limit:
        try:
            d = s.recv(1 << 18)
        except ignore:
            break
        if not d:
            break
        out += d
    return bytes(out)


def read_all(fd, limit=1 << 27):
    """Everything read from the file descriptor fd (a pipe) until EOF, or
    `limit` bytes."""
    out = bytearray()
    while len(out) < limit:
        d = os.read(fd, 1 << 16)
        if not d:
            break
        out += d
    return bytes(out)


# Where a peer may end a TLS stream without close_notify, or reset it.
ABRUPT_EOF = (ssl.SSLEOFError, ConnectionResetError)


def tcp_listeners():
    """(port, inode) of every listening TCP socket of the machine, from
    /proc/net/tcp and tcp6: no connection is made to find them."""
    out = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A":
                out.append((int(parts[1].rsplit(":", 1)[1], 16), parts[9]))
    return out


def wait_listen(port, proc, timeout=10):
    """Wait until something listens on port (without connecting to it)
    while proc runs; False if proc exits or the time runs out."""
    return bool(wait_until(lambda: proc.poll() is not None or any(p == port for p, _ in tcp_listeners()),
                           timeout=timeout, step=0.005)) and proc.poll() is None


def listen_inode(port):
    """The inode of the socket listening on port, None if none."""
    return next((i for p, i in tcp_listeners() if p == port), None)


# ---- certificates ---------------------------------------------------------


def ossl(*args, cwd):
    """Run the openssl CLI in cwd; raise with its stderr if it fails."""
    r = subprocess.run(("openssl",) + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if r.returncode:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr.decode()))


class Certs:
    """The test PKI, made with the openssl CLI in directory d: a CA, an
    unrelated CA, an intermediate CA, and these keys (NAME.key) and
    certificates (NAME.pem) signed by the CA:
      server, rsa (RSA-2048)  localhost, 127.0.0.1 (server also ::1)
      a, b                    a.example.com, b.example.com
      wild                    *.wild.example.com
      expired                 localhost, expired yesterday
      client                  a client certificate, CN "test client"
      stranger                localhost, signed by the unrelated CA
      leaf                    chain.example.com through the intermediate
                              (chain.pem: leaf + intermediate)
    plus DER copies (server.der, server.key.der, cadir/anchor.der).
    cert() makes more, here or in another directory. The session-wide set
    is the `certs` fixture (conftest.py)."""

    def __init__(self, d):
        self.d = d
        self._key("ca", "ec", d)
        self._selfsigned("ca", "s6net test CA")
        self._key("otherca", "ec", d)
        self._selfsigned("otherca", "unrelated CA")
        self._key("inter", "ec", d)
        self._sign("inter", "s6net intermediate", "ca", d, isca=True)
        self.cert("server", "localhost", ["DNS:localhost", "IP:127.0.0.1", "IP:::1"])
        self.cert("rsa", "localhost", ["DNS:localhost", "IP:127.0.0.1"], kind="rsa")
        self.cert("a", "a.example.com", ["DNS:a.example.com"])
        self.cert("b", "b.example.com", ["DNS:b.example.com"])
        self.cert("wild", "*.wild.example.com", ["DNS:*.wild.example.com"])
        self.cert("expired", "localhost", ["DNS:localhost", "IP:127.0.0.1"], days=-1)
        self.cert("client", "test client", [], client=True)
        self.cert("stranger", "localhost", ["DNS:localhost", "IP:127.0.0.1"], ca="otherca")
        self.cert("leaf", "chain.example.com", ["DNS:chain.example.com", "IP:127.0.0.1"], ca="inter")
        with open(self.p("chain.pem"), "wb") as f:
            f.write(open(self.p("leaf.pem"), "rb").read() + open(self.p("inter.pem"), "rb").read())
        ossl("x509", "-in", "server.pem", "-outform", "DER", "-out", "server.der", cwd=d)
        ossl("pkey", "-in", "server.key", "-outform", "DER", "-out", "server.key.der", cwd=d)
        os.makedirs(self.p("cadir"), exist_ok=True)
        ossl("x509", "-in", "ca.pem", "-outform", "DER", "-out", "cadir/anchor.der", cwd=d)

    def p(self, name):
        return os.path.join(self.d, name)

    def cert(self, name, cn, sans, kind="ec", days=30, client=False, ca="ca", d=None):
        """A new key NAME.key (kind "ec": P-256, "rsa": 2048 bits) and its
        certificate NAME.pem for cn with the subjectAltNames sans (e.g.
        "DNS:localhost", "IP:127.0.0.1"), a server certificate or with
        client=True a client one, valid `days` days (negative: expired),
        signed by the CA `ca` of this set. Made in this set's directory,
        or in d. Returns (key path, certificate path)."""
        d = d or self.d
        self._key(name, kind, d)
        self._sign(name, cn, ca, d, sans, days=days, client=client)
        return os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")

    def with_key(self, name, d=None):
        """NAME.pem followed by NAME.key in one file, NAME.crtkey (the
        form haproxy's `crt` takes); returns its path."""
        d = d or self.d
        out = os.path.join(d, name + ".crtkey")
        with open(out, "wb") as f:
            for part in (name + ".pem", name + ".key"):
                with open(os.path.join(d, part), "rb") as g:
                    f.write(g.read())
        return out

    def _key(self, name, kind, d):
        if kind == "rsa":
            ossl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                 "-out", name + ".key", cwd=d)
        else:
            ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", name + ".key", cwd=d)

    def _selfsigned(self, name, cn):
        ossl("req", "-x509", "-new", "-key", name + ".key", "-out", name + ".pem",
             "-subj", "/CN=" + cn, "-days", "30", cwd=self.d)

    def _sign(self, name, cn, ca, d, sans=(), days=30, client=False, isca=False):
        ossl("req", "-new", "-key", name + ".key", "-out", name + ".csr",
             "-subj", "/O=s6net/CN=" + cn, cwd=d)
        ext = []
        if isca:
            ext.append("basicConstraints=critical,CA:TRUE")
            ext.append("keyUsage=critical,keyCertSign,cRLSign")
        else:
            ext.append("basicConstraints=CA:FALSE")
            ext.append("extendedKeyUsage=" + ("clientAuth" if client else "serverAuth"))
            if sans:
                ext.append("subjectAltName=" + ",".join(sans))
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("\n".join(ext) + "\n")
        ossl("x509", "-req", "-in", name + ".csr", "-CA", self.p(ca + ".pem"), "-CAkey", self.p(ca + ".key"),
             "-set_serial", str(abs(hash((d, name))) % 1000000 + 2), "-days", str(days),
             "-extfile", name + ".ext", "-out", name + ".pem", cwd=d)
