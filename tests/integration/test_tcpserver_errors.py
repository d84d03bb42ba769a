"""s6-tcpserver, s6-tcpserverd, s6-tcpserver-socketbinder: bad input and
system errors exit with one line and the documented code; privileges."""
import os
import socket
import subprocess

import pytest

from conftest import base_env, prog, run
from conftest import needs_root
from hardening_util import limit_fds_to_open
from tcpserver_util import LOOP, Log, fetch, handler, parse_env, server, start
from util import wait_until

H = ["/bin/true"]


def one_line(r, code):
    assert r.returncode == code, r.stderr
    assert r.stderr.count(b"\n") == 1, r.stderr
    return r.stderr.decode()


@pytest.mark.parametrize("args", [
    ["-x", "127.0.0.1", "0"] + H,
    ["127.0.0.1", "0"],
    ["127.0.0.1"],
    [],
    ["-c"],
    ["-c", "0", "127.0.0.1", "0"] + H,
    ["-c", "16385", "127.0.0.1", "0"] + H,
    ["-c", "-1", "127.0.0.1", "0"] + H,
    ["-c", "abc", "127.0.0.1", "0"] + H,
    ["-C", "0", "127.0.0.1", "0"] + H,
    ["-C", "41", "127.0.0.1", "0"] + H,
    ["-c", "10", "-C", "11", "127.0.0.1", "0"] + H,
    ["-b", "x", "127.0.0.1", "0"] + H,
    ["-b", "99999999999", "127.0.0.1", "0"] + H,
    ["-u", "root", "127.0.0.1", "0"] + H,
    ["-g", "-5", "127.0.0.1", "0"] + H,
    ["-G", "1,,2", "127.0.0.1", "0"] + H,
    ["-P", "33,64", "127.0.0.1", "0"] + H,
    ["-P", "24", "127.0.0.1", "0"] + H,
    ["-P", "24,129", "127.0.0.1", "0"] + H,
    ["-R", "0", "127.0.0.1", "0"] + H,
    ["1.2.3", "0"] + H,
    ["256.0.0.1", "0"] + H,
    ["::g", "0"] + H,
    ["localhost", "0"] + H,
    ["127.0.0.1", "65536"] + H,
    ["127.0.0.1", "http"] + H,
    ["127.0.0.1", "-1"] + H,
    ["127.0.0.1", "0", ""],
])
def test_tcpserver_usage_errors(args):
    err = one_line(run([prog("s6-tcpserver")] + args, env=base_env()), 100)
    assert err.startswith("s6-tcpserver: ")


def test_limits_up_to_16384_accepted(procs):
    p, port = server(procs, opts=["-c", "16384", "-C", "16384"])
    assert parse_env(fetch("127.0.0.1", port))["PROTO"] == "TCP"


@pytest.mark.parametrize("args", [
    ["-x"] + H, [], ["-v"], ["-v", "x"] + H, ["-c", "0"] + H, ["-c", "16385"] + H,
    ["-C", "50"] + H, ["-c", "5", "-C", "6"] + H, ["-P", "1,2,3"] + H, ["-R", "x"] + H,
    ["-u", "x"] + H,
])
def test_tcpserverd_usage_errors(args):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    err = one_line(run([prog("s6-tcpserverd")] + args, stdin=s, env=base_env()), 100)
    s.close()
    assert err.startswith("s6-tcpserverd: ")


def test_tcpserverd_needs_a_listening_socket():
    r = run([prog("s6-tcpserverd")] + H, stdin=subprocess.DEVNULL, env=base_env())
    assert "not a" in one_line(r, 100)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    r = run([prog("s6-tcpserverd")] + H, stdin=s, env=base_env())
    s.close()
    assert "not a listening" in one_line(r, 100)


@pytest.mark.parametrize("args", [
    ["-x", "127.0.0.1", "0"] + H, ["127.0.0.1", "0"], ["-b", "-1", "127.0.0.1", "0"] + H,
    ["1.2.3.4.5", "0"] + H, ["127.0.0.1", "70000"] + H, ["::1::", "0"] + H,
])
def test_socketbinder_usage_errors(args):
    err = one_line(run([prog("s6-tcpserver-socketbinder")] + args, env=base_env()), 100)
    assert err.startswith("s6-tcpserver-socketbinder: ")


