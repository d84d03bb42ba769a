"""s6-applyuidgid and s6-envuidgid: the privilege-dropping link of the
server chains, usable without Debian's s6 package."""
import os
import pwd

import pytest

from conftest import base_env, need, prog, run
from conftest import needs_root

NOBODY = pwd.getpwnam("nobody")


def status(text, key):
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return line.split()[1:]
    raise AssertionError(key)


@needs_root("drops to other ids")
def test_drop_by_options_checked_from_proc():
    r = run([prog("s6-applyuidgid"), "-u", "65534", "-g", "65533", "-G", "65532,65531",
             "cat", "/proc/self/status"], env=base_env())
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert status(out, "Uid") == ["65534"] * 4
    assert status(out, "Gid") == ["65533"] * 4
    assert sorted(status(out, "Groups")) == ["65531", "65532"]


@needs_root("drops to other ids")
def test_drop_from_env_and_unexport():
    env = base_env(UID="65534", GID="65534", GIDLIST="")
    r = run([prog("s6-applyuidgid"), "-Uz", "sh", "-c", "id -u; id -G; env"], env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0] == "65534"
    assert lines[1] == "65534"
    assert not any(l.startswith(("UID=", "GID=", "GIDLIST=")) for l in lines[2:])


@needs_root("drops to other ids")
def test_option_after_U_overrides_env():
    env = base_env(UID="65534", GID="65534")
    r = run([prog("s6-applyuidgid"), "-U", "-u", "65533", "id", "-u"], env=env)
    assert r.stdout == b"65533\n"
    r = run([prog("s6-applyuidgid"), "-U", "id", "-u"], env=env)
    assert r.stdout == b"65534\n"


def test_without_z_env_is_kept():
    env = base_env(UID="65534", GID="65534")
    r = run([prog("s6-applyuidgid"), "-U", "printenv", "UID"], env=env)
    assert r.stdout == b"65534\n"


@pytest.mark.parametrize("args,code", [
    ([], 100), (["-u"], 100), (["-u", "x", "true"], 100), (["-g", "-1", "true"], 100),
    (["-G", "1,,2", "true"], 100), (["-X", "true"], 100), (["-u", "0"], 100),
])
def test_usage_errors(args, code):
    r = run([prog("s6-applyuidgid")] + args, env=base_env())
    assert r.returncode == code
    assert r.stderr.count(b"\n") == 1


def test_bad_env_value():
    r = run([prog("s6-applyuidgid"), "-U", "true"], env=base_env(UID="12abc"))
    assert r.returncode == 100
    assert b"invalid UID" in r.stderr


@pytest.mark.parametrize("env,missing", [
    ({}, "UID"), ({"GID": "65534"}, "UID"), ({"UID": "65534"}, "GID"),
    ({"UID": "65534", "GIDLIST": "65534"}, "GID"),
])
def test_U_needs_UID_and_GID(env, missing):
    # Like Debian's s6-applyuidgid: a run script that forgot s6-envuidgid,
    # or used s6-envuidgid -u, must not go on as root or with group 0.
    r = run([prog("s6-applyuidgid"), "-U", "id", "-u"], env=base_env(**env))
    assert r.returncode == 100, r.stdout
    assert r.stdout == b""
    assert r.stderr.count(b"\n") == 1 and missing.encode() + b" not set" in r.stderr
    # also when a later -u would override it: -U promised both variables
    r = run([prog("s6-applyuidgid"), "-U", "-u", "65534", "-g", "65534", "true"], env=base_env(**env))
    assert r.returncode == 100


def test_unprivileged_drop_fails_111():
    r = run([prog("s6-applyuidgid"), "-u", "0", "true"], env=base_env(),
            preexec_fn=lambda: os.setuid(65534))
    # setuid(0) as nobody is refused; the failure is a system error
    assert r.returncode == 111
    assert b"unable to drop privileges" in r.stderr


def test_missing_program():
    r = run([prog("s6-applyuidgid"), "-u", "65534", "/nonexistent/prog"], env=base_env())
    assert r.returncode == 127


def test_envuidgid_user():
    r = run([prog("s6-envuidgid"), "nobody", "env"], env=base_env())
    assert r.returncode == 0
    env = dict(l.split("=", 1) for l in r.stdout.decode().splitlines())
    assert env["UID"] == str(NOBODY.pw_uid)
    assert env["GID"] == str(NOBODY.pw_gid)
    assert env["GIDLIST"] == ""


def test_envuidgid_root_has_groups_list_of_supplementary_only():
    r = run([prog("s6-envuidgid"), "root", "printenv", "GIDLIST"], env=base_env())
    assert r.returncode == 0
    assert "0" not in r.stdout.decode().strip().split(",")


