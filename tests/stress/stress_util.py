"""Process accounting from /proc for the stress tests: fds, RSS, children
and zombies of a server, and the load generator (tests/helpers/hard_load).

What the integration suite already knows is reused, not copied: which
children are connections and which are s6-tcpserverd's idle acceptors
(tcpserver_util.children, conftest.is_acceptor), process states, and the
static handler (hardening_util.handler_musl, built into the stage that
other uids can reach)."""
import os
import subprocess

from conftest import comm, helper  # noqa: F401  (comm is re-exported)
from hardening_util import handler_musl
import tcpserver_util

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


def children(pid):
    """(pid, state) of every child of pid that is a connection (live or
    zombie): s6-tcpserverd's idle acceptors are not counted."""
    out = []
    for c in tcpserver_util.children(pid):
        s = tcpserver_util.state(c)
        if s is not None:
            out.append((c, s))
    return out


def wait_until(cond, timeout=30.0, step=0.02):
    return tcpserver_util.wait_until(cond, timeout, step)


def settle(pid, timeout=60.0):
    """Wait until the server has reaped every connection's child; returns
    the zombies and live children left at the deadline."""
    wait_until(lambda: not children(pid), timeout)
    return children(pid)


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
