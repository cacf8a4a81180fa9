#!/usr/bin/env bash
# Instructions per review for the whole pipeline, and where they go, counted with
# callgrind (apt-get install valgrind). Runs pipeline_loop at two counts and
# subtracts, so start-up and config compilation cancel out.
#   bench/count-instructions.sh [BUILD_DIR] [REVIEW.json]      (BUILD_DIR: build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
review=${2:-}
loop=$build/bench/pipeline_loop
[[ -x $loop ]] || { echo "count-instructions.sh: build $loop first (make build)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "count-instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
low=200 high=1200
for n in $low $high; do
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$n" "$loop" "$n" ${review:+"$review"} >/dev/null 2>"$tmp/log.$n" ||
    { cat "$tmp/log.$n" >&2; exit 1; }
done
# Inclusive counts of the functions that make up a review, per review.
inclusive() { callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null; }
inclusive "$tmp/cg.$low" >"$tmp/a.$low"
inclusive "$tmp/cg.$high" >"$tmp/a.$high"
count() {  # count FILE PATTERN: the first inclusive Ir of a line matching PATTERN
  grep -E "$2" "$1" | head -n 1 | awk '{gsub(",", "", $1); print $1}'
}
per_review() {  # per_review LABEL PATTERN
  local a b
  a=$(count "$tmp/a.$low" "$2"); b=$(count "$tmp/a.$high" "$2")
  [[ -n $a && -n $b ]] || { printf '| %s | n/a |\n' "$1"; return; }
  printf '| %s | %s |\n' "$1" "$(awk -v a="$a" -v b="$b" -v n=$((high - low)) 'BEGIN {printf "%.1fk", (b - a) / n / 1000}')"
}
echo "| Instructions per review (callgrind, $((high - low)) reviews) | Ir |"
echo "|---|---:|"
per_review "whole pipeline (engine::handle)" 'engine::handle\('
per_review "  parse_review (simdjson DOM + pod extraction)" 'patch::parse_review\('
per_review "    simdjson parse" 'dom_parser_implementation::parse\('
per_review "    key scan (repeated keys, NUL in keys)" 'key_scan::scan\('
per_review "  build_patch (variant lookup, holes, fragments)" 'engine::build_patch\('
per_review "    template trace (pod-dependent keys and holes)" 'program::trace\('
