"""Helpers to run our TLS programs against real peers. The certificates
are the `certs` fixture (conftest.py, made by util.Certs)."""
import socket
import ssl
import subprocess
import time

import pytest

from conftest import base_env, free_port, prog
from util import children, comm, recv_all


def server_env(c, key="server", **extra):
    return base_env(KEYFILE=c.p(key + ".key"), CERTFILE=c.p(key + ".pem"), **extra)


def client_env(c, **extra):
    return base_env(CAFILE=c.p("ca.pem"), **extra)


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


def keeper_pid(server_pid):
    """s6-tlsserver's keeper: forked before it became s6-tcpserverd."""
    for c in children(server_pid):
        if comm(c) == "s6-tls-keeper":
            return c
    return None


def zygote_pid(server_pid, timeout=10):
    """The zygote master (s6-tlsd-io -X), child of the keeper; waits for
    one to exist (it is restarted after a death)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        k = keeper_pid(server_pid)
        for c in children(k) if k else []:
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
        c = children(zpid)
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


def tls_get(port, certs, cert=None, timeout=10):
    """One connection: handshake, read everything the app writes."""
    ctx = ssl.create_default_context(cafile=certs.p("ca.pem"))
    if cert:
        ctx.load_cert_chain(*cert)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return recv_all(s)
