#!/bin/sh
# Replay every fuzz corpus and saved crash input through its harness.
pass=0; fail=0
for r in "$@"; do
  name=${r##*/replay_}
  set --
  for d in fuzz/corpus/$name fuzz/crashes/$name; do
    [ -d "$d" ] && for f in "$d"/*; do [ -f "$f" ] && set -- "$@" "$f"; done
  done
  if "$r" "$@" >/dev/null 2>"$r.log"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $r"; tail -20 "$r.log"; fi
done
echo "fuzz-replay: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
