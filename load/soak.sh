#!/usr/bin/env bash
# The soak: meshinject serving good AdmissionReviews at a fixed rate for a long time
# while its ConfigMap and certificate change every few seconds, idle connections sit on
# it and bad requests arrive. Passes when no good request was lost or answered wrongly
# and the resident memory at the end is within 10% of the memory after warm-up.
# See load/README.md ("The soak"). Builds nothing: give it the binaries.
#
#   load/soak.sh --server-bin build/rel/cmd/meshinject --openloop-bin build/openloop/openloop
#   SOAK_SECONDS=60 load/soak.sh ...      # a short run
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

server_bin=${SOAK_SERVER_BIN:-$repo/build/rel/cmd/meshinject}
openloop_bin=${SOAK_OPENLOOP_BIN:-$repo/build/openloop/openloop}
seconds=${SOAK_SECONDS:-1800}
warmup_seconds=${SOAK_WARMUP_SECONDS:-30}
rate=${SOAK_RATE:-300}
connections=${SOAK_CONNECTIONS:-16}
idle=${SOAK_IDLE:-200}
bad_rate=${SOAK_BAD_RATE:-5}
config_every=${SOAK_CONFIG_EVERY:-5}
cert_every=${SOAK_CERT_EVERY:-7}
invalid_every=${SOAK_INVALID_EVERY:-4}
threads=${SOAK_THREADS:-1}
max_connections=${SOAK_MAX_CONNECTIONS:-1024}
port=${SOAK_PORT:-19543}
admin_port=${SOAK_ADMIN_PORT:-19114}
bodies=${SOAK_BODIES:-256}
rss_limit_percent=${SOAK_RSS_LIMIT_PERCENT:-110}
keep=0

usage() {
  cat <<'USAGE'
usage: load/soak.sh [options]        (each also settable as SOAK_<NAME> in the environment)

  --server-bin PATH      meshinject binary                [build/rel/cmd/meshinject]
  --openloop-bin PATH    openloop binary                  [build/openloop/openloop]
  --seconds N            measured length (SOAK_SECONDS)   [1800]
  --warmup-seconds N     warm-up before RSS start         [30]
  --rate N               good requests per second         [300]
  --connections N        openloop keep-alive connections  [16]
  --idle N               idle TLS connections held open   [200]
  --bad-rate N           bad requests per second          [5]
  --config-every N       seconds between ConfigMap swaps  [5]
  --cert-every N         seconds between certificate swaps [7]
  --invalid-every N      every Nth ConfigMap swap is an invalid config [4]
  --threads N            server reactors                  [1]
  --max-connections N    server --max-connections         [1024]
  --ports P,ADMIN        webhook and admin ports          [19543,19114]
  --keep                 keep the temporary folder (logs, configs, reports)

Exit status: 0 when every good request was answered 200 with its uid and a patch, every
invalid config was refused, no bad request was accepted, and RSS end <= 1.10 x start;
1 otherwise; 2 on a bad command line or a setup failure.
USAGE
}

die() { echo "soak.sh: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --server-bin) server_bin=$2; shift 2 ;;
    --openloop-bin) openloop_bin=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --warmup-seconds) warmup_seconds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --bad-rate) bad_rate=$2; shift 2 ;;
    --config-every) config_every=$2; shift 2 ;;
    --cert-every) cert_every=$2; shift 2 ;;
    --invalid-every) invalid_every=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --max-connections) max_connections=$2; shift 2 ;;
    --ports) IFS=, read -r port admin_port <<<"$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done

[[ -x $server_bin ]] || die "no server binary at $server_bin (build it, or --server-bin)"
[[ -x $openloop_bin ]] || die "no openloop at $openloop_bin (cmake -S load/openloop -B build/openloop && cmake --build build/openloop)"
for tool in openssl python3 curl; do command -v $tool >/dev/null || die "needs $tool"; done
(( idle + connections + 64 <= max_connections )) || die "--idle + --connections must stay well within --max-connections"

