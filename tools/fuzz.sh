#!/bin/sh
# Builds every libFuzzer harness with clang (ASan + UBSan) and runs each for
# SECONDS (default 60), growing fuzz/corpus/<name>. Crashes are saved in
# fuzz/crashes/<name>/ so that make check replays them forever after.
#   tools/fuzz.sh [seconds] [name...]
set -eu
secs=${1:-60}; [ $# -gt 0 ] && shift
B=build-fuzz
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
make --no-print-directory -s B="$B" CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link $SAN" "$B/lib/libs6net.a"
libs=$(pkg-config --libs openssl libcares libcdb)
names=${*:-$(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||')}
printf '%-14s %14s %10s  %s\n' harness execs exec/s result
for n in $names; do
  mkdir -p "$B/fuzz" "fuzz/corpus/$n" "fuzz/crashes/$n"
  clang -g -O1 -fsanitize=fuzzer $SAN -Iinclude -Ilib -D_GNU_SOURCE "fuzz/fuzz_$n.c" "$B/lib/libs6net.a" $libs -o "$B/fuzz/$n"
  log="$B/fuzz/$n.log"
  if "$B/fuzz/$n" -max_total_time="$secs" -artifact_prefix="fuzz/crashes/$n/" -print_final_stats=1 "fuzz/corpus/$n" >"$log" 2>&1; then res=ok; else res=CRASH; fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  printf '%-14s %14s %10s  %s\n' "$n" "${execs:-?}" "${rate:-?}" "$res"
done
