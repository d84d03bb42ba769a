"""TLS test fixtures: certificates generated once per test session with
the openssl CLI, and helpers to run our TLS programs against real peers."""
import os
import socket
import subprocess
import time

import pytest

from conftest import base_env, free_port, prog


def _ossl(*args, cwd):
    r = subprocess.run(("openssl",) + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if r.returncode:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr.decode()))


class Certs:
    """A CA, an unrelated CA, server certificates (EC P-256 and RSA-2048)
    for names, a wildcard, an expired one, a client certificate, DER
    copies and a chain through an intermediate CA."""

    def __init__(self, d):
        self.d = d
        self._key("ca", "ec")
        self._selfsigned("ca", "s6net test CA")
        self._key("otherca", "ec")
        self._selfsigned("otherca", "unrelated CA")
        self._key("inter", "ec")
        self._sign("inter", "s6net intermediate", "ca", isca=True)
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
        _ossl("x509", "-in", "server.pem", "-outform", "DER", "-out", "server.der", cwd=d)
        _ossl("pkey", "-in", "server.key", "-outform", "DER", "-out", "server.key.der", cwd=d)
        os.makedirs(self.p("cadir"), exist_ok=True)
        _ossl("x509", "-in", "ca.pem", "-outform", "DER", "-out", "cadir/anchor.der", cwd=d)

    def p(self, name):
        return os.path.join(self.d, name)

    def _key(self, name, kind):
        if kind == "rsa":
            _ossl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                  "-out", name + ".key", cwd=self.d)
        else:
            _ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-out", name + ".key", cwd=self.d)

    def _selfsigned(self, name, cn):
        _ossl("req", "-x509", "-new", "-key", name + ".key", "-out", name + ".pem",
              "-subj", "/CN=" + cn, "-days", "30", cwd=self.d)

    def _sign(self, name, cn, ca, sans=(), days=30, client=False, isca=False):
        _ossl("req", "-new", "-key", name + ".key", "-out", name + ".csr",
              "-subj", "/O=s6net/CN=" + cn, cwd=self.d)
        ext = []
        if isca:
            ext.append("basicConstraints=critical,CA:TRUE")
            ext.append("keyUsage=critical,keyCertSign,cRLSign")
        else:
            ext.append("basicConstraints=CA:FALSE")
            ext.append("extendedKeyUsage=" + ("clientAuth" if client else "serverAuth"))
            if sans:
                ext.append("subjectAltName=" + ",".join(sans))
        with open(self.p(name + ".ext"), "w") as f:
            f.write("\n".join(ext) + "\n")
        _ossl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
              "-set_serial", str(abs(hash(name)) % 1000000 + 2), "-days", str(days),
              "-extfile", name + ".ext", "-out", name + ".pem", cwd=self.d)

    def cert(self, name, cn, sans, kind="ec", days=30, client=False, ca="ca"):
        self._key(name, kind)
        self._sign(name, cn, ca, sans, days=days, client=client)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tlscerts"))
    return Certs(d)


def server_env(c, key="server", **extra):
    return base_env(KEYFILE=c.p(key + ".key"), CERTFILE=c.p(key + ".pem"), **extra)


def client_env(c, **extra):
    return base_env(CAFILE=c.p("ca.pem"), **extra)


def wait_port(host, port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.01)
    return False


def tcpserver(procs, args, env, host="127.0.0.1"):
    """Run args under ucspi-tcp tcpserver; returns (Popen, port). tcpserver
    cannot report a port-0 binding, so a free port is picked (and the start
    retried if another process took it meanwhile)."""
    for _ in range(5):
        port = free_port(host)
        p = procs.start(["tcpserver", "-R", "-H", "-l0", host, str(port)] + args,
                        env=env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and p.poll() is None:
            try:
                socket.create_connection((host, port), timeout=1).close()
                return p, port
            except OSError:
                time.sleep(0.005)
    pytest.fail("tcpserver did not start")


def wait_listen(port, proc, host="127.0.0.1", timeout=10):
    """Wait until something accepts on port without consuming a
    connection: poll /proc/net/tcp for a LISTEN socket."""
    want = ":%04X" % port
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for f in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(f) as fh:
                for line in fh.readlines()[1:]:
                    parts = line.split()
                    if parts[1].endswith(want) and parts[3] == "0A":
                        return True
        time.sleep(0.005)
    return False


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def keeper_pid(server_pid):
    """s6-tlsserver's keeper: forked before it became s6-tcpserverd."""
    for c in _children(server_pid):
        if _comm(c) == "s6-tls-keeper":
            return c
    return None


def zygote_pid(server_pid, timeout=10):
    """The zygote master (s6-tlsd-io -X), child of the keeper; waits for
    one to exist (it is restarted after a death)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        k = keeper_pid(server_pid)
        for c in _children(k) if k else []:
            try:
                if b"-X" in open("/proc/%d/cmdline" % c, "rb").read().split(b"\0"):
                    return c
            except OSError:
                pass
        time.sleep(0.01)
    return None


def zygote_workers(zpid, want=None, timeout=10):
    """The zygote's children; with want, wait until there are that many."""
    deadline = time.monotonic() + timeout
    while True:
        c = _children(zpid)
        if want is None or len(c) == want or time.monotonic() > deadline:
            return c
        time.sleep(0.01)


def start_tlsserver(procs, tmp_path, env, *opts, app=None):
    """s6-tlsserver on 127.0.0.1 port 0 with opts, its stderr appended to
    tmp_path/stderr; app defaults to a program that prints "ok".
    Returns (Popen, port)."""
    err = open(str(tmp_path / "stderr"), "ab")
    app = app or ["sh", "-c", "echo ok"]
    p, port = procs.server([prog("s6-tlsserver")] + list(opts) + ["-1", "--", "127.0.0.1", "0"] + app,
                           env=env, stderr=err)
    err.close()
    return p, port


def stderr_lines(tmp_path, needle):
    """The lines of tmp_path/stderr that contain needle."""
    with open(str(tmp_path / "stderr"), "rb") as f:
        return [l for l in f.read().decode(errors="replace").splitlines() if needle in l]
