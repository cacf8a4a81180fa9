#!/usr/bin/env bash
# Installs the Debian 12 packages meshinject needs, and only those that are
# missing, so a second run is a no-op and needs no network.
#
#   scripts/install-deps.sh --build    what building and running the binary needs (make run, the image)
#   scripts/install-deps.sh            that, plus what the tests and benchmarks need (make test)
#   scripts/install-deps.sh --load     also the load-testing tools (h2load, nginx, gnuplot)
#   scripts/install-deps.sh --fuzz     also clang and its sanitizer runtimes (libFuzzer)
set -euo pipefail

build_packages=(
  g++ cmake make pkg-config
  libboost1.81-dev      # Beast, Asio (1.74 is Debian's default; we need 1.81)
  libssl-dev            # TLS, SHA-256
  libsimdjson-dev       # AdmissionReview parsing
  libyaml-cpp-dev       # config and kube-inject files (never on the request path)
  openssl               # `make run` and tests make certificates with the CLI
  curl                  # `make run` prints a curl command; tests use it as a second HTTP client
)
test_packages=(
  libgtest-dev libgmock-dev
  libbenchmark-dev
  nlohmann-json3-dev    # test oracle only: an independent RFC 6902 implementation
)
packages=("${build_packages[@]}")
tests=1
for arg in "$@"; do
  case "$arg" in
    --build) tests=0 ;;
    --load) packages+=(nghttp2-client nginx-light gnuplot-nox) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev llvm) ;;
    *) echo "install-deps.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
if [[ $tests -eq 1 ]]; then
  packages+=("${test_packages[@]}")
  # The k6 scripts are type-checked with TypeScript from npm. Many machines have a
  # newer Node.js installed outside Debian's packages; use it when present.
  if ! command -v npm >/dev/null 2>&1; then
    packages+=(nodejs npm)
  fi
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps.sh: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
