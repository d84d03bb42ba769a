#!/bin/sh
# Connection set-up cost of s6-tcpclient next to ucspi-tcp's tcpclient
# (connect, exec true, exit), with and without DNS work.
# Usage: bench/tcpclient/run.sh [runs per case]   (from the top of the tree)
set -e
B=${B:-build}
[ -x "$B/bin/s6-tcpclient" ] || make -s all
mkdir -p "$B/bench"
/usr/bin/python3 bench/tcpclient/bench.py "$(pwd)/$B" "${1:-300}" "$B/bench/tcpclient.json"
echo "JSON: $B/bench/tcpclient.json"
