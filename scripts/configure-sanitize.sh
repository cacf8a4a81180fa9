#!/usr/bin/env bash
# Configures the one sanitizer build that both `make test-sanitize` (the whole test
# suite under ASan + UBSan) and `make fuzz` (the libFuzzer targets) use: clang,
# because libFuzzer comes with it, and coverage instrumentation in every library so
# the fuzzers link against the very objects the tests ran. Sharing one tree halves
# the sanitizer compile time on a 2-core CI machine.
# Line tables only: ASan and UBSan reports need file:line, not full debug info.
# Assertions stay on (no NDEBUG), which is what a hardening build wants.
#   scripts/configure-sanitize.sh BUILD_DIR [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/configure-sanitize.sh BUILD_DIR [cmake args...]}
shift
generator=()
if command -v ninja >/dev/null && [[ ! -f $build/CMakeCache.txt ]]; then generator=(-G Ninja); fi
CC=clang CXX=clang++ cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DMESHINJECT_WERROR=ON \
  -DMESHINJECT_SANITIZE="address;undefined" -DMESHINJECT_FUZZ=ON -DMESHINJECT_BUILD_BENCH=OFF \
  -DMESHINJECT_TEST_OPTIMIZE=-O0 "$@"
