#!/bin/sh
# What opportunistic TLS costs per session. Sequential sessions per second
# (one client, one session at a time), for:
#   plain          s6-tcpserver -> app; cleartext greeting + QUIT
#   ucspi-clear    s6-tcpserver -> s6-ucspitlsd -> app; the same session,
#                  never upgraded (cost of the helper alone)
#   ucspi-starttls s6-tcpserver -> s6-ucspitlsd -> app; greeting, STARTTLS,
#                  TLS 1.3 handshake (P-256), QUIT over TLS
#   tlsd           s6-tcpserver -> s6-tlsd -> app; immediate TLS, the same
#                  greeting + QUIT over TLS (what a separate TLS port costs)
#   *-static       ucspi-clear and ucspi-starttls with the musl-static
#                  s6-ucspitlsd from `make static` (when musl-gcc exists)
# No other UCSPI-TLS implementation is installed to compare with; tlsd is
# the nearest reference point and plain is the limit. Configurations are
# measured alternately (forward then backward each round), ROUNDS rounds
# of SECS seconds; medians and medians of the per-round ratios.
# Table on stdout, JSON in build/bench/starttls.json.
# Usage (from the top of the tree): bench/starttls/run.sh  [ROUNDS=5 SECS=2]
set -eu
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-2}
B=build
T=$(mktemp -d /tmp/s6net-bench-starttls.XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
  # A build-static made only for this run goes (other areas' tests use
  # one that exists).
  [ "${had_static:-1}" = 1 ] || rm -rf build-static
}
trap cleanup EXIT INT TERM

make -s all >/dev/null
had_static=0; [ -d build-static ] && had_static=1
if command -v musl-gcc >/dev/null 2>&1; then make -s static >/dev/null 2>&1 || true; fi
mkdir -p $B/bench
cc -O2 -o $B/bench/starttls-client bench/starttls/client.c -lssl -lcrypto
cc -O2 -o $B/bench/starttls-app bench/starttls/app.c
CLIENT=$B/bench/starttls-client
APP=$(pwd)/$B/bench/starttls-app

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
export KEYFILE="$T/key.pem" CERTFILE="$T/cert.pem"

start() {
  name=$1; shift
  $B/bin/s6-tcpserver -q -1 -c 100 127.0.0.1 0 "$@" >"$T/port.$name" 2>/dev/null &
  pids="$pids $!"
  i=0
  while ! grep -q . "$T/port.$name" 2>/dev/null; do
    i=$((i + 1)); [ $i -le 400 ] || { echo "bench: $name did not start" >&2; exit 111; }
    sleep 0.025
  done
}
start plain "$APP"
start ucspi-clear "$(pwd)/$B/bin/s6-ucspitlsd" -- "$APP"
start ucspi-starttls "$(pwd)/$B/bin/s6-ucspitlsd" -- "$APP"
start tlsd "$(pwd)/$B/bin/s6-tlsd" -- "$APP"
CONFIGS="plain ucspi-clear ucspi-starttls tlsd"
if [ -x build-static/bin/s6-ucspitlsd ]; then
  start ucspi-clear-static "$(pwd)/build-static/bin/s6-ucspitlsd" -- "$APP"
  start ucspi-starttls-static "$(pwd)/build-static/bin/s6-ucspitlsd" -- "$APP"
  CONFIGS="$CONFIGS ucspi-clear-static ucspi-starttls-static"
fi

mode() {
  case $1 in plain|ucspi-clear*) echo clear ;; ucspi-starttls*) echo starttls ;; tlsd) echo tls ;; esac
}
REVERSED=$(echo $CONFIGS | tr ' ' '\n' | tac | tr '\n' ' ')
for c in $CONFIGS; do
  $CLIENT "$(mode $c)" "$(cat "$T/port.$c")" 0.3 "$T/cert.pem" >/dev/null   # warm-up
done
r=1
while [ $r -le "$ROUNDS" ]; do
  if [ $((r % 2)) -eq 1 ]; then order=$CONFIGS; else order=$REVERSED; fi
  for c in $order; do
    $CLIENT "$(mode $c)" "$(cat "$T/port.$c")" "$SECS" "$T/cert.pem" >>"$T/rate.$c"
  done
  r=$((r + 1))
done

/usr/bin/python3 - "$T" "$B/bench/starttls.json" "$ROUNDS" "$SECS" $CONFIGS <<'PY'
import json, statistics, sys
t, out, rounds, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
names = sys.argv[5:]
desc = {
    "plain": "s6-tcpserver -> app, cleartext session",
    "ucspi-clear": "s6-tcpserver -> s6-ucspitlsd -> app, never upgraded",
    "ucspi-starttls": "s6-tcpserver -> s6-ucspitlsd -> app, STARTTLS + TLS 1.3",
    "tlsd": "s6-tcpserver -> s6-tlsd -> app, immediate TLS 1.3",
    "ucspi-clear-static": "as ucspi-clear, s6-ucspitlsd musl-static",
    "ucspi-starttls-static": "as ucspi-starttls, s6-ucspitlsd musl-static",
}
rates = {n: [float(x) for x in open("%s/rate.%s" % (t, n)).read().split()] for n in names}
def ratio(a, b):
    return statistics.median(x / y for x, y in zip(rates[a], rates[b]))
res = {"rounds": rounds, "seconds": secs, "configs": {}}
print("%-22s %12s %10s  %s" % ("config", "sessions/s", "ms/sess", "what"))
for n in names:
    m = statistics.median(rates[n])
    res["configs"][n] = {"median_per_s": m, "rates": rates[n], "what": desc[n]}
    print("%-22s %12.1f %10.3f  %s" % (n, m, 1000 / m, desc[n]))
res["ratios"] = {
    "ucspi-clear/plain": ratio("ucspi-clear", "plain"),
    "ucspi-starttls/tlsd": ratio("ucspi-starttls", "tlsd"),
    "ucspi-starttls/ucspi-clear": ratio("ucspi-starttls", "ucspi-clear"),
}
if "ucspi-clear-static" in names:
    res["ratios"]["ucspi-clear-static/plain"] = ratio("ucspi-clear-static", "plain")
    res["ratios"]["ucspi-starttls-static/tlsd"] = ratio("ucspi-starttls-static", "tlsd")
for k, v in res["ratios"].items():
    print("ratio %-28s %.3f" % (k, v))
json.dump(res, open(out, "w"), indent=1)
PY
