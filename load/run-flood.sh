#!/usr/bin/env bash
# Good admission requests under a flood of idle connections: p99 of a fixed arrival
# rate of reviews (openloop) against one reactor, first alone, then while N idle
# connections (N = the reactor's connection cap) are held open: half plain TCP that
# never start a TLS handshake, half TLS connections that finish it and never send a
# request. At the cap a new connection takes the place of the one idle longest
# (docs/operations.md, "Limits and behaviour under attack"), so the good client's
# connections get in and the flood only costs their first connect. The server runs
# with --header-timeout 120s so that the silent TCP half is not closed by it during
# the run: the cap stays full.
#
#   load/run-flood.sh [--server-bin PATH] [--cap 1000] [--rate 500] [--duration 10s]
#                     [--connections 16] [--ports S,ADMIN]
#
# Prints both p99s (and p50, errors, reconnects), the flood actually held, and the
# server's evicted/refused connection counters.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

server_bin=build/release/cmd/meshinject
cap=1000
rate=500
duration=10s
warmup=2s
connections=16
review=load/reviews/orders-pod.json
server_port=19643
admin_port=19214

die() { echo "run-flood.sh: $*" >&2; exit 1; }
while (($#)); do
  case $1 in
    --server-bin) server_bin=$2; shift 2 ;;
    --cap) cap=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --ports) IFS=, read -r server_port admin_port <<<"$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ -x $server_bin ]] || die "no server binary at $server_bin (make build, or --server-bin PATH)"
for tool in python3 openssl curl cmake; do command -v "$tool" >/dev/null || die "$tool not found"; done
(( $(ulimit -n) > cap + connections + 64 )) || die "ulimit -n is $(ulimit -n): too few descriptors for --cap $cap"

tmp=$(mktemp -d)
server_pid=""
flood_pid=""
cleanup() {
  [[ -z $flood_pid ]] || { kill "$flood_pid" 2>/dev/null; wait "$flood_pid" 2>/dev/null || true; }
  [[ -z $server_pid ]] || { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "run-flood.sh: building openloop" >&2
cmake -S load/openloop -B build/openloop -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/openloop -j "$(nproc)" --target openloop >/dev/null
openloop=$repo/build/openloop/openloop

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$tmp/tls.key" -out "$tmp/tls.crt" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

metric() { curl -s "http://127.0.0.1:$admin_port/metrics" | awk -v name="$1" '$1 == name { print $2 }'; }

"$server_bin" serve --listen "127.0.0.1:$server_port" --admin-listen "127.0.0.1:$admin_port" \
  --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" --threads 1 --max-connections "$cap" --header-timeout 120s \
  --log-level warn >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin_port/readyz" 2>/dev/null || true) == 200 ]] && break
  kill -0 "$server_pid" 2>/dev/null || die "server exited: $(tail -n 5 "$tmp/server.log")"
  sleep 0.1
done

measure() { # measure LABEL
  "$openloop" --url "https://127.0.0.1:$server_port/inject" --insecure --rate "$rate" --duration "$duration" \
    --warmup "$warmup" --connections "$connections" --label "$1" --body "$review" >"$tmp/openloop-$1.json"
}
field() { grep -o "\"$1\":[0-9.]*" "$tmp/openloop-$2.json" | head -n 1 | cut -d: -f2; }

measure no-flood

# The flood: opens its connections, says how many it holds, then holds them.
cat >"$tmp/flood.py" <<'EOF'
import socket, ssl, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
held = []
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        try:
            s = context.wrap_socket(s, server_hostname="localhost")
        except (ssl.SSLError, OSError):
            pass  # evicted mid-handshake by the next one: still a connection attempt
    held.append(s)
print(len(held), flush=True)
while True:
    time.sleep(3600)
EOF
python3 "$tmp/flood.py" "$server_port" "$cap" >"$tmp/flood.out" 2>"$tmp/flood.err" &
flood_pid=$!
for _ in $(seq 600); do
  [[ -s $tmp/flood.out ]] && break
  kill -0 "$flood_pid" 2>/dev/null || die "flood exited: $(tail -n 3 "$tmp/flood.err")"
  sleep 0.1
done
open_before=$(metric meshinject_open_connections)

measure flood

open_after=$(metric meshinject_open_connections)
evicted=$(metric meshinject_connections_evicted_total)
refused=$(metric meshinject_connections_rejected_total)
kill "$flood_pid"; wait "$flood_pid" 2>/dev/null || true; flood_pid=""

for label in no-flood flood; do
  printf '%-9s rate %s/s, ok %s, errors %s, reconnects %s, p50 %s us, p99 %s us\n' "$label" "$rate" \
    "$(field ok "$label")" "$(field errors "$label")" "$(field reconnects "$label")" \
    "$(field p50 "$label")" "$(field p99 "$label")"
done
echo "flood: $cap idle connections (cap $cap, one reactor); open connections before/after the flooded run: $open_before/$open_after; evicted $evicted, refused $refused"
