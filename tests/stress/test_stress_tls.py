"""s6-tlsserver under load: 10,000 TLS connections, two in five aborted
mid-handshake (half after the server's first flight, half right after the
ClientHello) with a reset (SO_LINGER 0). Afterwards s6-tcpserverd and the engine
zygote hold the same fds and memory, every per-connection engine is gone,
and every application saw a correct environment without key variables."""
import os

from conftest import prog
from stress_util import RSS_SLACK_KB, fds, handler, load, rss_kb
from tls_util import server_env, keeper_pid, zygote_pid
from util import children, wait_until

TOTAL = int(os.environ.get("S6NET_STRESS_TLS", "10000"))
# Warm-ups before the figures are taken: every pool filled and every page
# touched; smaller for a small TOTAL (make check under the sanitizers).
WARM = min(500, max(50, TOTAL // 2))
POOL = 8    # s6-tlsd-io -X default: pre-forked engines waiting in the zygote


def zygote(pid):
    """The zygote master, child of s6-tlsserver's keeper."""
    return zygote_pid(pid)


def snapshot(pid, z):
    return dict(fds=fds(pid), rss=rss_kb(pid), zfds=fds(z), zrss=rss_kb(z))


def test_10k_tls_handshakes_with_aborts(procs, certs, tmp_path, figures):
    log = open(tmp_path / "server.log", "wb")
    env = server_env(certs)
    env.update({"CAFILE": certs.p("ca.pem"), "KEYFILE:localhost": certs.p("server.key"),
                "CERTFILE:localhost": certs.p("server.pem"), "TLS_UID": "65534", "TLS_GID": "65534"})
    p, port = procs.server([prog("s6-tlsserver"), "-1", "-c", "64", "-C", "64", "-K", "5000", "--",
                            "127.0.0.1", "0", handler(), "env"], env=env, stderr=log)
    z = zygote(p.pid)
    assert z, "no zygote"
    k = keeper_pid(p.pid)
    # warm-up, then the figures are taken with every pool at its size
    rc, c, err = load("tls", "127.0.0.1", port, WARM, 8, 5)
    assert rc == 0, (c, err)
    idle = POOL

    def quiet():
        return [x for x in children(p.pid) if x != k] == [] and len(children(z)) == idle
    assert wait_until(quiet, 30)
    s0 = snapshot(p.pid, z)

    rc, c, err = load("tls", "127.0.0.1", port, TOTAL, 8, 5)
    assert rc == 0, (c, err)
    assert c["ok"] + c["aborted"] == TOTAL and c["aborted"] == 2 * TOTAL // 5, c
    assert c["bad"] == 0 and c["err"] == 0, c

    settled = wait_until(quiet, 60)
    left = [x for x in children(p.pid, states=True) if x[0] != k] + [x for x in children(z, states=True) if x[1] == "Z"]
    assert settled and not left, (left[:10], len(children(z)), idle)
    s1 = snapshot(p.pid, z)
    assert s1["fds"] == s0["fds"] and s1["zfds"] == s0["zfds"], (s0, s1)
    assert s1["rss"] - s0["rss"] <= RSS_SLACK_KB and s1["zrss"] - s0["zrss"] <= RSS_SLACK_KB, (s0, s1)
    assert p.poll() is None
    with open(tmp_path / "server.log", "rb") as f:
        lines = f.read().decode(errors="replace").splitlines()
    # Aborted clients are logged (one warning each, never a fatal error).
    odd = [l for l in lines if not ("s6-tlsd-io: warning: " in l and
                                    ("unable to perform TLS handshake" in l or "reset by peer" in l or
                                         ("unable to write to peer" in l and "Broken pipe" in l)))]
    assert not odd, odd[:5]
    figures(what="s6-tlsserver (zygote) -c 64, 40% aborted", connections=TOTAL, ok=c["ok"],
            aborted=c["aborted"], bad_env=c["bad"], errors=c["err"], seconds=c["ms"] / 1000,
            fds_before=s0["fds"] + s0["zfds"], fds_after=s1["fds"] + s1["zfds"],
            rss_kb_before=s0["rss"] + s0["zrss"], rss_kb_after=s1["rss"] + s1["zrss"], zombies=len(left))


def test_tls_without_zygote_s6_tlsd(procs, certs, tmp_path, figures):
    """The same through s6-tcpserver + s6-tlsd with no zygote: a fresh
    engine process per connection."""
    total = max(100, TOTAL // 20)
    log = open(tmp_path / "server.log", "wb")
    env = server_env(certs)
    p, port = procs.server([prog("s6-tcpserver"), "-1", "-c", "64", "127.0.0.1", "0",
                            prog("s6-tlsd"), "-K", "5000", "--", handler(), "env"],
                           env=env, stderr=log)
    rc, c, err = load("tls", "127.0.0.1", port, min(200, WARM), 8, 5)
    assert rc == 0, (c, err)
    assert wait_until(lambda: not children(p.pid), 30)
    fd0, rss0 = fds(p.pid), rss_kb(p.pid)
    rc, c, err = load("tls", "127.0.0.1", port, total, 8, 5)
    assert rc == 0, (c, err)
    assert c["ok"] + c["aborted"] == total and c["bad"] == 0 and c["err"] == 0, c
    assert wait_until(lambda: not children(p.pid), 60), children(p.pid, states=True)[:10]
    fd1, rss1 = fds(p.pid), rss_kb(p.pid)
    assert fd1 == fd0 and rss1 - rss0 <= RSS_SLACK_KB, (fd0, fd1, rss0, rss1)
    figures(what="s6-tcpserver + s6-tlsd, 40% aborted", connections=total, ok=c["ok"],
            aborted=c["aborted"], bad_env=c["bad"], errors=c["err"], seconds=c["ms"] / 1000,
            fds_before=fd0, fds_after=fd1, rss_kb_before=rss0, rss_kb_after=rss1, zombies=0)
