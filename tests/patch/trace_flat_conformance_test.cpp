// trace() runs a program's flat form (template/program.cpp, flatten_traced); the
// tree walk it replaced stays as program::trace_by_walk. Both must give the same
// variant key, the same holes and the same step count for every pod of the
// conformance data: Istio 1.1's production template over the realistic review,
// the webhook test pods and the 1.2 kube-inject pod templates (plus one pod that
// takes the branches they leave alone), and Istio 1.28's chart templates over
// the 1.28 kube-inject inputs.

#include <gtest/gtest.h>

#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/mesh_config.hpp"
#include "patch/admission.hpp"
#include "patch/injector.hpp"
#include "patch/template_data.hpp"
#include "template/program.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/support.hpp"

namespace {

namespace mt = meshinject::test;
namespace core = meshinject::core;
namespace patch = meshinject::patch;
namespace tmpl = meshinject::tmpl;
namespace fs = std::filesystem;
using mt::json;

// A hole as the host reads it: its kind, scalar parts, text and what it points to.
std::string describe(const tmpl::value& v) {
  std::string out = std::to_string(static_cast<int>(v.k)) + "|" + std::to_string(v.b) + "|" + std::to_string(v.i) +
                    "|" + std::to_string(v.f) + "|" + std::string(v.s) + "|" + std::string(v.origin) + "|";
  // Items a toJSON sorted into its trace's own arena (value::late_size): compared
  // by their text below, as strings are, not by where they lie.
  out += (v.late_size != 0 ? "late " + std::to_string(v.late_size)
                           : std::to_string(reinterpret_cast<std::uintptr_t>(v.p))) + "|" +
         std::to_string(reinterpret_cast<std::uintptr_t>(v.aux)) + "|" +
         std::to_string(reinterpret_cast<std::uintptr_t>(v.type)) + "|" + (v.deferred ? "deferred|" : "|");
  tmpl::print_value(v, out);
  return out;
}

struct tally {
  std::size_t traces = 0;
  std::size_t refused = 0;  // pods the template fails on (the same way both times)
};

void compare(const std::string& name, const tmpl::program& program, const tmpl::value& root, std::size_t pod,
             tally& t) {
  tmpl::trace_state flat, walked;
  const bool flat_ok = program.trace(root, flat);
  const bool walk_ok = program.trace_by_walk(root, walked);
  ASSERT_EQ(flat_ok, walk_ok) << name << ", pod " << pod << ": " << flat.error << " / " << walked.error;
  EXPECT_EQ(flat.steps, walked.steps) << name << ", pod " << pod;
  if (!flat_ok) {
    EXPECT_EQ(flat.error, walked.error) << name << ", pod " << pod;
    ++t.refused;
    return;
  }
  ++t.traces;
  EXPECT_EQ(flat.trace, walked.trace) << name << ", pod " << pod;
  ASSERT_EQ(flat.holes.size(), walked.holes.size()) << name << ", pod " << pod;
  for (std::size_t h = 0; h < flat.holes.size(); ++h)
    EXPECT_EQ(describe(flat.holes[h]), describe(walked.holes[h])) << name << ", pod " << pod << ", hole " << h;
}

struct parsed_pod {
  std::string text;
  simdjson::dom::parser parser;
  patch::pod p;
};

std::unique_ptr<parsed_pod> parse(const json& pod_json) {
  auto out = std::make_unique<parsed_pod>();
  out->text = mt::with_metadata(pod_json).dump();
  simdjson::dom::element el;
  if (out->parser.parse(out->text).get(el)) return nullptr;
  std::string error;
  if (!patch::parse_pod(el, "default", out->p, error)) return nullptr;
  return out;
}

class trace_flat : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto dir = mt::conformance_dir();
    if (!dir) GTEST_SKIP() << "conformance data not found (MESHINJECT_CONFORMANCE_DIR)";
    root_ = *dir;
  }
  fs::path root_;
};

