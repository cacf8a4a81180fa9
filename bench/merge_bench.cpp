// Istio 1.28's injection semantics on the request path, stage by stage: the
// pod's tree from the request's simdjson document, the strategic merge of the
// sidecar over it (with the template pod, the native-sidecar move and the
// re-application of user containers), and the JSON Patch as the difference.
//
// Inputs: the pod of the realistic review (conformance/reviews/checkout-pod.json)
// and, as the rendered sidecar, the injected parts of Istio 1.28's hello golden
// (its istio-init and istio-proxy, volumes, labels and annotations). Without
// the conformance data: the repository's own review (load/reviews/orders-pod.json)
// and a smaller sidecar written here; the label says which.
//
// Every benchmark reports heap allocations per iteration (allocs/iter), counted
// by a replaced global operator new, after a warm-up.

#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/json_tree.hpp"
#include "patch/json_diff.hpp"
#include "patch/pod_overlay.hpp"
#include "patch/strategic_merge.hpp"

#include "bench/heap_count.hpp"

using meshinject::bench::allocations;

namespace {

namespace json = meshinject::core::json;
namespace mp = meshinject::patch;
namespace smp = meshinject::patch::smp;
using nl = nlohmann::json;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nl yaml_node_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    nl o = nl::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_node_to_json(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    nl a = nl::array();
    for (const auto& item : n) a.push_back(yaml_node_to_json(item));
    return a;
  }
  if (n.IsNull()) return nullptr;
  // Scalars the golden's pod holds: quoted strings stay strings; plain ones
  // that read as JSON (numbers, booleans) become those.
  const std::string s = n.as<std::string>();
  if (n.Tag() != "!") {
    const nl parsed = nl::parse(s, nullptr, false);
    if (!parsed.is_discarded() && (parsed.is_number() || parsed.is_boolean())) return parsed;
  }
  return s;
}

struct inputs {
  std::string pod;      // JSON
  std::string overlay;  // JSON: what the sidecar template renders
  std::string label;
};

const inputs& data() {
  static const inputs in = [] {
    inputs d;
    const std::filesystem::path root(MESHINJECT_CONFORMANCE_DIR);
    const auto review = root / "reviews" / "checkout-pod.json";
    const auto golden = root / "istio-1.28" / "inject" / "hello.yaml.injected";
    if (std::filesystem::exists(review) && std::filesystem::exists(golden)) {
      d.pod = nl::parse(slurp(review))["request"]["object"].dump();
      const nl pod = yaml_node_to_json(YAML::LoadAll(slurp(golden)).at(0))["spec"]["template"];
      nl overlay;
      overlay["metadata"]["labels"] = pod["metadata"]["labels"];
      overlay["metadata"]["annotations"] = pod["metadata"]["annotations"];
      overlay["spec"]["initContainers"] = pod["spec"]["initContainers"];
      overlay["spec"]["volumes"] = pod["spec"]["volumes"];
      d.overlay = overlay.dump();
      d.label = "checkout pod + 1.28 hello sidecar";
    } else {
      d.pod = nl::parse(slurp(std::filesystem::path(MESHINJECT_SOURCE_DIR) / "load" / "reviews" / "orders-pod.json"))
                  ["request"]["object"].dump();
      d.overlay = R"({"metadata":{"labels":{"security.istio.io/tlsMode":"istio"}},"spec":{"initContainers":[
          {"name":"istio-init","image":"proxyv2","args":["istio-iptables","-u","1337"]},
          {"name":"istio-proxy","image":"proxyv2","restartPolicy":"Always","args":["proxy","sidecar"],
           "env":[{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],
           "volumeMounts":[{"name":"istio-envoy","mountPath":"/etc/istio/proxy"}]}],
          "volumes":[{"name":"istio-envoy","emptyDir":{"medium":"Memory"}}]}})";
      d.label = "orders pod + hand-written sidecar (no conformance data)";
    }
    return d;
  }();
  return in;
}

