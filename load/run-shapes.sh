#!/usr/bin/env bash
# Many pod shapes through the real server: AdmissionReviews of N distinct pod shapes
# (load/shapes.mjs) sent at a fixed arrival rate (openloop) to one reactor serving Istio
# 1.1's production template, in three orders: one shape, the N shapes drawn Zipf-
# distributed (s = 1.1, fixed seed: a cluster's mix) and the N shapes in rotation (every
# request a miss). Every request has its own uid and pod name. Prints, per order:
# requests answered, errors, latency, server CPU per request (from /proc), the req/s
# one core would sustain at that CPU and its ratio to one shape's, the server's RSS at
# the end, and the engine's variant counters from /metrics.
#
#   load/run-shapes.sh [--server-bin PATH] [--openloop-bin PATH] [--count 10000]
#                      [--rate 500] [--duration 20s] [--warmup 2s] [--orders one,zipf,rotation]
#                      [--config FILE --mesh FILE] [--ports S,ADMIN] [-- SERVE-FLAGS...]
#
# The orders run one after the other in one invocation, so their ratios come from one run.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

server_bin=build/release/cmd/meshinject
count=10000
rate=500
duration=20s
warmup=2s
conformance=${MESHINJECT_CONFORMANCE_DIR:-$repo/../shared/conformance}
config=$conformance/istio-1.1/injector-config.yaml
mesh=$conformance/istio-1.1/mesh.yaml
server_port=19543
admin_port=19114
openloop=""
orders=one,zipf,rotation
serve_flags=()

die() { echo "run-shapes.sh: $*" >&2; exit 1; }
while (($#)); do
  case $1 in
    --server-bin) server_bin=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --mesh) mesh=$2; shift 2 ;;
    --ports) IFS=, read -r server_port admin_port <<<"$2"; shift 2 ;;
    --openloop-bin) openloop=$2; shift 2 ;;
    --orders) orders=$2; shift 2 ;;
    --) shift; serve_flags=("$@"); break ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ -x $server_bin ]] || die "no server binary at $server_bin (make build, or --server-bin PATH)"
[[ -f $config && -f $mesh ]] || die "config $config or mesh $mesh not found (the 1.1 production
template lives in ../shared/conformance/istio-1.1; pass --config and --mesh otherwise)"
for tool in node openssl curl cmake awk; do command -v "$tool" >/dev/null || die "$tool not found"; done

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -z $server_pid ]] || { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT

if [[ -z $openloop ]]; then
  echo "run-shapes.sh: building openloop" >&2
  cmake -S load/openloop -B build/openloop -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/openloop -j "$(nproc)" --target openloop >/dev/null
  openloop=$repo/build/openloop/openloop
fi
[[ -x $openloop ]] || die "no openloop at $openloop"

seconds() { [[ $1 =~ ^([0-9]+)s?$ ]] || die "durations are whole seconds (20s), not $1"; echo "${BASH_REMATCH[1]}"; }
requests=$(( rate * ($(seconds "$warmup") + $(seconds "$duration")) ))
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$tmp/tls.key" -out "$tmp/tls.crt" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

# CPU seconds (utime + stime, all threads) of one process, from /proc/PID/stat.
cpu_ticks() { awk '{ line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
metric() { awk -v name="$1" '$1 == name { sum += $2 } END { printf "%d\n", sum }' "$2"; }

run() { # run LABEL BODY-LIST-FILE
  local label=$1 list=$2
  "$server_bin" serve --listen "127.0.0.1:$server_port" --admin-listen "127.0.0.1:$admin_port" \
    --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" --inject-config "$config" --mesh-config "$mesh" \
    --threads 1 --log-level warn "${serve_flags[@]}" >"$tmp/server-$label.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin_port/readyz" 2>/dev/null || true) == 200 ]] && break
    kill -0 "$server_pid" 2>/dev/null || die "server exited: $(tail -n 5 "$tmp/server-$label.log")"
    sleep 0.1
  done
  local bodies=()
  while IFS= read -r f; do bodies+=(--body "$f"); done <"$list"
  local before after hz rss_kib
  hz=$(getconf CLK_TCK)
  before=$(cpu_ticks "$server_pid")
  "$openloop" --url "https://127.0.0.1:$server_port/inject" --insecure --rate "$rate" --duration "$duration" \
    --warmup "$warmup" --connections 16 --label "$label" "${bodies[@]}" >"$tmp/openloop-$label.json"
  after=$(cpu_ticks "$server_pid")
  rss_kib=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$server_pid/status")
  curl -s "http://127.0.0.1:$admin_port/metrics" >"$tmp/metrics-$label.txt"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

  local ok errors p50 p99 requests injected
  ok=$(grep -o '"ok":[0-9]*' "$tmp/openloop-$label.json" | cut -d: -f2)
  errors=$(grep -o '"errors":[0-9]*' "$tmp/openloop-$label.json" | cut -d: -f2)
  p50=$(grep -o '"p50":[0-9.]*' "$tmp/openloop-$label.json" | cut -d: -f2)
  p99=$(grep -o '"p99":[0-9.]*' "$tmp/openloop-$label.json" | cut -d: -f2)
  requests=$(metric sidecar_injection_requests_total "$tmp/metrics-$label.txt")
  injected=$(metric sidecar_injection_success_total "$tmp/metrics-$label.txt")
  # CPU per request over everything the server answered (warm-up included), so that
  # the misses of the first pass through the shapes are counted.
  awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" -v label="$label" -v ok="$ok" -v err="$errors" \
      -v p50="$p50" -v p99="$p99" -v inj="$injected" -v rss="$rss_kib" -v base="${base_us:-0}" \
    'BEGIN { us = (t / hz) * 1e6 / (n ? n : 1);
             printf "%-9s measured ok %s, errors %s, p50 %s us, p99 %s us; server answered %d, injected %d, RSS %.1f MiB\n",
               label, ok, err, p50, p99, n, inj, rss / 1024;
             printf "%-9s CPU %.1f us/request = %.0f req/s on one core", label, us, 1e6 / us;
             if (base > 0) printf ", %.2fx one shape", base / us;
             printf "\n" }'
  last_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN { printf "%.3f", (t / hz) * 1e6 / (n ? n : 1) }')
  grep -E '^meshinject_template_(variant|uncached)[a-z_]* ' "$tmp/metrics-$label.txt" | sed 's/^/           /' || true
}

base_us=""
IFS=, read -ra order_list <<<"$orders"
for order in "${order_list[@]}"; do
  case $order in one|zipf|rotation) ;; *) die "--orders takes one, zipf and rotation, not $order" ;; esac
  echo "run-shapes.sh: writing $requests requests ($order over $count shapes)" >&2
  rm -rf "$tmp/requests"
  node load/shapes.mjs --count "$count" --out "$tmp/requests" --order "$order" --requests "$requests" >"$tmp/requests.list"
  run "$order" "$tmp/requests.list"
  [[ $order != one ]] || base_us=$last_us
done
