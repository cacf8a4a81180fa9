#!/usr/bin/env bash
# Loopback load test: meshinject against an nginx "anchor" on the same machine, same
# certificate, same TLS settings, same response size. See load/README.md.
#
#   load/run-local.sh [--quick] [--anchor-only] [--threads N] [--server-cpus 0] [--client-cpus 1] ...
#   load/run-local.sh --help
#
# Everything it starts (server, nginx, clients) is stopped on exit, on failure or ^C.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------
server_bin=build/release/cmd/meshinject
anchor_only=0
threads=1
server_cpus=""
client_cpus=""
rounds=5
requests=200000
h2_clients=64
h2_threads=1
connections=64
ol_threads=1
lat_duration=10s
lat_warmup=2s
levels="25 50 75"
vary=1000
response_bytes=""
review=load/reviews/orders-pod.json
out_dir=""
install=1
server_port=19443
admin_port=19014
anchor_port=19444

usage() {
  cat <<'EOF'
usage: load/run-local.sh [options]

Starts the server under test and an nginx anchor (constant response of the same size,
same certificate and TLS settings), then measures
  throughput  h2load --h1 over TLS keep-alive, alternating rounds server/anchor
  latency     openloop (open-loop, fixed arrival rate) at 25/50/75% of the server's max,
              with the server's and the anchor's CPU per request at each rate
and writes load/results/<date>/{summary.md,throughput.csv,latency.csv,latency.png,...}.

  --server-bin PATH     meshinject binary             [build/release/cmd/meshinject]
                        (or SERVER_CMD='cmd ...' in the environment: run through bash with
                        SERVER_PORT, ADMIN_PORT, TLS_CERT, TLS_KEY, THREADS set)
  --anchor-only         no meshinject: a second nginx plays the server (smoke test)
  --threads N           server threads = nginx worker_processes           [1]
  --server-cpus LIST    taskset CPU list for the server and nginx         [no pinning]
  --client-cpus LIST    taskset CPU list for h2load and openloop          [no pinning]
  --rounds N            h2load rounds per target, alternating             [5]
  --requests N          h2load requests per round                         [200000]
  --h2load-clients N    h2load connections (-c)                           [64]
  --h2load-threads N    h2load threads (-t)                               [1]
  --connections N       openloop connections                              [64]
  --openloop-threads N  openloop threads                                  [1]
  --duration D          openloop measured window per level                [10s]
  --warmup D            openloop warm-up per level                        [2s]
  --levels "25 50 75"   latency load levels, % of the server's median max [25 50 75]
  --vary N              openloop sends N copies of the review, each with its own
                        request.uid and pod name, as an apiserver's differ  [1000]
  --review FILE         request body                      [load/reviews/orders-pod.json]
  --response-bytes N    anchor body size; default: the server's real answer to the
                        review (one curl), or 8192 with --anchor-only
  --ports S,A,ADMIN     server, anchor and server admin ports             [19443,19444,19014]
  --out DIR             results folder                    [load/results/<date-time>]
  --quick               smoke-test sizes: 2 rounds of 20000, 3s windows, 1s warm-up
  --no-install          do not run scripts/install-deps.sh --load
EOF
}

die() { echo "run-local.sh: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --server-bin) server_bin=$2; shift 2 ;;
    --anchor-only) anchor_only=1; shift ;;
    --threads) threads=$2; shift 2 ;;
    --server-cpus) server_cpus=$2; shift 2 ;;
    --client-cpus) client_cpus=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --h2load-clients) h2_clients=$2; shift 2 ;;
    --h2load-threads) h2_threads=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --openloop-threads) ol_threads=$2; shift 2 ;;
    --duration) lat_duration=$2; shift 2 ;;
    --warmup) lat_warmup=$2; shift 2 ;;
    --levels) levels=$2; shift 2 ;;
    --vary) vary=$2; shift 2 ;;
    --review) review=$2; shift 2 ;;
    --response-bytes) response_bytes=$2; shift 2 ;;
    --ports) IFS=, read -r server_port anchor_port admin_port <<<"$2"; shift 2 ;;
    --out) out_dir=$2; shift 2 ;;
    --quick) rounds=2; requests=20000; lat_duration=3s; lat_warmup=1s; shift ;;
    --no-install) install=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done

