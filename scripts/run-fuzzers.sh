#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each one for a
# bounded time, seeded from the conformance data and the repository's own
# examples. Any crash, leak or timeout fails the run; the reproducer is kept in
# BUILD_DIR/artifacts and should become a regression test.
#   scripts/run-fuzzers.sh [BUILD_DIR] [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/sanitize}
seconds=${2:-60}
jobs=$(nproc)
conformance=${MESHINJECT_CONFORMANCE_DIR:-../shared/conformance}

scripts/configure-sanitize.sh "$build" >/dev/null
targets=$(cd fuzz && ls *_fuzz.cpp | sed 's/\.cpp$//')
# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target $targets

corpus="$build/corpus"
artifacts="$build/artifacts"
mkdir -p "$artifacts"

seed() {  # seed TARGET FILES...
  local dir="$corpus/$1"
  shift
  mkdir -p "$dir"
  for f in "$@"; do [[ -f "$f" ]] && cp -f "$f" "$dir/seed-$(basename "$f")"; done
  return 0
}
seed admission_fuzz load/reviews/*.json "$conformance"/reviews/*.json
seed config_fuzz deploy/base/injector-config.yaml "$conformance"/istio-1.1/injector-config.yaml
# Values and mesh files for config_fuzz, each led by the byte that says which file it is.
for f in deploy/base/injector-values.json "$conformance"/istio-1.28/rendered/values.json; do
  if [[ -f "$f" ]]; then { printf '\x01'; cat "$f"; } >"$corpus/config_fuzz/seed-values-$(basename "$f")"; fi
done
for f in deploy/base/mesh.yaml "$conformance"/istio-1.1/mesh.yaml; do
  if [[ -f "$f" ]]; then { printf '\x02'; cat "$f"; } >"$corpus/config_fuzz/seed-mesh-$(dirname "$f" | tr / -)-$(basename "$f")"; fi
done
# An alias bomb in a values file: the node bound must stop it at once.
printf '\x01a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n' \
  >"$corpus/config_fuzz/seed-values-alias-bomb"
seed template_fuzz "$conformance"/istio-1.2/webhook/*_template.yaml
if [[ -f "$conformance/istio-1.1/injector-config.yaml" ]]; then
  # The 1.1 template text itself, without the surrounding config.
  mkdir -p "$corpus/template_fuzz"
  sed -n '/^template: |-/,$p' "$conformance/istio-1.1/injector-config.yaml" | tail -n +2 | sed 's/^  //' \
    > "$corpus/template_fuzz/seed-istio-1.1-template"
fi
mkdir -p "$corpus/selector_fuzz"
printf -- '- matchLabels: {app: web}\n  matchExpressions:\n  - {key: tier, operator: In, values: [a, b]}\n' > "$corpus/selector_fuzz/seed-1"
printf -- '- matchExpressions:\n  - {key: openshift.io/build.name, operator: Exists}\n- {}\n' > "$corpus/selector_fuzz/seed-2"
# The framing cases of docs/operations.md ("HTTP framing"), each led by the byte
# that chooses where the fuzzer splits it into two arrivals.
seed http_head_fuzz fuzz/corpus/http_head_fuzz/*
seed kube_inject_fuzz "$conformance"/istio-1.2/inject/*.yaml
# One document a seed (the YAML reader refuses a stream of several).
mkdir -p "$corpus/yaml_reader_fuzz"
for f in "$conformance"/istio-1.2/inject/*.injected "$conformance"/istio-1.28/inject/*.injected; do
  [[ -f "$f" ]] || continue
  awk -v out="$corpus/yaml_reader_fuzz/seed-$(basename "$f")" \
    'BEGIN { n = 0 } /^---[ \t]*$/ { n++; next } { print > (out "." n) }' "$f"
done
# json_diff_fuzz reads two JSON documents split at a NUL byte: a pod and what
# injection makes of it, and pairs of the sample reviews.
mkdir -p "$corpus/json_diff_fuzz"
printf '{"spec":{"containers":[{"name":"app","env":[{"name":"A","value":"1"}]}]}}\0{"metadata":{"annotations":{"sidecar.istio.io/status":"{}"}},"spec":{"initContainers":[{"name":"istio-init","args":["-u","1337"]}],"containers":[{"name":"istio-proxy","image":"auto"},{"name":"app","env":[{"name":"B"},{"name":"A","value":"2"}]}],"volumes":[{"name":"v","$retainKeys":["name"]}]}}' \
  >"$corpus/json_diff_fuzz/seed-pod"
reviews=(load/reviews/*.json)
for ((i = 0; i + 1 < ${#reviews[@]}; i++)); do
  { cat "${reviews[i]}"; printf '\0'; cat "${reviews[i + 1]}"; } >"$corpus/json_diff_fuzz/seed-review-$i"
done

# Targets run side by side, one per CPU: each is a single process, and on a 2-core
# CI machine this halves the wall time without shortening any target's run.
run_target() {  # run_target TARGET: fuzzes it; leaves its exit status in $build/TARGET.rc
  local t=$1 dict=()
  mkdir -p "$corpus/$t"
  [[ -f "fuzz/$t.dict" ]] && dict=(-dict="fuzz/$t.dict")
  set +e
  MESHINJECT_CONFORMANCE_DIR="$conformance" ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/fuzz/$t" "$corpus/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$artifacts/$t-" -print_final_stats=1 "${dict[@]}" >"$build/$t.log" 2>&1
  echo $? >"$build/$t.rc"
}

running=0
for t in $targets; do
  echo "run-fuzzers.sh: $t for ${seconds}s"
  run_target "$t" &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

summary=()
status=0
for t in $targets; do
  log="$build/$t.log"
  rc=$(cat "$build/$t.rc" 2>/dev/null || echo 1)
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  cov=$(grep -E '#[0-9]+.*cov:' "$log" | tail -1 | sed -E 's/.*cov: ([0-9]+).*/\1/' || true)
  if [[ $rc -ne 0 ]]; then
    status=1
    summary+=("$t: FAILED (exit $rc) after ${execs:-?} executions; see $log and $artifacts")
    tail -40 "$log" >&2
  else
    summary+=("$t: ok, ${execs:-?} executions, coverage ${cov:-?} edges, corpus $(ls "$corpus/$t" | wc -l) inputs")
  fi
done
printf 'run-fuzzers.sh: %s\n' "${summary[@]}"
exit $status
