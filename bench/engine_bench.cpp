// Request-path stages and the whole pipeline, in process (no network).
//
// Inputs: the realistic review (conformance/reviews/checkout-pod.json) with the
// Istio 1.1 production template and mesh config; a pod with 1,500 environment
// variables; a 64 KB pod. Without the conformance data the benchmark uses the
// repository's own review (load/reviews/orders-pod.json) and the Istio 1.1
// example config (docs/examples/), and says so. BM_pipeline_realistic_embedded_default
// times the embedded default (Istio 1.28's shape: traced per request, each
// template's render read once per trace and kept).
//
// Every benchmark reports heap allocations per iteration (allocs/iter), counted
// by a replaced global operator new.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <new>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/decision.hpp"
#include "patch/admission.hpp"
#include "patch/annotations.hpp"
#include "patch/base64.hpp"
#include "patch/injector.hpp"
#if __has_include("core/yaml_reader.hpp")
#include "core/yaml_reader.hpp"
#endif

#include "bench/heap_count.hpp"

using meshinject::bench::allocations;

namespace {

namespace mp = meshinject::patch;
using json = nlohmann::json;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct inputs {
  bool conformance = false;
  std::shared_ptr<const mp::snapshot> snap;
  std::string realistic, many_env, large;

  inputs() {
    const char* env = std::getenv("MESHINJECT_CONFORMANCE_DIR");
    std::filesystem::path dir = env && *env ? env : MESHINJECT_CONFORMANCE_DIR;
    mp::config_sources sources;
    if (std::filesystem::exists(dir / "istio-1.1" / "injector-config.yaml")) {
      conformance = true;
      sources.inject_config_text = read_file(dir / "istio-1.1" / "injector-config.yaml");
      sources.inject_config_name = "istio-1.1/injector-config.yaml";
      sources.mesh_text = read_file(dir / "istio-1.1" / "mesh.yaml");
      sources.mesh_name = "istio-1.1/mesh.yaml";
      realistic = read_file(dir / "reviews" / "checkout-pod.json");
    } else {
      std::cerr << "engine_bench: conformance data not found; using docs/examples/istio-1.1-injector-config.yaml "
                   "and load/reviews/orders-pod.json\n";
      const std::filesystem::path src = std::filesystem::path(__FILE__).parent_path().parent_path();
      sources.inject_config_text = read_file(src / "docs" / "examples" / "istio-1.1-injector-config.yaml");
      sources.inject_config_name = "docs/examples/istio-1.1-injector-config.yaml";
      realistic = read_file(src / "load" / "reviews" / "orders-pod.json");
    }
    snap = mp::snapshot::build(sources);

    json review = json::parse(realistic);
    json& containers = review["request"]["object"]["spec"]["containers"];
    json many = review;
    json& env_list = many["request"]["object"]["spec"]["containers"][0]["env"];
    for (int i = 0; i < 1500; ++i)
      env_list.push_back({{"name", "SETTING_" + std::to_string(i)}, {"value", "value-" + std::to_string(i * 7919)}});
    many_env = many.dump();

    json big = review;
    auto& meta = big["request"]["object"]["metadata"];
    for (int i = 0; big.dump().size() < 64 * 1024; ++i) {
      meta["labels"]["team.example.com/label-" + std::to_string(i)] = "v" + std::to_string(i);
      meta["annotations"]["example.com/note-" + std::to_string(i)] = std::string(40, 'a' + i % 26);
      if (i % 20 == 0) {
        json c = containers[0];
        c["name"] = "worker-" + std::to_string(i);
        c["ports"][0]["containerPort"] = 9000 + i;
        big["request"]["object"]["spec"]["containers"].push_back(c);
      }
    }
    large = big.dump();
  }
};

const inputs& data() {
  static const inputs d;
  return d;
}

// A request body the way the server holds it: with simdjson's padding after it.
struct padded {
  std::string buf;
  std::size_t len;
  explicit padded(const std::string& s) : buf(s), len(s.size()) { buf.resize(len + simdjson::SIMDJSON_PADDING); }
};

void report_allocations(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs/iter"] = benchmark::Counter(static_cast<double>(allocations.load() - before),
                                                     benchmark::Counter::kAvgIterations);
}

