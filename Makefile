# Two commands set everything up on a fresh Debian 12 machine:
#   make run    install what is missing, build Release, serve on https://127.0.0.1:9443
#   make test   install what is missing, build, run every test (release, sanitizers, fuzzing)

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

RELEASE := $(BUILD_DIR)/release
SANITIZE := $(BUILD_DIR)/sanitize
# `make run` builds the binary alone, without tests or benchmarks, in a tree of its own.
SERVE := $(BUILD_DIR)/serve

.PHONY: all deps build binary run install test test-release test-sanitize fuzz bench clean

all: build

deps:
	@scripts/install-deps.sh

# Everything: the binary, the test suites and the benchmarks.
build: deps
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(RELEASE) -j $(JOBS)

# Only what `serve` needs: Release, tests and benchmarks off, build packages only.
binary:
	@scripts/install-deps.sh --build
	cmake -S . -B $(SERVE) -DCMAKE_BUILD_TYPE=Release -DMESHINJECT_BUILD_TESTS=OFF -DMESHINJECT_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(SERVE) -j $(JOBS) --target meshinject

# RUN_FLAGS: extra `serve` flags, e.g. make run RUN_FLAGS='--threads 1 --log-level debug'
run: binary
	@scripts/run-demo.sh $(SERVE)/cmd/meshinject $(RUN_FLAGS)

# PREFIX=/usr/local by default; DESTDIR for staging (as the image build does).
PREFIX ?= /usr/local
install: binary
	cmake --install $(SERVE) --prefix $(PREFIX) --strip

test: test-release test-sanitize fuzz

test-release: deps
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DMESHINJECT_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(RELEASE) -j $(JOBS)
	cd $(RELEASE) && ctest --output-on-failure -j $(JOBS)

# ASan + UBSan over the whole suite, built with clang in the tree the fuzzers
# also use (scripts/configure-sanitize.sh), so its libraries compile once.
test-sanitize:
	@scripts/install-deps.sh --fuzz
	scripts/configure-sanitize.sh $(SANITIZE) $(CMAKE_FLAGS)
	cmake --build $(SANITIZE) -j $(JOBS)
	cd $(SANITIZE) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  MESHINJECT_SANITIZED=1 ctest --output-on-failure -j $(JOBS)

# Every libFuzzer target for FUZZ_SECONDS each, one per CPU at a time.
fuzz:
	@scripts/install-deps.sh --fuzz
	@scripts/run-fuzzers.sh $(SANITIZE) $(FUZZ_SECONDS)

bench: build
	@for b in $(RELEASE)/bench/*_bench; do echo "== $$b"; $$b; done

clean:
	rm -rf $(BUILD_DIR)
