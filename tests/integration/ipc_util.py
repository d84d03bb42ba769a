"""Helpers for the UNIX-domain IPC and s6-sudo tests.

The s6-sudo wire format (observed from Debian's s6 binaries, described in
lib/ipc/sudo.h) is rebuilt here so that tests can play a hostile or
broken peer byte by byte.
"""
import array
import os
import socket
import struct
import subprocess

import pytest

from conftest import base_env, prog, read_line

SERVER_BANNER = b"s6-sudo b v1.0\n"
CLIENT_BANNER = b"s6-sudo a v1.0\n"


def payload(args, env=(), banner=CLIENT_BANNER):
    a = b"".join(x + b"\0" for x in args)
    e = b"".join(x + b"\0" for x in env)
    return banner + struct.pack(">IIII", len(args), len(env), len(a), len(e)) + a + e


def frame(pl, nfds=3):
    return struct.pack(">IH", len(pl), nfds) + pl


def send_with_fds(sock, data, fds):
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    return sock.sendmsg([data], anc)


def recv_exact(sock, n, timeout=10):
    sock.settimeout(timeout)
    out = b""
    while len(out) < n:
        try:
            d = sock.recv(n - len(out))
        except ConnectionResetError:
            break  # the server closed with our unread data pending
        if not d:
            break
        out += d
    return out


def start_host(procs, path, argv, env=None, host=None, opts=()):
    """Run argv for every connection on the UNIX socket path and wait for
    readiness (-1). host: our s6-ipcserver (default) or Debian's."""
    exe = host or prog("s6-ipcserver")
    p = procs.start([exe, "-1"] + list(opts) + [path] + list(argv), env=env if env is not None else base_env(),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = read_line(p.stdout, 10)
    if line is None or not os.path.exists(path):
        pytest.fail("IPC server did not become ready: %r" % (p.stderr.read() if p.poll() is not None else b""))
    return p


def sudod_direct(args, env=None, stderr=subprocess.PIPE):
    """s6-sudod on one end of a socketpair (its fds 0 and 1); returns
    (Popen, our end)."""
    a, b = socket.socketpair()
    p = subprocess.Popen([prog("s6-sudod")] + list(args), stdin=b, stdout=b, stderr=stderr,
                         env=env if env is not None else base_env(), start_new_session=True)
    b.close()
    return p, a


def nobody():
    import pwd
    pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid


def as_user(uid, gid):
    def f():
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    return f
