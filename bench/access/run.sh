#!/bin/sh
# What s6-tcpserver-access costs in the per-connection chain. Sequential
# connections per second (one client, connect / read to EOF / close), for:
#   noacl      s6-tcpserver ... hello
#   acl        s6-tcpserver ... s6-tcpserver-access -H -l0 -x rules.cdb hello
#              (static musl build from `make static`, as deployed for speed)
#   acl-glibc  the same with the default glibc build of s6-tcpserver-access
#   ucspi      ucspi-tcp: tcpserver -RHl0 -x rules.cdb ... hello
#   *-glibchello  noacl, acl and ucspi again with a glibc handler (the
#              common case: most services are glibc programs)
# measured alternately (forward then backward order each round), ROUNDS
# rounds of SECS seconds each; medians, and medians of the per-round
# ratios (paired, so that load drifting during the run cancels out); plus the physical limits: the raw rate of spawning the handler,
# and of spawning s6-tcpserver-access -> hello, with no network at all.
# The handler is a static musl program printing "ok" (glibc if no musl).
# Table on stdout, JSON in build/bench/access.json.
# Usage (from the top of the tree): bench/access/run.sh   [ROUNDS=5 SECS=2]
set -eu
ROUNDS=${ROUNDS:-7}
SECS=${SECS:-1}
B=build
T=$(mktemp -d /tmp/s6net-bench-access.XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT INT TERM

make -s all >/dev/null
mkdir -p $B/bench
cc -O2 -o $B/bench/access-client bench/access/client.c
if command -v musl-gcc >/dev/null 2>&1; then
  make -s static >/dev/null
  musl-gcc -O2 -static -o $B/bench/access-hello bench/access/hello.c
  cc -O2 -o $B/bench/access-hello-glibc bench/access/hello.c
  S=build-static/bin
else
  echo "bench: musl-gcc not found, measuring glibc builds only" >&2
  cc -O2 -o $B/bench/access-hello bench/access/hello.c
  cp $B/bench/access-hello $B/bench/access-hello-glibc
  S=$B/bin
fi
command -v tcpserver >/dev/null && command -v tcprules >/dev/null || {
  echo "bench: ucspi-tcp (tcpserver, tcprules) is needed" >&2; exit 100; }
CLIENT=$B/bench/access-client
HELLO=$(pwd)/$B/bench/access-hello
GHELLO=$(pwd)/$B/bench/access-hello-glibc

mkdir -p "$T/rules/ip4/127.0.0.0_8"
touch "$T/rules/ip4/127.0.0.0_8/allow"
$B/bin/s6-accessrules-cdb-from-fs "$T/rules.cdb" "$T/rules"
echo '127.:allow' | tcprules "$T/ucspi.cdb" "$T/ucspi.tmp"

# Start a server printing its port (-1) into a file; wait for the line.
start_s6() {
  name=$1; shift
  "$S/s6-tcpserver" -q -1 127.0.0.1 0 "$@" >"$T/port.$name" 2>/dev/null &
  pids="$pids $!"
  i=0
  while ! grep -q . "$T/port.$name" 2>/dev/null; do
    i=$((i + 1)); [ $i -le 400 ] || { echo "bench: $name did not start" >&2; exit 111; }
    sleep 0.025
  done
}
start_s6 noacl "$HELLO"
start_s6 acl "$S/s6-tcpserver-access" -v0 -H -l0 -x "$T/rules.cdb" "$HELLO"
start_s6 acl-glibc "$(pwd)/$B/bin/s6-tcpserver-access" -v0 -H -l0 -x "$T/rules.cdb" "$HELLO"
start_s6 noacl-glibchello "$GHELLO"
start_s6 acl-glibchello "$S/s6-tcpserver-access" -v0 -H -l0 -x "$T/rules.cdb" "$GHELLO"

start_ucspi() {
  name=$1; shift
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  tcpserver -q -RHl0 -x "$T/ucspi.cdb" 127.0.0.1 "$port" "$@" 2>/dev/null &
  pids="$pids $!"
  echo "$port" >"$T/port.$name"
  i=0
  until $CLIENT conn 127.0.0.1 "$port" 0.01 >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -le 400 ] || { echo "bench: tcpserver did not start" >&2; exit 111; }
    sleep 0.025
  done
}
start_ucspi ucspi "$HELLO"
start_ucspi ucspi-glibchello "$GHELLO"

