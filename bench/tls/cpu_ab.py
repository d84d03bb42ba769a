#!/usr/bin/python3
"""What one TLS connection costs the server, two builds side by side.

  bench/tls/cpu_ab.py A-build B-build [N [rounds]]

Each round starts s6-tlsserver (EC P-256 key, http_ok as the
application) of each build under `perf stat`, makes N sequential full
handshakes with tls_hsloop (after 20 not counted as such: the counts
cover the whole run and are divided by N + 20), and stops it; the order
alternates A B, B A, ... Prints the medians per connection of the whole
process tree (super-server, keeper, zygote and its workers, s6-tlsd, the
application): CPU ms (task-clock), page faults and context switches,
and B/A. Unlike a rate, these hardly depend on how fast the machine
runs at the moment: run A against A to see the noise (about 1% here).
Needs perf and openssl."""
import os
import signal
import statistics
import subprocess
import sys
import tempfile

if len(sys.argv) < 3:
    sys.exit("usage: cpu_ab.py A-build B-build [N [rounds]]")
A, B = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
N = int(sys.argv[3]) if len(sys.argv) > 3 else 300
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 5
WARM = 20
LOOP = os.path.join(B, "helpers", "tls_hsloop")
APP = os.path.join(B, "helpers", "http_ok")
EVENTS = ("task-clock", "page-faults", "context-switches")


def one(build, d, env):
    out = os.path.join(d, "perf.out")
    p = subprocess.Popen(["perf", "stat", "-x,", "-e", ",".join(EVENTS), "-o", out, "--",
                          os.path.join(build, "bin", "s6-tlsserver"), "-1", "127.0.0.1", "0", APP],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        port = int(p.stdout.readline())
        for n in (WARM, N):
            subprocess.run([LOOP, "-n", str(n), "127.0.0.1", str(port)], stdout=subprocess.DEVNULL,
                           check=True, timeout=600)
    finally:
        # perf stat writes its counts once s6-tlsserver's tree is gone.
        r = subprocess.run(["pgrep", "-P", str(p.pid)], stdout=subprocess.PIPE)
        for k in r.stdout.split():
            os.kill(int(k), signal.SIGTERM)
        p.wait(60)
    c = {}
    for line in open(out):
        f = line.split(",")
        if len(f) > 2 and f[0].replace(".", "", 1).isdigit():
            c[f[2].split(":")[0]] = float(f[0]) / (N + WARM)
    return c


def main():
    with tempfile.TemporaryDirectory() as d:
        key, cert = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=localhost", "-days", "2"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        env = dict(os.environ, KEYFILE=key, CERTFILE=cert)
        res = {"A": [], "B": []}
        for i in range(ROUNDS):
            order = (("A", A), ("B", B)) if i % 2 == 0 else (("B", B), ("A", A))
            for name, build in order:
                res[name].append(one(build, d, env))
        print("per connection, medians of %d rounds of %d handshakes (A %s, B %s)" % (ROUNDS, N, A, B))
        for ev in EVENTS:
            a = statistics.median(r[ev] for r in res["A"])
            b = statistics.median(r[ev] for r in res["B"])
            unit = " ms" if ev == "task-clock" else ""
            print("%-17s A %9.3f%s  B %9.3f%s  B/A %.3f" % (ev, a, unit, b, unit, b / a))


main()
