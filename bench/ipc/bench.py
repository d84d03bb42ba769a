"""IPC benchmarks, ours against Debian's s6, alternating A B A B.

  conn:  connections per second through s6-ipcserver running /bin/true
         (client: connect, wait for EOF).
  sudo:  complete s6-sudo round trips per second (client chain
         s6-sudo -> s6-ipcclient -> s6-sudoc, server s6-ipcserver ->
         s6-sudod -> /bin/true).
  spawn: the floor: spawning and reaping /bin/true from this process.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1])
OUT = sys.argv[2]
ROUNDS = int(os.environ.get("ROUNDS", "5"))
N = int(os.environ.get("N", "200"))
BIN = os.path.join(BUILD, "bin")
ENV = {"PATH": "/usr/bin:/bin"}


def wait_ready(p):
    line = p.stdout.readline()
    if not line:
        raise SystemExit("server did not start")


def server(kind, path, prog):
    exe = os.path.join(BIN, "s6-ipcserver") if kind == "ours" else "/usr/bin/s6-ipcserver"
    p = subprocess.Popen([exe, "-1", "-c", "100", path] + prog, stdout=subprocess.PIPE, env=ENV)
    wait_ready(p)
    return p


def conn_round(path):
    t = time.monotonic()
    for _ in range(N):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        while s.recv(64):
            pass
        s.close()
    return N / (time.monotonic() - t)


def sudo_round(kind, path):
    exe = os.path.join(BIN, "s6-sudo") if kind == "ours" else "/usr/bin/s6-sudo"
    t = time.monotonic()
    for _ in range(N // 4):
        subprocess.run([exe, path], env=ENV, check=True, stdin=subprocess.DEVNULL)
    return (N // 4) / (time.monotonic() - t)


def spawn_round():
    t = time.monotonic()
    for _ in range(N):
        subprocess.run(["/bin/true"])
    return N / (time.monotonic() - t)


def main():
    d = tempfile.mkdtemp()
    procs = []
    try:
        paths = {}
        for kind in ("ours", "debian"):
            paths[("conn", kind)] = os.path.join(d, "c-" + kind)
            procs.append(server(kind, paths[("conn", kind)], ["/bin/true"]))
            sudod = os.path.join(BIN, "s6-sudod") if kind == "ours" else "/usr/bin/s6-sudod"
            paths[("sudo", kind)] = os.path.join(d, "s-" + kind)
            procs.append(server(kind, paths[("sudo", kind)], [sudod, "/bin/true"]))
        res = {k: [] for k in ("conn-ours", "conn-debian", "sudo-ours", "sudo-debian", "spawn")}
        for _ in range(ROUNDS):
            for kind in ("ours", "debian"):
                res["conn-" + kind].append(conn_round(paths[("conn", kind)]))
            for kind in ("ours", "debian"):
                res["sudo-" + kind].append(sudo_round(kind, paths[("sudo", kind)]))
            res["spawn"].append(spawn_round())
        med = {k: statistics.median(v) for k, v in res.items()}
        print("%-34s %12s %12s %8s" % ("benchmark (per second, median)", "s6net", "debian s6", "ratio"))
        for what, label in (("conn", "s6-ipcserver conns (/bin/true)"), ("sudo", "s6-sudo round trips")):
            a, b = med[what + "-ours"], med[what + "-debian"]
            print("%-34s %12.0f %12.0f %8.2f" % (label, a, b, a / b))
        print("%-34s %12.0f" % ("floor: spawn /bin/true", med["spawn"]))
        with open(OUT, "w") as f:
            json.dump({"rounds": ROUNDS, "n": N, "median_per_s": med, "samples": res}, f, indent=1)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        os.rmdir(d)


main()
