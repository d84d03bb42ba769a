"""s6-accessrules-cdb-from-fs and s6-accessrules-fs-from-cdb, checked
against Debian's s6 tools (the reference implementation) both ways."""
import os
import struct

import pytest

from conftest import base_env, prog, run
from access_util import (ORACLE_C, ORACLE_D, cdb_dump, compile_rules, rules_set, write_rules)

RULES = {
    "ip4/10.0.0.0_8": {"allow": True, "exec": "echo hi\n",
                       "env": {"A": b"hello  \t\r\nsecond\n", "B": None, "C": b"x\0y\n",
                               ".hidden": "no", "D": b"\n\nabc", "E": b"a\x0b\x0c \n"}},
    "ip4/10.1.2.3_32": {"deny": True},
    "ip4/9.0.0.0_8": {"allow": True, "deny": True},
    "ip4/8.0.0.0_8": {"exec": "ignored"},            # neither allow nor deny
    "ip6/::1_128": {"allow": True},
    "ip6/2001:db8::_32": {"allow": True, "env": {"L": b"b" * 4000}},
    "reversedns/@": {"allow": True},
    "reversedns/example.org": {"deny": True},
    "uid/0": {"allow": True, "env": {"U": "root"}},
    "gid/default": {"deny": True},
    "other/thing": {"allow": True},
}


def both(tmp_path, rules):
    root = write_rules(str(tmp_path / "rules"), rules)
    ours = compile_rules(root, str(tmp_path / "ours.cdb"))
    ref = compile_rules(root, str(tmp_path / "ref.cdb"), ours=False)
    return root, ours, ref


def test_compile_matches_reference(tmp_path):
    root, ours, ref = both(tmp_path, RULES)
    a, b = rules_set(ours), rules_set(ref)
    assert a == b
    assert b"ip4/8.0.0.0_8" not in a
    assert a[b"ip4/10.0.0.0_8"] == ("allow", frozenset([b"A=hello", b"B", b"C=x\ny", b"D=", b"E=a\x0b\x0c"]), b"echo hi\n")
    assert a[b"ip4/9.0.0.0_8"][0] == "allow"
    # Same directory order, same values: the files are byte for byte equal.
    assert open(ours, "rb").read() == open(ref, "rb").read()


def test_reference_cdb_through_our_decompiler(tmp_path):
    root, ours, ref = both(tmp_path, RULES)
    out = str(tmp_path / "back")
    r = run([prog("s6-accessrules-fs-from-cdb"), out, ref], env=base_env())
    assert r.returncode == 0, r.stderr
    again = compile_rules(out, str(tmp_path / "again.cdb"), ours=False)
    assert rules_set(again) == rules_set(ref)


def test_our_cdb_through_reference_decompiler(tmp_path):
    root, ours, ref = both(tmp_path, {k: v for k, v in RULES.items() if k != "ip4/10.0.0.0_8"})
    out = str(tmp_path / "back")
    r = run([ORACLE_D, out, ours], env=base_env())
    assert r.returncode == 0, r.stderr
    again = compile_rules(out, str(tmp_path / "again.cdb"))
    assert rules_set(again) == rules_set(ours)


def test_newlines_in_values_survive_a_round_trip(tmp_path):
    """The reference decompiler writes a value's newlines as newlines, so
    only the first line survives; we write NULs, which envdir reads back
    as newlines."""
    root, ours, ref = both(tmp_path, {"ip4/1.0.0.0_8": {"allow": True, "env": {"C": b"x\0y\n"}}})
    out = str(tmp_path / "back")
    assert run([prog("s6-accessrules-fs-from-cdb"), out, ours]).returncode == 0
    again = compile_rules(out, str(tmp_path / "again.cdb"))
    assert rules_set(again)[b"ip4/1.0.0.0_8"][1] == frozenset([b"C=x\ny"])


@pytest.mark.parametrize("sizes,ok", [((2046, 2046), True), ((2046, 2047), False),
                                      ((4095,), True), ((1, 4095), False)])
def test_env_size_limit_matches_reference(tmp_path, sizes, ok):
    env = {"V%d" % i: b"b" * n for i, n in enumerate(sizes)}
    root = write_rules(str(tmp_path / "r"), {"ip4/1.0.0.0_8": {"allow": True, "env": env}})
    for exe in (prog("s6-accessrules-cdb-from-fs"), ORACLE_C):
        r = run([exe, str(tmp_path / "x.cdb"), root], env=base_env())
        assert r.returncode == (0 if ok else 100), (exe, r.stderr)


def test_exec_truncated_with_warning(tmp_path):
    root = write_rules(str(tmp_path / "r"), {"ip4/1.0.0.0_8": {"allow": True, "exec": b"e" * 5000}})
    r = run([prog("s6-accessrules-cdb-from-fs"), str(tmp_path / "x.cdb"), root], env=base_env())
    assert r.returncode == 0
    assert b"warning" in r.stderr
    assert rules_set(str(tmp_path / "x.cdb"))[b"ip4/1.0.0.0_8"][2] == b"e" * 4096


