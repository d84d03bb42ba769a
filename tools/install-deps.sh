#!/bin/sh
# Installs the Debian packages s6net needs, by group, and only what is
# missing:
#   build   the compiler and libraries for `make` and `make demo`
#   test    the test runners and the real peers the suite talks to, for
#           `make check` (tests/integration/test_deps.py checks that every
#           peer the suite asks for is listed here)
#   bench   the programs `make bench` compares us with
#   fuzz    clang with libFuzzer, for `make fuzz`
#
#   tools/install-deps.sh [GROUP...]           install what is missing (root)
#   tools/install-deps.sh --ensure [GROUP...]  the same as root; otherwise
#                                              print the apt-get command and
#                                              fail if something is missing
#   tools/install-deps.sh --check [GROUP...]   list what is missing, exit 1 if any
#   tools/install-deps.sh --list [GROUP...]    print the packages, one a line
# The default groups are build and test. It prints one line per group.
#
# It never stops, disables or reconfigures anything that was installed
# before it ran: the tests start their own instances of haproxy, chronyd,
# dnsmasq and oidentd, on their own ports. A package whose installation
# would remove an installed one (chrony replaces systemd-timesyncd or
# another time daemon, oidentd another ident server) is not installed:
# its .deb is unpacked into .peers/PACKAGE in this checkout instead (its
# libraries are installed as usual), where the tests find its programs,
# and nothing of the system changes. The line says so.
# Services that come with the packages installed here must not start on
# their own (chronyd would set the clock): while apt-get runs, a temporary
# /usr/sbin/policy-rc.d refuses every service start (it is created only
# if there is none, and removed on exit), and afterwards the services of
# the packages this run installed are disabled, so that they do not start
# at the next boot either.
set -u

BUILD="gcc binutils make pkg-config libssl-dev libc-ares-dev libcdb-dev musl-tools"
TEST="python3-pytest libcmocka-dev openssl curl socat haproxy chrony dnsmasq-base s6 execline ucspi-tcp-ipv6 tinycdb oidentd strace procps util-linux systemd mandoc ipsvd stunnel4"
BENCH="wrk ipsvd stunnel4 socat ucspi-tcp-ipv6 musl-tools"
FUZZ="clang libclang-rt-14-dev"

why_build="for make and make demo"
why_test="the test runners and peers of make check"
why_bench="the programs make bench compares with"
why_fuzz="clang and libFuzzer for make fuzz"

# Services (systemd units) of packages above, disabled when this run
# installed the package.
services() {
  case $1 in
    chrony) echo chrony.service ;;
    haproxy) echo haproxy.service ;;
    oidentd) echo oidentd.socket oidentd.service ;;
    stunnel4) echo stunnel4.service ;;
  esac
}

say() { printf 'install-deps: %s\n' "$*"; }

mode=install
case ${1:-} in
  --check|--ensure|--list) mode=${1#--}; shift ;;
  -*) echo "usage: tools/install-deps.sh [--check|--ensure|--list] [build|test|bench|fuzz]..." >&2; exit 100 ;;
esac
groups=${*:-build test}
for g in $groups; do
  case $g in build|test|bench|fuzz) ;; *) echo "install-deps: unknown group: $g" >&2; exit 100 ;; esac
done

pkgs_of() {
  case $1 in build) echo "$BUILD" ;; test) echo "$TEST" ;; bench) echo "$BENCH" ;; fuzz) echo "$FUZZ" ;; esac
}
why_of() { eval "echo \"\$why_$1\""; }

if [ "$mode" = list ]; then
  for g in $groups; do for p in $(pkgs_of "$g"); do echo "$p"; done; done | awk '!seen[$0]++'
  exit 0
fi

root=$(cd "$(dirname "$0")/.." && pwd)
peers=${S6NET_PEERS_DIR:-$root/.peers}   # (set by tests/integration/test_deps.py)
installed() {
  [ -e "$peers/$1/.unpacked" ] && return 0
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# What each group lacks (a package in two groups counts in the first).
all_missing=""
for g in $groups; do
  m=""
  for p in $(pkgs_of "$g"); do
    case " $all_missing " in *" $p "*) continue ;; esac
    installed "$p" || m="$m $p"
  done
  eval "missing_$g=\"\$m\""
  all_missing="$all_missing$m"
done

if [ -z "$all_missing" ]; then
  [ "$mode" = check ] && exit 0
  for g in $groups; do say "$g ($(why_of "$g")): all $(pkgs_of "$g" | wc -w) packages present"; done
  exit 0
fi

