"""Process accounting from /proc for the stress tests: fds and RSS of a
server, waiting until it has reaped its connections, and the load
generator (tests/helpers/hard_load).

What the integration suite already has is reused, not copied: its
children() and wait_until() (util.py, which tells s6-tcpserverd's idle
acceptors from connections) and its static handler
(hardening_util.handler_musl, built into the stage that other uids can
reach)."""
import os
import subprocess

from conftest import helper
from hardening_util import handler_musl
from util import children, wait_until

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


def settle(pid, timeout=60.0):
    """Wait until the server has reaped every connection's child; returns
    the (pid, state) of the zombies and live children left at the
    deadline."""
    wait_until(lambda: not children(pid), timeout, 0.02)
    return children(pid, states=True)


def handler():
    """hard_handler, static with musl when available: spawning it costs
    a tenth of a glibc program, so the load measures the server."""
    return handler_musl()


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
