"""s6-tcpclient with IP literals: the UCSPI contract (fds 6 and 7, the
environment), options, and usage / connection errors."""
import subprocess
import time

import pytest

from conftest import base_env, connect, free_port, need, prog, run
from tcpclient_util import accept, env_of, listener

# Reverse lookups go to a loopback port where nothing answers, so that a
# test never talks to the machine's resolver.
NODNS = "127.0.0.1:1"


def tcpclient(args, env=None, **kw):
    env = env or base_env(DNSCACHEIP=NODNS)
    return subprocess.Popen([prog("s6-tcpclient")] + args, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def finish(p, timeout=20):
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_fds_and_environment(host):
    srv = listener(host)
    port = srv.getsockname()[1]
    # prog talks on 7, reads on 6, and prints its environment.
    script = 'echo hello >&7; read l <&6; echo "$l" >&7; env -0'
    p = tcpclient(["-H", host, str(port), "sh", "-c", script],
                  env=base_env(DNSCACHEIP=NODNS, TCPREMOTEINFO="stale", TCPREMOTEHOST="stale",
                               TCPLOCALHOST="stale"))
    c, peer = accept(srv)
    f = c.makefile("rb")
    assert f.readline() == b"hello\n"
    c.sendall(b"world\n")
    assert f.readline() == b"world\n"
    rc, out, err = finish(p)
    assert rc == 0, err
    env = env_of(out)
    assert env["PROTO"] == "TCP"
    assert env["TCPREMOTEIP"] == host
    assert env["TCPREMOTEPORT"] == str(port)
    assert env["TCPLOCALIP"] == peer[0]
    assert env["TCPLOCALPORT"] == str(peer[1])
    # Nothing looked up: unset, not empty, and not inherited.
    for v in ("TCPREMOTEINFO", "TCPREMOTEHOST", "TCPLOCALHOST"):
        assert v not in env
    c.close()
    srv.close()


def test_ipv6_literal_shown_in_rfc5952_form():
    srv = listener("::1")
    port = srv.getsockname()[1]
    p = tcpclient(["-H", "0:0:0:0:0:0:0:1", str(port), "env", "-0"])
    c, _ = accept(srv)
    rc, out, err = finish(p)
    assert rc == 0, err
    assert env_of(out)["TCPREMOTEIP"] == "::1"
    c.close()


def test_v4_mapped_literal_is_shown_as_ipv4():
    # An IPv4-mapped IPv6 literal reaches an IPv4 peer: both ends are
    # described alike, as IPv4, the way getsockname's answer already is.
    srv = listener("127.0.0.1")
    port = srv.getsockname()[1]
    p = tcpclient(["-H", "::ffff:127.0.0.1", str(port), "env", "-0"])
    c, peer = accept(srv)
    rc, out, err = finish(p)
    assert rc == 0, err
    env = env_of(out)
    assert env["TCPREMOTEIP"] == "127.0.0.1"
    assert env["TCPLOCALIP"] == "127.0.0.1" and env["TCPLOCALPORT"] == str(peer[1])
    c.close()


def test_fd_6_reads_fd_7_writes_same_socket():
    srv = listener()
    port = srv.getsockname()[1]
    # readlink shows both fds are the same socket; 0-2 are untouched.
    p = tcpclient(["-H", "127.0.0.1", str(port), "sh", "-c",
                   'readlink /proc/self/fd/6 /proc/self/fd/7'])
    c, _ = accept(srv)
    rc, out, err = finish(p)
    assert rc == 0, err
    a, b = out.decode().split()
    assert a == b and a.startswith("socket:")
    c.close()


def test_prog_arguments_pass_untouched():
    srv = listener()
    port = srv.getsockname()[1]
    p = tcpclient(["-H", "127.0.0.1", str(port), "echo", "-v", "-4", "--", "x"])
    c, _ = accept(srv)
    rc, out, err = finish(p)
    assert rc == 0, err
    assert out == b"-v -4 -- x\n"
    c.close()


NODELAY_PROBE = ("import socket; s = socket.socket(fileno=6); "
                 "print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)")


@pytest.mark.parametrize("opt,expect", [([], b"False\n"), (["-d"], b"False\n"), (["-D"], b"True\n"),
                                        (["-D", "-d"], b"False\n")])
def test_nodelay(opt, expect):
    srv = listener()
    port = srv.getsockname()[1]
    p = tcpclient(["-H"] + opt + ["127.0.0.1", str(port), "/usr/bin/python3", "-c", NODELAY_PROBE])
    c, _ = accept(srv)
    rc, out, err = finish(p)
    assert rc == 0, err
    assert out == expect
    c.close()


def test_local_ip_and_port():
    srv = listener("127.0.0.1")
    port = srv.getsockname()[1]
    lport = free_port("127.0.0.3")
    p = tcpclient(["-H", "-i", "127.0.0.3", "-p", str(lport), "127.0.0.1", str(port), "env", "-0"])
    c, peer = accept(srv)
    rc, out, err = finish(p)
    assert rc == 0, err
    assert peer == ("127.0.0.3", lport)
    env = env_of(out)
    assert env["TCPLOCALIP"] == "127.0.0.3"
    assert env["TCPLOCALPORT"] == str(lport)
    c.close()


def test_local_port_reused_at_once():
    # The first connection from 127.0.0.3:lport is closed by our side and
    # lingers (FIN_WAIT / TIME_WAIT); -p can bind that port again at once.
    a, b = listener("127.0.0.1"), listener("127.0.0.1")
    lport = free_port("127.0.0.3")
    for srv in (a, b):
        p = tcpclient(["-H", "-i", "127.0.0.3", "-p", str(lport), "127.0.0.1", str(srv.getsockname()[1]), "true"])
        c, peer = accept(srv)
        rc, out, err = finish(p)
        assert rc == 0, err
        assert peer == ("127.0.0.3", lport)
        c.close()
    a.close()
    b.close()


def test_local_ip_only():
    srv = listener("127.0.0.1")
    port = srv.getsockname()[1]
    p = tcpclient(["-H", "-i", "127.0.0.4", "127.0.0.1", str(port), "env", "-0"])
    c, peer = accept(srv)
    rc, out, err = finish(p)
    assert rc == 0, err
    assert peer[0] == "127.0.0.4"
    assert env_of(out)["TCPLOCALPORT"] == str(peer[1])
    c.close()


def test_localname():
    srv = listener()
    port = srv.getsockname()[1]
    p = tcpclient(["-l", "me.example", "127.0.0.1", str(port), "env", "-0"])
    c, _ = accept(srv)
    rc, out, err = finish(p)
    assert rc == 0, err
    env = env_of(out)
    assert env["TCPLOCALHOST"] == "me.example"
    assert "TCPREMOTEHOST" not in env   # the DNS server is not there
    c.close()


def test_long_localname():
    # -l takes any name the caller likes, however long.
    srv = listener()
    port = srv.getsockname()[1]
    name = "n" * 5000
    p = tcpclient(["-H", "-l", name, "127.0.0.1", str(port), "env", "-0"])
    c, _ = accept(srv)
    rc, out, err = finish(p)
    assert rc == 0, err
    assert env_of(out)["TCPLOCALHOST"] == name
    c.close()


def test_empty_localname_unsets():
    # -l "" names nothing: TCPLOCALHOST is unset (never set empty), and no
    # lookup replaces it.
    srv = listener()
    port = srv.getsockname()[1]
    p = tcpclient(["-l", "", "127.0.0.1", str(port), "env", "-0"],
                  env=base_env(DNSCACHEIP=NODNS, TCPLOCALHOST="stale"))
    c, _ = accept(srv)
    rc, out, err = finish(p)
    assert rc == 0, err
    assert "TCPLOCALHOST" not in env_of(out)
    c.close()


def test_unusable_dnscacheip_with_a_literal_warns_unless_quiet():
    # An IP literal needs no resolution; the reverse lookups cannot run:
    # one warning naming the cause, the names stay unset; -q silences it.
    srv = listener()
    port = srv.getsockname()[1]
    for opts, expect in (([], b"s6-tcpclient: warning: unable to initialize the DNS resolver: "
                               b"malformed DNSCACHEIP\n"),
                         (["-q"], b""), (["-q", "-Q"], None)):
        p = tcpclient(opts + ["127.0.0.1", str(port), "env", "-0"], env=base_env(DNSCACHEIP="nonsense"))
        c, _ = accept(srv)
        rc, out, err = finish(p)
        c.close()
        assert rc == 0, err
        assert err == (expect if expect is not None else
                       b"s6-tcpclient: warning: unable to initialize the DNS resolver: malformed DNSCACHEIP\n")
        env = env_of(out)
        assert "TCPREMOTEHOST" not in env and "TCPLOCALHOST" not in env


def test_verbose_says_where_it_connected():
    srv = listener()
    port = srv.getsockname()[1]
    p = tcpclient(["-v", "-H", "127.0.0.1", str(port), "true"])
    c, _ = accept(srv)
    rc, out, err = finish(p)
    assert rc == 0
    assert b"s6-tcpclient: info: connected to 127.0.0.1:%d" % port in err
    c.close()


def test_against_socat(procs):
    need("socat")
    port = free_port()
    procs.start(["socat", "TCP4-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork" % port,
                 "SYSTEM:echo from-socat"], stderr=subprocess.DEVNULL)
    # socat cannot report readiness: probe until it accepts, bounded.
    deadline = time.monotonic() + 10
    while True:
        try:
            connect("127.0.0.1", port).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail("socat did not start")
            time.sleep(0.02)
    r = run([prog("s6-tcpclient"), "-H", "127.0.0.1", str(port), "sh", "-c", "head -n 1 <&6"],
            env=base_env(DNSCACHEIP=NODNS))
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"from-socat\n"


# ---- errors ----------------------------------------------------------------

def refused_port(host="127.0.0.1"):
    return free_port(host)


def test_refused_names_the_host():
    port = refused_port()
    r = run([prog("s6-tcpclient"), "-H", "127.0.0.1", str(port), "true"], env=base_env(DNSCACHEIP=NODNS))
    assert r.returncode == 111
    assert r.stderr == b"s6-tcpclient: fatal: unable to connect to 127.0.0.1 port %d: Connection refused\n" % port


def test_exec_failure():
    srv = listener()
    port = srv.getsockname()[1]
    r = run([prog("s6-tcpclient"), "-H", "127.0.0.1", str(port), "/nonexistent/prog"], env=base_env(DNSCACHEIP=NODNS))
    assert r.returncode == 111
    assert b"unable to exec /nonexistent/prog" in r.stderr
    srv.close()


def test_bind_failure_is_111():
    srv = listener()
    port = srv.getsockname()[1]
    # 192.0.2.1 (TEST-NET) is not a local address: bind fails, nothing is sent.
    r = run([prog("s6-tcpclient"), "-H", "-i", "192.0.2.1", "127.0.0.1", str(port), "true"],
            env=base_env(DNSCACHEIP=NODNS))
    assert r.returncode == 111
    assert b"unable to bind to 192.0.2.1:0" in r.stderr
    srv.close()


@pytest.mark.parametrize("args", [
    ["-4", "::1", "80", "true"],
    ["-6", "127.0.0.1", "80", "true"],
    ["-4", "-i", "::1", "127.0.0.1", "80", "true"],
    ["-i", "::1", "127.0.0.1", "80", "true"],
    ["-i", "127.0.0.1", "::1", "80", "true"],
    ["127.0.0.1", "http", "true"],
    ["127.0.0.1", "0", "true"],
    ["127.0.0.1", "65536", "true"],
    ["127.0.0.1", "-1", "true"],
    ["127.0.0.1", "", "true"],
    ["", "80", "true"],
    ["-t", "x", "127.0.0.1", "80", "true"],
    ["-t", "-1", "127.0.0.1", "80", "true"],
    ["-T", "2+", "127.0.0.1", "80", "true"],
    ["-T", "+2", "127.0.0.1", "80", "true"],
    ["-T", "2+3+4", "127.0.0.1", "80", "true"],
    ["-T", "a+b", "127.0.0.1", "80", "true"],
    ["-i", "not-an-ip", "127.0.0.1", "80", "true"],
    ["-p", "70000", "127.0.0.1", "80", "true"],
    ["-x", "127.0.0.1", "80", "true"],
    ["-t"],
    ["127.0.0.1", "80"],
    ["127.0.0.1"],
    [],
])
def test_usage_errors(args):
    r = run([prog("s6-tcpclient")] + args, env=base_env(DNSCACHEIP=NODNS))
    assert r.returncode == 100, (args, r.stderr)
    assert r.stderr.startswith(b"s6-tcpclient: ")
    assert r.stderr.count(b"\n") == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_against_s6_tcpserver(procs, host):
    # The server tells the client which port it saw; the client compares
    # it with its own TCPLOCALPORT, then an echo round trip.
    _, port = procs.server([prog("s6-tcpserver"), "-1", host, "0", "sh", "-c",
                            'echo "$TCPREMOTEIP $TCPREMOTEPORT"; exec cat'],
                           env=base_env(), stderr=subprocess.DEVNULL)
    script = ('read l <&6; echo "$l"; echo "$TCPLOCALIP $TCPLOCALPORT"; '
              'echo ping >&7; read l <&6; echo "$l"')
    r = run([prog("s6-tcpclient"), "-H", host, str(port), "sh", "-c", script], env=base_env(DNSCACHEIP=NODNS))
    assert r.returncode == 0, r.stderr
    seen, mine, echo = r.stdout.decode().splitlines()
    assert seen == mine
    assert echo == "ping"
