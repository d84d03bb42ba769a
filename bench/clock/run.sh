#!/bin/sh
# Time servers side by side on loopback: s6-taiclockd vs chronyd (as an NTP
# server that never touches the clock: -x, no sources, no CAP_SYS_TIME),
# with a bare UDP echo server as the limit. Usage (from the top of the tree):
#   bench/clock/run.sh [rounds] [exchanges-per-round]
set -eu
B=${B:-build}
[ -x "$B/bin/s6-taiclockd" ] && [ -f "$B/lib/libs6net.a" ] || make -s all
mkdir -p "$B/bench"
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude -Ilib -o "$B/bench/clock_bench" bench/clock/bench.c "$B/lib/libs6net.a"
tmp=$(mktemp -d)
pids=
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

"$B/bin/s6-taiclockd" -1 -i 127.0.0.1 -p 0 > "$tmp/tai.port" &
pids="$pids $!"
"$B/bench/clock_bench" echo > "$tmp/echo.port" &
pids="$pids $!"
ntpport=$("$B/bench/clock_bench" freeport)
cat > "$tmp/chrony.conf" <<EOC
port $ntpport
bindaddress 127.0.0.1
local stratum 8
allow 127.0.0.1
cmdport 0
driftfile $tmp/drift
pidfile $tmp/chronyd.pid
EOC
setpriv --bounding-set=-sys_time --inh-caps=-sys_time chronyd -x -d -f "$tmp/chrony.conf" > "$tmp/chronyd.log" 2>&1 &
pids="$pids $!"
# Readiness: the port files fill in, and chronyd answers (at most ~10 s).
i=0
while [ $i -lt 200 ]; do
  if [ -s "$tmp/tai.port" ] && [ -s "$tmp/echo.port" ] &&
     "$B/bin/s6-sntpclock" -v 0 -r 1 -t 100 -T 200 -p "$ntpport" 127.0.0.1 > /dev/null 2>&1; then break; fi
  i=$((i+1))
  sleep 0.05
done
[ $i -lt 200 ] || { echo "bench/clock: servers did not start" >&2; cat "$tmp/chronyd.log" >&2; exit 111; }
"$B/bench/clock_bench" run "$(cat "$tmp/tai.port")" "$ntpport" "$(cat "$tmp/echo.port")" \
  "${1:-5}" "${2:-20000}" "$B/bench/clock.json"
echo "JSON: $B/bench/clock.json"