@pytest.mark.parametrize("fam", ["4", "6"])
def test_bind_in_use_exits_111_naming_address(fam):
    host = LOOP[fam]
    s = socket.socket(socket.AF_INET6 if fam == "6" else socket.AF_INET)
    s.bind((host, 0))
    s.listen(1)
    port = s.getsockname()[1]
    r = run([prog("s6-tcpserver"), host, str(port)] + H, env=base_env())
    s.close()
    err = one_line(r, 111)
    name = ("[%s]:%d" % (host, port)) if fam == "6" else ("%s:%d" % (host, port))
    assert "unable to bind to " + name in err
    assert "in use" in err


def drop_to_nobody():
    """As root, become nobody; as another user, stay: either way not root."""
    if os.geteuid() != 0:
        return
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def test_bind_privileged_port_as_nonroot_exits_111():
    r = run([prog("s6-tcpserver"), "127.0.0.1", "1"] + H, env=base_env(), preexec_fn=drop_to_nobody)
    err = one_line(r, 111)
    assert "unable to bind to 127.0.0.1:1" in err
    assert "ermission denied" in err


@needs_root("drops to nobody")
def test_drop_privileges_with_u_g_G(procs):
    p, port = server(procs, opts=["-u", "65534", "-g", "65534", "-G", "65534,100"])
    env = parse_env(fetch("127.0.0.1", port))
    assert env["uid"] == 65534 and env["gid"] == 65534
    assert env["groups"] == [100, 65534]
    with open("/proc/%d/status" % p.pid) as f:
        st = f.read()
    assert "Uid:\t65534\t65534\t65534\t65534" in st


@needs_root("drops to nobody")
def test_drop_privileges_without_list_clears_groups(procs):
    p, port = server(procs, opts=["-u", "65534", "-g", "65534"])
    env = parse_env(fetch("127.0.0.1", port))
    assert env["uid"] == 65534 and env["groups"] == [65534]


@needs_root("drops to nobody")
def test_drop_privileges_from_environment(procs):
    e = base_env(UID="65534", GID="65534", GIDLIST="65534,101")
    p, port = server(procs, opts=["-U"], env=e)
    env = parse_env(fetch("127.0.0.1", port))
    assert env["uid"] == 65534 and env["gid"] == 65534 and env["groups"] == [101, 65534]


@needs_root("drops to other uids")
def test_u_after_U_overrides_environment(procs):
    e = base_env(UID="65534", GID="65534", GIDLIST="")
    p, port = server(procs, opts=["-U", "-u", "1"], env=e)
    env = parse_env(fetch("127.0.0.1", port))
    assert env["uid"] == 1 and env["gid"] == 65534 and env["groups"] == []


def test_U_without_variables_is_an_error():
    r = run([prog("s6-tcpserver"), "-U", "127.0.0.1", "0"] + H, env=base_env())
    assert "UID" in one_line(r, 100)


def test_U_with_bad_variable_is_an_error():
    r = run([prog("s6-tcpserver"), "-U", "127.0.0.1", "0"] + H, env=base_env(UID="x", GID="1"))
    assert "UID" in one_line(r, 100)


def test_privilege_drop_as_nonroot_fails_111():
    r = run([prog("s6-tcpserver"), "-u", "0", "127.0.0.1", "0"] + H, env=base_env(),
            preexec_fn=drop_to_nobody)
    assert "unable to drop privileges" in one_line(r, 111)


# ---- s6-tcpserver-socketbinder ---------------------------------------------

INSPECT = r"""
import fcntl, os, socket, sys
s = socket.socket(fileno=0)
out = []
out.append("type=%d" % s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
out.append("listening=%d" % s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
out.append("reuse=%d" % (s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0))
out.append("nonblock=%d" % (fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK != 0))
out.append("cloexec=%d" % (fcntl.fcntl(0, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
if s.family == socket.AF_INET6:
    out.append("v6only=%d" % s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
out.append("addr=%s" % s.getsockname()[0])
out.append("fds=%s" % sorted(int(x) for x in os.listdir("/proc/self/fd")))
s.detach()
print(" ".join(out))
"""