TEST_F(trace_flat, istio_1_1_production_template_traces_as_the_walk) {
  std::vector<json> pods;
  pods.push_back(json::parse(mt::read_file(root_ / "reviews" / "checkout-pod.json"))["request"]["object"]);
  for (const auto& e : fs::directory_iterator(root_ / "istio-1.2" / "webhook"))
    if (e.path().extension() == ".yaml" && e.path().filename().string().rfind("TestWebhookInject", 0) == 0 &&
        e.path().filename().string().find("_template") == std::string::npos)
      pods.push_back(mt::yaml_to_json(mt::read_file(e.path())));
  for (const auto& e : fs::recursive_directory_iterator(root_ / "istio-1.2" / "inject"))
    if (e.path().extension() == ".yaml") mt::pods_in_yaml_file(e.path(), pods);
  json pod = pods.front();
  pod["metadata"]["annotations"]["sidecar.istio.io/interceptionMode"] = "TPROXY";
  pod["metadata"]["annotations"]["sidecar.istio.io/userVolume"] = R"({"v":{"emptyDir":{}}})";
  pod["metadata"]["annotations"]["sidecar.istio.io/userVolumeMount"] = R"({"v":{"mountPath":"/v"}})";
  pod["metadata"]["annotations"]["sidecar.istio.io/bootstrapOverride"] = "custom";
  pod["metadata"]["annotations"]["status.sidecar.istio.io/port"] = "0";
  pod["metadata"]["annotations"]["sidecar.istio.io/proxyCPU"] = "3";
  pods.push_back(pod);
  pod["metadata"]["annotations"]["sidecar.istio.io/interceptionMode"] = "NONE";
  pods.push_back(pod);

  const auto snap = mt::make_snapshot(mt::read_file(root_ / "istio-1.1" / "injector-config.yaml"),
                                      mt::read_file(root_ / "istio-1.1" / "mesh.yaml"));
  const tmpl::program& program = snap->program();
  // The 1.1 template's top level is ifs and actions but for its two ranges
  // (userVolume, userVolumeMount) and the variable its range declares.
  EXPECT_GT(program.trace_ops(), 0U);
  EXPECT_LE(program.trace_walks(), 2U) << "of " << program.trace_ops();
  tally t;
  for (std::size_t k = 0; k < pods.size(); ++k) {
    const auto parsed = parse(pods[k]);
    if (!parsed) continue;
    patch::template_data data;
    data.p = &parsed->p;
    data.proxy_config = &snap->mesh().proxy_config();
    data.mesh = &snap->mesh().root;
    data.values = &snap->values();
    compare("istio-1.1", program, patch::template_root(data), k, t);
  }
  EXPECT_GE(t.traces, 20U);
}

TEST_F(trace_flat, istio_1_28_chart_templates_trace_as_the_walk) {
  const fs::path dir = root_ / "istio-1.28";
  if (!fs::exists(dir / "rendered" / "config.yaml")) GTEST_SKIP() << "no Istio 1.28 data";
  const auto snap = mt::make_snapshot(mt::read_file(dir / "rendered" / "config.yaml"), "", "",
                                      mt::read_file(dir / "rendered" / "values.json"));
  std::vector<fs::path> inputs;
  for (const auto& e : fs::directory_iterator(dir / "inject"))
    if (e.path().extension() == ".yaml" && e.path().filename().string().find(".iop.") == std::string::npos)
      inputs.push_back(e.path());
  std::sort(inputs.begin(), inputs.end());
  std::vector<json> pods;
  for (const fs::path& input : inputs) mt::pods_in_yaml_file(input, pods);
  ASSERT_GE(pods.size(), 10U);
  json pod = pods.front();
  pod["metadata"]["annotations"]["sidecar.istio.io/interceptionMode"] = "TPROXY";
  pod["metadata"]["annotations"]["sidecar.istio.io/proxyCPU"] = "300m";
  pod["metadata"]["annotations"]["sidecar.istio.io/proxyMemory"] = "1Gi";
  pod["metadata"]["annotations"]["status.sidecar.istio.io/port"] = "0";
  pod["metadata"]["annotations"]["sidecar.istio.io/enableCoreDump"] = "true";
  pods.push_back(pod);
  // The label chains (`index .ObjectMeta.Labels "k" | default ...`, node.hpp's
  // default_chain): the first label there, an empty one passed over, none.
  pod = pods.front();
  pod["metadata"]["labels"] = {{"service.istio.io/canonical-name", "named"},
                               {"service.istio.io/canonical-revision", ""},
                               {"app.kubernetes.io/version", "v9"},
                               {"security.istio.io/tlsMode", "disabled"},
                               {"service.istio.io/workload-name", "w"}};
  pod["metadata"]["annotations"]["sidecar.istio.io/nativeSidecar"] = "true";
  pods.push_back(pod);
  pod["metadata"]["labels"] = {{"service.istio.io/canonical-name", ""}, {"app", "a"}, {"version", "v1"}};
  pod["metadata"]["annotations"]["sidecar.istio.io/nativeSidecar"] = "";
  pods.push_back(pod);
  pod["metadata"].erase("labels");
  pods.push_back(pod);
  tally t;
  bool sidecar = false;
  for (const patch::named_program& named : snap->named_programs()) {
    if (named.gateway_controller) continue;
    sidecar = sidecar || named.name == "sidecar";
    // Its labels with their fallbacks, its ProxyMetadata lookups.
    if (named.name == "sidecar") {
      EXPECT_GE(named.program->default_chains(), 6U);
    }
    for (std::size_t k = 0; k < pods.size(); ++k) {
      const auto parsed = parse(pods[k]);
      if (!parsed) continue;
      patch::template_data data = snap->named_settings();
      data.p = &parsed->p;
      data.proxy_config = &snap->mesh().proxy_config();
      data.proxy_image = "docker.io/istio/proxyv2:1.28.0";
      compare(named.name, *named.program, patch::template_root(data), k, t);
    }
  }
  EXPECT_TRUE(sidecar);
  EXPECT_GE(t.traces, 50U);
}

}  // namespace
