#!/usr/bin/env bash
# Fails when a source file of the libraries the request path runs through (core/,
# http/, patch/, template/) uses:
#   - thread_local: per-core state lives in the reactor's own objects, where its
#     owner and lifetime are visible; a hidden per-thread copy is neither.
#   - strto*/ato*/s*printf/std::sto*: they read the C locale (a decimal comma
#     changes what they parse and print) and std::sto* throws on bad input;
#     std::from_chars/std::to_chars do neither.
# An occurrence that is cold and cannot reasonably go is listed, with the reason,
# in banned-calls.allow. Entries that no longer match are fine (the code moved on).
#   check-banned-calls.sh SOURCE_DIR
set -euo pipefail
root=${1:?usage: check-banned-calls.sh SOURCE_DIR}
allow="$(cd "$(dirname "$0")" && pwd)/banned-calls.allow"
pattern='\bthread_local\b|\b(std::)?strto[a-z]+[[:space:]]*\(|\b(std::)?ato(i|l|ll|f)[[:space:]]*\(|\b(v?sn?|f|v)?printf[[:space:]]*\(|\bstd::sto(i|l|ul|ll|ull|f|d|ld)[[:space:]]*\('
cd "$root"
hits=$(grep -rnE --include='*.cpp' --include='*.hpp' --include='*.h' "$pattern" core http patch template control || true)
status=0
while IFS= read -r hit; do
  [[ -z "$hit" ]] && continue
  file=${hit%%:*}
  line=${hit#*:*:}
  allowed=0
  while IFS= read -r entry; do
    [[ -z "$entry" || "$entry" == \#* ]] && continue
    allowed_file=${entry%% | *}
    allowed_text=${entry#* | }
    if [[ "$file" == "$allowed_file" && "$line" == *"$allowed_text"* ]]; then
      allowed=1
      break
    fi
  done <"$allow"
  if [[ $allowed -eq 0 ]]; then
    echo "not allowed on the request path's sources: $hit" >&2
    status=1
  fi
done <<<"$hits"
[[ $status -eq 0 ]] && echo "no thread_local, strto*, ato*, *printf or std::sto* outside banned-calls.allow"
exit $status
