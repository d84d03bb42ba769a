#!/bin/sh
# Sequential full handshakes (tls_hsloop -n N) through s6-tlsserver, two
# builds side by side in one run, alternating A B A B: what the zygote's
# per-connection work (the renewal stat digest, the reply socketpair,
# the inherited-socket checks) costs against a reference build.
#   bench/tls/zygote_ab.sh [A-build [B-build [rounds [N]]]]
# B_OPTS: extra s6-tlsserver options for B only (e.g. B_OPTS="-T 0" to
# leave session tickets out of the comparison).
# A defaults to $S6NET_BASE (one of the two is needed); B to ./build.
# Prints each round, then the medians and B/A.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
A=${1:-${S6NET_BASE:-}}
[ -z "$A" ] || A=$(cd "$A" && pwd)
B=$(cd "${2:-$root/build}" && pwd)
ROUNDS=${3:-9}
N=${4:-400}
[ -n "$A" ] || { echo "usage: $0 A-build [B-build [rounds [N]]]" >&2; exit 100; }
LOOP=$B/helpers/tls_hsloop
APP=$B/helpers/http_ok
d=$(mktemp -d)
pa="" pb="" ga="" gb=""
cleanup() { for g in $ga $gb; do kill -KILL "-$g" 2>/dev/null || true; done; rm -rf "$d"; }
trap cleanup EXIT INT TERM
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/k.pem" -out "$d/c.pem" \
  -subj /CN=localhost -days 2 >/dev/null 2>&1
# Each server is its own session (setsid) so that cleanup kills it, its
# keeper, zygote and connections as one process group. Not in $(...):
# the group ids must be known to this shell.
for x in a b; do
  mkfifo "$d/port.$x"
  [ $x = a ] && bld=$A opts="" || bld=$B opts=${B_OPTS:-}
  # shellcheck disable=SC2086
  KEYFILE=$d/k.pem CERTFILE=$d/c.pem setsid "$bld/bin/s6-tlsserver" -q -b 1024 $opts -1 127.0.0.1 0 "$APP" \
    >"$d/port.$x" 2>/dev/null &
  [ $x = a ] && ga=$! || gb=$!
  read -r port <"$d/port.$x"
  [ $x = a ] && pa=$port || pb=$port
done
"$LOOP" -n 50 127.0.0.1 "$pa" >/dev/null
"$LOOP" -n 50 127.0.0.1 "$pb" >/dev/null
ra="" rb=""
i=0
while [ $i -lt "$ROUNDS" ]; do
  if [ $((i % 2)) = 0 ]; then
    x=$("$LOOP" -n "$N" 127.0.0.1 "$pa" | awk '{print $1}'); y=$("$LOOP" -n "$N" 127.0.0.1 "$pb" | awk '{print $1}')
  else
    y=$("$LOOP" -n "$N" 127.0.0.1 "$pb" | awk '{print $1}'); x=$("$LOOP" -n "$N" 127.0.0.1 "$pa" | awk '{print $1}')
  fi
  echo "round $i: A $x hs/s  B $y hs/s"
  ra="$ra $x" rb="$rb $y"
  i=$((i + 1))
done
med() { printf '%s\n' $1 | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
ma=$(med "$ra"); mb=$(med "$rb")
echo "median A ($A): $ma hs/s"
echo "median B ($B): $mb hs/s"
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "B/A: %.3f\n", b / a }'
