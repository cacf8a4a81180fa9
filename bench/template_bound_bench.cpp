// What a pod that hits the template step bound costs, and what it does to the
// other requests of the same core. One engine (one reactor's) runs a Istio
// 1.28-shaped config whose template ranges over containers x containers x ports:
// a small pod renders, a pod of 60 containers with 40 ports each would take
// 144,000 iterations and is refused at the default bound (30,000 steps).
//
// BM_small_pod, BM_pod_hitting_the_bound: one request each, alone.
// BM_small_pods_p99/mix: the latency of small pods, one request at a time as a
// reactor serves them, with every `mix`-th small pod queued behind a
// bound-hitting pod that arrived just before it (0: none); reports the small
// pods' p50 and p99 in microseconds, the wait included.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "patch/injector.hpp"

namespace {

namespace mp = meshinject::patch;

const char* const config = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    spec:
      containers:
      - name: istio-proxy
        image: proxy
        env:
    {{- range $c := .Spec.Containers }}{{ range $d := $.Spec.Containers }}{{ range $e := $c.Ports }}
        - name: "{{ $c.Name }}-{{ $d.Name }}-{{ $e.ContainerPort }}"
          value: "x"
    {{- end }}{{ end }}{{ end }}
)";

std::string review_of(int containers, int ports) {
  std::string pod = R"({"metadata":{"name":"p","namespace":"default"},"spec":{"containers":[)";
  for (int c = 0; c < containers; ++c) {
    if (c) pod += ',';
    pod += R"({"name":"c)" + std::to_string(c) + R"(","image":"app","ports":[)";
    for (int p = 0; p < ports; ++p) pod += (p ? "," : "") + std::string(R"({"containerPort":)") + std::to_string(8000 + p) + "}";
    pod += "]}";
  }
  pod += "]}}";
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","object":)" +
         pod + "}}";
}

mp::engine& shared_engine() {
  static mp::engine e([] {
    mp::config_sources s;
    s.inject_config_text = config;
    s.inject_config_name = "bench-config.yaml";
    return mp::snapshot::build(s);
  }());
  return e;
}

struct request {
  std::string body;
  std::size_t size;
  explicit request(std::string text) : body(std::move(text)), size(body.size()) {
    body.resize(size + simdjson::SIMDJSON_PADDING);
  }
};

bool handle(mp::engine& e, request& r) {
  const mp::injection_result out = e.handle(r.body.data(), r.size, r.body.size());
  return out.body.find("\"allowed\":true") != std::string_view::npos;
}

void BM_small_pod(benchmark::State& state) {
  request small(review_of(3, 2));
  mp::engine& e = shared_engine();
  if (!handle(e, small)) state.SkipWithError("the small pod was not injected");
  for (auto _ : state) benchmark::DoNotOptimize(handle(e, small));
}
BENCHMARK(BM_small_pod);

void BM_pod_hitting_the_bound(benchmark::State& state) {
  request heavy(review_of(60, 40));
  mp::engine& e = shared_engine();
  if (handle(e, heavy)) state.SkipWithError("the heavy pod was not refused");
  for (auto _ : state) benchmark::DoNotOptimize(handle(e, heavy));
}
BENCHMARK(BM_pod_hitting_the_bound);

void BM_small_pods_p99(benchmark::State& state) {
  const int mix = static_cast<int>(state.range(0));
  request small(review_of(3, 2));
  request heavy(review_of(60, 40));
  mp::engine& e = shared_engine();
  std::vector<double> micros;
  micros.reserve(1 << 16);
  int n = 0;
  for (auto _ : state) {
    // The small pod arrived as the heavy one started: it waits for it, as a
    // request queued on the same reactor does.
    const auto start = std::chrono::steady_clock::now();
    if (mix > 0 && ++n % mix == 0) benchmark::DoNotOptimize(handle(e, heavy));
    benchmark::DoNotOptimize(handle(e, small));
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(micros.begin(), micros.end());
  if (!micros.empty()) {
    state.counters["small_p50_us"] = micros[micros.size() / 2];
    state.counters["small_p99_us"] = micros[micros.size() * 99 / 100];
  }
}
BENCHMARK(BM_small_pods_p99)->Arg(0)->Arg(10)->Arg(2);

}  // namespace

BENCHMARK_MAIN();
