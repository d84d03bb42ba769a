"""The compiled-in leap-second table against the system's copy of the
IERS/IETF leap-seconds.list (Debian tzdata, pulled in by chrony): fails
when a new leap second is announced and the table was not refreshed."""
import os
import subprocess

from conftest import ROOT, helper, run

LIST = "/usr/share/zoneinfo/leap-seconds.list"


def parse_list(path):
    entries, expires = [], None
    with open(path) as f:
        for line in f:
            if line.startswith("#@"):
                expires = int(line.split()[1])
            elif line.strip() and not line.startswith("#"):
                ntp, off = line.split()[:2]
                entries.append((int(ntp), int(off)))
    return entries, expires


def dump():
    r = run([helper("clock_leapdump")])
    assert r.returncode == 0
    entries, expires = [], None
    for line in r.stdout.decode().splitlines():
        a, b = line.split()
        if a == "expires":
            expires = int(b)
        else:
            entries.append((int(a), int(b)))
    return entries, expires


def test_table_matches_system_list():
    assert os.path.exists(LIST), "tzdata's leap-seconds.list is missing"
    sys_entries, sys_expires = parse_list(LIST)
    ours, our_expires = dump()
    assert sys_entries, "empty leap-seconds.list"
    # Every leap second the system knows, we know, with the same offset.
    assert ours[:len(sys_entries)] == sys_entries
    assert our_expires >= min(sys_expires, our_expires)


def test_update_script_reproduces_the_table(tmp_path):
    """lib/clock/leap-update.sh regenerates leap.c from the list: run on the
    system list, it must leave a table equal to the system's."""
    src = os.path.join(ROOT, "lib", "clock", "leap.c")
    out = tmp_path / "leap.c"
    out.write_bytes(open(src, "rb").read())
    r = subprocess.run(["sh", os.path.join(ROOT, "lib", "clock", "leap-update.sh"), LIST, str(out)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    sys_entries, sys_expires = parse_list(LIST)
    for ntp, off in sys_entries:
        assert "{ %du, %d }" % (ntp, off) in text
    assert "s6net_leap_table_expires = %du;" % sys_expires in text
    # Everything outside the generated block is untouched.
    orig = open(src).read()
    assert text.split("/* BEGIN LEAP TABLE */")[0] == orig.split("/* BEGIN LEAP TABLE */")[0]
    assert text.split("/* END LEAP TABLE */")[1] == orig.split("/* END LEAP TABLE */")[1]
