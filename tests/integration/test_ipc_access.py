"""s6-ipcserver-access: uid/gid rules from a rules directory or a CDB
(compiled by Debian's s6-accessrules-cdb-from-fs), and the complete
privileged service: s6-ipcserver + s6-ipcserver-access + s6-sudod
granting one command to `nobody`."""
import os
import pwd

import pytest

from conftest import base_env, need, prog, run
from conftest import needs_root
from ipc_util import as_user, nobody, start_host

WHO = """#!/bin/sh
grep -E '^Uid:' /proc/self/status | tr '\\t' ' '
echo "args: $*"
echo "FOO=${FOO-UNSET} LOCAL=${IPCLOCALPATH-UNSET}"
"""


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def rules(d, allow_uid, extra=None):
    r = os.path.join(d, "rules")
    write(os.path.join(r, "uid", str(allow_uid), "allow"), "")
    write(os.path.join(r, "uid", str(allow_uid), "env", "FOO"), "from-rule\n")
    write(os.path.join(r, "uid", "default", "deny"), "")
    for k, v in (extra or {}).items():
        write(os.path.join(r, k), v)
    return r


def other_user():
    """An unprivileged uid other than nobody's."""
    for name in ("daemon", "bin", "sys"):
        try:
            pw = pwd.getpwnam(name)
            return pw.pw_uid, pw.pw_gid
        except KeyError:
            pass
    raise AssertionError("no second unprivileged user on this system")


def sudo_service(procs, d, access_opts):
    who = os.path.join(d, "who.sh")
    write(who, WHO, 0o755)
    path = os.path.join(d, "sock")
    start_host(procs, path, [prog("s6-ipcserver-access"), "-v0"] + access_opts +
               ["--", prog("s6-sudod"), who, "fixed"])
    return path


def sudo_as(path, uid, gid, args=()):
    return run([prog("s6-sudo"), path] + list(args), env=base_env(FOO="client"),
               preexec_fn=as_user(uid, gid))