def inspect(args):
    r = run([prog("s6-tcpserver-socketbinder")] + args + ["/usr/bin/python3", "-c", INSPECT], env=base_env())
    assert r.returncode == 0, r.stderr
    return dict(kv.split("=", 1) for kv in r.stdout.decode().split(" ") if "=" in kv)


@pytest.mark.parametrize("fam", ["4", "6"])
def test_socketbinder_defaults(fam):
    d = inspect([LOOP[fam], "0"])
    assert d["type"] == str(socket.SOCK_STREAM)
    assert d["listening"] == "1" and d["reuse"] == "1" and d["nonblock"] == "1" and d["cloexec"] == "0"
    assert d["addr"] == LOOP[fam]
    if fam == "6":
        assert d["v6only"] == "1"


def test_socketbinder_options():
    d = inspect(["-D", "-B", "-b", "0", "127.0.0.1", "0"])
    assert d["listening"] == "0" and d["reuse"] == "0" and d["nonblock"] == "0"
    d = inspect(["-D", "-d", "-b", "5", "127.0.0.1", "0"])
    assert d["listening"] == "1" and d["reuse"] == "1"


def test_socketbinder_udp():
    d = inspect(["-m", "-b", "0", "127.0.0.1", "0"])
    assert d["type"] == str(socket.SOCK_DGRAM) and d["listening"] == "0"
    d = inspect(["-m", "-M", "127.0.0.1", "0"])
    assert d["type"] == str(socket.SOCK_STREAM)


def test_socketbinder_udp_listen_fails():
    r = run([prog("s6-tcpserver-socketbinder"), "-m", "127.0.0.1", "0", "/bin/true"], env=base_env())
    assert "unable to listen on 127.0.0.1:" in one_line(r, 111)


def test_socketbinder_exec_failure():
    r = run([prog("s6-tcpserver-socketbinder"), "127.0.0.1", "0", "/nonexistent"], env=base_env())
    assert "unable to exec /nonexistent" in one_line(r, 111)


def test_blocking_socket_still_served(procs):
    args = [prog("s6-tcpserver-socketbinder"), "-B", "127.0.0.1", "0", prog("s6-tcpserverd"), "-1"] + handler("env")
    p, port = start(procs, args)
    for _ in range(3):
        assert parse_env(fetch("127.0.0.1", port))["PROTO"] == "TCP"


def test_backlog_passed_through(procs):
    p, port = server(procs, opts=["-b", "3"])
    assert parse_env(fetch("127.0.0.1", port))["PROTO"] == "TCP"


def test_b0_through_tcpserver_is_refused():
    # Refused before binding: a socket that does not listen cannot serve.
    r = run([prog("s6-tcpserver"), "-b", "0", "127.0.0.1", "0"] + H, env=base_env())
    assert "invalid backlog: 0" in one_line(r, 100)


def test_accept_emfile_warns_and_keeps_running(procs):
    """Out of descriptors: warn, back off, serve again once fds are free."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    port = ls.getsockname()[1]

    p = procs.start([prog("s6-tcpserverd"), "-1", "--"] + handler("env"), stdin=ls, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, env=base_env())
    ls.close()
    assert p.stdout.readline().strip() == str(port).encode()   # set up: its descriptors are open

    def settled():
        # /dev/null, opened to replace stdout after the readiness line, is
        # closed right after it: not the descriptor to limit above.
        top = max(int(f) for f in os.listdir("/proc/%d/fd" % p.pid))
        return os.readlink("/proc/%d/fd/%d" % (p.pid, top)) != "/dev/null"
    assert wait_until(settled)
    limit_fds_to_open(p.pid)
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    line = Log(p).wait_for("unable to accept")
    assert line is not None and "Too many open files" in line
    assert p.poll() is None
    c.close()


@pytest.mark.parametrize("fam", ["4", "6"])
def test_tcpserverd_directly_with_verbosity_0(procs, fam):
    host = LOOP[fam]
    ls = socket.socket(socket.AF_INET6 if fam == "6" else socket.AF_INET)
    ls.bind((host, 0))
    ls.listen(8)
    p, port = start(procs, [prog("s6-tcpserverd"), "-1", "-v", "0", "-c", "1", "-C", "1"] + handler("env"), stdin=ls)
    ls.close()
    env = parse_env(fetch(host, port))
    assert env["TCPLOCALIP"] == host and env["TCPLOCALPORT"] == str(port)