CONFIGS="noacl acl acl-glibc ucspi noacl-glibchello acl-glibchello ucspi-glibchello"
REVERSED=$(echo $CONFIGS | tr ' ' '\n' | tac | tr '\n' ' ')
for c in $CONFIGS; do
  $CLIENT conn 127.0.0.1 "$(cat "$T/port.$c")" 0.3 >/dev/null   # warm-up
done
r=1
while [ $r -le "$ROUNDS" ]; do
  if [ $((r % 2)) -eq 1 ]; then order=$CONFIGS; else order=$REVERSED; fi
  for c in $order; do
    $CLIENT conn 127.0.0.1 "$(cat "$T/port.$c")" "$SECS" >>"$T/rate.$c"
  done
  PROTO=TCP TCPREMOTEIP=127.0.0.1 $CLIENT spawn "$SECS" "$HELLO" >>"$T/rate.spawn-hello"
  PROTO=TCP TCPREMOTEIP=127.0.0.1 $CLIENT spawn "$SECS" "$S/s6-tcpserver-access" -v0 -H -l0 -x "$T/rules.cdb" "$HELLO" >>"$T/rate.spawn-acl-hello"
  r=$((r + 1))
done

/usr/bin/python3 - "$T" "$B/bench/access.json" "$ROUNDS" "$SECS" <<'PY'
import json, statistics, sys
t, out, rounds, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
names = ["noacl", "acl", "acl-glibc", "ucspi", "noacl-glibchello", "acl-glibchello",
         "ucspi-glibchello", "spawn-hello", "spawn-acl-hello"]
desc = {
    "noacl": "s6-tcpserver -> hello",
    "acl": "s6-tcpserver -> s6-tcpserver-access (static) -x cdb -> hello",
    "acl-glibc": "s6-tcpserver -> s6-tcpserver-access (glibc) -x cdb -> hello",
    "ucspi": "ucspi-tcp tcpserver -x cdb -> hello",
    "noacl-glibchello": "s6-tcpserver -> hello (glibc)",
    "acl-glibchello": "s6-tcpserver -> s6-tcpserver-access (static) -> hello (glibc)",
    "ucspi-glibchello": "ucspi-tcp tcpserver -x cdb -> hello (glibc)",
    "spawn-hello": "limit: spawn+reap hello, no network",
    "spawn-acl-hello": "limit: spawn s6-tcpserver-access -> hello, no network",
}
res = {}
for n in names:
    v = [float(x) for x in open("%s/rate.%s" % (t, n)).read().split()]
    res[n] = {"median": statistics.median(v), "runs": v, "what": desc[n]}
def paired(a, b):
    """Median of the per-round ratios a/b."""
    return statistics.median(x / y for x, y in zip(res[a]["runs"], res[b]["runs"]))
ratios = {
    "acl_over_noacl": paired("acl", "noacl"),
    "acl_over_ucspi": paired("acl", "ucspi"),
    "acl_over_noacl_glibchello": paired("acl-glibchello", "noacl-glibchello"),
    "acl_over_ucspi_glibchello": paired("acl-glibchello", "ucspi-glibchello"),
    "aclglibc_over_noacl": paired("acl-glibc", "noacl"),
    "aclglibc_over_ucspi": paired("acl-glibc", "ucspi"),
}
targets = {"acl_over_noacl": 0.60, "acl_over_ucspi": 0.90,
           "acl_over_noacl_glibchello": 0.60, "acl_over_ucspi_glibchello": 0.90}
print("load average at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
print("s6-tcpserver-access bench: %d rounds x %.0fs, sequential connections/s (median)" % (rounds, secs))
for n in names:
    print("  %-18s %9.0f /s   %s" % (n, res[n]["median"], desc[n]))
print("ratios (median of per-round ratios):")
for k, v in ratios.items():
    tgt = targets.get(k)
    print("  %-27s %5.2f%s" % (k, v, "   (target >= %.2f: %s)" % (tgt, "met" if v >= tgt else "NOT met") if tgt else ""))
json.dump({"bench": "access", "rounds": rounds, "seconds": secs, "results": res,
           "ratios": ratios, "targets": targets}, open(out, "w"), indent=2)
print("JSON: %s" % out)
PY
