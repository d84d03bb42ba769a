"""tools/install-deps.sh: every peer the suite asks for is in its lists,
and it installs what is missing without touching what was there.

The second half runs the script against stand-ins for apt-get,
dpkg-query, systemctl and id (a directory put first on PATH) and a
policy-rc.d path of its own: nothing on the machine changes."""
import glob
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, TOOL_PACKAGES, run

SCRIPT = os.path.join(ROOT, "tools", "install-deps.sh")
# Run by the suite itself or present on every Debian system (Essential).
ESSENTIAL = {"sh", "python3", "/usr/bin/python3", "true", "false", "cat", "env", "kill", "dpkg", "dpkg-query",
             "apt-get"}
# Our own programs (run from the stage or a PATH that has it first).
OURS = {os.path.basename(p)[:-2] for p in glob.glob(os.path.join(ROOT, "src", "*", "*.c"))}


def listed(*groups):
    r = run(["sh", SCRIPT, "--list"] + list(groups))
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().split()


def test_lists():
    build, test = listed("build"), listed("test")
    assert "gcc" in build and "libssl-dev" in build
    assert "python3-pytest" in test and "strace" in test and "systemd" in test
    # make and make demo install no test peer
    assert not {"haproxy", "chrony", "oidentd", "strace", "socat"} & set(build)
    # bench and fuzz extras are not installed for make check
    assert not {"wrk", "clang"} & set(build + test)


def peers_the_suite_uses():
    """tool -> files, from need("x"), have("x"), shutil.which("x") and the
    first word of run([...]), Popen([...]), procs.start([...]) calls."""
    pats = [r'\b(?:need|have|which)\(\s*"([^"]+)"',
            r'(?:run|Popen|start|call|check_output|check_call|server)\(\s*\[\s*"([^"]+)"']
    found = {}
    here = os.path.join(ROOT, "tests")
    for f in glob.glob(os.path.join(here, "**", "*.py"), recursive=True):
        if os.path.basename(f) in ("conftest.py", "test_deps.py"):
            continue    # the machinery: need("tool") in its docstrings
        with open(f) as fh:
            text = fh.read()
        for pat in pats:
            for m in re.finditer(pat, text):
                found.setdefault(m.group(1), set()).add(os.path.relpath(f, here))
    return found


def test_every_peer_is_installed_by_the_script():
    pkgs = set(listed("build", "test"))
    unknown, unlisted = [], []
    for tool, files in sorted(peers_the_suite_uses().items()):
        if tool in ESSENTIAL or tool in OURS or tool.startswith("./"):
            continue    # ./x: a script of the test's own
        pkg = TOOL_PACKAGES.get(os.path.basename(tool))
        if pkg is None:
            unknown.append("%s (%s)" % (tool, ", ".join(sorted(files))))
        elif pkg not in pkgs:
            unlisted.append("%s -> %s" % (tool, pkg))
    assert not unknown, ("peers with no package in conftest.TOOL_PACKAGES: add them there and "
                         "their package to tools/install-deps.sh: %s" % unknown)
    assert not unlisted, "packages missing from tools/install-deps.sh (build or test): %s" % unlisted


def test_tool_map_agrees_with_dpkg():
    if not shutil.which("dpkg"):
        pytest.skip("not a Debian system: no dpkg")
    paths = {}
    for tool in TOOL_PACKAGES:
        path = shutil.which(tool)
        if path:
            for p in (path, os.path.realpath(path)):
                # merged /usr: dpkg may know /bin/x or /usr/bin/x
                for q in (p, p[4:] if p.startswith("/usr/") else "/usr" + p):
                    paths[q] = tool
    owners = {}
    r = run(["dpkg", "-S"] + sorted(paths))
    for line in r.stdout.decode().splitlines():
        pkgs, _, path = line.partition(": ")
        if path in paths:
            owners.setdefault(paths[path], set()).update(p.strip().split(":")[0] for p in pkgs.split(","))
    wrong = []
    for tool, found in sorted(owners.items()):
        pkg = TOOL_PACKAGES[tool]
        if pkg in found:
            continue
        # gcc installs cc through gcc-12, pkg-config through pkgconf
        r = run(["dpkg-query", "-W", "-f=${Depends}", pkg])
        deps = {d.split()[0].split(":")[0] for d in re.split(r"[,|]", r.stdout.decode()) if d.strip()}
        if not found & deps:
            wrong.append("%s: %s, not %s" % (tool, sorted(found), pkg))
    assert not wrong, wrong


# ---- the script against stand-ins -----------------------------------------

STUB_DPKG_QUERY = r'''#!/bin/sh
# dpkg-query -W -f=... PKG
for a; do p=$a; done
grep -qx "$p" "$STATE/installed" && printf 'install ok installed' && exit 0
exit 1
'''

STUB_APT_GET = r'''#!/bin/sh
echo "apt-get $*" >> "$STATE/log"
case " $* " in
  *" update "*) exit 0 ;;
  *" -s "*)
    for a; do [ "$a" = chrony ] && [ -n "${CONFLICT:-}" ] && echo "Remv $CONFLICT [1]"; done
    exit 0 ;;
  *" download "*)
    for a; do p=$a; done
    : > "$p.deb"; exit 0 ;;
esac
# install: was the policy there, and what did it say?
if [ -e "$POLICY" ]; then echo "policy: $(tail -1 "$POLICY")" >> "$STATE/log"; else echo "policy: none" >> "$STATE/log"; fi
for a; do case $a in -*|install) ;; *) echo "$a" >> "$STATE/installed" ;; esac; done
'''