// Warms the engine on `review`, then times whole requests through it.
void time_requests(benchmark::State& state, mp::engine& engine, const std::string& review, const char* label) {
  padded body(review);
  for (int i = 0; i < 3; ++i) engine.handle(body.buf.data(), body.len, body.buf.size());  // warm
  const auto before = allocations.load();
  const std::uint64_t rendered_before = engine.stats().uncached_renders.value();
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto r = engine.handle(body.buf.data(), body.len, body.buf.size());
    if (r.kind != mp::outcome::injected) state.SkipWithError("not injected");
    bytes = r.body.size();
    benchmark::DoNotOptimize(r.body.data());
  }
  report_allocations(state, before);
  // Timed requests that rendered template text (the 1.28 shape's memo misses).
  state.counters["renders/iter"] =
      benchmark::Counter(static_cast<double>(engine.stats().uncached_renders.value() - rendered_before),
                         benchmark::Counter::kAvgIterations);
  state.counters["request_bytes"] = static_cast<double>(review.size());
  state.counters["response_bytes"] = static_cast<double>(bytes);
  state.SetLabel(label);
}

void pipeline(benchmark::State& state, const std::string& review) {
  mp::engine engine(data().snap);
  time_requests(state, engine, review, data().conformance ? "istio-1.1 template" : "istio-1.1 example config");
}

// The realistic review through Istio 1.28's `sidecar` template (the chart's
// rendered ConfigMap and values): traced, merged and diffed per request, the
// render read once (patch/named_render.hpp's rendered_memo).
void BM_pipeline_realistic_istio_1_28(benchmark::State& state) {
  const char* env = std::getenv("MESHINJECT_CONFORMANCE_DIR");
  const std::filesystem::path dir =
      std::filesystem::path(env && *env ? env : MESHINJECT_CONFORMANCE_DIR) / "istio-1.28" / "rendered";
  if (!data().conformance || !std::filesystem::exists(dir / "config.yaml")) {
    state.SkipWithError("Istio 1.28 conformance data not found");
    return;
  }
  mp::config_sources sources;
  sources.inject_config_text = read_file(dir / "config.yaml");
  sources.inject_config_name = "istio-1.28/rendered/config.yaml";
  sources.values_text = read_file(dir / "values.json");
  sources.values_name = "istio-1.28/rendered/values.json";
  mp::engine engine(mp::snapshot::build(sources));
  time_requests(state, engine, data().realistic, "istio-1.28 sidecar template");
}
BENCHMARK(BM_pipeline_realistic_istio_1_28);

// The realistic review through the embedded default (what `make run` serves):
// meshinject's own sidecar template in Istio 1.28's shape, through the same path
// as the chart's.
void BM_pipeline_realistic_embedded_default(benchmark::State& state) {
  mp::engine engine(mp::snapshot::build(mp::config_sources{}));
  time_requests(state, engine, data().realistic, "embedded default (1.28 shape)");
}
BENCHMARK(BM_pipeline_realistic_embedded_default);

void BM_pipeline_realistic(benchmark::State& s) { pipeline(s, data().realistic); }
void BM_pipeline_1500_env(benchmark::State& s) { pipeline(s, data().many_env); }
void BM_pipeline_64kb(benchmark::State& s) { pipeline(s, data().large); }

void BM_parse(benchmark::State& state) {
  simdjson::dom::parser parser;
  mp::review_scratch scratch;  // as an engine keeps it: the key scan allocates nothing once warm
  padded body(data().realistic);
  mp::review r;
  mp::pod p;
  std::string error;
  for (int i = 0; i < 3; ++i) mp::parse_review(parser, scratch, body.buf.data(), body.len, body.buf.size(), r, p, error);
  const auto before = allocations.load();
  for (auto _ : state) {
    const bool ok = mp::parse_review(parser, scratch, body.buf.data(), body.len, body.buf.size(), r, p, error);
    benchmark::DoNotOptimize(ok);
  }
  report_allocations(state, before);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.len));
}

