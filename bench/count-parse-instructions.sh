#!/usr/bin/env bash
# Instructions per review of each way of parsing one (bench/parse_bench.cpp),
# counted with callgrind (apt-get install valgrind): parse_bench --loop runs one
# path at two counts, and the difference of the totals is the path alone.
#   bench/count-parse-instructions.sh [BUILD_DIR]      (BUILD_DIR: build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
bench=$build/bench/parse_bench
[[ -x $bench ]] || { echo "count-parse-instructions.sh: build $bench first" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "count-parse-instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
low=50 high=250
total() {  # total PATH INPUT COUNT: every instruction of one run
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$bench" --loop "$1" "$2" "$3" >/dev/null 2>"$tmp/log" ||
    { cat "$tmp/log" >&2; exit 1; }
  awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg"
}
inputs=("realistic 5 KB" "1,500 env" "64 KB")
echo "| Instructions per review (callgrind, $((high - low)) reviews) | ${inputs[0]} | ${inputs[1]} | ${inputs[2]} |"
echo "|---|---:|---:|---:|"
for path in dom_review dom_parse_only ondemand_review ondemand_review_validate_utf8 ondemand_review_stage1 stage1_only; do
  row="| \`$path\` |"
  for input in 0 1 2; do
    a=$(total $path $input $low); b=$(total $path $input $high)
    row+=" $(awk -v a="$a" -v b="$b" -v n=$((high - low)) 'BEGIN {printf "%.1fk", (b - a) / n / 1000}') |"
  done
  echo "$row"
done
