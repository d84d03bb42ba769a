#!/bin/sh
# Run a command (make check on a sanitizer build) with every sanitizer
# report of every process it starts written to a file, then print the
# reports and fail if there is any. A report on stderr alone can go
# unseen: many processes of the suite have their stderr discarded or
# unchecked (engines, handlers, acceptors, processes of other uids), and
# a process that dies of a report may only look like a refused client.
#   tools/checked.sh address|undefined COMMAND...
# address: an ASan build (its UBSan and LeakSanitizer report through
# ASAN_OPTIONS too); undefined: a UBSan-only build.
# The directory is under /tmp, 1777: processes that dropped to another
# uid report too, whatever the mode of the checkout's parents.
set -u
checker=$1
shift
case $checker in
  address) var=ASAN_OPTIONS; ours= ;;
  undefined) var=UBSAN_OPTIONS; ours=halt_on_error=1:print_stacktrace=1: ;;
  *) echo "checked.sh: fatal: unknown checker: $checker" >&2; exit 100 ;;
esac
dir=$(mktemp -d /tmp/s6net-checked.XXXXXX) || exit 111
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM HUP
chmod 1777 "$dir"
# Ours last, so that they win over any the caller set (a log_path of
# its own would leave this run blind).
eval "old=\${$var:-}"
opts="${old:+$old:}${ours}log_path=$dir/report"
export "$var=$opts"
echo "checked.sh: $var=$opts"
"$@"
rc=$?
n=0
for f in "$dir"/report.*; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  echo "checked.sh: $checker report (${f##*/report.}):"
  cat "$f"
done
echo "checked.sh: $n $checker reports"
[ "$n" -eq 0 ] || exit 1
exit "$rc"
