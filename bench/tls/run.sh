#!/bin/sh
# TLS tunnel benchmark: s6-tlsserver vs stunnel4, socat and haproxy in
# front of s6-tcpserver, side by side.
# Prints a table and writes build/bench/tls.json. See bench.py.
# An argument names a second build directory (e.g. another checkout's build or
# any older build) measured in the same run as "s6net-old".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${S6NET_BUILD:-$root/build}
[ -x "$B/bin/s6-tlsserver" ] && [ -x "$B/helpers/tls_hsloop" ] || make -C "$root" -s all
# The per-connection programs also as musl-static binaries (make static),
# benchmarked as a second s6net contender when musl-gcc is available.
# A build-static made only for this run is removed afterwards (other
# areas' tests use it when it exists).
had_static=0; [ -d "$root/build-static" ] && had_static=1
if command -v musl-gcc >/dev/null 2>&1; then make -C "$root" -s static >/dev/null 2>&1 || true; fi
status=0
/usr/bin/python3 "$here/bench.py" "$B" "$@" || status=$?
[ $had_static = 1 ] || rm -rf "$root/build-static"
exit $status