def test_mode_option(tmp_path):
    root = write_rules(str(tmp_path / "r"), {"ip4/1.0.0.0_8": {"allow": True}})
    compile_rules(root, str(tmp_path / "a.cdb"), mode="640")
    assert os.stat(str(tmp_path / "a.cdb")).st_mode & 0o7777 == 0o640
    compile_rules(root, str(tmp_path / "b.cdb"))
    assert os.stat(str(tmp_path / "b.cdb")).st_mode & 0o7777 == 0o600   # like the reference
    for bad in ("abc", "8", "-1", "77777", ""):
        r = run([prog("s6-accessrules-cdb-from-fs"), "-m", bad, str(tmp_path / "c.cdb"), root])
        assert r.returncode == 100, bad


def test_atomic_replace(tmp_path):
    root = write_rules(str(tmp_path / "r"), {"ip4/1.0.0.0_8": {"allow": True}})
    cdb = str(tmp_path / "rules.cdb")
    compile_rules(root, cdb)
    ino = os.stat(cdb).st_ino
    old = open(cdb, "rb").read()
    write_rules(root, {"ip4/2.0.0.0_8": {"deny": True}})
    compile_rules(root, cdb)
    assert os.stat(cdb).st_ino != ino            # replaced by rename, not rewritten
    assert b"ip4/2.0.0.0_8" in rules_set(cdb)
    # failures: an env too big (100), a rule that is a file (111)
    old = open(cdb, "rb").read()
    write_rules(root, {"ip4/3.0.0.0_8": {"allow": True, "env": {"A": b"a" * 3000, "B": b"b" * 3000}}})
    r = run([prog("s6-accessrules-cdb-from-fs"), cdb, root])
    assert r.returncode == 100
    assert open(cdb, "rb").read() == old
    assert sorted(os.listdir(str(tmp_path))) == ["r", "rules.cdb"]
    os.unlink(os.path.join(root, "ip4/3.0.0.0_8/env/B"))
    open(os.path.join(root, "ip4", "4.0.0.0_8"), "w").close()
    r = run([prog("s6-accessrules-cdb-from-fs"), cdb, root])
    assert r.returncode == 111
    assert open(cdb, "rb").read() == old
    assert sorted(os.listdir(str(tmp_path))) == ["r", "rules.cdb"]


def test_compiler_errors(tmp_path):
    c = prog("s6-accessrules-cdb-from-fs")
    assert run([c]).returncode == 100
    assert run([c, "x.cdb"]).returncode == 100
    assert run([c, str(tmp_path / "x.cdb"), str(tmp_path / "nodir")]).returncode == 111
    root = write_rules(str(tmp_path / "r"), {"ip4/1.0.0.0_8": {"allow": True}})
    assert run([c, str(tmp_path / "no/such/dir/x.cdb"), root]).returncode == 111


def make_cdb(path, records):
    """A CDB with arbitrary records, written by tinycdb's cdb -c."""
    data = b"".join(b"+%d,%d:%s->%s\n" % (len(k), len(v), k, v) for k, v in records) + b"\n"
    r = run(["cdb", "-c", path], input=data)
    assert r.returncode == 0, r.stderr
    return path


@pytest.mark.parametrize("records", [
    [(b"abc", b"D")],                                   # no type/name
    [(b"ip4/../../evil", b"D")],                        # escapes the tree
    [(b"../x", b"D")],
    [(b"ip4/.hidden", b"D")],
    [(b"ip4/a/b", b"D")],
    [(b"ip4/1.0.0.0_8", b"X")],                         # not a rule value
    [(b"ip4/1.0.0.0_8", b"A\0\0")],                     # truncated
    [(b"ip4/1.0.0.0_8", b"A\0\x04../x\0\0\0")],         # bad variable name
    [(b"ip4/1.0.0.0_8", b"D"), (b"ip4/2.0.0.0_8", b"A\x10\x10")],
])
def test_decompiler_rejects_bad_cdbs(tmp_path, records):
    cdb = make_cdb(str(tmp_path / "bad.cdb"), records)
    out = str(tmp_path / "out")
    r = run([prog("s6-accessrules-fs-from-cdb"), out, cdb])
    assert r.returncode == 111
    assert not os.path.exists(out)                      # partial tree removed
    assert not os.path.exists(str(tmp_path / "evil"))
    assert not os.path.exists(str(tmp_path / "x"))


def test_decompiler_errors(tmp_path):
    d = prog("s6-accessrules-fs-from-cdb")
    assert run([d]).returncode == 100
    assert run([d, str(tmp_path / "o")]).returncode == 100
    assert run([d, str(tmp_path / "o"), str(tmp_path / "none.cdb")]).returncode == 111
    cdb = make_cdb(str(tmp_path / "ok.cdb"), [(b"ip4/1.0.0.0_8", b"D")])
    os.mkdir(str(tmp_path / "exists"))
    assert run([d, str(tmp_path / "exists"), cdb]).returncode == 111
    (tmp_path / "short.cdb").write_bytes(b"x" * 100)
    assert run([d, str(tmp_path / "o2"), str(tmp_path / "short.cdb")]).returncode == 111
    assert not os.path.exists(str(tmp_path / "o2"))
