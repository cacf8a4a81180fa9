#!/bin/bash
# Includes point down the pipeline only (README "Layout"):
#   core      <- nothing of ours
#   template  <- core
#   http      <- core              (transport never sees the injector)
#   patch     <- core, template    (the injector)
#   control   <- core, template, patch, http
#   cmd       <- everything
# tests/, bench/ and fuzz/ may include anything. Prints every include that points
# the wrong way as file:line and fails if there is one.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"

allowed() {
  case $1 in
    core) echo "core" ;;
    template) echo "core template" ;;
    http) echo "core http" ;;
    patch) echo "core template patch" ;;
    control) echo "core template patch http control" ;;
    cmd) echo "core template patch http control cmd" ;;
  esac
}

bad=0
checked=0
for folder in core template http patch control cmd; do
  [[ -d $folder ]] || continue
  ok=" $(allowed "$folder") "
  while IFS= read -r hit; do
    file=${hit%%:*}
    rest=${hit#*:}
    line=${rest%%:*}
    target=$(sed -E 's/^[^"]*"([^"/]+)\/.*/\1/' <<<"${rest#*:}")
    checked=$((checked + 1))
    if [[ $ok != *" $target "* ]]; then
      echo "$file:$line: $folder/ may not include $target/ (allowed: $(allowed "$folder"))"
      bad=$((bad + 1))
    fi
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z_]+/' "$folder" --include='*.cpp' --include='*.hpp' || true)
done

if ((checked == 0)); then
  echo "no project includes found under $root: wrong directory?" >&2
  exit 2
fi
if ((bad > 0)); then
  echo "$bad include(s) point up the pipeline"
  exit 1
fi
echo "$checked project includes, all pointing down the pipeline"
