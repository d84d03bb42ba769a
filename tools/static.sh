#!/bin/sh
# make static: build, with musl (musl-gcc), a static binary of every program
# that needs no library beyond libc and our own libs6net. Such a program
# is spawned and reaped about 2.5 times as fast as a glibc one (the spawn
# mode of bench/access/client.c on bench/access/hello.c built both ways),
# which matters for everything that runs once per connection.
#   Output: build-static/bin/; the list of what was built is printed and
#   written to build-static/STATIC-PROGRAMS.
set -u
B=build-static
CC=${MUSL_CC:-musl-gcc}
command -v "$CC" >/dev/null || { echo "static: $CC not found (apt-get install musl-tools)" >&2; exit 100; }
CFLAGS="-std=c11 -O2 -D_GNU_SOURCE -Iinclude -Ilib -DS6NET_BINDIR=\"${BINDIR:-/usr/local/bin}\""
mkdir -p "$B/bin"
rm -f "$B"/bin/*
# The Makefile's musl library: every module but those that include headers
# musl does not have (OpenSSL, c-ares, tinycdb). The programs that need
# them are listed here and built with glibc; any other program that does
# not build is an error.
GLIBC_ONLY="s6-accessrules-cdb-from-fs s6-tcprules-import s6-tcpserver-access-dns s6-tcpclient s6-tlsc-io s6-tlsd-io"
LIB=$B/musl/libs6net-all.a
make --no-print-directory -s B="$B" MUSL_CC="$CC" "$LIB" >/dev/null || exit 111
built=""; skipped=""
for c in src/*/*.c; do
  p=$(basename "$c" .c)
  case " $GLIBC_ONLY " in *" $p "*) skipped="$skipped $p"; continue ;; esac
  # shellcheck disable=SC2086
  $CC $CFLAGS -static -o "$B/bin/$p" "$c" "$LIB" || { echo "static: unable to build $p with $CC" >&2; exit 111; }
  strip "$B/bin/$p"; built="$built $p"
done
echo "$built" | tr ' ' '\n' | sed '/^$/d' > "$B/STATIC-PROGRAMS"
# A complete set: chain programs find their siblings in their own
# directory, so the programs that cannot be static are copied in as built.
[ -n "$skipped" ] && make --no-print-directory -s all >/dev/null
for p in $skipped; do cp "build/bin/$p" "$B/bin/$p"; done
echo "static (musl) programs in $B/bin:$built"
echo "need glibc-built libraries (OpenSSL, c-ares or tinycdb), not static:$skipped"