work=$(mktemp -d /tmp/meshinject-soak.XXXXXX)
pids=()
cleanup() {
  touch "$work/stop"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if (( keep )); then echo "soak.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "soak.sh: $(date -u +%H:%M:%S) $*" >&2; }

# --- Kubelet-style volumes: files are symlinks into ..data, which is swapped atomically.
kubelet_write() {  # dir, then name=source-file pairs
  local dir=$1; shift
  local stamp="..$(date -u +%Y_%m_%d_%H_%M_%S).$RANDOM$RANDOM"
  mkdir -p "$dir/$stamp"
  local pair
  for pair in "$@"; do cp "${pair#*=}" "$dir/$stamp/${pair%%=*}"; done
  local old=""
  [[ -L $dir/..data ]] && old=$(readlink "$dir/..data")
  ln -sfn "$stamp" "$dir/..data_tmp"
  mv -T "$dir/..data_tmp" "$dir/..data"
  for pair in "$@"; do
    [[ -L $dir/${pair%%=*} ]] || ln -s "..data/${pair%%=*}" "$dir/${pair%%=*}"
  done
  [[ -n $old ]] && rm -rf "${dir:?}/$old"
  return 0
}

# --- Two valid configs (the same template, two proxy images) and one that must be refused.
mkdir -p "$work/src"
sed 's#docker.io/istio/proxyv2:1.1.0#docker.io/istio/proxyv2:1.1.0-a#' \
  "$repo/docs/examples/istio-1.1-injector-config.yaml" >"$work/src/config-a.yaml"
sed 's#docker.io/istio/proxyv2:1.1.0#docker.io/istio/proxyv2:1.1.0-b#' \
  "$repo/docs/examples/istio-1.1-injector-config.yaml" >"$work/src/config-b.yaml"
cmp -s "$work/src/config-a.yaml" "$work/src/config-b.yaml" && die "the example config no longer names proxyv2:1.1.0"
printf 'policy: enabled\ntemplate: |-\n  containers:\n  - name: istio-proxy\n    image: "{{ .Values.unclosed "\n' \
  >"$work/src/config-invalid.yaml"
"$server_bin" check-config "$work/src/config-a.yaml" >/dev/null 2>&1 || die "config-a does not load"
if "$server_bin" check-config "$work/src/config-invalid.yaml" >/dev/null 2>&1; then
  die "the invalid config loads; it would not test a refused reload"
fi

# --- Two self-signed certificate/key pairs for 127.0.0.1.
for pair in a b; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=soak-$pair" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/src/tls-$pair.key" -out "$work/src/tls-$pair.crt" \
    2>/dev/null || die "openssl could not make a certificate"
done

kubelet_write "$work/config" config="$work/src/config-a.yaml"
kubelet_write "$work/tls" tls.crt="$work/src/tls-a.crt" tls.key="$work/src/tls-a.key"

# --- Good reviews: orders-pod with a distinct request uid and pod name each.
mkdir -p "$work/reviews"
python3 - "$repo/load/reviews/orders-pod.json" "$work/reviews" "$bodies" <<'PY'
import json, sys
source, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
review = json.load(open(source))
for i in range(count):
    review["request"]["uid"] = f"soak-{i:05d}-7f3c2a"
    review["request"]["name"] = f"orders-soak-{i:05d}"
    review["request"]["object"]["metadata"]["name"] = f"orders-soak-{i:05d}"
    with open(f"{out}/review-{i:05d}.json", "w") as f:
        json.dump(review, f)
PY
body_args=()
for f in "$work"/reviews/review-*.json; do body_args+=(--body "$f"); done

# --- The server.
nice "$server_bin" serve --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin_port" --threads "$threads" \
  --inject-config "$work/config/config" --tls-cert "$work/tls/tls.crt" --tls-key "$work/tls/tls.key" \
  --max-connections "$max_connections" --max-connection-age 60s --log-level warn \
  >"$work/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
admin="http://127.0.0.1:$admin_port"
for _ in $(seq 1 100); do
  curl -fs "$admin/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server exited at start"; }
  sleep 0.1
done
curl -fs "$admin/readyz" >/dev/null || die "the server did not become ready"
answer=$(curl -sk --data-binary @"$work/reviews/review-00000.json" -H 'content-type: application/json' \
  "https://127.0.0.1:$port/inject")
