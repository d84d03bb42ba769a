"""Helpers for the s6-tcpserver tests: start a server, talk to it with a
real UCSPI client (socat, ucspi-tcp's tcpclient), read its log lines."""
import os
import select
import subprocess
import time

from conftest import base_env, helper, need, prog, read_line

LOOP = {"4": "127.0.0.1", "6": "::1"}


def handler(*args):
    return [helper("tcpsrv_handler")] + list(args)


def start(procs, args, env=None, **kw):
    """Start s6-tcpserver (or any server given with -1) and return
    (Popen, port). stderr is piped so log lines can be read."""
    kw.setdefault("stderr", subprocess.PIPE)
    return procs.server(args, env=env or base_env(), **kw)


def server(procs, opts=(), host="127.0.0.1", mode=("env",), env=None, **kw):
    args = [prog("s6-tcpserver"), "-1"] + list(opts) + [host, "0"] + handler(*mode)
    return start(procs, args, env=env, **kw)


def socat_addr(host, port, bind=None):
    if ":" in host:
        a = "TCP6:[%s]:%d" % (host, port)
    else:
        a = "TCP4:%s:%d" % (host, port)
    if bind:
        a += ",bind=%s" % bind
    return a


def fetch(host, port, bind=None, timeout=10):
    """One connection with socat; returns what the server sent."""
    need("socat")
    r = subprocess.run(["socat", "-u", socat_addr(host, port, bind), "-"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return r.stdout


def fetch_tcpclient(host, port, timeout=10):
    """One connection with ucspi-tcp's tcpclient. Returns (client port as
    the client saw it, what the server sent)."""
    need("tcpclient")
    r = subprocess.run(["tcpclient", "-RHl0", host, str(port), "sh", "-c",
                        'echo "$TCPLOCALPORT"; cat <&6'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    first, _, rest = r.stdout.partition(b"\n")
    return int(first), rest


def parse_env(out):
    env = {}
    for line in out.decode().splitlines():
        if "=" in line and not line.startswith(("uid=", "fds:", "groups:")):
            k, v = line.split("=", 1)
            env[k] = v
        elif line.endswith(" unset"):
            env[line[:-6]] = None
        elif line.startswith("fds:"):
            env["fds"] = sorted(int(x) for x in line[4:].split())
        elif line.startswith("uid="):
            a, b = line.split()
            env["uid"] = int(a[4:])
            env["gid"] = int(b[4:])
        elif line.startswith("groups:"):
            env["groups"] = sorted(int(x) for x in line[7:].split())
    return env


class Holder:
    """A socat connection kept open; its handler (mode hold) printed its
    pid. close() ends the connection."""

    def __init__(self, procs, host, port, bind=None):
        need("socat")
        self.p = procs.start(["socat", "-", socat_addr(host, port, bind)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)

    def pid(self, timeout=10):
        line = read_line(self.p.stdout, timeout)
        if not line or not line.startswith("pid "):
            return None
        return int(line[4:])

    def output(self, timeout):
        return read_line(self.p.stdout, timeout)

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)


class Log:
    """Reads a server's stderr line by line with deadlines."""

    def __init__(self, p):
        self.f = p.stderr
        self.buf = b""
        self.lines = []

    def _fill(self, deadline):
        fd = self.f.fileno()
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(line.decode())
        return True

    def wait_for(self, needle, timeout=10):
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for i in range(seen, len(self.lines)):
                if needle in self.lines[i]:
                    line = self.lines.pop(i)
                    return line
            seen = len(self.lines)
            if not self._fill(deadline):
                return None

    def drain(self, timeout=0.3):
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        return self.lines


def daemon_pid(p):
    """s6-tcpserver execs into s6-tcpserverd: same pid."""
    return p.pid
