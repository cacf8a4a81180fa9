// Many pod shapes through one engine, in process: the figure load/run-shapes.sh
// measures through the server, reproducible without one.
//
// The shapes are load/shapes.mjs's, built by the same rules from
// load/reviews/orders-pod.json (keep the two in step): eight template branches
// Istio 1.1's production template takes on pod data, crossed with 0-39 user
// volumes (10,000 shapes, 10,000 variants), with 1-3 containers and 1-4 ports.
// The template is the production one from the conformance data (else the
// repository's example config, and the benchmark says so).
//
// Three request orders over one engine with the default cache bounds (4 MiB),
// warmed on the first half of the order:
//   BM_shapes/one       every request the same shape: all hits
//   BM_shapes/zipf      shapes drawn Zipf-distributed (s = 1.1, fixed seed): a cluster's mix
//   BM_shapes/rotation  shape i mod 10,000: every request a miss
// Each request still has its own uid and pod name. Counters: misses per request, the mean
// miss (render and compile, from the engine's own timer) and the cache's size.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "patch/injector.hpp"
#include "tests/support/pod_shapes.hpp"

namespace {

namespace mp = meshinject::patch;
using json = nlohmann::json;

constexpr int shape_count = 10'000;
constexpr int request_count = 20'000;  // the order repeats after this many

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// load/shapes.mjs's shape k of the base review's pod.
json make_shape(const json& base, int k) {
  json review = base;
  meshinject::test::apply_pod_shape(review["request"]["object"], k);
  return review;
}

struct inputs {
  bool conformance = false;
  std::shared_ptr<const mp::snapshot> snap;
  std::vector<json> shapes;

  inputs() {
    const char* env = std::getenv("MESHINJECT_CONFORMANCE_DIR");
    const std::filesystem::path dir = env && *env ? env : MESHINJECT_CONFORMANCE_DIR;
    const std::filesystem::path src = MESHINJECT_SOURCE_DIR;
    mp::config_sources sources;
    if (std::filesystem::exists(dir / "istio-1.1" / "injector-config.yaml")) {
      conformance = true;
      sources.inject_config_text = read_file(dir / "istio-1.1" / "injector-config.yaml");
      sources.inject_config_name = "istio-1.1/injector-config.yaml";
      sources.mesh_text = read_file(dir / "istio-1.1" / "mesh.yaml");
      sources.mesh_name = "istio-1.1/mesh.yaml";
    } else {
      std::cerr << "shapes_bench: conformance data not found; using docs/examples/istio-1.1-injector-config.yaml\n";
      sources.inject_config_text = read_file(src / "docs" / "examples" / "istio-1.1-injector-config.yaml");
      sources.inject_config_name = "docs/examples/istio-1.1-injector-config.yaml";
    }
    snap = mp::snapshot::build(sources);
    json base = json::parse(read_file(src / "load" / "reviews" / "orders-pod.json"));
    base["request"]["object"]["metadata"]["annotations"];  // present, so shapes may add to it
    base["request"]["object"]["metadata"]["labels"];
    shapes.reserve(shape_count);
    for (int k = 0; k < shape_count; ++k) shapes.push_back(make_shape(base, k));
  }
};

const inputs& data() {
  static const inputs d;
  return d;
}

enum class order { one, zipf, rotation };

// Shape numbers in request order; Zipf over a seeded shuffle of the shapes, as
// shapes.mjs ranks them (its generator differs, the distribution does not).
std::vector<int> draw_order(order o) {
  std::vector<int> out(request_count);
  if (o == order::one) return std::vector<int>(request_count, 0);
  if (o == order::rotation) {
    for (int i = 0; i < request_count; ++i) out[static_cast<std::size_t>(i)] = i % shape_count;
    return out;
  }
  std::mt19937_64 random(15);
  std::vector<int> by_rank(shape_count);
  for (int i = 0; i < shape_count; ++i) by_rank[static_cast<std::size_t>(i)] = i;
  std::shuffle(by_rank.begin(), by_rank.end(), random);
  std::vector<double> cdf(shape_count);
  double total = 0;
  for (int r = 0; r < shape_count; ++r) cdf[static_cast<std::size_t>(r)] = total += 1.0 / std::pow(r + 1, 1.1);
  std::uniform_real_distribution<double> u(0, total);
  for (auto& k : out) {
    const auto rank = std::lower_bound(cdf.begin(), cdf.end(), u(random)) - cdf.begin();
    k = by_rank[static_cast<std::size_t>(std::min<std::ptrdiff_t>(rank, shape_count - 1))];
  }
  return out;
}

// A shape's review as the server holds it (simdjson's padding after it), with
// room for a uid and a pod name of its own per request, written in place.
struct shape_body {
  std::string buf;
  std::size_t len = 0;
  std::size_t uid_tail = 0, name_tail = 0;  // 12 and 8 digits to overwrite

