// The YAML that real templates render, read by core/yaml_reader and by
// yaml-cpp: both must read every rendering, to the same tree. The corpus is
// Istio 1.1's production template and Istio 1.2's webhook test templates,
// each rendered (as a variant compile renders it: placeholders for pod values)
// for every pod of the conformance data: the realistic review, the webhook
// test pods and the pod templates of the kube-inject inputs, some with the
// annotations that switch the templates' branches.

#include <gtest/gtest.h>

#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

#include "core/mesh_config.hpp"
#include "patch/admission.hpp"
#include "patch/template_data.hpp"
#include "template/program.hpp"
#include "tests/support/support.hpp"
#include "tests/support/yaml_oracle.hpp"

namespace {

namespace mt = meshinject::test;
namespace core = meshinject::core;
namespace patch = meshinject::patch;
namespace tmpl = meshinject::tmpl;
namespace fs = std::filesystem;
using mt::json;

struct corpus {
  std::vector<json> pods;
  std::size_t renderings = 0;
  std::size_t disagreements = 0;
};

// Renders `text` for every pod and compares the two readers on each rendering.
void check_template(const std::string& name, const std::string& text, const core::mesh_config& mesh, corpus& c) {
  const core::config_node values = core::config_node::make_map();
  const auto program_ptr = patch::compile_template(text, mesh, values);
  const tmpl::program& program = *program_ptr;
  core::yaml::reader reader;
  for (std::size_t k = 0; k < c.pods.size(); ++k) {
    const std::string pod_text = mt::with_metadata(c.pods[k]).dump();
    simdjson::dom::parser parser;
    simdjson::dom::element el;
    ASSERT_FALSE(parser.parse(pod_text).get(el));
    patch::pod p;
    std::string error;
    ASSERT_TRUE(patch::parse_pod(el, "default", p, error)) << error;
    patch::template_data data;
    data.p = &p;
    data.proxy_config = &mesh.proxy_config();
    data.mesh = &mesh.root;
    data.values = &values;
    tmpl::trace_state state;
    if (!program.trace(patch::template_root(data), state)) continue;  // a pod the template refuses (a bad annotation)
    tmpl::render_result rendered;
    ASSERT_TRUE(program.render(patch::template_root(data), state.trace, rendered, error)) << error;
    ++c.renderings;
    const std::string diff = mt::yaml_differential(rendered.text, reader);
    if (!diff.empty()) ++c.disagreements;
    EXPECT_EQ(diff, "") << name << ", pod " << k << ":\n" << rendered.text;
  }
}

class rendered_yaml : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto dir = mt::conformance_dir();
    if (!dir) GTEST_SKIP() << "conformance data not found (MESHINJECT_CONFORMANCE_DIR)";
    root_ = *dir;
    c_.pods.push_back(json::parse(mt::read_file(root_ / "reviews" / "checkout-pod.json"))["request"]["object"]);
    for (const auto& e : fs::directory_iterator(root_ / "istio-1.2" / "webhook"))
      if (e.path().extension() == ".yaml" && e.path().filename().string().rfind("TestWebhookInject", 0) == 0 &&
          e.path().filename().string().find("_template") == std::string::npos)
        c_.pods.push_back(mt::yaml_to_json(mt::read_file(e.path())));
    for (const auto& e : fs::recursive_directory_iterator(root_ / "istio-1.2" / "inject")) {
      if (e.path().extension() != ".yaml") continue;
      mt::pods_in_yaml_file(e.path(), c_.pods);
    }
    // Branches the plain pods leave alone.
    json pod = c_.pods.front();
    pod["metadata"]["annotations"]["sidecar.istio.io/interceptionMode"] = "TPROXY";
    pod["metadata"]["annotations"]["sidecar.istio.io/userVolume"] = R"({"v":{"emptyDir":{}}})";
    pod["metadata"]["annotations"]["sidecar.istio.io/userVolumeMount"] = R"({"v":{"mountPath":"/v"}})";
    pod["metadata"]["annotations"]["sidecar.istio.io/bootstrapOverride"] = "custom";
    pod["metadata"]["annotations"]["status.sidecar.istio.io/port"] = "0";
    pod["metadata"]["annotations"]["sidecar.istio.io/proxyCPU"] = "3";
    c_.pods.push_back(pod);
  }

  fs::path root_;
  corpus c_;
};

TEST_F(rendered_yaml, istio_1_1_production_template) {
  const json config = mt::yaml_to_json(mt::read_file(root_ / "istio-1.1" / "injector-config.yaml"));
  const core::mesh_config mesh = core::load_mesh_config(mt::read_file(root_ / "istio-1.1" / "mesh.yaml"), "mesh.yaml");
  check_template("istio-1.1", config["template"].get<std::string>(), mesh, c_);
  EXPECT_GE(c_.renderings, 75u);  // 79 pods render with the 1.1 data
  EXPECT_EQ(c_.disagreements, 0u);
}

TEST_F(rendered_yaml, istio_1_2_webhook_templates) {
  const core::mesh_config mesh = core::default_mesh_config();
  std::size_t templates = 0;
  for (const auto& e : fs::directory_iterator(root_ / "istio-1.2" / "webhook")) {
    if (e.path().filename().string().find("_template.yaml") == std::string::npos) continue;
    ++templates;
    check_template(e.path().filename().string(), mt::read_file(e.path()), mesh, c_);
  }
  EXPECT_EQ(templates, 6u);
  EXPECT_GE(c_.renderings, 450u);  // 6 templates x 79 pods
  EXPECT_EQ(c_.disagreements, 0u);
}

}  // namespace
