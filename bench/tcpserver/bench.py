#!/usr/bin/python3
"""Side-by-side benchmark of TCP super-servers, driven by run.sh.

Servers: s6-tcpserver (ours), ucspi-tcp tcpserver, ipsvd tcpsvd, socat.
All serve the same musl-static handler (read the request, write a fixed
HTTP reply, exit). Each runs on its own loopback port for the whole
benchmark; the loads alternate between them, round after round:
  (a) wrk -c50 -H 'Connection: close' for DUR seconds (connections/s);
  (b) a sequential C client: one connection at a time, p50/p99 of
      connect-to-close latency and the rate.
Medians over the rounds, ratios against tcpserver. Also: the physical
limit (spawn+reap of the handler with no network, plus one loopback
connect/accept/close round with no spawn), measured in every round right
after the sequential runs, idle RSS of every server (median of five
starts), and
s6-tcpserverd's RSS and fd count before and after 100,000 connections.
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

B = sys.argv[1]          # build dir
W = sys.argv[2]          # bench work dir with the compiled tools
# A second build (e.g. the main branch's) measured in the same run as
# "s6-tcpserver-old", so that a change is compared with what it changes.
OLD = sys.argv[3] if len(sys.argv) > 3 else os.environ.get("S6NET_OLD_BUILD")
ROUNDS = int(os.environ.get("ROUNDS", "5"))
DUR = int(os.environ.get("DUR", "3"))
SEQN = int(os.environ.get("SEQN", "2000"))
GROWTH_N = int(os.environ.get("GROWTH_N", "100000"))
H = os.path.join(W, "http_ok")
SEQ = os.path.join(W, "tcpsrv_seqclient")
PHYS = os.path.join(W, "tcpsrv_phys")
ENV = {"PATH": "/usr/bin:/bin"}
# Same listen backlog and connection limit for every server: the default
# backlogs differ (20 for tcpserver and tcpsvd) and a full backlog turns
# into 1 s SYN retransmits that would measure the kernel, not the server.
# tcpsvd -l: without it tcpsvd asks DNS for the local name per connection.
BACKLOG = "1024"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited early: %r" % proc.args)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit("server not ready: %r" % proc.args)


STATIC = os.path.join(os.path.dirname(B.rstrip("/")), "build-static", "bin")


def start(name):
    if name.startswith("s6-tcpserver"):
        bindir = STATIC if name == "s6-tcpserver-static" else os.path.join(OLD if name == "s6-tcpserver-old" else B, "bin")
        p = subprocess.Popen([os.path.join(bindir, "s6-tcpserver"), "-1", "-b", BACKLOG, "-c", "200", "-C", "200",
                              "127.0.0.1", "0", H], stdout=subprocess.PIPE, env=ENV)
        port = int(p.stdout.readline())
    elif name == "tcpserver":
        p = subprocess.Popen(["tcpserver", "-1", "-RHl0", "-b", BACKLOG, "-c", "200", "127.0.0.1", "0", H],
                             stdout=subprocess.PIPE, env=ENV)
        port = int(p.stdout.readline())
    elif name == "tcpsvd":
        port = free_port()
        p = subprocess.Popen(["tcpsvd", "-l", "localhost", "-b", BACKLOG, "-c", "200", "127.0.0.1", str(port), H], env=ENV)
    elif name == "socat":
        port = free_port()
        p = subprocess.Popen(["socat", "TCP4-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,backlog=%s" % (port, BACKLOG),
                              "EXEC:%s,nofork" % H], env=ENV)
    wait_port(port, p)
    # Let the readiness probe's child finish before measuring memory.
    time.sleep(0.2)
    return p, port


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def wrk(port, dur):
    r = subprocess.run(["wrk", "-t2", "-c50", "-d%ds" % dur, "-H", "Connection: close",
                        "http://127.0.0.1:%d/" % port], stdout=subprocess.PIPE, text=True, timeout=dur + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    n = re.search(r"(\d+) requests in", r.stdout)
    errs = re.search(r"Socket errors: (.*)", r.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    return float(m.group(1)) if m else 0.0, int(n.group(1)) if n else 0, \
        (errs.group(1) if errs else "") + (" non2xx=%s" % non2xx.group(1) if non2xx else "")


def seq(port, n):
    r = subprocess.run([SEQ, "127.0.0.1", str(port), str(n)], stdout=subprocess.PIPE, text=True, timeout=600)
    d = dict(kv.split("=") for kv in r.stdout.split())
    return float(d["rate"]), float(d["p50_us"]), float(d["p99_us"]), int(d["ok"]) == int(d["n"])


def phys_sample(sp, net):
    """One measurement of the physical limit, appended to sp and net. Taken
    inside every round, next to the sequential runs it is compared with:
    taken once after the wrk loads, it measured a machine still busy with
    their TIME_WAIT sockets and came out 20-30% slower."""
    out = subprocess.run([PHYS, "spawn", H, "2000"], stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        k, v = line.split(" us_per_op=")
        sp[k].append(float(v))
    out = subprocess.run([PHYS, "net", "5000"], stdout=subprocess.PIPE, text=True).stdout
    net.append(float(out.split("=")[1]))


def phys(sp, net):
    res = {k: statistics.median(v) for k, v in sp.items()}
    res["net"] = statistics.median(net)
    res["spawn_best"] = min(res["posix_spawn"], res["vfork"])
    res["limit_us"] = res["spawn_best"] + res["net"]
    res["limit_rate"] = 1e6 / res["limit_us"]
    return res


def idle_rss(name, starts=5):
    """Median VmRSS of a freshly started, idle server that has served one
    connection, over several starts: most of it is libc's text, mapped in
    64 kB fault-around windows whose alignment moves with ASLR, so one
    start of the same program varies by 100-200 kB."""
    v = []
    for _ in range(starts):
        p, port = start(name)
        v.append(rss_kb(p.pid))
        p.terminate()
        p.wait(10)
    return statistics.median(v)


def main():
    names = ["s6-tcpserver", "tcpserver", "tcpsvd", "socat"]
    if OLD:
        names.insert(1, "s6-tcpserver-old")
    idle = {n: idle_rss(n) for n in names}
    static_rss = None
    if os.access(os.path.join(STATIC, "s6-tcpserverd"), os.X_OK):
        static_rss = idle_rss("s6-tcpserver-static")
    servers = {n: start(n) for n in names}
    sp, net = {"posix_spawn": [], "vfork": []}, []
    res = {n: {"wrk": [], "seq_rate": [], "p50": [], "p99": [], "errors": []} for n in names}
    try:
        for n, (p, port) in servers.items():       # warm-up
            seq(port, 200)
        for r in range(ROUNDS):
            order = names[r % len(names):] + names[:r % len(names)]
            for n in order:
                rate, _, err = wrk(servers[n][1], DUR)
                res[n]["wrk"].append(rate)
                if err.strip():
                    res[n]["errors"].append(err.strip())
            for n in order:
                rate, p50, p99, ok = seq(servers[n][1], SEQN)
                res[n]["seq_rate"].append(rate)
                res[n]["p50"].append(p50)
                res[n]["p99"].append(p99)
                if not ok:
                    res[n]["errors"].append("sequential client saw failures")
            phys_sample(sp, net)
        ph = phys(sp, net)
        # Memory after many connections (ours).
        p, port = servers["s6-tcpserver"]
        before_rss, before_fds = rss_kb(p.pid), nfds(p.pid)
        done = 0
        for _ in range(40):
            if done >= GROWTH_N:
                break
            _, n, _ = wrk(port, 4)
            done += n
        time.sleep(0.3)
        after_rss, after_fds = rss_kb(p.pid), nfds(p.pid)
        growth = {"connections": done, "rss_before_kb": before_rss, "rss_after_kb": after_rss,
                  "fds_before": before_fds, "fds_after": after_fds}
    finally:
        for p, _ in servers.values():
            p.terminate()
        for p, _ in servers.values():
            p.wait(10)

    med = {n: {k: statistics.median(v) for k, v in d.items() if k != "errors" and v} for n, d in res.items()}
    ref = med["tcpserver"]
    ref_all = res["tcpserver"]
    print("TCP super-servers (-c 200, backlog %s), %d rounds alternating, wrk -t2 -c50 -d%ds 'Connection: close'; "
          "sequential %d connections" % (BACKLOG, ROUNDS, DUR, SEQN))
    print("%-16s %10s %7s %10s %7s %9s %9s %7s %9s" % ("server", "wrk conn/s", "ratio", "seq conn/s", "ratio",
                                                     "p50 us", "p99 us", "p50 r.", "idle RSS"))
    for n in names:
        m = med[n]
        print("%-16s %10.0f %6.2fx %10.0f %6.2fx %9.1f %9.1f %6.2fx %6d kB" % (
            n, m["wrk"], m["wrk"] / ref["wrk"], m["seq_rate"], m["seq_rate"] / ref["seq_rate"],
            m["p50"], m["p99"], ref["p50"] / m["p50"], idle[n]))
        if res[n]["errors"]:
            print("   %s: %s" % (n, "; ".join(sorted(set(res[n]["errors"])))))
    ours = med["s6-tcpserver"]["seq_rate"]
    print("physical limit: spawn+reap %.1f us (posix_spawn %.1f, vfork %.1f) + connect/accept/close %.1f us"
          " = %.1f us -> %.0f conn/s; s6-tcpserver sequential = %.0f%% of it" % (
              ph["spawn_best"], ph["posix_spawn"], ph["vfork"], ph["net"], ph["limit_us"], ph["limit_rate"],
              100.0 * ours / ph["limit_rate"]))
    print("(p50 r. = tcpserver's p50 latency / this server's; the sequential rate is the mean, which"
          " the p99 tail of a loaded machine dominates; the physical limit is the median of one measure"
          " per round; idle RSS is the median of 5 starts; load average %s)" % open("/proc/loadavg").read().split()[0])
    if static_rss is not None:
        print("idle RSS of the musl-static build (make static): %d kB, %.2fx tcpserver's" % (
            static_rss, static_rss / idle["tcpserver"]))
    for k, what in (("wrk", "concurrent"), ("seq_rate", "sequential")):
        rr = [a / b for a, b in zip(res["s6-tcpserver"][k], ref_all[k]) if b]
        print("per-round ratio to tcpserver, %s: %.2f-%.2fx" % (what, min(rr), max(rr)))
    vs_old = None
    if OLD:
        o = med["s6-tcpserver-old"]
        vs_old = {"wrk": med["s6-tcpserver"]["wrk"] / o["wrk"], "seq_rate": ours / o["seq_rate"],
                  "p50": o["p50"] / med["s6-tcpserver"]["p50"]}
        print("this build / old build (%s): concurrent %.3fx, sequential %.3fx, p50 latency %.3fx (old/new)" % (
            OLD, vs_old["wrk"], vs_old["seq_rate"], vs_old["p50"]))
        for k, what in (("wrk", "concurrent"), ("seq_rate", "sequential")):
            rr = [a / b for a, b in zip(res["s6-tcpserver"][k], res["s6-tcpserver-old"][k]) if b]
            print("per-round ratio to the old build, %s: %.2f-%.2fx" % (what, min(rr), max(rr)))
    print("s6-tcpserverd after %d connections: RSS %d -> %d kB, fds %d -> %d" % (
        growth["connections"], growth["rss_before_kb"], growth["rss_after_kb"],
        growth["fds_before"], growth["fds_after"]))
    out = {"rounds": ROUNDS, "duration_s": DUR, "sequential_n": SEQN, "raw": res, "median": med,
           "idle_rss_kb": idle, "idle_rss_static_kb": static_rss, "physical": ph, "growth": growth,
           "old_build": OLD, "vs_old": vs_old,
           "ratios": {"wrk_vs_tcpserver": med["s6-tcpserver"]["wrk"] / ref["wrk"],
                      "seq_vs_tcpserver": ours / ref["seq_rate"],
                      "seq_p50_vs_tcpserver": ref["p50"] / med["s6-tcpserver"]["p50"],
                      "seq_vs_physical_limit": ours / ph["limit_rate"]}}
    os.makedirs(os.path.join(B, "bench"), exist_ok=True)
    with open(os.path.join(B, "bench", "tcpserver.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