STUB_APT_CACHE = r'''#!/bin/sh
# apt-cache depends ... PKG
for a; do p=$a; done
printf '%s\n  Depends: libc6\n  Depends: libfake-%s1\n  Depends: adduser\n' "$p" "$p"
'''

STUB_DPKG_DEB = r'''#!/bin/sh
# dpkg-deb -x DEB DIR: a package that holds one program
echo "dpkg-deb $*" >> "$STATE/log"
[ -f "$2" ] || exit 2
mkdir -p "$3/usr/sbin" && printf '#!/bin/sh\n' > "$3/usr/sbin/$(basename "$2" .deb)d"
'''

STUB_SYSTEMCTL = r'''#!/bin/sh
echo "systemctl $*" >> "$STATE/log"
'''

STUB_ID = '''#!/bin/sh
echo 0
'''


@pytest.fixture
def stubs(tmp_path):
    bind = tmp_path / "bin"
    bind.mkdir()
    for name, text in (("dpkg-query", STUB_DPKG_QUERY), ("apt-get", STUB_APT_GET),
                       ("apt-cache", STUB_APT_CACHE), ("dpkg-deb", STUB_DPKG_DEB),
                       ("systemctl", STUB_SYSTEMCTL), ("id", STUB_ID)):
        (bind / name).write_text(text)
        (bind / name).chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    (state / "log").write_text("")
    return tmp_path


def script(stubs, installed, *args, conflict=None, policy_text=None):
    (stubs / "state" / "installed").write_text("".join(p + "\n" for p in installed))
    policy = stubs / "policy-rc.d"
    if policy_text is not None:
        policy.write_text(policy_text)
    env = {"PATH": "%s:/usr/bin:/bin" % (stubs / "bin"), "STATE": str(stubs / "state"),
           "POLICY": str(policy), "S6NET_POLICY_RC_D": str(policy),
           "S6NET_PEERS_DIR": str(stubs / "peers")}
    if conflict:
        env["CONFLICT"] = conflict
    r = subprocess.run(["sh", SCRIPT] + list(args), env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    log = (stubs / "state" / "log").read_text().splitlines()
    return r, log, policy


def test_installs_only_what_is_missing_and_starts_nothing(stubs):
    have = [p for p in listed("build", "test") if p not in ("strace", "haproxy", "systemd")]
    r, log, policy = script(stubs, have)
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    installs = [l for l in log if l.startswith("apt-get") and " install " in l and " -s " not in l]
    assert len(installs) == 1 and installs[0].split()[-3:] == ["haproxy", "strace", "systemd"], log
    assert "--no-remove" in installs[0]
    # A policy-rc.d that refuses every start existed during the install,
    # and is gone afterwards.
    assert "policy: exit 101" in log
    assert not policy.exists()
    # One line per group, saying what and why.
    lines = out.splitlines()
    assert any(l.startswith("install-deps: build (") and "all present" in l for l in lines), out
    assert any(l.startswith("install-deps: test (") and "installing haproxy strace systemd" in l
               for l in lines), out
    # Only the service of the package installed now is disabled; nothing
    # is stopped.
    sysd = [l for l in log if l.startswith("systemctl")]
    assert sysd == ["systemctl disable --quiet haproxy.service"], sysd
    assert not any("stop" in l or "--now" in l for l in log)


def test_services_installed_before_are_left_alone(stubs):
    have = [p for p in listed("build", "test") if p != "strace"]
    r, log, policy = script(stubs, have)
    assert r.returncode == 0, r.stderr
    assert not [l for l in log if l.startswith("systemctl")], log


def test_existing_policy_rc_d_is_kept(stubs):
    have = [p for p in listed("build", "test") if p != "strace"]
    mine = "#!/bin/sh\n# the administrator's own\nexit 0\n"
    r, log, policy = script(stubs, have, policy_text=mine)
    assert r.returncode == 0, r.stderr
    assert "policy: exit 0" in log
    assert policy.read_text() == mine


def test_package_that_would_remove_another_is_unpacked_not_installed(stubs):
    """chrony would remove systemd-timesyncd: it is not installed, its
    libraries are, and the package is unpacked into the checkout's
    .peers/ where the tests find chronyd. A second run needs nothing."""
    have = [p for p in listed("build", "test") if p not in ("chrony", "strace")] + ["libc6"]
    r, log, policy = script(stubs, have, conflict="systemd-timesyncd")
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    installs = [l for l in log if l.startswith("apt-get") and " install " in l and " -s " not in l]
    assert [i.split()[-1] for i in installs] == ["strace", "libfake-chrony1"], log
    assert not any(i.split()[-1] == "chrony" for i in installs), log
    assert "chrony unpacked into .peers/chrony, not installed (installing it would remove systemd-timesyncd)" \
        in out, out
    assert (stubs / "peers" / "chrony" / ".unpacked").exists()
    assert (stubs / "peers" / "chrony" / "usr" / "sbin" / "chronyd").exists()
    assert not policy.exists()
    (stubs / "state" / "log").write_text("")
    r, log, policy = script(stubs, have + ["strace", "libfake-chrony1"], conflict="systemd-timesyncd")
    assert r.returncode == 0 and log == [], (log, r.stderr)


def test_nothing_missing_changes_nothing(stubs):
    r, log, policy = script(stubs, listed("build", "test"))
    assert r.returncode == 0
    assert log == [] and not policy.exists()
    assert len(r.stdout.decode().splitlines()) == 2


def test_check_lists_what_is_missing(stubs):
    have = [p for p in listed("build", "test") if p != "strace"]
    r, log, policy = script(stubs, have, "--check")
    assert r.returncode == 1 and log == []
    assert r.stdout.decode() == "install-deps: test (the test runners and peers of make check): missing strace\n"
