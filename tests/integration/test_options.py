"""One option scanner for every program: options end at the first
operand, or just after "--", and what follows (the next program's
command line, options included) reaches that program as written, even
an argument like -x right after its name. Bundles (-HR) and attached
arguments (-b5) are read the same way by every program."""
import os
import socket
import stat
import subprocess

import pytest

from conftest import base_env, prog, read_line, run

# What the chained program must receive: words a scanner could take for
# options of its own, or for the end of them.
TAIL = ["-x", "--", "-q", "-", "--udp", "-v2"]
SHOWN = "".join("[%s]" % a for a in TAIL) + "\n"

TCPENV = {"PROTO": "TCP", "TCPREMOTEIP": "127.0.0.1", "TCPREMOTEPORT": "5",
          "TCPLOCALIP": "127.0.0.1", "TCPLOCALPORT": "6"}
PROXY_V1 = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"


@pytest.fixture
def show(tmp_path):
    """A program that prints its arguments, each in brackets."""
    p = tmp_path / "show"
    p.write_text('#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done\necho\n')
    p.chmod(0o755)
    return str(p)


@pytest.fixture
def tcp_listener():
    """A listening socket: the kernel completes s6-tcpclient's connection."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    yield s.getsockname()[1]
    s.close()


@pytest.fixture
def unix_listener(tmp_path):
    path = str(tmp_path / "listen")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(4)
    yield path
    s.close()


# name: (options before the operands, operands before prog, env, stdin)
DIRECT = {
    "s6-applyuidgid": (["-z"], [], {}, None),
    "s6-envuidgid": (["-u"], ["root"], {}, None),
    "s6-tcpserver-socketbinder": (["-Db5"], ["127.0.0.1", "0"], {}, None),
    "s6-ipcserver-socketbinder": (["-Ba0700"], ["SOCK"], {}, None),
    "s6-tcpserver-access": (["-HRv0"], [], TCPENV, None),
    "s6-ipcserver-access": (["-Elx"], [], {"PROTO": "IPC"}, None),
    "proxy-server": (["--only-v1", "-t5000"], [], {}, PROXY_V1),
    "s6-tcpclient": (["-qT1000"], ["127.0.0.1", "PORT"], {}, None),
    "s6-ipcclient": (["-ql", "me"], ["UNIX"], {}, None),
}


@pytest.mark.parametrize("dashdash", [False, True], ids=["plain", "dashdash"])
@pytest.mark.parametrize("name", sorted(DIRECT))
def test_prog_gets_its_arguments(name, dashdash, show, tmp_path, tcp_listener, unix_listener):
    opts, operands, env, stdin = DIRECT[name]
    subst = {"SOCK": str(tmp_path / "bound"), "PORT": str(tcp_listener), "UNIX": unix_listener}
    operands = [subst.get(o, o) for o in operands]
    argv = [prog(name)] + opts + (["--"] if dashdash else []) + operands + [show] + TAIL
    r = run(argv, input=stdin if stdin is not None else b"", env=base_env(**env), timeout=20)
    assert r.returncode == 0, (argv, r.stderr)
    assert r.stdout.decode() == SHOWN, (argv, r.stderr)


@pytest.mark.parametrize("name,ready", [("s6-tcpserver", None), ("s6-ipcserver", "SOCK")])
def test_server_runs_prog_with_its_arguments(name, ready, procs, show, tmp_path):
    """The super-servers rewrite themselves into a chain of programs: the
    arguments of prog survive every link of it."""
    path = str(tmp_path / "srv")
    where = [path] if ready else ["127.0.0.1", "0"]
    p = procs.start([prog(name), "-1", "-c2"] + where + [show] + TAIL, env=base_env(),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = read_line(p.stdout, 10)
    assert line is not None, p.stderr.read() if p.poll() is not None else b""
    if ready:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(10)
        c.connect(path)
    else:
        c = socket.create_connection(("127.0.0.1", int(line)), timeout=10)
    with c:
        got = b""
        for _ in range(100):
            chunk = c.recv(4096)
            if not chunk:
                break
            got += chunk
    assert got.decode() == SHOWN


@pytest.mark.parametrize("opts", [["-um600"], ["-um", "600"], ["-u", "-m600"], ["-m", "0600", "-u"]],
                         ids=["bundle-attached", "bundle", "attached", "separate"])
def test_tcprules_import_reads_bundles(opts, tmp_path):
    cdb = str(tmp_path / "rules.cdb")
    r = run([prog("s6-tcprules-import")] + opts + [cdb], input=b"127.0.0.1:allow\n", env=base_env())
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(cdb).st_mode) == 0o600


@pytest.mark.parametrize("args", [["-u", "--only-v1", "-1"], ["--ud", "-1"], ["--udp", "--only-v1"]],
                         ids=["short-and-long", "abbreviated", "two-long"])
def test_proxy_server_long_options(args, show):
    r = run([prog("proxy-server")] + args + [show, "-x"], input=PROXY_V1, env=base_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"[-x]\n"


@pytest.mark.parametrize("bad", ["--only-v", "--only", "--udp=1", "--udpx", "--bogus"])
def test_proxy_server_bad_long_option(bad, show):
    """An ambiguous, unknown or valued long option is a usage error."""
    r = run([prog("proxy-server"), bad, show], input=PROXY_V1, env=base_env())
    assert r.returncode == 100, r.stderr
    err = r.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("proxy-server: usage: "), err
    assert r.stdout == b""
