#!/usr/bin/env bash
# User-space instructions per keep-alive request of `asyncore http` (a 1 KiB
# file, 5 connections, Python's http.client), under callgrind: the
# difference between a run of 3000 requests and one of 1000, over 2000, so
# start-up and shutdown cancel out. Deterministic, unlike CPU time.
#
#   cargo build --release --bin asyncore
#   bash bench/http/callgrind.sh [path/to/asyncore]
set -euo pipefail
BIN=${1:-target/release/asyncore}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
head -c 1024 /dev/urandom > "$work/root/k.bin"
total() {
  local n=$1
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.$n" "$BIN" -q http \
    --listen 127.0.0.1:0 --root "$work/root" --keep-alive-timeout 60 > "$work/out.$n" 2> "$work/vg.$n" &
  local pid=$!
  local port=""
  for _ in $(seq 1 150); do
    port=$(grep -o '127.0.0.1:[0-9]*' "$work/out.$n" 2>/dev/null | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.2
  done
  [ -n "$port" ] || { echo "the server did not start" >&2; exit 1; }
  python3 - "$port" "$n" <<'PY'
import http.client, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(5)]
for i in range(n):
    c = conns[i % 5]
    c.request("GET", "/k.bin")
    body = c.getresponse().read()
    assert len(body) == 1024
PY
  kill -INT "$pid"; wait "$pid" || true
  grep -E '^(summary|totals):' "$work/cg.$n" | head -1 | awk '{print $2}'
}
a=$(total 1000)
b=$(total 3000)
echo "asyncore http: $(( (b - a) / 2000 )) user-space instructions per keep-alive request"