def test_envuidgid_modes():
    r = run([prog("s6-envuidgid"), "-u", "nobody", "env"], env=base_env(GID="7"))
    env = dict(l.split("=", 1) for l in r.stdout.decode().splitlines())
    assert env["UID"] == "65534" and env["GID"] == "7" and "GIDLIST" not in env
    r = run([prog("s6-envuidgid"), "-g", "nogroup", "printenv", "GID"], env=base_env())
    assert r.stdout == b"65534\n"
    r = run([prog("s6-envuidgid"), "-nB", "root:42", "env"], env=base_env())
    env = dict(l.split("=", 1) for l in r.stdout.decode().splitlines())
    assert env["UID"] == "0" and env["GID"] == "42"
    # An empty part is 0 (or the -D value); an unknown name is an error
    # unless -D or -n says otherwise, as with Debian's s6-envuidgid: a typo
    # must not become uid 0.
    r = run([prog("s6-envuidgid"), "-B", ":nogroup", "env"], env=base_env())
    env = dict(l.split("=", 1) for l in r.stdout.decode().splitlines())
    assert env["UID"] == "0" and env["GID"] == "65534"
    r = run([prog("s6-envuidgid"), "-B", "nobody", "env"], env=base_env())
    env = dict(l.split("=", 1) for l in r.stdout.decode().splitlines())
    assert env["UID"] == "65534" and env["GID"] == "0"


@pytest.mark.parametrize("args,out,code", [
    (["-B", "nosuchuser-s6net:nogroup"], b"", 1),
    (["-B", "nobody:nosuchgroup-s6net"], b"", 1),
    (["-nB", "nosuchuser-s6net:2"], b"", 1),
    (["-nB", "1:nosuchgroup-s6net"], b"", 1),
    (["-B", "-D", "5:6:7", "nosuchuser-s6net:nosuchgroup-s6net"], b"5 6 -\n", 0),
    (["-B", "-D", "5:6:7", "nobody:nosuchgroup-s6net"], b"65534 6 -\n", 0),
    (["-nB", "7:8"], b"7 8 -\n", 0),
    # without -u or -g, -n reads account as user:group, like the reference
    (["-n", "1234"], b"1234 0 -\n", 0),
    (["-n", "1234:5"], b"1234 5 -\n", 0),
    (["-n", "nobody"], b"65534 0 -\n", 0),
    (["-n", "-D", "1:2:3", "nosuchuser-s6net"], b"1 2 -\n", 0),
    (["-nD", "1:2:3", "1234"], b"1234 2 -\n", 0),
    (["-n", "nosuchuser-s6net"], b"", 1),
    (["-nu", "1234"], b"1234 - -\n", 0),
])
def test_envuidgid_both_and_numeric(args, out, code):
    r = run([prog("s6-envuidgid")] + args + ["sh", "-c", 'echo "${UID--} ${GID--} ${GIDLIST--}"'],
            env=base_env())
    assert (r.returncode, r.stdout) == (code, out), r.stderr
    if code:
        assert r.stderr.count(b"\n") == 1 and b"unknown" in r.stderr


def test_envuidgid_unknown_and_default():
    r = run([prog("s6-envuidgid"), "nosuchuser-s6net", "true"], env=base_env())
    assert r.returncode == 1
    assert b"unknown user" in r.stderr
    r = run([prog("s6-envuidgid"), "-D", "1:2:3,4", "nosuchuser-s6net", "env"], env=base_env())
    env = dict(l.split("=", 1) for l in r.stdout.decode().splitlines())
    assert (env["UID"], env["GID"], env["GIDLIST"]) == ("1", "2", "3,4")
    r = run([prog("s6-envuidgid"), "-D", "1:x:3", "nobody", "true"], env=base_env())
    assert r.returncode == 100


def test_envuidgid_matches_debian_for_every_account():
    # GIDLIST lists the groups the group database names the account in,
    # its primary group included when it is named there (as Debian's does).
    need("/usr/bin/s6-envuidgid")
    show = ["sh", "-c", 'echo "$UID $GID $GIDLIST"']
    for pw in pwd.getpwall():
        ours = run([prog("s6-envuidgid"), pw.pw_name] + show, env=base_env())
        ref = run(["/usr/bin/s6-envuidgid", pw.pw_name] + show, env=base_env())
        assert (ours.returncode, ours.stdout) == (ref.returncode, ref.stdout), pw.pw_name


@needs_root("drops to nobody")
def test_chain_envuidgid_applyuidgid():
    r = run([prog("s6-envuidgid"), "nobody", prog("s6-applyuidgid"), "-Uz", "sh", "-c",
             "id -u; printenv UID || echo unset"], env=base_env())
    assert r.stdout == b"65534\nunset\n"
