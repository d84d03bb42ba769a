#!/bin/sh
# make demo: start, in the foreground on 127.0.0.1, every demo service whose
# programs are built, print how to reach each, and stop them all on Ctrl-C.
# Ports: DEMO_PORT (default 9080) and the next few.
set -u
B=${1:?build dir}
BIN=$B/bin
HERE=$(cd "$(dirname "$0")/.." && pwd)
EX=$HERE/examples/demo
RUN=${DEMO_RUN:-$B/demo}
P=${DEMO_PORT:-9080}
mkdir -p "$RUN"
pids=""
started=0

cleanup() {
  trap - INT TERM EXIT
  [ -n "$pids" ] && kill $pids 2>/dev/null
  wait 2>/dev/null
  echo; echo "demo: stopped everything it started."
}
trap cleanup INT TERM EXIT

have() { [ -x "$BIN/$1" ]; }
say() { printf '%s\n' "$*"; }   # echo would interpret the backslashes

# start NAME PORT cmd... : start a server that prints its port on stdout (-1)
start() {
  name=$1; shift
  rm -f "$RUN/$name.port"
  "$@" > "$RUN/$name.port" 2> "$RUN/$name.log" &
  pids="$pids $!"
  i=0
  while [ $i -lt 50 ] && ! [ -s "$RUN/$name.port" ]; do
    kill -0 $! 2>/dev/null || break
    sleep 0.1; i=$((i+1))
  done
  if [ -s "$RUN/$name.port" ]; then
    started=$((started+1)); return 0
  fi
  echo "demo: $name did not start:"; sed 's/^/  /' "$RUN/$name.log"; return 1
}

echo "s6net demo — build tree: $B"
echo

if have s6-tcpserver; then
  if start plain "$BIN/s6-tcpserver" -1 -v 127.0.0.1 $P "$EX/showenv"; then
    echo "* Plain TCP (s6-tcpserver, handler prints its UCSPI environment):"
    say "    curl http://127.0.0.1:$P/"
    have s6-tcpclient && say "    $BIN/s6-tcpclient 127.0.0.1 $P sh -c 'printf \"GET /\\r\\n\\r\\n\" >&7; cat <&6'"
  fi
fi

if have s6-tcpserver && have s6-tcpserver-access && have s6-accessrules-cdb-from-fs; then
  R=$RUN/rules; rm -rf "$R"; mkdir -p "$R/ip4/127.0.0.1_32/env" "$R/ip4/0.0.0.0_0"
  : > "$R/ip4/127.0.0.1_32/allow"; echo "welcome, loopback" > "$R/ip4/127.0.0.1_32/env/GREETING"
  : > "$R/ip4/0.0.0.0_0/deny"
  "$BIN/s6-accessrules-cdb-from-fs" "$RUN/rules.cdb" "$R"
  if start access "$BIN/s6-tcpserver" -1 127.0.0.1 $((P+1)) "$BIN/s6-tcpserver-access" -v2 -x "$RUN/rules.cdb" "$EX/showenv"; then
    echo "* Access control (rules in $R, compiled to $RUN/rules.cdb; GREETING comes from the rule):"
    say "    curl http://127.0.0.1:$((P+1))/"
  fi
fi

if have s6-tlsserver && command -v openssl >/dev/null; then
  if ! [ -s "$RUN/cert.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
      -keyout "$RUN/key.pem" -out "$RUN/cert.pem" >/dev/null 2>&1
  fi
  if CERTFILE=$RUN/cert.pem KEYFILE=$RUN/key.pem start tls "$BIN/s6-tlsserver" -1 127.0.0.1 $((P+2)) "$EX/showenv"; then
    echo "* TLS (s6-tlsserver, self-signed certificate $RUN/cert.pem):"
    say "    curl --cacert $RUN/cert.pem https://localhost:$((P+2))/"
  fi
fi

if have s6-tcpserver && have proxy-server; then
  if start proxy "$BIN/s6-tcpserver" -1 127.0.0.1 $((P+3)) "$BIN/proxy-server" "$EX/showenv"; then
    echo "* PROXY protocol receiver (proxy-server): the client address comes from the header:"
    say "    printf 'PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\\r\\nGET / HTTP/1.0\\r\\n\\r\\n' | socat - TCP:127.0.0.1:$((P+3))"
  fi
fi

if [ $started -eq 0 ]; then
  echo "No demo server could be started (are the programs built? see $RUN/*.log)."
  exit 1
fi
echo
echo "Logs in $RUN/. Press Ctrl-C to stop."
wait
