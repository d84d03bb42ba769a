#!/bin/sh
# make install / make uninstall.
#   tools/install.sh install     copy everything into DESTDIR, and write a
#                                manifest of what was put where
#   tools/install.sh uninstall   remove what the manifest lists, and only
#                                files still as install left them
# The Makefile passes the directories and lists in the environment:
#   DESTDIR BINDIR PRIVDIR LIBDIR INCLUDEDIR MANDIR PKGCONFIGDIR DATADIR
#   PREFIX VERSION BINSRC STATIC_LIB SHARED_LIB PROGS HEADERS MANS
#   SKIP (names installed in PRIVDIR, not BINDIR, man pages not installed)
#   REQUIRES (the pkg-config modules the library needs, for libs6net.pc)
# The manifest ($DATADIR/s6net/install-manifest) has one line per file:
#   F <sha256> <path>      a file, as installed
#   L <target> <path>      a symbolic link
# with paths as seen once installed (without DESTDIR).
set -eu
DESTDIR=${DESTDIR:-}
MANIFEST=$DATADIR/s6net/install-manifest
M=$DESTDIR$MANIFEST

skipped() {
  case " $SKIP " in *" $1 "*) return 0;; esac
  return 1
}

sum() { sha256sum < "$1" | cut -d' ' -f1; }

# Remove what a manifest lists, when it is still ours: a file whose
# content changed (another package installed over it) is left alone.
remove_listed() {
  while read -r kind what path; do
    f=$DESTDIR$path
    case $kind in
      F) if [ -f "$f" ] && [ ! -L "$f" ]; then
           if [ "$(sum "$f")" = "$what" ]; then rm -f "$f"
           else echo "install.sh: keeping $f: changed since it was installed" >&2; fi
         fi ;;
      L) if [ -L "$f" ] && [ "$(readlink "$f")" = "$what" ]; then rm -f "$f"; fi ;;
    esac
  done < "$1"
}

# Our own directories, once empty.
remove_dirs() {
  for d in "$PRIVDIR" "$INCLUDEDIR/s6net" "$DATADIR/s6net"; do
    rmdir "$DESTDIR$d" 2>/dev/null || :
  done
}

put() { # put SRC DIR MODE [NAME]
  name=${4:-${1##*/}}
  mkdir -p "$DESTDIR$2"
  install -m "$3" "$1" "$DESTDIR$2/$name"
  echo "F $(sum "$DESTDIR$2/$name") $2/$name" >> "$M.new"
}

link() { # link TARGET DIR NAME
  ln -sf "$1" "$DESTDIR$2/$3"
  echo "L $1 $2/$3" >> "$M.new"
}

install_all() {
  # a re-install first takes back what the last one put (e.g. programs
  # moved between BINDIR and PRIVDIR by a change of WITHOUT_S6_NAMES)
  [ -f "$M" ] && remove_listed "$M"
  mkdir -p "$DESTDIR$DATADIR/s6net"
  : > "$M.new"
  for p in $PROGS; do
    if skipped "$p"; then put "$BINSRC/$p" "$PRIVDIR" 755; else put "$BINSRC/$p" "$BINDIR" 755; fi
  done
  put "$STATIC_LIB" "$LIBDIR" 644 libs6net.a
  put "$SHARED_LIB" "$LIBDIR" 755 "libs6net.so.$VERSION"
  link "libs6net.so.$VERSION" "$LIBDIR" libs6net.so.0
  link "libs6net.so.$VERSION" "$LIBDIR" libs6net.so
  for h in $HEADERS; do put "$h" "$INCLUDEDIR/s6net" 644; done
  pc=$(mktemp)
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@LIBDIR@|$LIBDIR|g" -e "s|@INCLUDEDIR@|$INCLUDEDIR|g" \
      -e "s|@VERSION@|$VERSION|g" -e "s|@REQUIRES@|${REQUIRES:-}|g" -e "/^Requires.private: *$/d" \
      tools/libs6net.pc.in > "$pc"
  put "$pc" "$PKGCONFIGDIR" 644 libs6net.pc
  rm -f "$pc"
  for m in $MANS; do
    base=${m##*/}
    skipped "${base%.*}" && continue
    put "$m" "$MANDIR/man${m##*.}" 644
  done
  mv "$M.new" "$M"
  if [ -n "$SKIP" ]; then
    echo "install.sh: names Debian's s6 also ships are in $PRIVDIR, not $BINDIR:$(for s in $SKIP; do printf ' %s' "$s"; done)"
  fi
}

uninstall_all() {
  if [ -f "$M" ]; then
    remove_listed "$M"
    rm -f "$M"
  else
    # No manifest (an install older than it): the same names install
    # would use, with the same SKIP.
    echo "install.sh: no $M: removing by name" >&2
    for p in $PROGS; do
      if skipped "$p"; then rm -f "$DESTDIR$PRIVDIR/$p"; else rm -f "$DESTDIR$BINDIR/$p"; fi
    done
    rm -f "$DESTDIR$LIBDIR/libs6net.a" "$DESTDIR$LIBDIR/libs6net.so.$VERSION" \
          "$DESTDIR$LIBDIR/libs6net.so.0" "$DESTDIR$LIBDIR/libs6net.so" "$DESTDIR$PKGCONFIGDIR/libs6net.pc"
    for h in $HEADERS; do rm -f "$DESTDIR$INCLUDEDIR/s6net/${h##*/}"; done
    for m in $MANS; do
      base=${m##*/}
      skipped "${base%.*}" || rm -f "$DESTDIR$MANDIR/man${m##*.}/$base"
    done
  fi
  remove_dirs
}

case ${1:-} in
  install) install_all ;;
  uninstall) uninstall_all ;;
  *) echo "usage: tools/install.sh install|uninstall" >&2; exit 100 ;;
esac
