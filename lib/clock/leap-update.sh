#!/bin/sh
# Refresh the leap-second table in lib/clock/leap.c from an IERS/IETF
# leap-seconds.list (Debian: /usr/share/zoneinfo/leap-seconds.list from
# tzdata; upstream: https://data.iana.org/time-zones/tzdb/leap-seconds.list).
#   sh lib/clock/leap-update.sh [LIST [LEAP_C]]
# Rewrites only the block between BEGIN/END LEAP TABLE, then rebuild.
set -eu
list=${1:-/usr/share/zoneinfo/leap-seconds.list}
out=${2:-$(dirname "$0")/leap.c}
[ -r "$list" ] || { echo "leap-update.sh: cannot read $list" >&2; exit 111; }
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
awk -v list="$list" '
  function civil(ntp,   days, z, era, doe, yoe, y, doy, mp, d, m) {
    days = int(ntp / 86400) - 25567        # 1900-01-01 -> 1970-01-01
    z = days + 719468; era = int(z / 146097); doe = z - era * 146097
    yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
    y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
    mp = int((5 * doy + 2) / 153); d = doy - int((153 * mp + 2) / 5) + 1
    m = mp < 10 ? mp + 3 : mp - 9; if (m <= 2) y++
    return sprintf("%04d-%02d-%02d", y, m, d)
  }
  /BEGIN LEAP TABLE/ {
    print
    print "s6net_leap_entry const s6net_leap_table[] = {"
    n = 0
    while ((getline line < list) > 0) {
      if (line ~ /^#@/) { split(line, f, /[ \t]+/); expires = f[2] }
      else if (line !~ /^#/ && line ~ /[0-9]/) {
        split(line, f, /[ \t]+/)
        printf "  { %su, %s }, /* %s */\n", f[1], f[2], civil(f[1]); n++
      }
    }
    print "};"
    if (expires == "" || n == 0) { print "leap-update.sh: no entries or no expiry in " list > "/dev/stderr"; exit 111 }
    printf "uint32_t const s6net_leap_table_expires = %su; /* %s */\n", expires, civil(expires)
    skip = 1; next
  }
  /END LEAP TABLE/ { skip = 0 }
  !skip { print }
' "$out" > "$tmp"
mv "$tmp" "$out"
trap - EXIT