struct parsed {
  simdjson::dom::parser parser;
  padded body{data().realistic};
  mp::review r;
  mp::pod p;
  std::string error;
  parsed() { mp::parse_review(parser, body.buf.data(), body.len, body.buf.size(), r, p, error); }
};

void BM_decide(benchmark::State& state) {
  parsed in;
  const meshinject::core::pod_facts facts{in.p.namespace_name, in.p.host_network, in.p.labels, in.p.annotations};
  const auto before = allocations.load();
  for (auto _ : state) {
    auto d = meshinject::core::decide(facts, data().snap->config().rules);
    benchmark::DoNotOptimize(d);
  }
  report_allocations(state, before);
}

void BM_validate_annotations(benchmark::State& state) {
  parsed in;
  std::string error;
  const auto before = allocations.load();
  for (auto _ : state) benchmark::DoNotOptimize(mp::validate_annotations(in.p, error));
  report_allocations(state, before);
}

// Evaluating the pod-dependent decisions and holes: the variant key.
void BM_trace(benchmark::State& state) {
  parsed in;
  mp::template_data d;
  d.p = &in.p;
  d.proxy_config = &data().snap->mesh().proxy_config();
  d.mesh = &data().snap->mesh().root;
  d.values = &data().snap->values();
  meshinject::tmpl::trace_state ts;
  for (int i = 0; i < 3; ++i) data().snap->program().trace(mp::template_root(d), ts);
  const auto before = allocations.load();
  for (auto _ : state) benchmark::DoNotOptimize(data().snap->program().trace(mp::template_root(d), ts));
  report_allocations(state, before);
  state.counters["decisions"] = static_cast<double>(ts.trace.size());
  state.counters["holes"] = static_cast<double>(ts.holes.size());
}

// Rendering and compiling a variant: what a core pays once per variant (a
// cache miss), for the realistic pod.
void BM_variant_compile(benchmark::State& state) {
  parsed in;
  mp::template_data d;
  d.p = &in.p;
  d.proxy_config = &data().snap->mesh().proxy_config();
  d.mesh = &data().snap->mesh().root;
  d.values = &data().snap->values();
  meshinject::tmpl::trace_state ts;
  data().snap->program().trace(mp::template_root(d), ts);
  std::string error;
  const auto before = allocations.load();
  for (auto _ : state) {
    meshinject::tmpl::render_result rendered;
    if (!data().snap->program().render(mp::template_root(d), ts.trace, rendered, error)) state.SkipWithError("render failed");
    mp::sidecar_variant v;
    if (!mp::compile_sidecar(data().snap->program(), std::move(rendered), v, error)) state.SkipWithError("not compiled");
    benchmark::DoNotOptimize(v.pool.data());
  }
  report_allocations(state, before);
}

#if __has_include("core/yaml_reader.hpp")
// The same with the compile's workspace (YAML reader, scratch) kept between
// compiles, as a core keeps it, and the snapshot's shared text.
void BM_variant_compile_kept_reader(benchmark::State& state) {
  parsed in;
  mp::template_data d;
  d.p = &in.p;
  d.proxy_config = &data().snap->mesh().proxy_config();
  d.mesh = &data().snap->mesh().root;
  d.values = &data().snap->values();
  meshinject::tmpl::trace_state ts;
  data().snap->program().trace(mp::template_root(d), ts);
  std::string error;
  mp::compile_workspace workspace;
  const auto before = allocations.load();
  for (auto _ : state) {
    meshinject::tmpl::render_result rendered;
    if (!data().snap->program().render(mp::template_root(d), ts.trace, rendered, error)) state.SkipWithError("render failed");
    mp::sidecar_variant v;
    if (!mp::compile_sidecar(data().snap->program(), rendered, v, error, workspace, data().snap->shared_text()))
      state.SkipWithError("not compiled");
    benchmark::DoNotOptimize(v.pool.data());
  }
  report_allocations(state, before);
}
BENCHMARK(BM_variant_compile_kept_reader);

