#!/bin/sh
# Installs the Debian packages that the build, the tests and the benchmarks
# need. Idempotent.
#   tools/install-deps.sh            install what is missing (root)
#   tools/install-deps.sh --check    exit 1 and list what is missing
#   tools/install-deps.sh --ensure   install if root, else print the command
set -u

# Build
BUILD="gcc make pkg-config libssl-dev libc-ares-dev libcdb-dev tinycdb"
# Tests: runners and real peers
TEST="libcmocka-dev python3-pytest openssl curl socat haproxy chrony dnsmasq s6 execline ucspi-tcp-ipv6 mandoc iproute2 procps oidentd"
# Benchmarks, fuzzing, static builds
EXTRA="wrk ipsvd stunnel4 hyperfine clang libclang-rt-14-dev musl-tools"
PKGS="$BUILD $TEST $EXTRA"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done

mode=${1:-install}
if [ -z "$missing" ]; then
  [ "$mode" = --check ] || true
  exit 0
fi

if [ "$mode" = --check ]; then
  echo "missing Debian packages:$missing"
  exit 1
fi

if [ "$(id -u)" != 0 ]; then
  echo "tools/install-deps.sh: missing Debian packages:$missing" >&2
  echo "run as root:  apt-get update && apt-get install -y$missing" >&2
  [ "$mode" = --ensure ] && exit 1
  exit 1
fi

echo "tools/install-deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || { echo "apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null || {
  echo "tools/install-deps.sh: apt-get install failed" >&2; exit 1; }
# The Debian services we use as peers must not run on their own.
for s in haproxy chrony dnsmasq stunnel4 oidentd oidentd.socket; do
  (systemctl disable --now "$s" || service "$s" stop) >/dev/null 2>&1 || true
done
exit 0
