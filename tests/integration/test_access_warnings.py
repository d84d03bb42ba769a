"""Access control that says what is wrong: the compiler names each entry
no lookup can find (and -s makes that fatal) while writing byte for byte
what Debian's s6-accessrules-cdb-from-fs writes; s6-tcpserver-access
says, once per connection, that its rules directory is missing."""
import os

import pytest

from conftest import base_env, prog, run
from access_util import ORACLE_C, write_rules

PROG = "s6-accessrules-cdb-from-fs"

BAD = {
    "ip4/300.1.1.1_32": {"allow": True},        # not an address
    "ip4/10.0.0.0_99": {"deny": True},          # mask out of range
    "ip4/10.0.0.1_8": {"allow": True},          # host bits: never looked up
    "ip4/192.0.2.0_24": {"exec": "x"},          # neither allow nor deny
    "ip6/2001:DB8::_32": {"allow": True},       # not RFC 5952
    "reversedns/Example.ORG": {"deny": True},   # lookups are lower case
    "uid/root": {"allow": True},                # not a number
}
GOOD = {
    "ip4/10.0.0.0_8": {"allow": True, "env": {"A": "1"}, "exec": "echo hi\n"},
    "ip4/0.0.0.0_0": {"deny": True},
    "ip6/::1_128": {"allow": True},
    "reversedns/@": {"allow": True},
    "reversedns/example.org": {"deny": True},
    "uid/0": {"allow": True},
    "uid/self": {"allow": True},
    "gid/default": {"deny": True},
}
EXPECT = {
    "ip4/300.1.1.1_32": "not an IPv4 address",
    "ip4/10.0.0.0_99": "the mask is not a number from 0 to 32",
    "ip4/10.0.0.1_8": "never looked up: lookups use the network address, in plain dotted form (ip4/10.0.0.0_8 would be)",
    "ip4/192.0.2.0_24": "neither allow nor deny: the rule is left out",
    "ip6/2001:DB8::_32": "never looked up: lookups use the network address, in RFC 5952 form (ip6/2001:db8::_32 would be)",
    "reversedns/Example.ORG": "never looked up: lookups use the name in lower case, without a final dot (reversedns/example.org would be)",
    "uid/root": "not a number, self or default",
}


def compile_with(args, root, cdb, oracle=False):
    return run(([ORACLE_C] if oracle else [prog(PROG)]) + args + [cdb, root], env=base_env())


def warnings(stderr):
    lines = stderr.decode().splitlines()
    pre = PROG + ": warning: "
    assert all(l.startswith(pre) for l in lines), lines
    return sorted(l[len(pre):] for l in lines)


def test_valid_rules_compile_silently_and_identically(tmp_path):
    root = write_rules(str(tmp_path / "rules"), GOOD)
    ours = compile_with([], root, str(tmp_path / "ours.cdb"))
    ref = compile_with([], root, str(tmp_path / "ref.cdb"), oracle=True)
    assert ours.returncode == 0 and ours.stderr == b""
    assert ref.returncode == 0
    assert open(tmp_path / "ours.cdb", "rb").read() == open(tmp_path / "ref.cdb", "rb").read()
    strict = compile_with(["-s"], root, str(tmp_path / "strict.cdb"))
    assert strict.returncode == 0 and strict.stderr == b""
    assert open(tmp_path / "strict.cdb", "rb").read() == open(tmp_path / "ref.cdb", "rb").read()


def test_bad_entries_are_named_and_output_matches_reference(tmp_path):
    """Each bad entry gets one warning naming it; the CDB is still what
    the reference writes for the same directory, and the exit is 0."""
    root = write_rules(str(tmp_path / "rules"), dict(GOOD, **BAD))
    ours = compile_with([], root, str(tmp_path / "ours.cdb"))
    ref = compile_with([], root, str(tmp_path / "ref.cdb"), oracle=True)
    assert ours.returncode == 0, ours.stderr
    assert ref.returncode == 0
    assert warnings(ours.stderr) == sorted("%s: %s" % kv for kv in EXPECT.items())
    assert open(tmp_path / "ours.cdb", "rb").read() == open(tmp_path / "ref.cdb", "rb").read()


@pytest.mark.parametrize("key", sorted(BAD))
def test_each_bad_entry_alone(tmp_path, key):
    root = write_rules(str(tmp_path / "rules"), dict(GOOD, **{key: BAD[key]}))
    r = compile_with([], root, str(tmp_path / "ours.cdb"))
    assert r.returncode == 0
    assert warnings(r.stderr) == ["%s: %s" % (key, EXPECT[key])]


