#!/usr/bin/env bash
# Start-up time and memory of `meshinject serve`: how long from exec until it is
# ready, its resident memory idle, and its resident memory while N TLS keep-alive
# connections are open and sending reviews (openloop holds them all open).
#
#   load/footprint.sh [--server-bin PATH] [--threads N] [--connections 1000]
#                     [--rate 2000] [--duration 10s] [--starts 20] [--no-install]
#
# Prints a Markdown table; anything it started is stopped on exit.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

server_bin=build/release/cmd/meshinject
threads=1
connections=1000
rate=2000
duration=10s
starts=20
install=1
review=load/reviews/orders-pod.json

die() { echo "footprint.sh: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --server-bin) server_bin=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --starts) starts=$2; shift 2 ;;
    --no-install) install=0; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
for n in threads connections starts; do
  [[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "--$n wants a positive integer, got '${!n}'"
done
[[ -x $server_bin ]] || die "no server binary at $server_bin (build it with 'make build' or pass --server-bin)"

if [[ $install == 1 ]]; then scripts/install-deps.sh --load; fi
cmake -S load/openloop -B build/openloop -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/openloop -j "$(nproc)" --target openloop >/dev/null
openloop=$repo/build/openloop/openloop

tmp=$(mktemp -d /tmp/meshinject-footprint.XXXXXX)
server_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# start_server: starts meshinject in the background with a ready file; sets server_pid
# and leaves the exec-to-ready time in microseconds in ready_us. The ready file is
# written once every reactor listens and the config is compiled, so polling it in a
# tight loop measures what a readiness probe could see at the earliest.
start_server() {
  rm -f "$tmp/ready.json"
  local t0 t1
  t0=$(date +%s%N)
  "$server_bin" serve --threads "$threads" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --self-signed-ca-out "$tmp/ca.pem" --ready-file "$tmp/ready.json" --drain-seconds 0 \
    --inject-config "$repo/docs/examples/istio-1.1-injector-config.yaml" \
    --log-level warn 2>>"$tmp/server.log" &
  server_pid=$!
  until [[ -s $tmp/ready.json ]]; do
    kill -0 "$server_pid" 2>/dev/null || die "server exited: $(tail -n 3 "$tmp/server.log")"
  done
  t1=$(date +%s%N)
  ready_us=$(((t1 - t0) / 1000))
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

ready_times=()
for ((i = 0; i < starts; i++)); do
  start_server
  ready_times+=("$ready_us")
  stop_server
done
median_ready=$(printf '%s\n' "${ready_times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
max_ready=$(printf '%s\n' "${ready_times[@]}" | sort -n | tail -n 1)

start_server
port=$(sed -E 's/.*"webhook_port":([0-9]+).*/\1/' "$tmp/ready.json")
[[ $port =~ ^[0-9]+$ ]] || die "cannot read the port from $(cat "$tmp/ready.json")"
sleep 0.5
idle_kb=$(rss_kb "$server_pid")

"$openloop" --url "https://127.0.0.1:$port/inject" --cacert "$tmp/ca.pem" --rate "$rate" --duration "$duration" \
  --warmup 1s --connections "$connections" --body "$review" >"$tmp/openloop.json" 2>"$tmp/openloop.log" &
client_pid=$!
peak_kb=0 last_kb=0
while kill -0 "$client_pid" 2>/dev/null; do
  now=$(rss_kb "$server_pid")
  ((now > peak_kb)) && peak_kb=$now
  last_kb=$now
  sleep 0.2
done
wait "$client_pid" || die "openloop failed: $(tail -n 3 "$tmp/openloop.log")"
hwm=$(hwm_kb "$server_pid")
stop_server

mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
cat <<EOF
| Measure | Value |
|---|---|
| Exec to ready file, median of $starts starts (max) | $((median_ready / 1000)).$(printf '%03d' $((median_ready % 1000))) ms ($((max_ready / 1000)) ms) |
| RSS idle, $threads thread(s), Istio 1.1 example config | $(mb "$idle_kb") MB |
| RSS with $connections TLS connections at $rate req/s: at the end of the run / peak (VmHWM) | $(mb "$last_kb") MB / $(mb "$hwm") MB |

openloop: $(cat "$tmp/openloop.json")
EOF