// Reading the realistic pod's rendered template alone, with a warm reader.
void BM_yaml_read_rendered(benchmark::State& state) {
  parsed in;
  mp::template_data d;
  d.p = &in.p;
  d.proxy_config = &data().snap->mesh().proxy_config();
  d.mesh = &data().snap->mesh().root;
  d.values = &data().snap->values();
  meshinject::tmpl::trace_state ts;
  data().snap->program().trace(mp::template_root(d), ts);
  std::string error;
  meshinject::tmpl::render_result rendered;
  data().snap->program().render(mp::template_root(d), ts.trace, rendered, error);
  meshinject::core::yaml::reader reader;
  reader.read(rendered.text);
  const auto before = allocations.load();
  for (auto _ : state)
    if (!reader.read(rendered.text)) state.SkipWithError("not read");
  report_allocations(state, before);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * rendered.text.size()));
  state.counters["nodes"] = static_cast<double>(reader.node_count());
}
BENCHMARK(BM_yaml_read_rendered);
#endif

// The whole pipeline when the variant is not cached: an engine that holds one
// variant (of a third shape) serves two other shapes in turn, so every request
// renders and compiles its variant on the reactor.
void BM_pipeline_miss(benchmark::State& state) {
  json review = json::parse(data().realistic);
  json held = review, other = review;
  held["request"]["object"]["metadata"]["annotations"]["sidecar.istio.io/interceptionMode"] = "NONE";
  held["request"]["object"]["metadata"]["annotations"]["status.sidecar.istio.io/port"] = "0";
  other["request"]["object"]["metadata"]["annotations"]["status.sidecar.istio.io/port"] = "0";
  mp::engine engine(data().snap, 1);
  padded held_body(held.dump()), a(review.dump()), b(other.dump());
  engine.handle(held_body.buf.data(), held_body.len, held_body.buf.size());
  for (int i = 0; i < 3; ++i) {
    engine.handle(a.buf.data(), a.len, a.buf.size());
    engine.handle(b.buf.data(), b.len, b.buf.size());
  }
  const auto before = allocations.load();
  bool flip = false;
  for (auto _ : state) {
    const padded& body = flip ? b : a;
    flip = !flip;
    auto r = engine.handle(body.buf.data(), body.len, body.buf.size());
    if (r.kind != mp::outcome::injected) state.SkipWithError("not injected");
    if (!r.compiled_variant) state.SkipWithError("the variant was cached");
    benchmark::DoNotOptimize(r.body.data());
  }
  report_allocations(state, before);
  state.SetLabel(data().conformance ? "istio-1.1 template" : "istio-1.1 example config");
}

void BM_base64(benchmark::State& state) {
  const std::string patch(static_cast<std::size_t>(state.range(0)), 'x');
  std::string out(mp::base64_encoded_size(patch.size()), '\0');
  for (auto _ : state) benchmark::DoNotOptimize(mp::base64_encode(patch, out.data()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * patch.size()));
}

// A pod that is skipped (opt-out): parse + decide + a response without patch.
void BM_pipeline_skip(benchmark::State& state) {
  json review = json::parse(data().realistic);
  review["request"]["object"]["metadata"]["annotations"]["sidecar.istio.io/inject"] = "false";
  mp::engine engine(data().snap);
  padded body(review.dump());
  for (int i = 0; i < 3; ++i) engine.handle(body.buf.data(), body.len, body.buf.size());
  const auto before = allocations.load();
  for (auto _ : state) {
    auto r = engine.handle(body.buf.data(), body.len, body.buf.size());
    benchmark::DoNotOptimize(r.body.data());
  }
  report_allocations(state, before);
}

BENCHMARK(BM_pipeline_realistic);
BENCHMARK(BM_pipeline_1500_env);
BENCHMARK(BM_pipeline_64kb);
BENCHMARK(BM_pipeline_skip);
BENCHMARK(BM_parse);
BENCHMARK(BM_decide);
BENCHMARK(BM_validate_annotations);
BENCHMARK(BM_trace);
BENCHMARK(BM_variant_compile);
BENCHMARK(BM_pipeline_miss);
BENCHMARK(BM_base64)->Arg(4096)->Arg(65536);

}  // namespace

BENCHMARK_MAIN();
