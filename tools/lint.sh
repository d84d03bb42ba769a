#!/bin/sh
# make lint: the man pages with mandoc (any warning fails), every option
# of a page's SYNOPSIS described in the page, and every relative link of
# the Markdown documents resolving (inside its example, for examples/).
# Arguments: the man pages; the Markdown files are found here.
status=0; n=0
for m in "$@"; do
  n=$((n+1))
  out=$(mandoc -Tlint -W warning "$m" 2>&1) || { echo "$out"; status=1; }
  [ -n "$out" ] && { echo "$out"; status=1; }
done
echo "lint: $n man pages checked with mandoc"
dir=$(dirname "$0")
python3 "$dir/lint_docs.py" synopsis "$@" || status=1
echo "lint: SYNOPSIS options checked against OPTIONS and DESCRIPTION"
set -- README.md SECURITY.md doc/*.md examples/README.md examples/*/*.md fuzz/README.md
md=""
for f in "$@"; do [ -f "$f" ] && md="$md $f"; done
# shellcheck disable=SC2086
python3 "$dir/lint_docs.py" links $md || status=1
echo "lint: relative links checked in$md"
exit $status
