#!/bin/sh
# s6-ipcserver connection rate and s6-sudo round trips, s6net against
# Debian's s6, alternating; table on stdout, JSON in build/bench/ipc.json.
# Usage: bench/ipc/run.sh   (ROUNDS=5 N=200 by default; from the top of the tree)
set -e
B=${B:-build}
[ -x "$B/bin/s6-ipcserver" ] && [ -x "$B/bin/s6-sudo" ] || make -s all
mkdir -p "$B/bench"
/usr/bin/python3 bench/ipc/bench.py "$B" "$B/bench/ipc.json"
echo "JSON: $B/bench/ipc.json"
