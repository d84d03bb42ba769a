#!/bin/sh
# make stress: the load, soak and fault campaign of tests/stress (pytest),
# bounded in time, then a table of figures from what each test recorded.
# Exits non-zero if any test failed or any leak was found, and also if
# fewer runs were recorded than there are tests or fewer connections were
# made than asked for: a campaign that did nothing does not pass.
#   tools/stress.sh [pytest args...]
# S6NET_STRESS_CONNS (default 100000) sets the size of the TCP run,
# S6NET_STRESS_TLS (default 10000) that of the TLS run, S6NET_STRESS_LIMIT
# (default 900) the time limit in seconds. make check runs a bounded
# version (make stress-smoke: 10000 connections, 500 TLS handshakes, 100
# under the sanitizers, at most 600 s).
set -u
cd "$(dirname "$0")/.." || exit 111
B=${B:-build}
PYTHON=${PYTHON:-$(test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)}
LIMIT=${S6NET_STRESS_LIMIT:-900}
CONNS=${S6NET_STRESS_CONNS:-100000}
figs=$B/stress/figures.jsonl
mkdir -p "$B/stress"
rm -f "$figs"
# Every test records one row; with pytest arguments (-k ...) only some run.
runs=0
[ $# -eq 0 ] && runs=$(cat tests/stress/test_*.py | grep -c '^def test_')
start=$(date +%s)
S6NET_BUILD=$(cd "$B" && pwd) S6NET_STRESS_FIGURES=$(pwd)/$figs S6NET_STRESS_CONNS=$CONNS \
  timeout -k 10 "$LIMIT" "$PYTHON" -m pytest -q -p no:cacheprovider tests/stress "$@"
rc=$?
[ $rc -eq 124 ] && echo "stress: stopped after ${LIMIT}s" >&2
end=$(date +%s)
"$PYTHON" - "$figs" $rc $((end - start)) "$runs" "$CONNS" <<'EOF'
import json, sys
path, rc, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
want_runs, want_conns = int(sys.argv[4]), int(sys.argv[5])
rows = []
try:
    rows = [json.loads(l) for l in open(path)]
except FileNotFoundError:
    pass
hdr = ("run", "conns", "survived", "resets", "signals", "fd+", "rss+kB", "zombies", "bad", "err", "s")
fmt = "%-42s %7s %8s %6s %8s %4s %6s %7s %4s %4s %6s"
print()
print(fmt % hdr)
tot = dict(conns=0, survived=0, faults=0, leaks=0)
for r in rows:
    conns = r.get("connections", 0)
    surv = r.get("ok", 0) + r.get("refused_by_C", 0) + r.get("reset", 0) + r.get("aborted", 0)
    if "survived" in r:
        surv = r["survived"]
    resets = r.get("reset", 0) + r.get("aborted", 0)
    faults = resets + r.get("signals", 0) + r.get("faults", 0)
    fdd = r.get("fds_after", 0) - r.get("fds_before", 0)
    rssd = r.get("rss_kb_after", 0) - r.get("rss_kb_before", 0)
    z = r.get("zombies", 0)
    tot["conns"] += conns
    tot["survived"] += surv
    tot["faults"] += faults
    tot["leaks"] += (fdd != 0) + z + r.get("leaks", 0)
    print(fmt % (r.get("what", r["test"])[:42], conns, surv, resets, r.get("signals", 0), fdd, rssd, z,
                 r.get("bad_env", 0), r.get("errors", 0), "%.1f" % r.get("seconds", 0)))
print()
print("connections %d, survived %d, faults injected and survived %d (resets, aborted handshakes, "
      "signals), leaks found %d, "
      "%d runs recorded, %ds, pytest exit %d" % (tot["conns"], tot["survived"], tot["faults"],
                                                 tot["leaks"], len(rows), secs, rc))
short = []
if not rows or len(rows) < want_runs:
    short.append("%d runs recorded, %d expected" % (len(rows), want_runs))
if want_runs and tot["conns"] < want_conns:
    short.append("%d connections made, at least %d expected" % (tot["conns"], want_conns))
for s in short:
    print("stress: fatal: " + s, file=sys.stderr)
sys.exit(1 if rc or tot["leaks"] or short else 0)
EOF
