"""s6-tcpserver-access run directly under a UCSPI environment: IP rules
from a directory or a CDB, env and exec modifications, options that need
no lookups, misuse and hostile rule stores."""
import os
import shutil
import stat

import pytest

from conftest import base_env, need, prog, run
from access_util import (access, compile_rules, envlines, ucspi_env, write_rules)

RULES = {
    "ip4/10.0.0.0_8": {"allow": True, "env": {"ZONE": "ten", "DROPME": None}},
    "ip4/10.1.2.3_32": {"deny": True},
    "ip4/10.9.0.0_16": {"allow": True, "exec": "sh -c \"echo from-exec $ZONE\"\n",
                        "env": {"ZONE": "nine"}},
    "ip4/192.168.0.0_16": {"allow": True, "deny": True},
    "ip6/2001:db8::_32": {"allow": True, "env": {"ZONE": "six"}},
    "ip6/2001:db8::1_128": {"deny": True},
    "reversedns/@": {"allow": True},
}


@pytest.fixture(params=["dir", "cdb", "oraclecdb"])
def store(request, tmp_path):
    """The same ruleset as a directory (-i), a CDB of ours and a CDB of the
    reference compiler (-x)."""
    root = write_rules(str(tmp_path / "rules"), RULES)
    if request.param == "dir":
        return ["-i", root]
    cdb = str(tmp_path / "rules.cdb")
    compile_rules(root, cdb, ours=request.param == "cdb")
    return ["-x", cdb]


def test_allow_applies_env(store):
    r = access(["-H"] + store + ["env"], env=ucspi_env("10.5.5.5", DROPME="x", TCPREMOTEHOST="stale"))
    assert r.returncode == 0, r.stderr
    env = envlines(r.stdout)
    assert env["ZONE"] == "ten"
    assert "DROPME" not in env
    assert "TCPREMOTEHOST" not in env        # -H: unset
    assert "TCPREMOTEINFO" not in env
    assert env["TCPREMOTEIP"] == "10.5.5.5"


def test_longest_prefix_deny_exits_1(store):
    r = access(["-H"] + store + ["env"], env=ucspi_env("10.1.2.3"))
    assert r.returncode == 1
    assert r.stdout == b""


def test_allow_wins_over_deny(store):
    r = access(["-H"] + store + ["true"], env=ucspi_env("192.168.7.7"))
    assert r.returncode == 0


def test_not_found_with_H_is_denied(store):
    r = access(["-H", "-v2"] + store + ["env"], env=ucspi_env("172.16.0.1"))
    assert r.returncode == 1
    assert b"deny" in r.stderr


