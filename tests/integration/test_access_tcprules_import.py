"""s6-tcprules-import: ucspi-tcp tcprules files compiled into s6net access
rules; every decision checked against ucspi-tcp's own tcprules and
tcprulescheck on the same file."""
import os

import pytest

from conftest import base_env, need, prog, run

# The examples of the tcprules documentation, plus ranges and prefixes.
RULES = b"""# comments and blank lines are ignored

1.2.3.4:deny
1.2.3.:allow,RELAYCLIENT=""
10.0.0.37-53:allow,CLASS="range"
10.0.:allow,CLASS=/slash,quoted/
10.:deny
127.0.0.1:allow,RELAYCLIENT="",TCPLOCALHOST="me"
192.168.1.1:allow
192.168.1.1:deny
:deny
"""
IPS = ["1.2.3.4", "1.2.3.5", "1.2.3.255", "10.0.0.36", "10.0.0.37", "10.0.0.45",
       "10.0.0.53", "10.0.0.54", "10.0.1.1", "10.1.1.1", "127.0.0.1", "127.0.0.2",
       "192.168.1.1", "8.8.8.8", "0.0.0.0", "255.255.255.255"]


def tcprulescheck(cdb, ip):
    r = run(["tcprulescheck", cdb], env=base_env(TCPREMOTEIP=ip))
    out = r.stdout.decode()
    env = {}
    for line in out.splitlines():
        if line.startswith("set environment variable "):
            k, v = line[len("set environment variable "):].split("=", 1)
            env[k] = v
    return ("allow" if "allow connection" in out else "deny"), env


def ours(cdb, ip):
    env = base_env(PROTO="TCP", TCPREMOTEIP=ip, TCPREMOTEPORT="1234", TCPLOCALIP="127.0.0.1",
                   TCPLOCALPORT="80")
    r = run([prog("s6-tcpserver-access"), "-v0", "-H", "-x", cdb, "env"], env=env)
    if r.returncode == 1:
        return "deny", {}
    assert r.returncode == 0, r.stderr
    got = dict(l.split("=", 1) for l in r.stdout.decode().splitlines() if "=" in l)
    return "allow", {k: got[k] for k in ("RELAYCLIENT", "CLASS", "TCPLOCALHOST") if k in got}


def test_same_decisions_as_tcprules(tmp_path):
    need("tcprules")
    need("tcprulescheck")
    theirs_cdb, ours_cdb = str(tmp_path / "theirs.cdb"), str(tmp_path / "ours.cdb")
    r = run(["tcprules", theirs_cdb, theirs_cdb + ".tmp"], input=RULES)
    assert r.returncode == 0, r.stderr
    r = run([prog("s6-tcprules-import"), ours_cdb], input=RULES)
    assert r.returncode == 0, r.stderr
    assert b"ignored" in r.stderr  # the shadowed second 192.168.1.1 rule
    for ip in IPS:
        assert ours(ours_cdb, ip) == tcprulescheck(theirs_cdb, ip), ip


def test_keys_written(tmp_path):
    need("cdb")
    out = str(tmp_path / "r.cdb")
    assert run([prog("s6-tcprules-import"), out], input=RULES).returncode == 0
    dump = run(["cdb", "-l", out]).stdout.decode()
    keys = {l.split(":", 1)[1].strip() for l in dump.splitlines() if ":" in l}
    for k in ("ip4/1.2.3.4_32", "ip4/1.2.3.0_24", "ip4/10.0.0.37_32", "ip4/10.0.0.38_31",
              "ip4/10.0.0.40_29", "ip4/10.0.0.48_30", "ip4/10.0.0.52_31", "ip4/10.0.0.0_16",
              "ip4/10.0.0.0_8", "ip4/0.0.0.0_0", "ip6/::_0"):
        assert k in keys, (k, keys)


def test_ipv6_and_names(tmp_path):
    out = str(tmp_path / "r.cdb")
    rules = b"::1:allow,WHO=\"v6\"\n2001:db8::allow\n=.example.org:allow\n:deny\n"
    assert run([prog("s6-tcprules-import"), out], input=rules).returncode == 0
    env = base_env(PROTO="TCP", TCPREMOTEIP="::1", TCPREMOTEPORT="1", TCPLOCALIP="::1", TCPLOCALPORT="2")
    r = run([prog("s6-tcpserver-access"), "-H", "-x", out, "printenv", "WHO"], env=env)
    assert (r.returncode, r.stdout) == (0, b"v6\n")
    env["TCPREMOTEIP"] = "2001:db8:1::7"
    assert run([prog("s6-tcpserver-access"), "-H", "-x", out, "true"], env=env).returncode == 0
    env["TCPREMOTEIP"] = "2001:db9::7"
    assert run([prog("s6-tcpserver-access"), "-H", "-x", out, "true"], env=env).returncode == 1


def test_bad_line_names_it_and_keeps_old_cdb(tmp_path):
    out = tmp_path / "r.cdb"
    out.write_bytes(b"previous")
    r = run([prog("s6-tcprules-import"), str(out)], input=b"1.2.3.4:allow\n1.2.3.4.5:allow\n")
    assert r.returncode == 100
    assert b"line 2" in r.stderr and r.stderr.count(b"\n") == 1
    assert out.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["r.cdb"]  # no temporary left behind


def test_unsupported_rules(tmp_path):
    out = str(tmp_path / "r.cdb")
    rules = b"joe@127.0.0.1:allow\n127.0.0.1:deny\n"
    r = run([prog("s6-tcprules-import"), out], input=rules)
    assert r.returncode == 100 and b"line 1" in r.stderr
    r = run([prog("s6-tcprules-import"), "-u", out], input=rules)
    assert r.returncode == 0
    assert b"line 1 skipped" in r.stderr


def test_mode_and_explicit_tmpfile(tmp_path):
    out, tmp = str(tmp_path / "r.cdb"), str(tmp_path / "r.tmp")
    r = run([prog("s6-tcprules-import"), "-m", "0600", out, tmp], input=b":allow\n")
    assert r.returncode == 0
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert not os.path.exists(tmp)


@pytest.mark.parametrize("args", [[], ["-m"], ["-m", "999", "x"], ["-x", "a"], ["a", "b", "c"]])
def test_usage(args, tmp_path):
    r = run([prog("s6-tcprules-import")] + args, input=b"", cwd=str(tmp_path))
    assert r.returncode == 100


def test_unwritable_directory(tmp_path):
    r = run([prog("s6-tcprules-import"), "/nonexistent/dir/r.cdb"], input=b":allow\n")
    assert r.returncode == 111
    assert b"unable to create" in r.stderr