def test_unknown_kind_is_named(tmp_path):
    root = write_rules(str(tmp_path / "rules"), dict(GOOD, **{"ipv4/10.0.0.0_8": {"allow": True}}))
    r = compile_with([], root, str(tmp_path / "ours.cdb"))
    ref = compile_with([], root, str(tmp_path / "ref.cdb"), oracle=True)
    assert r.returncode == 0
    assert warnings(r.stderr) == ["ipv4: not a kind of rule that is looked up (ip4, ip6, reversedns, uid, gid)"]
    assert open(tmp_path / "ours.cdb", "rb").read() == open(tmp_path / "ref.cdb", "rb").read()


def test_s_makes_warnings_fatal_and_leaves_the_cdb(tmp_path):
    root = write_rules(str(tmp_path / "rules"), dict(GOOD, **BAD))
    cdb = tmp_path / "rules.cdb"
    cdb.write_bytes(b"previous ruleset")
    r = compile_with(["-s"], root, str(cdb))
    assert r.returncode == 100
    lines = r.stderr.decode().splitlines()
    assert len(lines) == len(BAD) + 1
    assert lines[-1] == "%s: fatal: unable to compile %s: the rules have bad entries, and -s makes them fatal" % (PROG, root)
    assert cdb.read_bytes() == b"previous ruleset"
    assert sorted(os.listdir(tmp_path)) == ["rules", "rules.cdb"]  # no temporary left


def access(args, ip="192.0.2.9"):
    env = base_env(PROTO="TCP", TCPREMOTEIP=ip, TCPREMOTEPORT="4000")
    return run([prog("s6-tcpserver-access")] + args + ["echo", "allowed"], env=env)


@pytest.mark.parametrize("dns", [["-H"], []], ids=["H", "dns"])
def test_missing_rules_dir_denies_with_one_warning(tmp_path, dns):
    missing = str(tmp_path / "nope")
    r = access(["-v", "1", "-h"] + dns + ["-i", missing])
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode() == "s6-tcpserver-access: warning: rules directory %s (-i) does not exist: every client is denied\n" % missing
    # -v 0 silences it; the verdict is the same
    r = access(["-v", "0", "-h"] + dns + ["-i", missing])
    assert r.returncode == 1 and r.stderr == b""


def test_rules_dir_that_is_a_file_is_named(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    r = access(["-H", "-i", str(f)])
    assert r.returncode == 111 and r.stdout == b""
    assert r.stderr.decode() == "s6-tcpserver-access: fatal: unable to check rules in %s: Not a directory\n" % f


def test_existing_rules_dir_without_a_match_denies_silently(tmp_path):
    root = write_rules(str(tmp_path / "rules"), {"ip4/10.0.0.0_8": {"allow": True}})
    r = access(["-H", "-i", root])
    assert r.returncode == 1 and r.stderr == b""
    r = access(["-H", "-i", root], ip="10.1.2.3")
    assert r.returncode == 0 and r.stdout == b"allowed\n"


def test_missing_rules_file_names_it(tmp_path):
    """-x on a missing file denies (the client is not served) with one line
    naming the file, at any verbosity."""
    missing = str(tmp_path / "nope.cdb")
    for v in ("0", "1"):
        r = access(["-v", v, "-H", "-x", missing])
        assert r.returncode == 111 and r.stdout == b""
        assert r.stderr.decode() == "s6-tcpserver-access: fatal: unable to open %s: No such file or directory\n" % missing


def ipc_access(args):
    env = base_env(PROTO="IPC", IPCREMOTEEUID="1234", IPCREMOTEEGID="1234")
    return run([prog("s6-ipcserver-access"), "-l", "/run/x.sock"] + args + ["echo", "allowed"], env=env)


def test_ipc_missing_rules_dir_denies_with_one_warning(tmp_path):
    """s6-ipcserver-access -i on a directory that does not exist denies
    everyone (as the reference does) and says so at -v1."""
    missing = str(tmp_path / "nope")
    r = ipc_access(["-i", missing])
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode() == "s6-ipcserver-access: warning: rules directory %s (-i) does not exist: every client is denied\n" % missing
    r = ipc_access(["-v", "0", "-i", missing])
    assert r.returncode == 1 and r.stderr == b""
    # an existing directory without a matching rule still denies silently
    empty = tmp_path / "rules"
    empty.mkdir()
    r = ipc_access(["-i", str(empty)])
    assert r.returncode == 1 and r.stderr == b""