def test_exec_rule_runs_execlineb(store):
    need("execlineb")
    r = access(["-H"] + store + ["false"], env=ucspi_env("10.9.1.1"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"from-exec nine\n"


def test_ipv6_rules(store):
    r = access(["-H"] + store + ["env"], env=ucspi_env("2001:db8::5", localip="::1"))
    assert r.returncode == 0, r.stderr
    assert envlines(r.stdout)["ZONE"] == "six"
    r = access(["-H"] + store + ["env"], env=ucspi_env("2001:db8::1", localip="::1"))
    assert r.returncode == 1


def test_v4_mapped_address_uses_ip4_rules(store):
    r = access(["-H"] + store + ["env"], env=ucspi_env("::ffff:10.1.2.3"))
    assert r.returncode == 1


def test_localname_and_no_rules():
    r = access(["-H", "-l", "myhost", "env"], env=ucspi_env("203.0.113.9"))
    assert r.returncode == 0
    env = envlines(r.stdout)
    assert env["TCPLOCALHOST"] == "myhost"
    assert "TCPREMOTEHOST" not in env


def test_empty_localname_unsets_localhost():
    """-l "" names no host: the variable is unset (never set empty), and
    no lookup is made for it."""
    r = access(["-H", "-l", "", "env"], env=ucspi_env("203.0.113.9", TCPLOCALHOST="stale"))
    assert r.returncode == 0, r.stderr
    assert "TCPLOCALHOST" not in envlines(r.stdout)


def test_other_proto_prefix(tmp_path):
    root = write_rules(str(tmp_path / "r"), {"ip4/10.0.0.0_8": {"allow": True, "env": {"X": "y"}}})
    env = base_env(PROTO="FOO", FOOREMOTEIP="10.1.1.1", FOOREMOTEPORT="5")
    r = access(["-H", "-l", "me", "-i", root, "env"], env=env)
    assert r.returncode == 0
    out = envlines(r.stdout)
    assert out["FOOLOCALHOST"] == "me" and out["X"] == "y"


def test_verbosity_logs():
    r = access(["-H", "true"])
    assert r.returncode == 0 and b"info: allow" in r.stderr
    r = access(["-H", "-v0", "true"])
    assert r.returncode == 0 and r.stderr == b""


def test_banner_is_written_even_when_denied(tmp_path):
    root = write_rules(str(tmp_path / "r"), {"ip4/0.0.0.0_0": {"deny": True}})
    r = access(["-H", "-B", "hello there\r\n", "-i", root, "true"])
    assert r.returncode == 1
    assert r.stdout == b"hello there\r\n"


@pytest.mark.parametrize("env,code", [
    (base_env(TCPREMOTEIP="10.0.0.1"), 100),              # no PROTO
    (base_env(PROTO="TCP"), 100),                          # no TCPREMOTEIP
    (base_env(PROTO="TCP", TCPREMOTEIP="not-an-ip"), 100),
    (base_env(PROTO="TCP", TCPREMOTEIP="10.0.0.1", TCPREMOTEPORT="99999"), 100),
])
def test_bad_environment(env, code):
    r = access(["-H", "true"], env=env)
    assert r.returncode == code
    assert b"s6-tcpserver-access: fatal" in r.stderr


@pytest.mark.parametrize("args", [[], ["-H"], ["-v", "x", "true"], ["-t", "-1", "true"],
                                  ["-i", "/a", "-x", "/b", "true"], ["-Z", "true"],
                                  ["-H", "-l", "x" * 300, "true"]])
def test_usage_errors(args):
    r = access(args)
    assert r.returncode == 100


def test_missing_program_is_111():
    r = access(["-H", "/nonexistent/prog"])
    assert r.returncode == 111


def test_options_stop_at_program(tmp_path):
    r = access(["-H", "echo", "-x", "y"])
    assert r.returncode == 0
    assert r.stdout == b"-x y\n"


# ---- hostile rule stores: error 111 or deny, never allow -------------------

def test_missing_cdb_is_111(tmp_path):
    r = access(["-H", "-x", str(tmp_path / "nope.cdb"), "true"])
    assert r.returncode == 111


def test_corrupt_cdbs_never_allow(tmp_path):
    root = write_rules(str(tmp_path / "r"), {"ip4/10.0.0.0_8": {"deny": True},
                                             "ip4/0.0.0.0_0": {"allow": True}})
    good = open(compile_rules(root, str(tmp_path / "good.cdb")), "rb").read()
    cases = {"truncated_header": good[:100], "truncated_tables": good[:len(good) - 10],
             "empty": b"", "garbage": b"\xff" * 4096}
    # the deny record's value turned into an inconsistent allow
    i = good.index(b"ip4/10.0.0.0_8") + len(b"ip4/10.0.0.0_8")
    cases["bad_value"] = good[:i] + b"A" + good[i + 1:]
    for name, data in cases.items():
        p = tmp_path / (name + ".cdb")
        p.write_bytes(data)
        r = access(["-H", "-x", str(p), "true"], env=ucspi_env("10.1.1.1"))
        assert r.returncode in (1, 111), name
        if name != "truncated_tables":
            assert r.returncode == 111, name


def test_rule_that_is_a_file_is_111(tmp_path):
    root = write_rules(str(tmp_path / "r"), {"ip4/0.0.0.0_0": {"allow": True}})
    open(os.path.join(root, "ip4", "10.0.0.1_32"), "w").close()
    r = access(["-H", "-i", root, "true"], env=ucspi_env("10.0.0.1"))
    assert r.returncode == 111


def test_oversized_env_in_dir_is_111(tmp_path):
    big = b"v" * 3000 + b"\n"
    root = write_rules(str(tmp_path / "r"), {"ip4/0.0.0.0_0": {"allow": True, "env": {"A": big, "B": big}}})
    r = access(["-H", "-i", root, "true"], env=ucspi_env("10.0.0.1"))
    assert r.returncode == 111


def test_unreadable_env_file_is_111(tmp_path):
    root = write_rules(str(tmp_path / "r"), {"ip4/0.0.0.0_0": {"allow": True, "env": {}}})
    os.mkfifo(os.path.join(root, "ip4/0.0.0.0_0/env/FIFO"))
    r = access(["-H", "-i", root, "true"], env=ucspi_env("10.0.0.1"), timeout=10)
    assert r.returncode == 111


def test_exec_over_4096_is_cut(tmp_path):
    need("execlineb")
    cmd = ("echo " + "a" * 5000).encode()
    root = write_rules(str(tmp_path / "r"), {"ip4/0.0.0.0_0": {"allow": True, "exec": cmd}})
    r = access(["-H", "-i", root, "true"], env=ucspi_env("10.0.0.1"))
    assert r.returncode == 0
    assert r.stdout == b"a" * 4091 + b"\n"


def test_static_build_equivalent(tmp_path):
    """The musl-static build (make static), when present, decides alike."""
    static = os.path.join(os.path.dirname(os.path.dirname(prog("s6-tcpserver-access"))), "..",
                          "build-static", "bin", "s6-tcpserver-access")
    root = write_rules(str(tmp_path / "r"), RULES)
    exe = static if os.path.exists(static) else prog("s6-tcpserver-access")
    for ip, code in (("10.5.5.5", 0), ("10.1.2.3", 1), ("172.16.0.1", 1)):
        r = run([exe, "-H", "-i", root, "true"], env=ucspi_env(ip))
        assert r.returncode == code, ip
    # lookups are handed to s6-tcpserver-access-dns (from /etc/hosts here)
    r = run([exe, "-h", "-t", "5000", "-l", "x", "-i", root, "env"], env=ucspi_env("10.5.5.5"))
    assert r.returncode == 0, r.stderr
    assert envlines(r.stdout)["ZONE"] == "ten"