[[ $answer == *'"patch"'* ]] || die "the good review is not injected: ${answer:0:300}"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"; }
# RSS split into anonymous memory (heap, stacks: what a leak grows) and file pages (the
# binary's and libraries' code, paged in as new paths run for the first time).
rss_split_kib() { awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { print a, f }' "/proc/$server_pid/status"; }
metric() {  # the value of an unlabelled metric, 0 when absent
  curl -fs "$admin/metrics" | awk -v name="$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }'
}

# --- The changes, every few seconds, until the stop file appears.
swapper() {
  local n_config=0 n_cert=0 next_config=$config_every next_cert=$cert_every elapsed=0
  local valid=0 invalid=0 certs=0
  while [[ ! -e $work/stop ]]; do
    sleep 1
    elapsed=$((elapsed + 1))
    if (( elapsed >= next_config )); then
      next_config=$((elapsed + config_every))
      n_config=$((n_config + 1))
      if (( n_config % invalid_every == 0 )); then
        kubelet_write "$work/config" config="$work/src/config-invalid.yaml"
        invalid=$((invalid + 1))
      else
        # Alternate a/b among the valid swaps; after an invalid one this loads a new config again.
        if (( (valid % 2) == 0 )); then
          kubelet_write "$work/config" config="$work/src/config-b.yaml"
        else
          kubelet_write "$work/config" config="$work/src/config-a.yaml"
        fi
        valid=$((valid + 1))
      fi
    fi
    if (( elapsed >= next_cert )); then
      next_cert=$((elapsed + cert_every))
      n_cert=$((n_cert + 1))
      if (( n_cert % 2 )); then
        kubelet_write "$work/tls" tls.crt="$work/src/tls-b.crt" tls.key="$work/src/tls-b.key"
      else
        kubelet_write "$work/tls" tls.crt="$work/src/tls-a.crt" tls.key="$work/src/tls-a.key"
      fi
      certs=$((certs + 1))
    fi
    echo "$valid $invalid $certs" >"$work/swaps.tmp" && mv "$work/swaps.tmp" "$work/swaps"
  done
}
echo "0 0 0" >"$work/swaps"
swapper &
pids+=("$!")

nice python3 "$repo/load/soak_noise.py" --port "$port" --idle "$idle" --bad-rate "$bad_rate" \
  --stop-file "$work/stop" --report "$work/noise.json" >"$work/noise.log" 2>&1 &
noise_pid=$!
pids+=("$noise_pid")

# RSS every 10 s, for the trend (the pass/fail figures are start and end).
( while [[ ! -e $work/stop ]]; do echo "$(date -u +%s) $(rss_kib) $(rss_split_kib)"; sleep 10; done ) >"$work/rss.log" &
pids+=("$!")

log "warm-up: ${warmup_seconds}s at $rate req/s with config and certificate swaps, $idle idle connections, $bad_rate bad req/s"
nice "$openloop_bin" --url "https://127.0.0.1:$port/inject" --insecure --rate "$rate" --connections "$connections" \
  --warmup 0s --duration "${warmup_seconds}s" --timeout 10s --check-admission --label soak-warmup "${body_args[@]}" \
  >"$work/warmup.json" 2>"$work/warmup.log" || { cat "$work/warmup.log" >&2; die "warm-up run failed"; }
rss_start=$(rss_kib)
read -r anon_start file_start < <(rss_split_kib)
read -r valid0 invalid0 certs0 <"$work/swaps"
reloads0=$(metric meshinject_config_reloads_total)
reload_failures0=$(metric meshinject_config_reload_failures_total)
cert_reloads0=$(metric meshinject_certificate_reloads_total)
log "RSS after warm-up: $rss_start KiB; measuring ${seconds}s"

openloop_status=0
nice "$openloop_bin" --url "https://127.0.0.1:$port/inject" --insecure --rate "$rate" --connections "$connections" \
  --warmup 0s --duration "${seconds}s" --timeout 10s --check-admission --label soak "${body_args[@]}" \
  >"$work/soak.json" 2>"$work/soak.log" || openloop_status=$?
rss_end=$(rss_kib)
read -r anon_end file_end < <(rss_split_kib)
read -r valid1 invalid1 certs1 <"$work/swaps"
reloads1=$(metric meshinject_config_reloads_total)
reload_failures1=$(metric meshinject_config_reload_failures_total)
cert_reloads1=$(metric meshinject_certificate_reloads_total)
cert_reload_failures=$(metric meshinject_certificate_reload_failures_total)
rejected=$(metric meshinject_connections_rejected_total)
touch "$work/stop"
wait "$noise_pid" || true
kill -0 "$server_pid" 2>/dev/null || { tail -20 "$work/server.log" >&2; die "the server died during the soak"; }

cat "$work/soak.log" >&2
python3 - "$work" "$openloop_status" "$rss_start" "$rss_end" "$rss_limit_percent" \
  "$((valid1 - valid0))" "$((invalid1 - invalid0))" "$((certs1 - certs0))" \
  "$reloads0" "$reloads1" "$reload_failures0" "$reload_failures1" "$cert_reloads0" "$cert_reloads1" \
  "$cert_reload_failures" "$rejected" "$anon_start" "$anon_end" "$file_start" "$file_end" <<'PY'
import json, sys
(work, status, rss_start, rss_end, limit, valid, invalid, certs, r0, r1, f0, f1, c0, c1,
 cert_failures, rejected, anon_start, anon_end, file_start, file_end) = sys.argv[1:]
ol = json.loads(open(f"{work}/soak.json").readline()) if int(status) == 0 else None
noise = json.load(open(f"{work}/noise.json"))
rss = [int(l.split()[1]) for l in open(f"{work}/rss.log") if len(l.split()) >= 2]
rss_start, rss_end, limit = int(rss_start), int(rss_end), int(limit)
refused = float(f1) - float(f0)
# meshinject_config_reloads_total counts attempts, the refused ones included.
reloads = float(r1) - float(r0) - refused
cert_reloads = float(c1) - float(c0)
problems = []
if ol is None:
    problems.append(f"openloop exited {status}")
    sent = answered = failed = 0
else:
    sent = ol["scheduled"]
    answered = ol["ok"] + ol["http_errors"] + ol["wrong_answers"]
    failed = ol["errors"]
    if failed:
        problems.append(f"{failed} good requests lost or failed ({ol['http_errors']} non-200, "
                        f"{ol['wrong_answers']} wrong uid or no patch, {ol['transport_errors']} transport, "
                        f"{ol['unfinished']} unanswered)")
if rss_end * 100 > rss_start * limit:
    problems.append(f"RSS grew from {rss_start} KiB to {rss_end} KiB (limit {limit}% of start)")
if refused < int(invalid):
    problems.append(f"{invalid} invalid configs written but only {refused:.0f} reloads refused")
if noise["accepted_bad"]:
    problems.append(f"{noise['accepted_bad']} bad requests accepted, first: {noise['first_accepted_bad']}")
print("soak: good requests  sent %d, answered %d, failed %d (ok %d)" % (sent, answered, failed, ol["ok"] if ol else 0))
if ol:
    lat = ol["latency_us"]
    print("soak: latency        p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms; reconnects %d"
          % (lat["p50"] / 1e3, lat["p99"] / 1e3, lat["p99_9"] / 1e3, lat["max"] / 1e3, ol["reconnects"]))
print("soak: RSS            start %d KiB (after warm-up), end %d KiB (%+.1f%%), max sampled %d KiB"
      % (rss_start, rss_end, 100.0 * (rss_end - rss_start) / rss_start, max(rss) if rss else 0))
print("soak: RSS split      anonymous %s -> %s KiB, file-backed %s -> %s KiB" % (anon_start, anon_end, file_start, file_end))
print("soak: config swaps   %s valid (server loaded %.0f), %s invalid (server refused %.0f)"
      % (valid, reloads, invalid, refused))
print("soak: cert swaps     %s (server reloads %.0f, reload failures %s)" % (certs, cert_reloads, cert_failures))
print("soak: bad requests   %d sent (%d answered 4xx/5xx, %d closed without an answer, %d accepted); by kind %s"
      % (noise["bad_sent"], noise["bad_refused_with_status"], noise["bad_closed_without_answer"],
         noise["accepted_bad"], json.dumps(noise["bad_by_kind"])))
print("soak: idle conns     %d opened, %d reopened after the server closed them; connections rejected %s"
      % (noise["idle_opened"], noise["idle_reopened"], rejected))
for p in problems:
    print("soak: FAIL: " + p)
print("soak: " + ("FAIL" if problems else "PASS"))
sys.exit(1 if problems else 0)
PY
