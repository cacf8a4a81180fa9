#!/usr/bin/env bash
# Fails when an object file of the request path (each library's HOT_SOURCES)
# references a YAML parser, iostreams or `throw`: the request path must answer
# every input with values, never with an exception, and never parse YAML text.
#   check-symbols.sh OBJECT...
set -euo pipefail
# CMake hands each library's objects as one ;-separated argument.
objects=()
for arg in "$@"; do IFS=';' read -ra parts <<<"$arg"; objects+=("${parts[@]}"); done
[[ ${#objects[@]} -gt 0 ]] || { echo "check-symbols.sh: no object files given" >&2; exit 2; }
status=0
for obj in "${objects[@]}"; do
  undefined=$(nm -C --undefined-only "$obj")
  bad=$(grep -E 'YAML::|std::basic_ostream|std::basic_istream|std::ios_base|std::basic_ios|__cxa_throw$' <<<"$undefined" || true)
  if [[ -n "$bad" ]]; then
    echo "$obj references what the request path must not use:" >&2
    sed 's/^/    /' <<<"$bad" >&2
    status=1
  fi
done
[[ $status -eq 0 ]] && echo "checked ${#objects[@]} request-path objects: no YAML, iostreams or throw"
exit $status
