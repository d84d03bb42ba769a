"""Usage errors of the server front ends: every bad option value exits
100 with one line that names the program, before anything is created
(no socket file left behind for s6-ipcserver)."""
import os

import pytest

from conftest import base_env, prog, run

BAD_IPCSERVER = [
    ["-c", "notanumber"], ["-c", "0"], ["-c", "1001"], ["-c", ""],
    ["-C", "x"], ["-C", "0"], ["-C", "99999"],
    ["-b", "-1"], ["-b", "x"], ["-b", "2000000"], ["-b", "0"],
    ["-a", "0999"], ["-a", "rw"], ["-a", "01777"], ["-a", ""],
    ["-u", "root"], ["-u", "-1"], ["-u", "4294967295"],
    ["-g", "wheel"], ["-G", "1,x"], ["-G", ","],
]

BAD_BINDER = [["-b", "x"], ["-b", "2000000"], ["-a", "8"], ["-a", "rw"], ["-a", "01000"]]

BAD_TCPSERVER = [
    ["-c", "x"], ["-c", "0"], ["-C", "y"], ["-c", "2", "-C", "3"], ["-b", "x"], ["-b", "0"],
    ["-P", "33,64"], ["-P", "24"], ["-R", "0"], ["-u", "x"], ["-g", "x"], ["-G", "x"],
]


def one_line(stderr, name):
    lines = stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(name + ": "), lines


def listing(d):
    return sorted(os.listdir(d))


@pytest.mark.parametrize("opts", BAD_IPCSERVER, ids=lambda o: " ".join(o) or "empty")
def test_ipcserver_bad_option_leaves_no_socket(opts, sockdir):
    path = os.path.join(sockdir, "s")
    r = run([prog("s6-ipcserver")] + opts + [path, "true"], env=base_env(), timeout=10)
    assert r.returncode == 100, r.stderr
    one_line(r.stderr, "s6-ipcserver")
    assert listing(sockdir) == []


@pytest.mark.parametrize("env", [{}, {"GID": "0"}, {"UID": "0"}, {"UID": "x", "GID": "0"},
                                 {"UID": "0", "GID": "0", "GIDLIST": "a"}],
                         ids=["none", "gid-only", "uid-only", "bad-uid", "bad-gidlist"])
def test_ipcserver_U_checked_before_binding(env, sockdir):
    path = os.path.join(sockdir, "s")
    r = run([prog("s6-ipcserver"), "-U", path, "true"], env=base_env(**env), timeout=10)
    assert r.returncode == 100, r.stderr
    one_line(r.stderr, "s6-ipcserver")
    assert listing(sockdir) == []


@pytest.mark.parametrize("args", [["-x"], ["-c"], [], ["PATH"], ["", "true"], ["PATH", ""]],
                         ids=["unknown", "missing-arg", "nothing", "no-prog", "empty-path", "empty-prog"])
def test_ipcserver_bad_command_line_leaves_no_socket(args, sockdir):
    path = os.path.join(sockdir, "s")
    args = [path if a == "PATH" else a for a in args]
    r = run([prog("s6-ipcserver")] + args + (["PATH"] if args == ["-x"] or args == ["-c"] else []),
            env=base_env(), timeout=10)
    assert r.returncode == 100, r.stderr
    assert b"s6-ipcserver: " in r.stderr
    assert listing(sockdir) == []


def test_ipcserver_long_path_leaves_nothing(sockdir):
    path = os.path.join(sockdir, "y" * 200)
    r = run([prog("s6-ipcserver"), path, "true"], env=base_env(), timeout=10)
    assert r.returncode == 100
    one_line(r.stderr, "s6-ipcserver-socketbinder")
    assert listing(sockdir) == []


@pytest.mark.parametrize("opts", BAD_BINDER, ids=lambda o: " ".join(o))
def test_socketbinder_bad_option_leaves_no_socket(opts, sockdir):
    path = os.path.join(sockdir, "s")
    r = run([prog("s6-ipcserver-socketbinder")] + opts + [path, "true"], env=base_env(), timeout=10)
    assert r.returncode == 100, r.stderr
    one_line(r.stderr, "s6-ipcserver-socketbinder")
    assert listing(sockdir) == []


@pytest.mark.parametrize("opts", BAD_TCPSERVER, ids=lambda o: " ".join(o))
def test_tcpserver_bad_option(opts):
    r = run([prog("s6-tcpserver")] + opts + ["127.0.0.1", "0", "true"], env=base_env(), timeout=10)
    assert r.returncode == 100, r.stderr
    one_line(r.stderr, "s6-tcpserver")


@pytest.mark.parametrize("env", [{}, {"GID": "0"}, {"UID": "0"}],
                         ids=["none", "gid-only", "uid-only"])
def test_tcpserver_U_needs_UID_and_GID(env):
    r = run([prog("s6-tcpserver"), "-U", "127.0.0.1", "0", "true"], env=base_env(**env), timeout=10)
    assert r.returncode == 100, r.stderr
    one_line(r.stderr, "s6-tcpserver")
