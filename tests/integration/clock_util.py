"""Fixtures for the clock tests: a scriptable SNTP / TAICLOCK server, the
12-byte clock pipe decoder, and a safe way to run s6-clockadd.

The machine clock is never changed: s6-clockadd always runs with the
shim_clock.so preload (which records the requested time instead) AND
without CAP_SYS_TIME (setpriv drops it), so even a shim that failed to load
could not step the clock.
"""
import os
import pwd
import select
import socket
import struct
import threading
import time

import pytest

from conftest import SANITIZE, helper, need, prog, run, base_env

NTP_DELTA = 2208988800
TAI_UTC = 37  # since 2017-01-01; the leap table test guards this
NO_SYS_TIME = ["setpriv", "--bounding-set=-sys_time", "--inh-caps=-sys_time"]


def decode_adj(b):
    """The 12-byte adjustment as float seconds (two's complement + nanos)."""
    assert len(b) == 12, b
    sec, nano = struct.unpack(">qI", b)
    assert nano < 10**9
    return sec + nano / 1e9


def encode_adj(seconds, nano=None):
    if nano is None:
        whole = int(seconds // 1)
        nano = int(round((seconds - whole) * 1e9))
        if nano >= 10**9:
            whole, nano = whole + 1, nano - 10**9
        seconds = whole
    return struct.pack(">qI", seconds, nano)


def ntp_ts(t):
    sec = int(t // 1)
    frac = int((t - sec) * 2**32) & 0xffffffff
    return (((sec + NTP_DELTA) & 0xffffffff) << 32) | frac


class UdpServer:
    """A UDP peer on loopback port 0, answering in a thread through
    handler(data, addr, server) -> list of datagrams to send back. Tests
    start them with the udp_server fixture (conftest.py)."""

    def __init__(self, handler, host="127.0.0.1"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.requests = []  # (monotonic arrival time, bytes)
        self.state = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop.is_set():
            r, _, _ = select.select([self.sock], [], [], 0.05)
            if not r:
                continue
            data, addr = self.sock.recvfrom(4096)
            self.requests.append((time.monotonic(), data))
            for out in self.handler(data, addr, self):
                self.sock.sendto(out, addr)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def sntp_reply(req, offset=0.0, mode=4, stratum=2, li=0, vn=4, origin=None,
               recv=None, xmit=None, root_delay=0, root_disp=0, refid=b"TEST"):
    """Build a reply to req as a server whose clock is ours + offset."""
    now = time.time() + offset
    if origin is None:
        origin = struct.unpack(">Q", req[40:48])[0]
    if recv is None:
        recv = ntp_ts(now)
    if xmit is None:
        xmit = ntp_ts(time.time() + offset)
    return struct.pack(">BBbbII4sQQQQ", (li << 6) | (vn << 3) | mode, stratum, 4, -20,
                       root_delay, root_disp, refid, 0, origin, recv, xmit)


def sntp_handler(**kw):
    def h(data, addr, srv):
        if len(data) < 48:
            return []
        return [sntp_reply(data, **kw)]
    return h


def tai_reply(req, offset=0.0, magic=b"stai", cookie=None, nano=None):
    now = time.time() + offset + TAI_UTC
    sec = int(now // 1)
    if nano is None:
        nano = int((now - sec) * 1e9)
    body = magic + struct.pack(">QII", (1 << 62) + sec, nano, 0)
    return body + (cookie if cookie is not None else req[20:28])


def sntpclock(args, timeout=30):
    return run([prog("s6-sntpclock")] + args, timeout=timeout)


def taiclock(args, timeout=30):
    return run([prog("s6-taiclock")] + args, timeout=timeout)


def clockadd(args, stdin, tmp_path, errno_=None):
    """Run s6-clockadd safely; returns (CompletedProcess, recorded lines)."""
    need("setpriv")
    rec = tmp_path / "clock.rec"
    if rec.exists():
        rec.unlink()
    env = base_env(LD_PRELOAD=helper("shim_clock.so"), S6NET_SHIM_CLOCK_FILE=str(rec))
    if SANITIZE:
        # A preload ahead of the ASan runtime is fine for this shim.
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    if errno_ is not None:
        env["S6NET_SHIM_CLOCK_ERRNO"] = str(errno_)
    r = run(NO_SYS_TIME + [prog("s6-clockadd")] + args, input=stdin, env=env)
    lines = rec.read_text().splitlines() if rec.exists() else []
    return r, lines


def have_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def start_chronyd(procs, tmp_path, attempts=5):
    """chronyd as an NTP server on 127.0.0.1 that never touches the clock:
    -x (no clock control), no sources, and started without CAP_SYS_TIME.
    Returns its port once it answers an SNTP request."""
    need("chronyd")
    need("setpriv")
    from conftest import free_port
    for _ in range(attempts):
        port = free_port(kind=socket.SOCK_DGRAM)
        conf = tmp_path / "chrony.conf"
        conf.write_text(
            "port %d\nbindaddress 127.0.0.1\nlocal stratum 8\nallow 127.0.0.1\n"
            "cmdport 0\nbindcmdaddress /\ndriftfile %s\npidfile %s\n"
            % (port, tmp_path / "drift", tmp_path / "chronyd.pid"))
        # A chronyd unpacked privately (tools/install-deps.sh) has no
        # _chrony account to drop to: it then keeps the test's ids.
        user = [] if have_user("_chrony") else ["-u", pwd.getpwuid(os.geteuid()).pw_name]
        p = procs.start(NO_SYS_TIME + ["chronyd", "-x", "-d"] + user + ["-f", str(conf)],
                        stdout=open(tmp_path / "chronyd.log", "ab"),
                        stderr=open(tmp_path / "chronyd.log", "ab"))
        if wait_sntp(port, p):
            return port
    pytest.fail("chronyd did not start: %s" % (tmp_path / "chronyd.log").read_text())


def wait_sntp(port, proc, timeout=10):
    """Poll chronyd with SNTP requests until it answers (bounded)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            req = bytes([0x23]) + bytes(39) + struct.pack(">Q", ntp_ts(time.time()))
            s.sendto(req, ("127.0.0.1", port))
            r, _, _ = select.select([s], [], [], 0.2)
            if r:
                try:
                    data = s.recv(512)
                except ConnectionRefusedError:
                    continue
                if len(data) >= 48 and data[1] != 0 and data[0] >> 6 != 3:
                    return True
        return False
    finally:
        s.close()
