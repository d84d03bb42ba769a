"""Helpers for the service-manager tests: systemd socket activation with
systemd-socket-activate, and a NOTIFY_SOCKET listener (sd_notify)."""
import os
import select
import socket
import subprocess
import tempfile

import pytest

from conftest import base_env, helper, need, read_line
from util import recv_all

ACTIVATE = "systemd-socket-activate"


def env_handler():
    """A handler that prints its whole environment (env), then the
    UCSPI variables and its open fds (tcpsrv_handler env)."""
    return ["sh", "-c", 'env; exec "$0" env', helper("tcpsrv_handler")]


def parse(out):
    """KEY=VALUE lines into a dict; 'fds:' into a sorted list."""
    d = {}
    for line in out.decode().splitlines():
        if line.startswith("fds:"):
            d["fds"] = sorted(int(x) for x in line[4:].split())
        elif "=" in line:
            k, v = line.split("=", 1)
            d.setdefault(k, v)
    return d


def _probe_port(host):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _listen_arg(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def activate(procs, listens, argv, env=None, extra=()):
    """Run argv under systemd-socket-activate listening on each of
    listens (a UNIX path, or (host, None) for a TCP port picked here).
    systemd-socket-activate cannot report a port 0 binding, so the port
    comes from a probe socket, and the start is retried (bounded) when
    another process took it meanwhile. Returns (Popen, addresses): once
    it returns, the sockets listen; argv is started at the first
    connection. stdout and stderr are pipes."""
    need(ACTIVATE)
    for _ in range(10):
        addrs, args = [], [ACTIVATE]
        for l in listens:
            if isinstance(l, tuple):
                a = (l[0], _probe_port(l[0]))
                args += ["-l", _listen_arg(*a)]
            else:
                a = l
                args += ["-l", l]
            addrs.append(a)
        p = procs.start(args + list(extra) + list(argv), env=env or base_env(),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines = []
        while len(lines) < len(listens):
            line = read_line(p.stderr, 10)
            if line is None:
                break
            if line.startswith("Listening on"):
                lines.append(line)
            elif "already in use" in line:
                break
        if len(lines) == len(listens):
            return p, addrs
        p.kill()
        p.wait(5)
    pytest.fail("systemd-socket-activate did not start")


def connect_to(addr, timeout=10):
    if isinstance(addr, tuple):
        fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    else:
        fam = socket.AF_UNIX
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(addr)
    return s


def fetch(addr, timeout=10):
    s = connect_to(addr, timeout)
    try:
        return recv_all(s)
    finally:
        s.close()


class Notify:
    """An AF_UNIX datagram socket for NOTIFY_SOCKET: a path in a fresh
    directory, or (abstract=True) an abstract name, given as '@name'."""

    def __init__(self, abstract=False):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.dir = None
        if abstract:
            name = "s6net-notify-%d-%s" % (os.getpid(), os.urandom(6).hex())
            self.s.bind("\0" + name)
            self.value = "@" + name
        else:
            self.dir = tempfile.mkdtemp(prefix="s6net-notify-")
            self.value = os.path.join(self.dir, "notify")
            self.s.bind(self.value)

    def recv(self, timeout=10):
        r, _, _ = select.select([self.s], [], [], timeout)
        return self.s.recv(4096) if r else None

    def pending(self):
        """A datagram already queued, or None (no waiting)."""
        r, _, _ = select.select([self.s], [], [], 0)
        return self.s.recv(4096) if r else None

    def close(self):
        self.s.close()
        if self.dir:
            os.unlink(self.value)
            os.rmdir(self.dir)