for n in threads rounds requests h2_clients h2_threads connections ol_threads; do
  [[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "--${n//_/-} wants a positive integer, got '${!n}'"
done
[[ -z $response_bytes || $response_bytes =~ ^[1-9][0-9]*$ ]] || die "--response-bytes wants a positive integer"
[[ -f $review ]] || die "no review file $review"

# ---------------------------------------------------------------------------
# Processes we start, and their cleanup
# ---------------------------------------------------------------------------
tmp=$(mktemp -d /tmp/meshinject-load.XXXXXX)
started_pids=()

stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$? i
  trap - EXIT INT TERM
  # Reverse order: clients first, then servers.
  for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do stop_pid "${started_pids[i]}"; done
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_client PID: waits for a client started in the background. Clients run in the
# background so that a signal reaches the trap at once (bash runs traps only between
# foreground commands) and the cleanup can stop them too.
wait_client() {
  started_pids+=("$1")
  wait "$1" || true
  unset 'started_pids[-1]'
}

# Command prefixes that pin to the chosen CPUs (empty when not pinning). Arrays, not
# functions: a backgrounded function would be a subshell, and $! its pid, not the server's.
server_pin=(); [[ -z $server_cpus ]] || server_pin=(taskset -c "$server_cpus")
client_pin=(); [[ -z $client_cpus ]] || client_pin=(taskset -c "$client_cpus")

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ready() { # wait_ready URL PID NAME LOG
  local url=$1 pid=$2 name=$3 log=$4
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up; its log ($log) ends:
$(tail -n 20 "$log" 2>/dev/null)"
    if [[ $(curl -sk -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null || true) == 200 ]]; then return 0; fi
    sleep 0.1
  done
  die "$name not ready at $url after 20 s; its log ($log) ends:
$(tail -n 20 "$log" 2>/dev/null)"
}

# CPU seconds used so far by a process (all its threads) and its child processes (nginx
# workers), from /proc/PID/stat: utime and stime are fields 14 and 15, ppid field 4.
cpu_seconds() {
  local root=$1
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$root" -v hz="$(getconf CLK_TCK)" '
    { pid = $1; line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, f, " ")
      # after the comm field: f[1] state, f[2] ppid, ..., f[12] utime, f[13] stime
      if (pid == root || f[2] == root) sum += f[12] + f[13] }
    END { printf "%.2f\n", sum / hz }'
}

# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------
if [[ $install == 1 ]]; then
  scripts/install-deps.sh --load
fi
for tool in h2load nginx gnuplot openssl curl cmake taskset awk; do
  command -v "$tool" >/dev/null || die "$tool not found; run scripts/install-deps.sh --load"
done

echo "run-local.sh: building openloop" >&2
cmake -S load/openloop -B build/openloop -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/openloop -j "$(nproc)" --target openloop >/dev/null
openloop=$repo/build/openloop/openloop

if [[ $anchor_only == 0 && -z ${SERVER_CMD:-} && ! -x $server_bin ]]; then
  die "no server binary at $server_bin (build it with 'make build', pass --server-bin PATH,
set SERVER_CMD, or measure nginx against itself with --anchor-only)"
fi
for p in "$server_port" "$anchor_port" "$admin_port"; do
  ! port_in_use "$p" || die "port $p is already in use on 127.0.0.1 (choose others with --ports)"
done

stamp=$(date +%Y-%m-%d-%H%M%S)
out_dir=${out_dir:-load/results/$stamp}
mkdir -p "$out_dir/raw"
out_dir=$(cd "$out_dir" && pwd)

