#!/bin/sh
# PROXY header parsing cost (ns/parse) and proxy-server's cost in a chain.
# Usage: bench/proxy/run.sh [iterations]   (from the top of the tree)
set -e
B=${B:-build}
[ -x "$B/bin/proxy-server" ] && [ -f "$B/lib/libs6net.a" ] || make -s all
mkdir -p "$B/bench"
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude -Ilib -o "$B/bench/proxy_bench" bench/proxy/bench.c "$B/lib/libs6net.a"
"$B/bench/proxy_bench" "$(pwd)/$B/bin/proxy-server" "${1:-2000000}" "$B/bench/proxy.json"
echo "JSON: $B/bench/proxy.json"
