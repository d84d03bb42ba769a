"""Helpers for the proxy-server tests: a byte-exact feeder that knows
when proxy-server has consumed what it was given, header builders, and a
haproxy runner."""
import array
import fcntl
import os
import socket
import struct
import subprocess
import termios
import time

import pytest

from conftest import base_env, free_port, need, prog
from util import read_all, recv_all, wait_listen

SIG = b"\r\n\r\n\x00\r\nQUIT\n"

# The handler proxy-server execs into: dump the environment, a marker,
# then echo the application's data, so a test sees both.
DUMP = ["sh", "-c", "env; echo ---; exec cat"]


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def tlv(t, v):
    return bytes([t]) + struct.pack(">H", len(v)) + v


def v2(cmd=1, fam=0x11, addr=b"", tlvs=b"", crc=False, length=None):
    if crc:
        tlvs = tlv(0x03, b"\0\0\0\0") + tlvs
    body = addr + tlvs
    h = SIG + bytes([0x20 | cmd, fam]) + struct.pack(">H", len(body) if length is None else length) + body
    if crc:
        i = 16 + len(addr) + 3
        h = h[:i] + struct.pack(">I", crc32c(h)) + h[i + 4:]
    return h


def inet4(src, dst, sport, dport):
    return socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst) + struct.pack(">HH", sport, dport)


def inet6(src, dst, sport, dport):
    return socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + struct.pack(">HH", sport, dport)


def unix(src, dst):
    return src.ljust(108, b"\0") + dst.ljust(108, b"\0")


def parse_dump(out):
    """Split a DUMP handler's output into (env dict, echoed data)."""
    head, sep, data = out.partition(b"---\n")
    assert sep, "handler output has no marker: %r" % out[:300]
    env = {}
    for line in head.decode("latin-1").splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    return env, data


def unread(fd):
    buf = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return buf[0]


class Fed:
    """proxy-server with its stdin on a socketpair (kind="socket") or a pipe
    (kind="pipe"). feed() can wait until proxy-server has consumed every
    byte given so far, so a header arrives split at exactly the places a
    test chooses, without sleeping."""

    def __init__(self, procs, args, kind="socket", env=None, prog_args=DUMP):
        self.kind = kind
        cmd = [prog("proxy-server")] + args + prog_args
        if kind == "socket":
            ours, theirs = socket.socketpair()
            self.w = ours
            self.r = ours
            self.child_in = theirs.fileno()
            self._keep = theirs
            p = procs.start(cmd, stdin=theirs, stdout=theirs, stderr=subprocess.PIPE,
                            env=env or base_env())
        else:
            rin, win = os.pipe()
            rout, wout = os.pipe()
            p = procs.start(cmd, stdin=rin, stdout=wout, stderr=subprocess.PIPE, env=env or base_env())
            os.close(wout)
            self.child_in = rin  # kept open here only to watch it drain
            self.win, self.rout = win, rout
        self.p = p

    def send(self, data):
        if self.kind == "socket":
            self.w.sendall(data)
        else:
            os.write(self.win, data)

    def wait_consumed(self, timeout=5):
        deadline = time.monotonic() + timeout
        while unread(self.child_in):
            if self.p.poll() is not None:
                return
            if time.monotonic() > deadline:
                pytest.fail("proxy-server did not consume its input")
            time.sleep(0.001)

    def feed(self, data, step=None):
        """Send data in pieces of `step` bytes, each consumed before the next."""
        if not step:
            self.send(data)
            return
        for i in range(0, len(data), step):
            self.send(data[i:i + step])
            self.wait_consumed()

    def finish(self, data=b"", timeout=10):
        """Send the application's data, close, and collect everything."""
        if data:
            self.send(data)
        if self.kind == "socket":
            self.w.shutdown(socket.SHUT_WR)
            self._keep.close()
            self.w.settimeout(timeout)
            out = recv_all(self.w, ignore=(socket.timeout, ConnectionResetError))
            self.w.close()
        else:
            os.close(self.win)
            os.close(self.child_in)
            out = read_all(self.rout)
            os.close(self.rout)
        rc = self.p.wait(timeout)
        err = self.p.stderr.read()
        return rc, out, err


def run_fed(procs, args, data, kind="socket", step=None, app=b"", env=None, prog_args=DUMP):
    f = Fed(procs, args, kind, env=env, prog_args=prog_args)
    f.feed(data, step)
    return f.finish(app)


def exchange(s, payload, timeout=10):
    """Send the application's payload and read until its echo is back
    after the environment dump."""
    s.sendall(payload)
    out = b""
    deadline = time.monotonic() + timeout
    while not (b"---\n" in out and out.split(b"---\n", 1)[1] == payload):
        if time.monotonic() > deadline:
            pytest.fail("no echo; got %r" % out[:500])
        d = s.recv(65536)
        if not d:
            break
        out += d
    return parse_dump(out)


# ---- haproxy ---------------------------------------------------------------

def start_backend(procs, args, host="127.0.0.1", server="tcpserver"):
    """proxy-server run per connection by a super-server: ucspi-tcp's
    tcpserver, or our s6-tcpserver; returns the port (both print it
    with -1)."""
    if server == "tcpserver":
        need("tcpserver")
        cmd = ["tcpserver", "-1", "-R", "-H", "-l", "localhost", host, "0"]
    else:
        cmd = [prog("s6-tcpserver"), "-1", host, "0"]
    p, port = procs.server(cmd + [prog("proxy-server")] + args + DUMP,
                           stderr=subprocess.PIPE, env=base_env())
    return port


def start_haproxy(procs, tmpdir, frontend_bind_extra, server_line, global_extra="", frontend_extra=""):
    """haproxy in the foreground with a TCP frontend on a free port.
    haproxy cannot report a port 0 binding, so a taken port is retried."""
    need("haproxy")
    for attempt in range(5):
        port = free_port()
        cfg = os.path.join(str(tmpdir), "haproxy-%d.cfg" % attempt)
        with open(cfg, "w") as f:
            f.write("""global
    maxconn 100
%s
defaults
    mode tcp
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d %s
%s
    default_backend be
backend be
    %s
""" % (global_extra, port, frontend_bind_extra, frontend_extra, server_line))
        p = procs.start(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if wait_listen(port, p):
            return port
        p.wait(5)
    pytest.fail("haproxy did not start: %r" % p.stderr.read())
