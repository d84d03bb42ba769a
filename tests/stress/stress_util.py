"""Process accounting from /proc for the stress tests: fds, RSS, children
and zombies of a server, and the load generator (tests/helpers/hard_load)."""
import os
import shutil
import subprocess
import time

from conftest import BUILD, ROOT, helper, run

# Slack for VmRSS between two measurements that should be equal: stdio
# and the kernel's accounting of page-table pages move by a few pages.
RSS_SLACK_KB = 128


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)


def rss_kb(pid):
    return int(status(pid)["VmRSS"].split()[0])


def comm(pid):
    with open("/proc/%d/comm" % pid) as f:
        return f.read().strip()


def children(pid):
    """(pid, state) of every process whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        if int(rest[1]) == pid:
            out.append((int(d), rest[0]))
    return out


def wait_until(cond, timeout=30.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def settle(pid, timeout=60.0):
    """Wait until the server has reaped every child; returns the zombies
    and live children left at the deadline."""
    wait_until(lambda: not children(pid), timeout)
    return children(pid)


def handler():
    """hard_handler, static with musl when available: spawning it costs
    a tenth of a glibc program, so the load measures the server."""
    out = os.path.join(BUILD, "stress", "hard_handler")
    src = os.path.join(ROOT, "tests", "helpers", "hard_handler.c")
    if shutil.which("musl-gcc"):
        if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
            os.makedirs(os.path.dirname(out), exist_ok=True)
            r = run(["musl-gcc", "-static", "-O2", "-o", out, src], timeout=60)
            assert r.returncode == 0, r.stderr.decode()
        return out
    return helper("hard_handler")


def load(*args, timeout=600):
    """Run hard_load; returns (returncode, counters dict, stderr)."""
    r = subprocess.run([helper("hard_load")] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout,
                       env=dict(os.environ, HARD_LOAD_VERBOSE="1"))
    counts = {}
    for tok in r.stdout.decode().split():
        k, _, v = tok.partition("=")
        counts[k] = int(v)
    return r.returncode, counts, r.stderr.decode()[-4000:]


def load_popen(*args):
    return subprocess.Popen([helper("hard_load")] + [str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, HARD_LOAD_VERBOSE="1"))
