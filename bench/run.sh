#!/bin/sh
# Runs every bench/*/run.sh in turn; fails if any of them fails.
cd "$(dirname "$0")/.." || exit 1
status=0
for b in bench/*/run.sh; do
  [ -f "$b" ] || continue
  echo "== $b"
  sh "$b" || { echo "bench: $b failed" >&2; status=1; }
done
exit $status