if [ "$mode" = check ]; then
  for g in $groups; do eval "m=\$missing_$g"; [ -n "$m" ] && say "$g ($(why_of "$g")): missing$m"; done
  exit 1
fi

if [ "$(id -u)" != 0 ]; then
  for g in $groups; do eval "m=\$missing_$g"; [ -n "$m" ] && say "$g ($(why_of "$g")): missing$m"; done
  echo "install-deps: run as root:  apt-get update && apt-get install --no-install-recommends$all_missing" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || { echo "install-deps: fatal: apt-get update failed" >&2; exit 111; }

# Leave out what would remove an installed package (apt-get -s: nothing
# is changed). One simulation for all first; one per package only then.
would_remove() { apt-get -s install --no-install-recommends "$@" 2>/dev/null | sed -n 's/^Remv \([^ ]*\).*/\1/p' | tr '\n' ' '; }
skipped=""
if [ -n "$(would_remove $all_missing)" ]; then
  keep=""
  for p in $all_missing; do
    r=$(would_remove "$p")
    if [ -n "$r" ]; then
      skipped="$skipped $p"
      eval "removes_$(echo "$p" | tr -c 'a-zA-Z0-9\n' _)=\"\$r\""
    else
      keep="$keep $p"
    fi
  done
  all_missing=$keep
fi

# No service may start while apt-get runs.
policy=${S6NET_POLICY_RC_D:-/usr/sbin/policy-rc.d}   # (set by tests/integration/test_deps.py)
ours=""
cleanup() { [ -n "$ours" ] && rm -f "$policy"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# tools/install-deps.sh: no service starts while it installs packages.\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  ours=1
fi

for g in $groups; do
  eval "m=\$missing_$g"
  line=""
  for p in $m; do
    case " $skipped " in
      *" $p "*) eval "r=\$removes_$(echo "$p" | tr -c 'a-zA-Z0-9\n' _)"
                line="$line; $p unpacked into .peers/$p, not installed (installing it would remove ${r% })" ;;
      *) line="$line $p" ;;
    esac
  done
  if [ -z "$m" ]; then
    say "$g ($(why_of "$g")): all present"
  else
    say "$g ($(why_of "$g")): installing$line"
  fi
done
[ -n "$ours" ] && say "services of the packages installed now are not started (temporary $policy)"

status=0
if [ -n "$all_missing" ]; then
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends --no-remove $all_missing >/dev/null || {
    echo "install-deps: fatal: apt-get install failed" >&2; status=111; }
fi

# Packages that would remove an installed one: their libraries are
# installed (when that removes nothing), the package itself is only
# unpacked, privately. No maintainer script runs, no service exists.
for p in $skipped; do
  libs=$(apt-cache depends --no-recommends --no-suggests "$p" 2>/dev/null |
         sed -n 's/^ *Depends: \(lib[a-z0-9.+-]*\)$/\1/p')
  need_libs=""
  for l in $libs; do installed "$l" || need_libs="$need_libs $l"; done
  if [ -n "$need_libs" ]; then
    if [ -n "$(would_remove $need_libs)" ]; then
      echo "install-deps: warning: the libraries of $p would remove a package:$need_libs" >&2
    else
      # shellcheck disable=SC2086
      apt-get install -y -q --no-install-recommends --no-remove $need_libs >/dev/null || status=111
    fi
  fi
  tmp=$(mktemp -d) && chmod 755 "$tmp" &&
    (cd "$tmp" && apt-get download -q "$p" >/dev/null 2>&1) &&
    rm -rf "$peers/$p" && mkdir -p "$peers/$p" &&
    dpkg-deb -x "$tmp"/*.deb "$peers/$p" && : > "$peers/$p/.unpacked" ||
    { echo "install-deps: fatal: unable to unpack $p into $peers/$p" >&2; status=111; }
  [ -n "$tmp" ] && rm -rf "$tmp"
done

# The services of what we just installed stay off at boot too; those of
# packages that were there before are not touched.
off=""
for p in $all_missing; do
  installed "$p" || continue
  for u in $(services "$p"); do
    if command -v systemctl >/dev/null 2>&1 && systemctl disable --quiet "$u" >/dev/null 2>&1; then
      off="$off $u"
    fi
  done
  if [ -n "$(services "$p")" ] && [ -x "/etc/init.d/$p" ] && command -v update-rc.d >/dev/null 2>&1; then
    update-rc.d "$p" disable >/dev/null 2>&1 && off="$off /etc/init.d/$p"
  fi
done
[ -n "$off" ] && say "disabled at boot, as they were installed only for the tests:$off"
exit $status