  explicit shape_body(json review) {
    const std::string uid = review["request"]["uid"].get<std::string>().substr(0, 24) + "uuuuuuuuuuuu";
    review["request"]["uid"] = uid;
    review["request"]["object"]["metadata"]["name"] = "orders-5c8b7f9d4e-nnnnnnnn";
    buf = review.dump();
    len = buf.size();
    uid_tail = buf.find("uuuuuuuuuuuu");
    name_tail = buf.find("nnnnnnnn");
    buf.resize(len + simdjson::SIMDJSON_PADDING);
  }
  void stamp(std::uint32_t request) {
    char digits[24];
    std::snprintf(digits, sizeof digits, "%012x%08x", request, request);
    std::copy_n(digits, 12, buf.begin() + static_cast<std::ptrdiff_t>(uid_tail));
    std::copy_n(digits + 12, 8, buf.begin() + static_cast<std::ptrdiff_t>(name_tail));
  }
};

std::vector<shape_body>& bodies() {
  static std::vector<shape_body> all = [] {
    std::vector<shape_body> out;
    out.reserve(shape_count);
    for (const json& s : data().shapes) out.emplace_back(s);
    return out;
  }();
  return all;
}

// The timed requests go through this function and the warm-up does not, so that
// `valgrind --tool=callgrind --toggle-collect='*measured_request*'` counts only them.
[[gnu::noinline]] mp::injection_result measured_request(mp::engine& engine, shape_body& b) {
  return engine.handle(b.buf.data(), b.len, b.buf.size());
}

void BM_shapes(benchmark::State& state, order o, mp::variant_cache_limits limits = {}) {
  const std::vector<int> draws = draw_order(o);
  std::vector<shape_body>& shapes = bodies();
  mp::engine engine(data().snap, limits);
  std::uint32_t request = 0;
  auto send = [&](int k) {
    shape_body& b = shapes[static_cast<std::size_t>(k)];
    b.stamp(request++);
    return engine.handle(b.buf.data(), b.len, b.buf.size());
  };
  // Warm: the first half of the order, so that Zipf's cache holds its steady state.
  for (std::size_t i = 0; i < draws.size() / 2; ++i) send(draws[i]);
  const std::uint64_t compiles_before = engine.stats().variant_compiles.value();
  const std::uint64_t compile_ns_before = engine.stats().variant_compile_ns.value();
  std::size_t next = draws.size() / 2;
  for (auto _ : state) {
    shape_body& b = shapes[static_cast<std::size_t>(draws[next])];
    b.stamp(request++);
    auto result = measured_request(engine, b);
    next = next + 1 == draws.size() ? 0 : next + 1;
    if (result.kind != mp::outcome::injected) state.SkipWithError("not injected");
    benchmark::DoNotOptimize(result.body.data());
  }
  const double misses = static_cast<double>(engine.stats().variant_compiles.value() - compiles_before);
  const double miss_ns = static_cast<double>(engine.stats().variant_compile_ns.value() - compile_ns_before);
  state.counters["misses/req"] = benchmark::Counter(misses, benchmark::Counter::kAvgIterations);
  state.counters["miss_us"] = misses > 0 ? miss_ns / misses / 1e3 : 0;
  state.counters["variants"] = static_cast<double>(engine.cached_variants());
  state.counters["cache_KiB"] = static_cast<double>(engine.stats().cached_variant_bytes.value()) / 1024;
  state.counters["memo_KiB"] = static_cast<double>(engine.compile_memo_bytes()) / 1024;
  state.SetLabel(data().conformance ? "istio-1.1 template" : "istio-1.1 example config");
}

// Every shape once through an engine whose cache keeps them all: the bytes the
// cache's bound counts per variant (size_of, the trace, the slot), averaged
// over the 10,000 shapes, and how many such variants the default 4 MiB holds.
// The snapshot's shared text is not in it (held once, reported beside).
void BM_shape_sizes(benchmark::State& state) {
  std::vector<shape_body>& shapes = bodies();
  double variants = 0, bytes = 0, memo_bytes = 0;
  for (auto _ : state) {
    mp::engine engine(data().snap, mp::variant_cache_limits{.entries = shape_count, .bytes = std::size_t{1} << 40});
    std::uint32_t request = 0;
    for (shape_body& b : shapes) {
      b.stamp(request++);
      if (engine.handle(b.buf.data(), b.len, b.buf.size()).kind != mp::outcome::injected)
        state.SkipWithError("not injected");
    }
    variants = static_cast<double>(engine.cached_variants());
    bytes = static_cast<double>(engine.stats().cached_variant_bytes.value());
    memo_bytes = static_cast<double>(engine.compile_memo_bytes());
  }
  const mp::shared_variant_text* shared = data().snap->shared_text();
  state.counters["variants"] = variants;
  state.counters["B/variant"] = bytes / variants;
  state.counters["fit_in_4MiB"] = static_cast<double>(mp::variant_cache_limits::default_bytes) / (bytes / variants);
  state.counters["shared_B"] = shared ? static_cast<double>(shared->heap_bytes()) : 0;
  state.counters["memo_B"] = memo_bytes;  // the compile workspace's part memo, once per core
}
BENCHMARK(BM_shape_sizes)->Iterations(1)->Unit(benchmark::kMillisecond);

BENCHMARK_CAPTURE(BM_shapes, one, order::one);
BENCHMARK_CAPTURE(BM_shapes, zipf, order::zipf);
BENCHMARK_CAPTURE(BM_shapes, rotation, order::rotation);
// The rotation with a cache that keeps every shape: after the warm-up every
// request is a hit, so this is what the mix's hits cost, against `one`'s single
// shape. Exactly one pass over the 10,000 shapes, so that an instruction count
// (`--toggle-collect='*measured_request*'`) is the mean over all of them.
BENCHMARK_CAPTURE(BM_shapes, rotation_all_kept, order::rotation,
                  mp::variant_cache_limits{.entries = shape_count, .bytes = std::size_t{1} << 40})
    ->Iterations(shape_count);

}  // namespace

BENCHMARK_MAIN();
