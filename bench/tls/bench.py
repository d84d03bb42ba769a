"""s6-tlsserver against stunnel4, socat and haproxy, same machine, same run.

Every server runs the same per-connection application (http_ok for
handshakes, tls_sink for bulk), so each tunnel pays for one process
start of the application and the comparison is about the TLS layer.
Each round measures every server, starting with a different one each
round (A B C, B C A, C A B, ...); the table shows medians and ratios.

  sequential  tls_hsloop -n N: connect, full handshake (no resumption),
              GET, read to EOF, one connection at a time
  seq_nagle   (EC) the same from a client that leaves TCP_NODELAY unset
              (tls_hsloop -N), as most application clients do: a
              server that leaves the client's last handshake flight
              unacknowledged costs it a delayed ACK (~40 ms) per request
  resume      (EC) sequential connections that each offer the previous
              connection's session (tls_hsloop -r): TLS 1.3 resumption
              with tickets; stunnel and socat with their default session
              caching; the table notes any contender that did not resume
  concurrent  wrk -t2 -c50 -d<D>s -H 'Connection: close' https://...;
              also the whole machine's CPU time per request (wrk
              included), from /proc/stat over the run
  bulk        tls_hsloop -b 1 GiB through the tunnel into tls_sink,
              which returns the byte count it received (verified);
              BULK_ROUNDS rounds (default 7), the noisiest measure
  reference   the reference suite's 220 hs/s (issue 6), scaled by this
              run's stunnel and socat against the issue's 440 and 320
  per conn    perf stat over each server's whole process tree during N
              sequential connections: CPU ms, page faults, context
              switches and system calls per connection (haproxy: the sum
              of haproxy's and s6-tcpserver's trees); then perf record
              splits the CPU time by program (comm)

Contenders: s6net (s6-tlsserver), stunnel (stunnel4, exec mode), socat
(fork + EXEC), and haproxy: haproxy (2 threads) terminates TLS and
forwards plain TCP to s6-tcpserver running the same application, the
shared-terminator set-up users compare an isolated design with. It runs
when haproxy is installed.
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

B = sys.argv[1]
# A second build (e.g. the main branch's) measured in the same run as
# "s6net-old", so that a change is compared with what it changes.
OLD = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("S6NET_OLD_BUILD")
# Five rounds: a VM's speed drifts within a run, and a median of three
# rounds drifts with it (the per-round ratios printed at the end show how
# much).
ROUNDS = int(os.environ.get("ROUNDS", "5"))
SEQ_N = int(os.environ.get("SEQ_N", "400"))
WRK_D = int(os.environ.get("WRK_D", "4"))
BULK = int(os.environ.get("BULK_BYTES", str(1 << 30)))
# The bulk ratio swings the most from round to round: more rounds.
BULK_ROUNDS = int(os.environ.get("BULK_ROUNDS", "7"))
HTTPD = os.path.join(B, "helpers", "http_ok")
# What perf stat counts over a server's process tree; raw_syscalls needs
# tracepoint access (root, or perf_event_paranoid <= -1).
PERF_KEYS = (("cpu_ms", "task-clock"), ("faults", "page-faults"), ("cs", "context-switches"),
             ("syscalls", "raw_syscalls:sys_enter"))
PERF_EVENTS = ",".join(ev for _, ev in PERF_KEYS)
SINK = os.path.join(B, "helpers", "tls_sink")
LOOP = os.path.join(B, "helpers", "tls_hsloop")


def sh(*a, **kw):
    return subprocess.run(a, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def listening(port, timeout=10):
    want = ":%04X" % port
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in open("/proc/net/tcp").readlines()[1:]:
            f = line.split()
            if f[1].endswith(want) and f[3] == "0A":
                return True
        time.sleep(0.01)
    return False


def certs(d):
    for kind in ("ec", "rsa"):
        alg = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ec" else \
              ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        sh("openssl", "genpkey", *alg, "-out", "%s/%s.key" % (d, kind))
        sh("openssl", "req", "-x509", "-new", "-key", "%s/%s.key" % (d, kind), "-out",
           "%s/%s.pem" % (d, kind), "-subj", "/CN=localhost", "-days", "2")


MIX = None  # our programs with the per-connection ones musl-static (make static)


def mixed_dir(d):
    static = os.path.join(os.path.dirname(B.rstrip("/")), "build-static", "bin")
    if not os.path.isdir(static):
        return None
    mix = os.path.join(d, "mix")
    os.makedirs(mix)
    for src in (os.path.join(B, "bin"), static):
        for f in os.listdir(src):
            dst = os.path.join(mix, f)
            if os.path.exists(dst):
                os.unlink(dst)
            with open(os.path.join(src, f), "rb") as i, open(dst, "wb") as o:
                o.write(i.read())
            os.chmod(dst, 0o755)
    return mix


class Server:
    def __init__(self, name, kind, app, d, perf=None, record=False):
        self.name = name
        self.perf = perf
        self.record = record
        key, cert = "%s/%s.key" % (d, kind), "%s/%s.pem" % (d, kind)
        env = dict(os.environ, KEYFILE=key, CERTFILE=cert)
        if name.startswith("s6net"):
            bindir = MIX if name == "s6net-static" else os.path.join(OLD if name == "s6net-old" else B, "bin")
            self.p = subprocess.Popen(self.wrap() + [os.path.join(bindir, "s6-tlsserver"), "-b", "1024", "-c", "1000", "-C", "1000", "-1",
                                       "127.0.0.1", "0", app], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
            self.port = int(self.p.stdout.readline())
        elif name == "stunnel":
            self.port = free_port()
            conf = "%s/stunnel-%d.conf" % (d, self.port)
            with open(conf, "w") as f:
                f.write("foreground = yes\npid =\ndebug = 0\n[b]\naccept = 127.0.0.1:%d\n"
                        "cert = %s\nkey = %s\nexec = %s\nexecArgs = app\nTIMEOUTclose = 0\n"
                        % (self.port, cert, key, app))
            self.p = subprocess.Popen(self.wrap() + ["stunnel4", conf], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        elif name == "haproxy":
            # Two process trees, each under its own perf stat when measured:
            # s6-tcpserver with the application on a back-end port, and
            # haproxy terminating TLS in front of it.
            self.back = Server("s6tcp-back", kind, app, d,
                               perf=(perf + ".back") if perf else None, record=record)
            self.port = free_port()
            pem = "%s/%s-haproxy.pem" % (d, kind)
            with open(pem, "w") as f:
                f.write(open(cert).read() + open(key).read())
            conf = "%s/haproxy-%d.cfg" % (d, self.port)
            with open(conf, "w") as f:
                f.write("global\n  nbthread 2\n  maxconn 4000\n"
                        "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n"
                        "  timeout server 60s\n"
                        "frontend f\n  bind 127.0.0.1:%d ssl crt %s\n  default_backend b\n"
                        "backend b\n  server app 127.0.0.1:%d\n" % (self.port, pem, self.back.port))
            self.p = subprocess.Popen(self.wrap() + ["haproxy", "-db", "-f", conf], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        elif name == "s6tcp-back":
            self.port = free_port()
            self.p = subprocess.Popen(self.wrap() + [os.path.join(B, "bin", "s6-tcpserver"), "-b", "1024", "-c", "1000",
                                       "-C", "1000", "127.0.0.1", str(self.port), app],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        else:
            self.port = free_port()
            # nodelay: without it every handshake waits for a delayed ACK
            # (Nagle holds back the end of the server's flight) and socat
            # measures the ACK timer, not TLS.
            self.p = subprocess.Popen(self.wrap() + ["socat", "OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,backlog=512,"
                                       "nodelay,cert=%s,key=%s,verify=0" % (self.port, cert, key),
                                       "EXEC:%s" % app], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        if not listening(self.port):
            raise SystemExit("%s did not start" % name)

    def wrap(self):
        if self.perf and self.record:
            return ["perf", "record", "-q", "-F", "2999", "-o", self.perf, "--"]
        return ["perf", "stat", "-x,", "-e", PERF_EVENTS, "-o", self.perf, "--"] if self.perf else []

    def stop(self):
        if getattr(self, "back", None):
            self.back.stop()
        if self.perf:
            # SIGINT to the group: the servers exit, then perf reports the
            # CPU time of the whole process tree.
            os.killpg(self.p.pid, signal.SIGINT)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait()

    def counters(self):
        """perf stat's counts for this server's tree (and its back end's)."""
        c = {}
        for line in open(self.perf):
            f = line.split(",")
            if len(f) > 2:
                for key, ev in PERF_KEYS:
                    if f[2].startswith(ev):
                        try:
                            c[key] = float(f[0])
                        except ValueError:
                            c[key] = float("nan")
        if getattr(self, "back", None):
            for k, v in self.back.counters().items():
                c[k] = c.get(k, 0.0) + v
        return c


CPU_N = int(os.environ.get("CPU_N", "300"))
CPU_ROUNDS = int(os.environ.get("CPU_ROUNDS", "3"))


def cpu_per_conn(names, kind, d, n=CPU_N, rounds=CPU_ROUNDS):
    """Per sequential connection, what the server's whole process tree
    spends (perf stat): CPU ms, page faults, context switches, system
    calls. Unlike rates, these do not depend on how fast the machine runs
    at the moment. Median of `rounds` measurements, each round in a
    different order (measured once each in a fixed order, right after the
    load tests, the first one measured paid for the previous server's
    processes still exiting)."""
    vals = {name: [] for name in names}
    for i in range(rounds):
        for name in rotated(names, i):
            perf = os.path.join(d, "perf-%s-%s" % (name, kind))
            srv = Server(name, kind, HTTPD, d, perf=perf)
            seq(srv.port)
            srv.stop()
            srv = Server(name, kind, HTTPD, d, perf=perf)
            sh(LOOP, "-n", str(n), "127.0.0.1", str(srv.port))
            srv.stop()
            vals[name].append({k: v / n for k, v in srv.counters().items()})
    return {name: {k: statistics.median(r[k] for r in v) for k in v[0]} for name, v in vals.items()}


def cpu_by_program(name, kind, d, n=CPU_N):
    """perf record over the server's process tree (haproxy: both trees)
    during n sequential connections: the share of CPU samples per program
    name (comm), start-up included."""
    out = os.path.join(d, "rec-%s-%s" % (name, kind))
    srv = Server(name, kind, HTTPD, d, perf=out, record=True)
    sh(LOOP, "-n", str(n), "127.0.0.1", str(srv.port))
    srv.stop()
    shares = {}
    files = [out] + ([out + ".back"] if name == "haproxy" else [])
    total = 0.0
    for f in files:
        r = subprocess.run(["perf", "report", "-i", f, "--stdio", "--sort", "comm", "-F", "sample,comm"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for line in r.stdout.decode(errors="replace").splitlines():
            m = re.match(r"\s*(\d+)\s+(\S.*?)\s*$", line)
            if m and not line.lstrip().startswith("#"):
                shares[m.group(2)] = shares.get(m.group(2), 0) + int(m.group(1))
                total += int(m.group(1))
    return {k: 100.0 * v / total for k, v in shares.items()} if total else {}


def seq(port, *flags):
    r = sh(LOOP, *flags, "-n", str(SEQ_N), "127.0.0.1", str(port))
    return float(r.stdout.split()[0])


def seq_nagle(port):
    return seq(port, "-N")


def resume(port):
    r = sh(LOOP, "-r", "-n", str(SEQ_N), "127.0.0.1", str(port))
    out = r.stdout.decode()
    m = re.search(r"(\d+) resumed", out)
    resumed = int(m.group(1)) if m else 0
    # The first connection cannot resume.
    note = "" if resumed >= SEQ_N - 1 else "resumed %d of %d" % (resumed, SEQ_N - 1)
    return float(out.split()[0]), note


def busy_ms():
    """The whole machine's busy CPU time so far (every CPU), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) * 1000.0 / os.sysconf("SC_CLK_TCK")


def conc(port):
    t0 = busy_ms()
    r = sh("wrk", "-t2", "-c50", "-d%ds" % WRK_D, "-H", "Connection: close",
           "https://127.0.0.1:%d/" % port)
    busy = busy_ms() - t0
    out = r.stdout.decode()
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    per_req = busy / int(n.group(1)) if n and int(n.group(1)) else float("nan")
    return float(m.group(1)), (errs.group(0) if errs else ""), per_req


def bulk(port):
    r = subprocess.run([LOOP, "-b", str(BULK), "127.0.0.1", str(port)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    if r.returncode:
        raise SystemExit("bulk transfer not verified: %r %r" % (r.stdout, r.stderr))
    return float(r.stdout.split()[0])


def rotated(names, i):
    """Round i starts with a different contender: the one measured right
    after another server's burst pays for that server's processes still
    exiting, and a fixed order would always charge the same one."""
    k = i % len(names)
    return names[k:] + names[:k]


def have_perf():
    try:
        return subprocess.run(["perf", "stat", "-e", "task-clock", "true"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0
    except OSError:
        return False


def main():
    global MIX
    names = ["s6net", "stunnel", "socat"]
    if shutil.which("haproxy"):
        names.append("haproxy")
    if OLD:
        names.insert(1, "s6net-old")
    res = {}
    notes = []
    with tempfile.TemporaryDirectory() as d:
        certs(d)
        MIX = mixed_dir(d)
        if MIX:
            names.insert(1, "s6net-static")
        for kind in ("ec", "rsa"):
            srv = {n: Server(n, kind, HTTPD, d) for n in names}
            for n in names:  # warm-up
                seq(srv[n].port)
            tests = (("seq", seq), ("seqnagle", seq_nagle), ("resume", resume), ("conc", conc)) if kind == "ec" \
                else (("seq", seq), ("conc", conc))
            for test, fn in tests:
                vals = {n: [] for n in names}
                extra = {n: [] for n in names}
                for i in range(ROUNDS):
                    for n in rotated(names, i):
                        v = fn(srv[n].port)
                        if isinstance(v, tuple):
                            if v[1]:
                                notes.append("%s %s %s: %s" % (kind, test, n, v[1]))
                            if len(v) > 2:
                                extra[n].append(v[2])
                            v = v[0]
                        vals[n].append(v)
                res["%s_%s" % (test, kind)] = {n: statistics.median(vals[n]) for n in names}
                res["%s_%s_all" % (test, kind)] = vals
                if all(extra.values()):
                    res["%s_%s_machine_ms" % (test, kind)] = {n: statistics.median(extra[n]) for n in names}
            for s in srv.values():
                s.stop()
            if have_perf():
                res["cpu_%s" % kind] = cpu_per_conn(names, kind, d)
                if kind == "ec":
                    res["by_program_ec"] = {n: cpu_by_program(n, kind, d) for n in names
                                            if n in ("s6net", "haproxy")}
        srv = {n: Server(n, "ec", SINK, d) for n in names}
        vals = {n: [] for n in names}
        for i in range(BULK_ROUNDS):
            for n in rotated(names, i):
                vals[n].append(bulk(srv[n].port))
        res["bulk"] = {n: statistics.median(vals[n]) for n in names}
        res["bulk_all"] = vals
        for s in srv.values():
            s.stop()
    ours = [n for n in names if n.startswith("s6net")]
    keys = (("seq_ec", "hs/s"), ("seqnagle_ec", "hs/s"), ("resume_ec", "hs/s"), ("seq_rsa", "hs/s"),
            ("conc_ec", "req/s"), ("conc_rsa", "req/s"), ("bulk", "MB/s"))
    print("%-19s" % "test (median)" + "".join("%14s" % n for n in names)
          + "".join("%18s" % (n + "/stunnel") for n in ours) + "".join("%16s" % (n + "/best") for n in ours)
          + ("%16s" % "s6net/old" if OLD else ""))
    for key, unit in keys:
        r = res[key]
        best = max(r["stunnel"], r["socat"])
        line = "%-19s" % (key + " " + unit) + "".join("%14.1f" % r[n] for n in names)
        for n in ours:
            r[n + "_vs_stunnel"] = r[n] / r["stunnel"]
            line += "%17.2fx" % r[n + "_vs_stunnel"]
        for n in ours:
            r[n + "_vs_best"] = r[n] / best
            line += "%15.2fx" % r[n + "_vs_best"]
        if OLD:
            r["s6net_vs_old"] = r["s6net"] / r["s6net-old"]
            line += "%15.2fx" % r["s6net_vs_old"]
        print(line)
    hap = "haproxy" in names
    if hap:
        print("%-19s" % "s6net/haproxy" + "".join(
            "  %s %.2fx" % (key, res[key]["s6net"] / res[key]["haproxy"]) for key, _ in keys if res[key]["haproxy"]))
    for kind in ("ec", "rsa"):
        r = res.get("conc_%s_machine_ms" % kind)
        if r:
            print("%-19s" % ("conc_%s cpu ms/req" % kind) + "".join("%14.2f" % r[n] for n in names)
                  + "   (whole machine, wrk included; lower is better)")
    print()
    print("per sequential connection, server's process tree (perf stat; lower is better):")
    for kind in ("ec", "rsa"):
        r = res.get("cpu_" + kind)
        if not r:
            continue
        for key, label in (("cpu_ms", "cpu ms"), ("faults", "page faults"), ("cs", "ctx switches"),
                           ("syscalls", "syscalls")):
            if all(key in r[n] for n in names):
                line = "%-19s" % ("%s %s" % (kind, label)) + "".join("%14.2f" % r[n][key] for n in names)
                line += "".join("%17.2fx" % (r["stunnel"][key] / r[n][key]) for n in ours if r[n][key])
                if hap and r["s6net"][key]:
                    line += "   s6net/haproxy %.2fx" % (r["s6net"][key] / r["haproxy"][key])
                print(line)
    for n, shares in sorted(res.get("by_program_ec", {}).items()):
        top = sorted(shares.items(), key=lambda kv: -kv[1])[:8]
        print("ec CPU by program, %-8s %s" % (n + ":", ", ".join("%s %.0f%%" % kv for kv in top)))
    # The absolute target, 2x the reference suite's 220 hs/s, was
    # set on a machine where stunnel did 440 and socat 320 sequential
    # handshakes/s; machines differ, so the reference figure is also given
    # scaled by how fast stunnel and socat are in this very run (geometric
    # mean of the two factors).
    r = res["seq_ec"]
    if r["stunnel"] > 0 and r["socat"] > 0:
        scale = (r["stunnel"] / 440.0 * r["socat"] / 320.0) ** 0.5
        ref = 220.0 * scale
        res["reference_estimate"] = {"scale": scale, "seq_ec": ref}
        print("reference estimate, seq_ec: 220 hs/s x %.2f (this run's stunnel/440, socat/320) = %.0f hs/s; "
              "%s" % (scale, ref, ", ".join("%s %.2fx" % (n, r[n] / ref) for n in ours))
              + "; absolute: %s" % ", ".join("%s %.2fx of 220" % (n, r[n] / 220.0) for n in ours))
    # The machine's noise, in numbers: the ratio to stunnel round by round
    # (each round runs every server back to back).
    for key in [k for k, _ in keys]:
        allv = res[key + "_all"]
        spread = []
        for n in ours:
            rr = [a / b for a, b in zip(allv[n], allv["stunnel"]) if b]
            if rr:
                spread.append("%s %.2f-%.2fx (median %.2fx)" % (n, min(rr), max(rr), statistics.median(rr)))
        print("per-round ratio to stunnel, %-13s %s" % (key + ":", ", ".join(spread)))
    for n in notes:
        print("note:", n)
    res["params"] = {"rounds": ROUNDS, "seq_n": SEQ_N, "wrk_seconds": WRK_D, "bulk_bytes": BULK,
                     "bulk_rounds": BULK_ROUNDS, "old_build": OLD,
                     "loadavg": os.getloadavg()}
    os.makedirs(os.path.join(B, "bench"), exist_ok=True)
    with open(os.path.join(B, "bench", "tls.json"), "w") as f:
        json.dump(res, f, indent=1)


main()
