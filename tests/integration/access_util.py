"""Fixtures for the access-control tests: rules directories, CDB dumps
decoded into comparable sets, a dnsmasq DNS server on loopback, a fake
IDENT server, and running s6-tcpserver-access directly under a UCSPI-like
environment."""
import os
import random
import select
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import base_env, free_port, need, prog, run
from conftest import skip_if_denied

ORACLE_C = "/usr/bin/s6-accessrules-cdb-from-fs"
ORACLE_D = "/usr/bin/s6-accessrules-fs-from-cdb"


def write_rules(root, rules):
    """rules: {"ip4/10.0.0.0_8": {"allow": True, "deny": False,
    "env": {"A": "1", "B": None (unset)}, "exec": "..."}}. Values of env
    entries may also be bytes, written verbatim."""
    os.makedirs(root, exist_ok=True)
    for key, r in rules.items():
        d = os.path.join(root, key)
        os.makedirs(d, exist_ok=True)
        for f in ("allow", "deny"):
            if r.get(f):
                open(os.path.join(d, f), "w").close()
        if "env" in r:
            e = os.path.join(d, "env")
            os.makedirs(e, exist_ok=True)
            for k, v in r["env"].items():
                with open(os.path.join(e, k), "wb") as fh:
                    if v is None:
                        pass
                    elif isinstance(v, bytes):
                        fh.write(v)
                    else:
                        fh.write(v.encode() + b"\n")
        if "exec" in r:
            data = r["exec"]
            with open(os.path.join(d, "exec"), "wb") as fh:
                fh.write(data if isinstance(data, bytes) else data.encode())
    return root


def compile_rules(root, cdb, ours=True, mode=None):
    args = [prog("s6-accessrules-cdb-from-fs") if ours else ORACLE_C]
    if mode:
        args += ["-m", mode]
    r = run(args + [cdb, root], env=base_env())
    assert r.returncode == 0, r.stderr
    return cdb


def cdb_dump(path):
    """Records of a CDB as a list of (key, value) bytes, via tinycdb."""
    need("cdb")
    r = run(["cdb", "-d", path])
    assert r.returncode == 0, r.stderr
    out, recs, i = r.stdout, [], 0
    while i < len(out) and out[i:i + 1] == b"+":
        comma = out.index(b",", i)
        colon = out.index(b":", comma)
        kl, dl = int(out[i + 1:comma]), int(out[comma + 1:colon])
        k = out[colon + 1:colon + 1 + kl]
        assert out[colon + 1 + kl:colon + 3 + kl] == b"->"
        v = out[colon + 3 + kl:colon + 3 + kl + dl]
        recs.append((k, v))
        i = colon + 3 + kl + dl + 1
    return recs


def decode_value(v):
    """A rule value as a comparable tuple; env order does not matter."""
    if v[:1] == b"D":
        return ("deny",)
    assert v[:1] == b"A", v
    e = struct.unpack(">H", v[1:3])[0]
    env = v[3:3 + e]
    x = struct.unpack(">H", v[3 + e:5 + e])[0]
    exe = v[5 + e:5 + e + x]
    assert len(v) == 5 + e + x
    return ("allow", frozenset(env.split(b"\0")[:-1]) if env else frozenset(), exe)


def rules_set(cdb):
    return {k: decode_value(v) for k, v in cdb_dump(cdb)}


def ucspi_env(ip="127.0.0.1", port=40000, localip="127.0.0.1", localport=1234, **extra):
    return base_env(PROTO="TCP", TCPREMOTEIP=ip, TCPREMOTEPORT=str(port),
                    TCPLOCALIP=localip, TCPLOCALPORT=str(localport), **extra)


def access(args, env=None, input=None, timeout=20):
    """Run s6-tcpserver-access with args (options then prog...)."""
    return run([prog("s6-tcpserver-access")] + list(args), env=env or ucspi_env(),
               input=input, timeout=timeout)


def envlines(out):
    env = {}
    for line in out.decode(errors="replace").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
    return env


# ---- DNS: dnsmasq on loopback ------------------------------------------------

def dns_query(port, name, qtype=12, timeout=0.2):
    """One UDP query; returns the reply or None. Used to wait for dnsmasq."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(q, ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
        return data
    except OSError:
        return None
    finally:
        s.close()


class Dns:
    def __init__(self, procs, records):
        """records: list of dnsmasq options such as
        "--ptr-record=1.0.0.127.in-addr.arpa,host.test"."""
        need("dnsmasq")
        for _ in range(5):
            self.port = free_port("127.0.0.1", socket.SOCK_DGRAM)
            self.p = procs.start(["dnsmasq", "-k", "--conf-file=/dev/null", "--no-hosts", "--no-resolv",
                                  "--port=%d" % self.port, "--listen-address=127.0.0.1",
                                  "--bind-interfaces", "--user=root", "--pid-file="] + records,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            for _ in range(200):
                if self.p.poll() is not None or time.monotonic() > deadline:
                    break
                if dns_query(self.port, "1.0.0.127.in-addr.arpa"):
                    return
            if self.p.poll() is None:
                break
        pytest.fail("dnsmasq did not start")

    def env(self, **kw):
        return ucspi_env(DNSCACHEIP="127.0.0.1:%d" % self.port, **kw)


class SilentDns:
    """A UDP socket that never answers: every query times out."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]

    def env(self, **kw):
        return ucspi_env(DNSCACHEIP="127.0.0.1:%d" % self.port, **kw)

    def close(self):
        self.s.close()


# ---- IDENT: a fake server on ADDR:113 ----------------------------------------

class Identd:
    """IDENT is always on port 113 of the client's address, so this binds
    port 113 on a random 127/8 address of its own (nothing else uses it).
    answer: a function (query line) -> reply line, or None to close."""

    def __init__(self, answer):
        self.answer = answer
        self.queries = []
        for _ in range(20):
            self.addr = "127.%d.%d.%d" % (random.randrange(1, 255), random.randrange(1, 255), random.randrange(2, 255))
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((self.addr, 113))
                break
            except OSError as e:
                s.close()
                skip_if_denied(e, "binds port 113 (IDENT)")
        else:
            pytest.fail("no free loopback address for an IDENT server")
        s.listen(8)
        self.s = s
        self.stop = False
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        for _ in range(100):
            if self.stop:
                return
            r, _, _ = select.select([self.s], [], [], 0.1)
            if not r:
                continue
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            with c:
                c.settimeout(5)
                data = b""
                try:
                    while b"\n" not in data and len(data) < 1000:
                        d = c.recv(1000)
                        if not d:
                            break
                        data += d
                except OSError:
                    continue
                line = data.decode(errors="replace").strip()
                self.queries.append(line)
                rep = self.answer(line)
                if rep is not None:
                    try:
                        c.sendall(rep.encode() + b"\r\n")
                    except OSError:
                        pass

    def close(self):
        self.stop = True
        self.t.join(5)
        self.s.close()
