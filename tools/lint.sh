#!/bin/sh
# Lints every man page with mandoc; fails on any warning.
status=0; n=0
for m in "$@"; do
  n=$((n+1))
  out=$(mandoc -Tlint -W warning "$m" 2>&1) || { echo "$out"; status=1; }
  [ -n "$out" ] && { echo "$out"; status=1; }
done
echo "lint: $n man pages checked"
exit $status