def check_service(path):
    uid, gid = nobody()
    r = sudo_as(path, uid, gid, ["extra"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0].split()[1:] == ["0", "0", "0", "0"]  # ran as root
    assert lines[1] == "args: fixed extra"               # the command is the server's
    assert lines[2].startswith("FOO=from-rule ")          # env from the rule, not the client
    # A uid the rules do not allow, and root itself (uid/default deny).
    ouid, ogid = other_user()
    r = sudo_as(path, ouid, ogid)
    assert r.returncode == 111 and r.stdout == b""
    r = run([prog("s6-sudo"), path], env=base_env())
    assert r.returncode == 111 and r.stdout == b""


@needs_root("clients run as other uids")
def test_root_service_rules_dir(procs, sockdir):
    uid, _ = nobody()
    path = sudo_service(procs, sockdir, ["-i", rules(sockdir, uid)])
    check_service(path)


@needs_root("clients run as other uids")
@pytest.mark.parametrize("compiler", ["ours", "debian"])
def test_root_service_rules_cdb(procs, sockdir, compiler):
    need("s6-accessrules-cdb-from-fs")
    uid, _ = nobody()
    r = rules(sockdir, uid)
    cdb = os.path.join(sockdir, "rules.cdb")
    exe = prog("s6-accessrules-cdb-from-fs") if compiler == "ours" else "/usr/bin/s6-accessrules-cdb-from-fs"
    assert run([exe, cdb, r]).returncode == 0
    path = sudo_service(procs, sockdir, ["-x", cdb])
    check_service(path)


def access(env, args, **kw):
    """Run s6-ipcserver-access by hand on a connected UNIX socket."""
    import socket
    a, b = socket.socketpair()
    try:
        return run([prog("s6-ipcserver-access")] + args, env=env, stdin=b, **kw)
    finally:
        a.close()
        b.close()


SHOWENV = ["sh", "-c", 'echo "${FOO-UNSET} ${IPCLOCALPATH-UNSET} ${IPCREMOTEEUID-UNSET} ${PROTO-UNSET}"']


def ipcenv(uid, gid, **kw):
    return base_env(PROTO="IPC", IPCREMOTEEUID=str(uid), IPCREMOTEEGID=str(gid), **kw)


def test_self_gid_and_default_keys(sockdir):
    r = os.path.join(sockdir, "r")
    me = os.geteuid()
    write(os.path.join(r, "uid", "self", "allow"), "")
    write(os.path.join(r, "gid", "4242", "allow"), "")
    write(os.path.join(r, "gid", "4242", "env", "FOO"), "gid-rule\n")
    write(os.path.join(r, "uid", "4243", "deny"), "")
    write(os.path.join(r, "gid", "4243", "allow"), "")  # uid/N wins: checked first
    # uid/self
    res = access(ipcenv(me, 777), ["-v0", "-i", r] + SHOWENV)
    assert res.returncode == 0, res.stderr
    # gid/N
    res = access(ipcenv(5000, 4242), ["-v0", "-i", r] + SHOWENV)
    assert res.stdout == b"gid-rule  5000 IPC\n"
    # uid/N deny before gid/N allow
    assert access(ipcenv(4243, 4243), ["-v0", "-i", r] + SHOWENV).returncode == 1
    # No rule at all: deny.
    assert access(ipcenv(5000, 5000), ["-v0", "-i", r] + SHOWENV).returncode == 1
    # gid/self
    os.makedirs(os.path.join(r, "gid", "self"))
    write(os.path.join(r, "gid", "self", "allow"), "")
    assert access(ipcenv(5000, os.getegid()), ["-v0", "-i", r] + SHOWENV).returncode == 0
    # uid/default allow
    write(os.path.join(r, "uid", "default", "allow"), "")
    assert access(ipcenv(5001, 5001), ["-v0", "-i", r] + SHOWENV).returncode == 0


def test_localname_and_noenv(sockdir):
    r = os.path.join(sockdir, "r")
    write(os.path.join(r, "uid", "default", "allow"), "")
    res = access(ipcenv(1, 1), ["-v0", "-l", "here", "-i", r] + SHOWENV)
    assert res.stdout == b"UNSET here 1 IPC\n"
    res = access(ipcenv(1, 1), ["-v0", "-E", "-i", r] + SHOWENV)
    assert res.stdout == b"UNSET UNSET UNSET UNSET\n"


def test_localpath_from_socket_cut_to_99(sockdir):
    # ${PROTO}LOCALPATH comes from getsockname(), cut to 99 characters as
    # the page says (Debian's s6 2.11 does not cut it).
    import socket
    sub = os.path.join(sockdir, "d" * (104 - len(sockdir) - 3))
    os.mkdir(sub)
    path = os.path.join(sub, "s")
    assert len(path) == 104
    lst = socket.socket(socket.AF_UNIX)
    lst.bind(path)
    lst.listen(1)
    c = socket.socket(socket.AF_UNIX)
    c.connect(path)
    conn, _ = lst.accept()
    try:
        res = run([prog("s6-ipcserver-access"), "-v0", "sh", "-c", 'echo "$IPCLOCALPATH"'],
                  env=ipcenv(1, 1), stdin=conn)
    finally:
        for x in (conn, c, lst):
            x.close()
    assert res.returncode == 0, res.stderr
    assert res.stdout == path[:99].encode() + b"\n"


def test_exec_rule(sockdir):
    need("execlineb")
    r = os.path.join(sockdir, "r")
    write(os.path.join(r, "uid", "7", "allow"), "")
    write(os.path.join(r, "uid", "7", "exec"), "echo diverted")
    res = access(ipcenv(7, 7), ["-v0", "-i", r, "echo", "not-diverted"])
    assert res.stdout == b"diverted\n"


def test_bad_environment_and_usage(sockdir):
    r = os.path.join(sockdir, "r")
    write(os.path.join(r, "uid", "default", "allow"), "")
    assert access(base_env(), ["-i", r, "true"]).returncode == 100            # no PROTO
    assert access(ipcenv("x", 1), ["-i", r, "true"]).returncode == 100        # junk uid
    # No credentials (s6-ipcserverd -P) and rules given: deny.
    assert access(base_env(PROTO="IPC"), ["-v0", "-i", r, "true"]).returncode == 1
    assert access(ipcenv(1, 1), ["-i"]).returncode == 100
    assert access(ipcenv(1, 1), ["-v0", "-x", os.path.join(sockdir, "none.cdb"), "true"]).returncode == 111


def test_logging(sockdir):
    r = os.path.join(sockdir, "r")
    write(os.path.join(r, "uid", "default", "deny"), "")
    res = access(ipcenv(3, 3), ["-v2", "-i", r, "true"])
    assert res.returncode == 1
    assert b"s6-ipcserver-access: info: deny pid" in res.stderr and b"uid 3 gid 3" in res.stderr
    res = access(ipcenv(3, 3), ["-v1", "-i", r, "true"])
    assert res.stderr == b""


@needs_root("clients run as other uids")
def test_interop_debian_ipcserver_access_chain(procs, sockdir):
    """Our s6-ipcserver-access works under Debian's s6-ipcserverd too."""
    need("s6-ipcserver")
    uid, _ = nobody()
    r = rules(sockdir, uid)
    who = os.path.join(sockdir, "who.sh")
    write(who, WHO, 0o755)
    path = os.path.join(sockdir, "dsock")
    start_host(procs, path, [prog("s6-ipcserver-access"), "-v0", "-i", r, "--", prog("s6-sudod"), who, "fixed"],
               host="/usr/bin/s6-ipcserver")
    check_service(path)