# ---------------------------------------------------------------------------
# Certificate, shared by server and anchor
# ---------------------------------------------------------------------------
chmod 755 "$tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$tmp/tls.key" -out "$tmp/tls.crt" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
export TLS_CERT=$tmp/tls.crt TLS_KEY=$tmp/tls.key SERVER_PORT=$server_port ADMIN_PORT=$admin_port THREADS=$threads

# ---------------------------------------------------------------------------
# nginx instances
# ---------------------------------------------------------------------------
# start_nginx NAME PORT BODYFILE: an nginx in the foreground (daemon off) serving BODYFILE
# for POST /inject, with its own prefix and config in $tmp/NAME. Sets nginx_pid.
start_nginx() {
  local name=$1 port=$2 body=$3 dir=$tmp/$1
  mkdir -p "$dir/www" "$dir/logs"
  chmod 755 "$dir" "$dir/www"
  cp "$body" "$dir/www/inject"
  chmod 644 "$dir/www/inject"
  cat >"$dir/nginx.conf" <<EOF
# $name: constant answer to POST /inject; generated by load/run-local.sh
worker_processes $threads;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  server_tokens off;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  client_max_body_size 8m;
  client_body_buffer_size 1m;
  open_file_cache max=16 inactive=1h;
  open_file_cache_valid 1h;
  server {
    listen 127.0.0.1:$port ssl reuseport;
    ssl_certificate $TLS_CERT;
    ssl_certificate_key $TLS_KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    root $dir/www;
    etag off;
    location = /health { default_type text/plain; return 200 "ok\n"; }
    # A static file answers POST with 405; error_page turns that into a 200 with the
    # file (nginx re-issues the request internally as a GET). The request body is read
    # and discarded.
    location = /inject {
      types { }
      default_type application/json;
      error_page 405 =200 \$uri;
    }
  }
}
EOF
  "${server_pin[@]}" nginx -p "$dir/" -e "$dir/logs/error.log" -c "$dir/nginx.conf" \
    >>"$dir/logs/error.log" 2>&1 &
  local pid=$!
  started_pids+=("$pid")
  wait_ready "https://127.0.0.1:$port/health" "$pid" "nginx ($name)" "$dir/logs/error.log"
  nginx_pid=$pid
}

