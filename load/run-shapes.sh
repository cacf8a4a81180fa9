#!/usr/bin/env bash
# Many pod shapes through the real server: N distinct AdmissionReviews (load/shapes.mjs)
# sent in rotation at a fixed arrival rate (openloop) to one reactor serving Istio 1.1's
# production template, against the same run with one shape. Prints, per run: requests
# answered, errors, latency, server CPU per request (from /proc), and the engine's
# variant counters from /metrics (compiles, cache hits, evictions, uncached renders).
#
#   load/run-shapes.sh [--server-bin PATH] [--count 10000] [--rate 500] [--duration 20s]
#                      [--config FILE --mesh FILE] [--ports S,ADMIN]
#
# A single-shape baseline runs first, then the N shapes, so their ratio comes from one run.
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
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

echo "run-shapes.sh: building openloop" >&2
cmake -S load/openloop -B build/openloop -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/openloop -j "$(nproc)" --target openloop >/dev/null
openloop=$repo/build/openloop/openloop

echo "run-shapes.sh: writing $count shapes" >&2
node load/shapes.mjs --count "$count" --out "$tmp/shapes" >"$tmp/shapes.list"
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
    --threads 1 --log-level warn >"$tmp/server-$label.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin_port/readyz" 2>/dev/null || true) == 200 ]] && break
    kill -0 "$server_pid" 2>/dev/null || die "server exited: $(tail -n 5 "$tmp/server-$label.log")"
    sleep 0.1
  done
  local bodies=()
  while IFS= read -r f; do bodies+=(--body "$f"); done <"$list"
  local before after hz
  hz=$(getconf CLK_TCK)
  before=$(cpu_ticks "$server_pid")
  "$openloop" --url "https://127.0.0.1:$server_port/inject" --insecure --rate "$rate" --duration "$duration" \
    --warmup "$warmup" --connections 16 --label "$label" "${bodies[@]}" >"$tmp/openloop-$label.json"
  after=$(cpu_ticks "$server_pid")
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
      -v p50="$p50" -v p99="$p99" -v inj="$injected" \
    'BEGIN { printf "%-10s measured ok %s, errors %s, p50 %s us, p99 %s us; server answered %d, injected %d; CPU %.1f us/request\n",
             label, ok, err, p50, p99, n, inj, (t / hz) * 1e6 / (n ? n : 1) }'
  grep -E '^meshinject_template_(variant|uncached)[a-z_]* ' "$tmp/metrics-$label.txt" | sed 's/^/           /' || true
}

head -n 1 "$tmp/shapes.list" >"$tmp/one.list"
run one-shape "$tmp/one.list"
run "${count}-shapes" "$tmp/shapes.list"
