"""s6-tcpserver-access in a real chain: under our s6-tcpserver and under
ucspi-tcp's tcpserver, with real clients over loopback."""
import socket
import subprocess
import sys

import pytest

from conftest import base_env, free_port, need, prog
from access_util import compile_rules, envlines, write_rules
from tcpserver_util import start
from util import recv_all, wait_until

RULES = {
    "ip4/127.0.0.0_8": {"allow": True, "env": {"GREETING": "welcome"}},
    "ip4/127.0.0.2_32": {"deny": True},
    "ip6/::1_128": {"allow": True, "env": {"GREETING": "six"}},
}


@pytest.fixture
def cdb(tmp_path):
    root = write_rules(str(tmp_path / "rules"), RULES)
    return compile_rules(root, str(tmp_path / "rules.cdb"))


def talk(host, port, bind=None, send=b""):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    if bind:
        s.bind((bind, 0))
    s.connect((host, port))
    if send:
        s.sendall(send)
    s.shutdown(socket.SHUT_WR)
    try:
        return recv_all(s)
    except ConnectionResetError:
        return b""
    finally:
        s.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_chain_under_s6_tcpserver(procs, cdb, host):
    p, port = start(procs, [prog("s6-tcpserver"), "-1", host, "0",
                            prog("s6-tcpserver-access"), "-v0", "-H", "-l", "me", "-x", cdb, "env"])
    env = envlines(talk(host, port))
    assert env["GREETING"] == ("six" if ":" in host else "welcome")
    assert env["TCPLOCALHOST"] == "me"
    assert env["TCPREMOTEIP"] == host


def test_denied_client_is_closed(procs, cdb):
    p, port = start(procs, [prog("s6-tcpserver"), "-1", "127.0.0.1", "0",
                            prog("s6-tcpserver-access"), "-v2", "-H", "-B", "banner\n", "-x", cdb, "env"])
    out = talk("127.0.0.1", port, bind="127.0.0.2")
    assert out == b"banner\n"                        # banner first, then closed
    out = talk("127.0.0.1", port, bind="127.0.0.3")
    assert out.startswith(b"banner\n") and b"GREETING=welcome" in out


def test_chain_under_ucspi_tcpserver(procs, cdb):
    need("tcpserver")
    # tcpserver cannot report a port-0 binding: it gets a free port.
    port = free_port()
    p = procs.start(["tcpserver", "-RHl0", "-D", "127.0.0.1", str(port),
                     prog("s6-tcpserver-access"), "-v0", "-H", "-x", cdb, "env"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=base_env())
    def up():
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            return False
    assert wait_until(up, timeout=10)
    env = envlines(talk("127.0.0.1", port, bind="127.0.0.4"))
    assert env["GREETING"] == "welcome"
    assert env["TCPREMOTEIP"] == "127.0.0.4"
    assert talk("127.0.0.1", port, bind="127.0.0.2") == b""


@pytest.mark.parametrize("flag,want", [("-D", 1), ("-d", 0)])
def test_nodelay(procs, flag, want):
    probe = ("import socket,sys;s=socket.socket(fileno=0);"
             "sys.stdout.write(str(s.getsockopt(socket.IPPROTO_TCP,socket.TCP_NODELAY)!=0 and 1 or 0));"
             "sys.stdout.flush();s.detach()")
    p, port = start(procs, [prog("s6-tcpserver"), "-1", "127.0.0.1", "0",
                            prog("s6-tcpserver-access"), "-v0", "-H", flag, sys.executable, "-c", probe])
    assert talk("127.0.0.1", port) == str(want).encode()
