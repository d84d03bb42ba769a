"""s6-tcpclient against ucspi-tcp's tcpclient: connect, exec `true`, exit.
Runs alternate A B A B; prints medians (ms per run) and ratios, writes JSON.
Server: an accept-and-close loop on 127.0.0.1. Names: dnsmasq on
127.53.0.1 port 53 (ucspi-tcp's resolver takes DNSCACHEIP without port)."""
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

build, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
S6 = os.path.join(build, "bin", "s6-tcpclient")
DNS = "127.53.0.1"


def acceptor():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(512)

    def loop():
        while True:
            c, _ = s.accept()
            c.close()
    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1]


def once(args, env):
    t0 = time.perf_counter()
    pid = os.posix_spawn(args[0], args, env)
    _, st = os.waitpid(pid, 0)
    dt = time.perf_counter() - t0
    if st != 0:
        raise SystemExit("failed: %r (status %d)" % (args, st))
    return dt * 1000


def main():
    port = str(acceptor())
    dnsmasq = subprocess.Popen(["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                                "--pid-file=", "--port=53", "--listen-address=" + DNS, "--bind-interfaces",
                                "--local=/test/", "--local=/in-addr.arpa/", "--host-record=a.test,127.0.0.1",
                                "--host-record=local.test,127.0.0.1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"PATH": "/usr/bin:/bin", "DNSCACHEIP": DNS}
    try:
        # Wait for dnsmasq: a resolved name is the readiness signal.
        deadline = time.monotonic() + 10
        while subprocess.run([S6, "-H", "a.test", port, "true"], env=env, stderr=subprocess.DEVNULL).returncode:
            if time.monotonic() > deadline:
                raise SystemExit("dnsmasq did not start")
            time.sleep(0.05)
        true = "/bin/true"
        cases = [
            ("exec true (limit)", [true], None),
            ("IP, no lookups", [S6, "-H", "127.0.0.1", port, true], ["/usr/bin/tcpclient", "-RHl0", "127.0.0.1", port, true]),
            ("IP, reverse lookups", [S6, "127.0.0.1", port, true], ["/usr/bin/tcpclient", "-R", "127.0.0.1", port, true]),
            ("name, no reverse", [S6, "-H", "a.test", port, true], ["/usr/bin/tcpclient", "-RHl0", "a.test", port, true]),
        ]
        rows = []
        for name, a, b in cases:
            ta, tb = [], []
            for _ in range(n):
                ta.append(once(a, env))
                if b:
                    tb.append(once(b, env))
            ma = statistics.median(ta)
            mb = statistics.median(tb) if tb else None
            rows.append({"case": name, "s6net_ms": round(ma, 3), "ucspi_tcp_ms": round(mb, 3) if mb else None,
                         "ratio": round(ma / mb, 3) if mb else None, "runs": n})
        print("%-22s %12s %14s %8s" % ("case (median ms/run)", "s6-tcpclient", "ucspi tcpclient", "ratio"))
        for r in rows:
            print("%-22s %12.3f %14s %8s" % (r["case"], r["s6net_ms"],
                                             "%.3f" % r["ucspi_tcp_ms"] if r["ucspi_tcp_ms"] else "-",
                                             "%.2f" % r["ratio"] if r["ratio"] else "-"))
        with open(out, "w") as f:
            json.dump({"bench": "tcpclient", "rows": rows}, f, indent=1)
    finally:
        dnsmasq.kill()
        dnsmasq.wait()


main()