// What a core holds across requests.
struct core_state {
  meshinject::core::arena arena{64 * 1024};
  meshinject::core::arena overlay_arena{64 * 1024};  // the rendered template, built once
  simdjson::dom::parser request_parser;
  simdjson::padded_string body;
  simdjson::dom::element pod_dom;
  json::value overlay;
  mp::pod_overlay steps;
  mp::json_differ differ;
  std::string patch;

  core_state() : body(data().pod) {
    simdjson::dom::parser p;
    if (request_parser.parse(body).get(pod_dom) != simdjson::SUCCESS) std::abort();
    if (json::parse(data().overlay, p, overlay_arena, overlay)) std::abort();
  }

  // One request: the pod's tree, the merge steps, and (with diff) the patch.
  void run(bool diff) {
    arena.reset();
    json::value original, pod, template_pod = json::value::object();
    if (json::from_simdjson(pod_dom, arena, original)) std::abort();
    if (json::deep_copy(original, arena, pod)) std::abort();
    if (steps.apply_template(pod, template_pod, overlay, true, arena)) std::abort();
    if (steps.reapply_overwritten_containers(pod, original, template_pod, {}, arena)) std::abort();
    if (!diff) return;
    patch.clear();
    if (differ.diff(original, pod, &smp::pod(), arena, patch)) std::abort();
  }
};

void report(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs/iter"] =
      benchmark::Counter(static_cast<double>(allocations.load() - before), benchmark::Counter::kAvgIterations);
  state.SetLabel(data().label);
}

void BM_tree_from_dom(benchmark::State& state) {
  core_state s;
  json::value v;
  for (int i = 0; i < 3; ++i) {
    s.arena.reset();
    (void)json::from_simdjson(s.pod_dom, s.arena, v);
  }
  const auto before = allocations.load();
  for (auto _ : state) {
    s.arena.reset();
    if (json::from_simdjson(s.pod_dom, s.arena, v)) state.SkipWithError("conversion failed");
    benchmark::DoNotOptimize(v);
  }
  report(state, before);
}

void BM_merge_sidecar(benchmark::State& state) {
  core_state s;
  for (int i = 0; i < 3; ++i) s.run(false);
  const auto before = allocations.load();
  for (auto _ : state) s.run(false);
  report(state, before);
  state.counters["arena_bytes"] = static_cast<double>(s.arena.bytes_used());
}

void BM_merge_and_diff(benchmark::State& state) {
  core_state s;
  for (int i = 0; i < 3; ++i) s.run(true);
  const auto before = allocations.load();
  for (auto _ : state) s.run(true);
  report(state, before);
  state.counters["patch_bytes"] = static_cast<double>(s.patch.size());
  state.counters["patch_ops"] = static_cast<double>(s.differ.operations());
}

// The diff alone, between the pod and the merged pod built once.
void BM_diff(benchmark::State& state) {
  core_state s;
  meshinject::core::arena trees{64 * 1024};
  json::value original, pod, template_pod = json::value::object();
  if (json::from_simdjson(s.pod_dom, trees, original) || json::deep_copy(original, trees, pod) ||
      s.steps.apply_template(pod, template_pod, s.overlay, true, trees) ||
      s.steps.reapply_overwritten_containers(pod, original, template_pod, {}, trees))
    std::abort();
  for (int i = 0; i < 3; ++i) {
    s.arena.reset();
    s.patch.clear();
    (void)s.differ.diff(original, pod, &smp::pod(), s.arena, s.patch);
  }
  const auto before = allocations.load();
  for (auto _ : state) {
    s.arena.reset();
    s.patch.clear();
    if (s.differ.diff(original, pod, &smp::pod(), s.arena, s.patch)) state.SkipWithError("diff failed");
    benchmark::DoNotOptimize(s.patch.data());
  }
  report(state, before);
  state.counters["patch_ops"] = static_cast<double>(s.differ.operations());
}

BENCHMARK(BM_tree_from_dom);
BENCHMARK(BM_merge_sidecar);
BENCHMARK(BM_diff);
BENCHMARK(BM_merge_and_diff);

}  // namespace

BENCHMARK_MAIN();
