#!/bin/sh
# Side-by-side benchmark: s6-tcpserver vs ucspi-tcp tcpserver, ipsvd tcpsvd
# and socat. Prints a table; writes build/bench/tcpserver.json.
# Knobs (environment): ROUNDS (5), DUR seconds per wrk run (3), SEQN
# sequential connections per run (2000), GROWTH_N (100000).
# An argument names a second build directory (e.g. another checkout's build or
# any older build) measured in the same run as "s6-tcpserver-old".
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-$ROOT/build}
W=$B/bench/tcpserver
mkdir -p "$W"
for t in s6-tcpserver s6-tcpserver-socketbinder s6-tcpserverd; do
  [ -x "$B/bin/$t" ] || { echo "bench/tcpserver: build first (make)" >&2; exit 1; }
done
for t in wrk tcpserver tcpsvd socat musl-gcc; do
  command -v $t >/dev/null || { echo "bench/tcpserver: $t missing (tools/install-deps.sh)" >&2; exit 1; }
done
# The handler: static musl, so that its start-up costs next to nothing.
musl-gcc -static -O2 -o "$W/http_ok" "$ROOT/tests/helpers/http_ok.c"
${CC:-cc} -O2 -o "$W/tcpsrv_seqclient" "$ROOT/tests/helpers/tcpsrv_seqclient.c"
${CC:-cc} -O2 -o "$W/tcpsrv_phys" "$ROOT/tests/helpers/tcpsrv_phys.c"
# The musl-static build (make static), for its idle RSS: a build-static made
# only for this run is removed afterwards (other areas' tests use it when
# it exists).
had_static=0; [ -d "$ROOT/build-static" ] && had_static=1
make -C "$ROOT" -s static >/dev/null 2>&1 || true
status=0
/usr/bin/python3 "$ROOT/bench/tcpserver/bench.py" "$B" "$W" ${1:+"$1"} || status=$?
[ $had_static = 1 ] || rm -rf "$ROOT/build-static"
exit $status