synthetic_response() { # synthetic_response BYTES FILE: an AdmissionReview answer padded to BYTES
  local bytes=$1 file=$2
  local head='{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"3f0c8a6e-8f7e-4b8a-9d4e-5a1c2b3d4e5f","allowed":true,"patchType":"JSONPatch","patch":"'
  local tail='"}}'
  local pad=$((bytes - ${#head} - ${#tail}))
  ((pad >= 0)) || pad=0
  { printf '%s' "$head"; head -c "$pad" /dev/zero | tr '\0' 'A'; printf '%s' "$tail"; } >"$file"
}

# ---------------------------------------------------------------------------
# Start the server under test
# ---------------------------------------------------------------------------
if [[ $anchor_only == 1 ]]; then
  server_desc="nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') (--anchor-only: nginx plays the server)"
  synthetic_response "${response_bytes:-8192}" "$tmp/response.json"
  start_nginx server "$server_port" "$tmp/response.json"
  server_pid=$nginx_pid
  response_source="synthetic, --response-bytes ${response_bytes:-8192}"
else
  if [[ -n ${SERVER_CMD:-} ]]; then
    server_cmd=$SERVER_CMD
  else
    # The Istio 1.1 example config: the compiled-variant path whose figures
    # bench/RESULTS.md tracks. The embedded default (Istio 1.28's shape) renders per
    # request; bench/engine_bench's BM_pipeline_realistic_embedded_default times it.
    server_cmd="$server_bin serve --listen 127.0.0.1:$server_port --admin-listen 127.0.0.1:$admin_port --threads $threads --tls-cert $TLS_CERT --tls-key $TLS_KEY --log-level warn --inject-config $repo/docs/examples/istio-1.1-injector-config.yaml"
  fi
  server_desc=$server_cmd
  echo "run-local.sh: starting server: $server_cmd" >&2
  "${server_pin[@]}" bash -c "exec $server_cmd" >"$out_dir/raw/server.log" 2>&1 &
  server_pid=$!
  started_pids+=("$server_pid")
  wait_ready "https://127.0.0.1:$server_port/health" "$server_pid" "server" "$out_dir/raw/server.log"
  code=$(curl -sk -o "$tmp/server-response.json" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data-binary "@$review" "https://127.0.0.1:$server_port/inject")
  [[ $code == 200 ]] || die "server answered $code to $review (body in $tmp/server-response.json)"
  cp "$tmp/server-response.json" "$out_dir/raw/server-response.json"
  if [[ -n $response_bytes ]]; then
    synthetic_response "$response_bytes" "$tmp/response.json"
    response_source="synthetic, --response-bytes $response_bytes"
  else
    cp "$tmp/server-response.json" "$tmp/response.json"
    response_source="the server's own answer to the review"
  fi
fi
start_nginx anchor "$anchor_port" "$tmp/response.json"
anchor_pid=$nginx_pid
response_size=$(wc -c <"$tmp/response.json")

server_url=https://127.0.0.1:$server_port/inject
anchor_url=https://127.0.0.1:$anchor_port/inject

pinning="server+anchor CPUs: ${server_cpus:-any}; client CPUs: ${client_cpus:-any}; server threads = nginx workers: $threads"
echo "run-local.sh: $pinning" >&2
echo "run-local.sh: results in $out_dir" >&2

# ---------------------------------------------------------------------------
# Throughput: h2load, alternating rounds
# ---------------------------------------------------------------------------
# CPU seconds of a shell's finished children, from a file written by the 'times' builtin.
# ('times' itself must run in the shell that waited for the child: a subshell, such as
# $(...), starts its own count at zero.)
children_cpu_seconds() {
  awk 'NR == 2 { split($0, t, /[ms ]+/); print t[1] * 60 + t[2] + t[3] * 60 + t[4] }' "$1"
}

cpu_count() { # number of CPUs in a taskset list such as 0, 1-3 or 0,2; nproc when empty
  [[ -n $1 ]] || { nproc; return; }
  tr ',' '\n' <<<"$1" | awk -F- '{ n += (NF == 2 ? $2 - $1 + 1 : 1) } END { print n }'
}

# h2load_run NAME URL ROUND PID: sets rps, failed, cpu (the target's %) and ccpu (h2load's
# %) and keeps the log. CPU percentages: 100 = one core busy for the whole run.
h2load_run() {
  local name=$1 url=$2 round=$3 pid=$4
  local log=$out_dir/raw/h2load-$name-$round.log
  local cpu0 cpu1 t0 t1 c0 c1
  cpu0=$(cpu_seconds "$pid"); times >"$tmp/times0"; t0=$(date +%s.%N)
  "${client_pin[@]}" h2load --h1 -n "$requests" -c "$h2_clients" -t "$h2_threads" \
    -H 'content-type: application/json' -d "$review" "$url" >"$log" 2>&1 &
  wait_client $!
  t1=$(date +%s.%N); times >"$tmp/times1"; cpu1=$(cpu_seconds "$pid")
  c0=$(children_cpu_seconds "$tmp/times0"); c1=$(children_cpu_seconds "$tmp/times1")
  read -r rps failed cpu ccpu < <(awk -v s0="$cpu0" -v s1="$cpu1" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" '
    /^finished in/ { gsub(/,/, ""); rps = $4 }
    /^requests:/   { gsub(/,/, ""); total = $2 }
    /^status codes:/ { gsub(/,/, ""); ok2xx = $3 }
    END { if (rps == "") rps = 0; failed = total - ok2xx; if (total == "") failed = -1
          printf "%s %d %.0f %.0f\n", rps, failed, 100 * (s1 - s0) / (t1 - t0), 100 * (c1 - c0) / (t1 - t0) }' "$log")
}

echo "round,target,req_per_s,non_2xx_or_failed,target_cpu_percent,client_cpu_percent" >"$out_dir/throughput.csv"
server_cores=$(cpu_count "$server_cpus"); client_cores=$(cpu_count "$client_cpus")
client_bound=0; starved=0
target_cores=$((threads < server_cores ? threads : server_cores))
echo "run-local.sh: h2load warm-up" >&2
for target in server anchor; do
  url=$server_url; [[ $target == anchor ]] && url=$anchor_url
  "${client_pin[@]}" h2load --h1 -n $((h2_clients * 50)) -c "$h2_clients" -t "$h2_threads" \
    -H 'content-type: application/json' -d "$review" "$url" >"$out_dir/raw/h2load-$target-warmup.log" 2>&1 &
  wait_client $!
done
tls_line=$(grep -E '^(TLS Protocol|Cipher|Application protocol)' "$out_dir/raw/h2load-server-warmup.log" | paste -sd ';' - || true)

server_rps=(); anchor_rps=(); ratios=(); cpu_cells=(); bad_rounds=0
for ((r = 1; r <= rounds; r++)); do
  # A B in odd rounds, B A in even ones: neither side always runs first.
  order=(server anchor); ((r % 2 == 0)) && order=(anchor server)
  declare -A got=()
  for target in "${order[@]}"; do
    if [[ $target == server ]]; then h2load_run server "$server_url" "$r" "$server_pid"
    else h2load_run anchor "$anchor_url" "$r" "$anchor_pid"; fi
    echo "$r,$target,$rps,$failed,$cpu,$ccpu" >>"$out_dir/throughput.csv"
    # The figure is the target's only if the target, not h2load, ran out of CPU first.
    if ((ccpu >= 85 * client_cores && cpu < 85 * target_cores)); then
      client_bound=$((client_bound + 1))
    elif ((ccpu < 85 * client_cores && cpu < 85 * target_cores)); then
      starved=$((starved + 1))  # neither was busy all the time: something else had the CPUs
    fi
    [[ $failed == 0 ]] || { bad_rounds=$((bad_rounds + 1)); echo "run-local.sh: round $r $target: $failed requests failed or not 2xx" >&2; }
    got[$target]=$rps; got[$target-cpu]=$cpu; got[$target-ccpu]=$ccpu
    echo "run-local.sh: round $r $target: $rps req/s (target CPU $cpu%, h2load CPU $ccpu%)" >&2
  done
  server_rps+=("${got[server]}"); anchor_rps+=("${got[anchor]}")
  cpu_cells+=("${got[server-cpu]} | ${got[anchor-cpu]} | ${got[server-ccpu]} / ${got[anchor-ccpu]}")
  ratios+=("$(awk -v s="${got[server]}" -v a="${got[anchor]}" 'BEGIN { printf "%.3f", (a > 0 ? s / a : 0) }')")
  unset got
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
server_median=$(median "${server_rps[@]}")
anchor_median=$(median "${anchor_rps[@]}")
ratio_median=$(median "${ratios[@]}")
echo "run-local.sh: median server $server_median req/s, anchor $anchor_median req/s, median ratio $ratio_median" >&2
awk -v m="$server_median" 'BEGIN { exit !(m > 0) }' || die "h2load got no answers from the server; see $out_dir/raw/"

# ---------------------------------------------------------------------------
# Latency: openloop at fractions of the server's max
# ---------------------------------------------------------------------------
json_num() { sed -nE "s/.*\"$2\":(-?[0-9.]+).*/\1/p" <<<"$1"; }

echo "level_percent,rate,target,p50_us,p90_us,p99_us,p99_9_us,max_us,ok,errors,achieved_rate,cpu_us_per_request" >"$out_dir/latency.csv"
: >"$out_dir/latency.jsonl"
i=0
for level in $levels; do
  rate=$(awk -v m="$server_median" -v l="$level" 'BEGIN { r = int(m * l / 100); print r < 1 ? 1 : r }')
  order=(server anchor); ((i++ % 2 == 1)) && order=(anchor server)
  for target in "${order[@]}"; do
    url=$server_url; pid=$server_pid
    [[ $target == anchor ]] && { url=$anchor_url; pid=$anchor_pid; }
    echo "run-local.sh: openloop $target at $level% = $rate req/s" >&2
    cpu0=$(cpu_seconds "$pid")
    "${client_pin[@]}" "$openloop" --url "$url" --rate "$rate" --duration "$lat_duration" --warmup "$lat_warmup" \
      --connections "$connections" --threads "$ol_threads" --insecure --body "$review" --vary "$vary" \
      --spectrum "$out_dir/latency-$target-$level.tsv" --label "$target@$level%" \
      >"$tmp/openloop.json" 2>>"$out_dir/raw/openloop.log" &
    wait_client $!
    cpu1=$(cpu_seconds "$pid")
    line=$(cat "$tmp/openloop.json")
    [[ -n $line ]] || die "openloop against $target failed: $(tail -n 3 "$out_dir/raw/openloop.log")"
    echo "$line" >>"$out_dir/latency.jsonl"
    # CPU over every request sent, warm-up included: the target served them all.
    sent=$(awk -v r="$rate" -v d="$(json_num "$line" duration_s)" -v w="$(json_num "$line" warmup_s)" 'BEGIN { printf "%d", r * (d + w) }')
    cpu_per_request=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$sent" 'BEGIN { printf "%.1f", (n > 0 ? (b - a) * 1e6 / n : 0) }')
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$level" "$rate" "$target" \
      "$(json_num "$line" p50)" "$(json_num "$line" p90)" "$(json_num "$line" p99)" "$(json_num "$line" p99_9)" \
      "$(json_num "$line" max)" "$(json_num "$line" ok)" "$(json_num "$line" errors)" \
      "$(json_num "$line" achieved_rate)" "$cpu_per_request" >>"$out_dir/latency.csv"
    tail -n 1 "$out_dir/raw/openloop.log" >&2
  done
done

# ---------------------------------------------------------------------------
# Plot: latency by percentile, log-log, one line per level and target
# ---------------------------------------------------------------------------
if [[ $anchor_only == 1 ]]; then
  plot_title="loopback latency by percentile, open loop: nginx as server (--anchor-only) vs nginx anchor"
else
  plot_title="meshinject loopback latency by percentile, open loop: server (solid) vs nginx anchor (dashed)"
fi
{
  echo "set terminal pngcairo size 1100,700 noenhanced font ',10'"
  echo "set output '$out_dir/latency.png'"
  echo "set title '$plot_title'"
  echo "set logscale x; set logscale y; set autoscale xfix"
  echo "set xlabel 'percentile'; set ylabel 'latency from scheduled send to last byte (ms)'"
  # Tic labels are format strings to gnuplot: %% is a literal percent sign.
  echo "set xtics ('0%%' 1, '50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, '99.999%%' 100000)"
  echo "set grid xtics ytics mytics"
  echo "set key bottom right box opaque"
  plots=()
  colour=1
  for level in $levels; do
    rate=$(awk -F, -v l="$level" '$1 == l { print $2; exit }' "$out_dir/latency.csv")
    plots+=("'$out_dir/latency-server-$level.tsv' skip 1 using 3:(\$2/1000) with lines lw 2 lc $colour dt 1 title 'server $level% ($rate/s)'")
    plots+=("'$out_dir/latency-anchor-$level.tsv' skip 1 using 3:(\$2/1000) with lines lw 2 lc $colour dt 2 title 'anchor $level% ($rate/s)'")
    colour=$((colour + 1))
  done
  (IFS=,; echo "plot ${plots[*]}")
} >"$out_dir/latency.gp"
gnuplot "$out_dir/latency.gp" || die "gnuplot failed (script: $out_dir/latency.gp)"

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "# Loopback load test, $stamp"
  echo
  echo "- commit $commit; $(nproc) CPUs ($cpu_model); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- server: \`$server_desc\`"
  echo "- anchor: nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), worker_processes $threads, constant body of $response_size bytes ($response_source)"
  echo "- pinning: $pinning"
  echo "- request body: \`$review\` ($(wc -c <"$review") bytes); TLS: ${tls_line:-see raw/}"
  echo
  echo "## Throughput"
  echo
  echo "h2load --h1 -n $requests -c $h2_clients -t $h2_threads, TLS keep-alive, rounds alternating (odd rounds server first, even rounds anchor first)."
  echo
  echo "| round | server req/s | anchor req/s | server / anchor | server CPU % | anchor CPU % | h2load CPU % |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  for ((r = 0; r < rounds; r++)); do
    echo "| $((r + 1)) | ${server_rps[r]} | ${anchor_rps[r]} | ${ratios[r]} | ${cpu_cells[r]} |"
  done
  echo "| **median** | **$server_median** | **$anchor_median** | **$ratio_median** | | | |"
  echo
  [[ $bad_rounds == 0 ]] || echo "**$bad_rounds round(s) had failed or non-2xx requests: see throughput.csv and raw/.**"
  echo "CPU %: 100 = one core busy for the whole round (target: process and children from /proc; h2load: while running against server / anchor). With $target_cores target core(s), a saturated target shows about $((100 * target_cores))."
  if ((starved > 0)); then
    echo
    echo "**Warning: in $starved of $((2 * rounds)) runs neither the target nor h2load kept its CPUs busy: other processes had them (load average $(cut -d' ' -f1 /proc/loadavg) now). The req/s are the machine's noise as much as the target's; the per-round ratios cancel part of it. Repeat on a quieter machine before quoting absolute figures.**"
  fi
  if ((client_bound > 0)); then
    echo
    echo "**Warning: in $client_bound run(s) h2load used all its CPU while the target did not: those figures measure the client, not the target. Give the client more CPUs (--client-cpus, --h2load-threads) or the target fewer.**"
  fi
  echo
  echo "## Latency"
  echo
  echo "openloop, $connections connections, $ol_threads thread(s), ${lat_warmup} warm-up + ${lat_duration} measured per run, $vary copies of the review with their own uid and pod name; rates are fractions of the server's median h2load figure, the same rate for both. Latency: microseconds from each request's scheduled send time to the last byte of its response. CPU per request: the target's user+system CPU (process and children, /proc) over the requests sent, warm-up included."
  echo
  echo "| load | rate/s | server p50 | server p99 | server p99.9 | anchor p50 | anchor p99 | anchor p99.9 | errors (server/anchor) | CPU µs/request (server/anchor) | anchor / server CPU |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for level in $levels; do
    awk -F, -v l="$level" '
      $1 == l && $3 == "server" { rate = $2; s50 = $4; s99 = $6; s999 = $7; se = $10; sc = $12 }
      $1 == l && $3 == "anchor" { a50 = $4; a99 = $6; a999 = $7; ae = $10; ac = $12 }
      END { printf "| %s%% | %s | %s | %s | %s | %s | %s | %s | %s/%s | %s/%s | %.2f |\n", l, rate, s50, s99, s999, a50, a99, a999, se, ae, sc, ac, (sc > 0 ? ac / sc : 0) }' \
      "$out_dir/latency.csv"
  done
  echo
  echo "![latency by percentile](latency.png)"
  echo
  echo "Raw: throughput.csv, latency.csv, latency.jsonl (openloop JSON), latency-*.tsv (percentile spectra), raw/ (tool logs)."
} >"$out_dir/summary.md"

cat "$out_dir/summary.md"
echo "run-local.sh: wrote $out_dir" >&2
[[ $bad_rounds == 0 ]]
