// kube-inject gives what the webhook gives. For every document of every Istio
// kube-inject input, the pod template is sent through the webhook path
// (engine::handle, an AdmissionReview as the apiserver would send it), the
// webhook's patch is applied with nlohmann-json (the independent RFC 6902
// oracle), and the result must equal, by meaning, the pod template in
// kube-inject's output read back from its YAML. Documents the webhook leaves
// alone must come out byte for byte.
//
// The one intended difference: the template's .DeploymentMeta is the pod's own
// metadata in the webhook (as in Istio 1.1) and the workload's in kube-inject
// (as istioctl). The configs below therefore read .ObjectMeta where theirs read
// .DeploymentMeta; kube_inject_test.cpp checks .DeploymentMeta separately.
#include <gtest/gtest.h>

#include "cmd/yaml_io.hpp"
#include "tests/cmd/cli_runner.hpp"
#include "tests/support/engine_fixture.hpp"

namespace meshinject::test {
namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// Pointers to the pod templates of a Kubernetes object (the test's own finder).
void pod_templates(const json& obj, const std::string& at, std::vector<std::string>& out) {
  if (!obj.is_object()) return;
  const std::string kind = obj.value("kind", "");
  if (kind == "List") {
    for (std::size_t i = 0; i < obj.value("items", json::array()).size(); ++i)
      pod_templates(obj["items"][i], at + "/items/" + std::to_string(i), out);
  } else if (kind == "Pod") {
    out.push_back(at);
  } else if (kind == "CronJob") {
    out.push_back(at + "/spec/jobTemplate/spec/template");
  } else if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "ReplicaSet" ||
             kind == "Job" || kind == "ReplicationController" || kind == "DeploymentConfig") {
    out.push_back(at + "/spec/template");
  }
}

std::string owner_of(const std::string& pointer) {
  for (const std::string suffix : {"/spec/jobTemplate/spec/template", "/spec/template"})
    if (pointer.size() >= suffix.size() && pointer.compare(pointer.size() - suffix.size(), suffix.size(), suffix) == 0)
      return pointer.substr(0, pointer.size() - suffix.size());
  return pointer;
}

std::vector<std::filesystem::path> inputs(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "istio-1.2" / "inject"))
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

struct config_case {
  std::string name;
  std::string config;
  std::string mesh;
};

void expect_webhook_equivalence(const config_case& cfg, const std::filesystem::path& conformance) {
  temp_dir dir;
  const auto config_file = dir.path() / "config.yaml";
  const auto mesh_file = dir.path() / "mesh.yaml";
  write_file(config_file, cfg.config);
  write_file(mesh_file, cfg.mesh);
  patch::engine webhook(make_snapshot(cfg.config, cfg.mesh));

  int injected = 0, skipped = 0, refused = 0;
  for (const auto& file : inputs(conformance)) {
    SCOPED_TRACE(cfg.name + ": " + file.string());
    std::vector<std::string> argv = {"kube-inject", "-f", file.string(), "--injectConfigFile", config_file.string()};
    if (!cfg.mesh.empty()) argv.insert(argv.end(), {"--meshConfigFile", mesh_file.string()});
    const cli_result r = run_cli(argv);

    const auto in_chunks = cmd::yaml::split_documents(read_file(file));
    const auto out_chunks = cmd::yaml::split_documents(r.out);
    bool any_refused = false;
    std::size_t out_index = 0;
    for (const auto& chunk : in_chunks) {
      const std::string in_text = chunk.separator + chunk.body;
      json in_doc = yaml_to_json(in_text);
      std::vector<std::string> templates;
      pod_templates(in_doc, "", templates);
      json expected_doc = in_doc;
      bool changed = false;
      for (const auto& pointer : templates) {
        json pod = in_doc.at(json::json_pointer(pointer));
        if (!pod.is_object()) continue;
        json owner = in_doc.at(json::json_pointer(owner_of(pointer)));
        std::string ns = pod.contains("metadata") ? pod["metadata"].value("namespace", "") : "";
        if (ns.empty() && owner.contains("metadata")) ns = owner["metadata"].value("namespace", "");
        patch::injection_result result;
        json response = run_review(webhook, make_review(pod, "admission.k8s.io/v1", "uid", ns), &result);
        if (!response["response"]["allowed"].get<bool>()) {
          any_refused = true;
          ++refused;
          continue;
        }
        json patch = response_patch(response);
        if (patch.is_null()) {
          ++skipped;
          continue;
        }
        ++injected;
        changed = true;
        expected_doc[json::json_pointer(pointer)] = apply_patch(pod, patch);
      }
      if (any_refused) break;
      if (r.code != 0) continue;
      ASSERT_LT(out_index, out_chunks.size()) << "kube-inject wrote fewer documents than it read";
      const auto& out_chunk = out_chunks[out_index++];
      const std::string out_text = out_chunk.separator + out_chunk.body;
      if (!changed) {
        EXPECT_EQ(out_text, in_text) << "a document the webhook leaves alone was rewritten";
        continue;
      }
      json out_doc = yaml_to_json(out_text);
      EXPECT_EQ(semantic_diff(expected_doc, out_doc), "") << out_text;
    }
    if (any_refused) {
      // The webhook refuses a pod of this file: kube-inject must fail, write nothing, and say where.
      EXPECT_EQ(r.code, 1) << r.err;
      EXPECT_EQ(r.out, "");
      EXPECT_NE(r.err.find(file.string() + ":"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find(": document 1, "), std::string::npos) << r.err;
      continue;
    }
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(out_index, out_chunks.size()) << "kube-inject wrote more documents than it read";
  }
  // The corpus exercises all three outcomes.
  EXPECT_GT(injected, 40) << cfg.name;
  EXPECT_GE(skipped, 2) << cfg.name;
  EXPECT_GE(refused, 5) << cfg.name;
}

// The Istio 1.1 example (the former default). The embedded default's 1.28 shape
// is checked against the webhook by istio128_goldens_conformance_test.cpp.
TEST(KubeInjectConformance, GivesTheWebhooksResultWithTheIstio11Example) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const std::string config = replace_all(istio_1_1_example_config(), ".DeploymentMeta", ".ObjectMeta");
  expect_webhook_equivalence({"istio 1.1 example", config, ""}, dir);
}

TEST(KubeInjectConformance, GivesTheWebhooksResultWithIstio11sTemplate) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const std::string config =
      replace_all(read_file(dir / "istio-1.1" / "injector-config.yaml"), ".DeploymentMeta", ".ObjectMeta");
  expect_webhook_equivalence({"istio 1.1", config, read_file(dir / "istio-1.1" / "mesh.yaml")}, dir);
}

// Istio 1.1's production template as it is (.DeploymentMeta = the workload):
// every output parses, every injected pod template has exactly one istio-proxy,
// and the workload's name and namespace reach the sidecar.
TEST(KubeInjectConformance, Istio11ProductionTemplateOverEveryInput) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const auto config = dir / "istio-1.1" / "injector-config.yaml";
  const auto mesh = dir / "istio-1.1" / "mesh.yaml";
  int injected_templates = 0, files = 0;
  for (const auto& file : inputs(dir)) {
    SCOPED_TRACE(file.string());
    const cli_result r = run_cli(
        {"kube-inject", "-f", file.string(), "--injectConfigFile", config.string(), "--meshConfigFile", mesh.string()});
    ++files;
    const std::string name = file.filename().string();
    if (name.find("-bad-") != std::string::npos || name == "deployment-user-volume.yaml") {
      EXPECT_EQ(r.code, 1) << r.err;  // refused pods: see BadTrafficAnnotationsAreErrorsAtTheirLine
      continue;
    }
    ASSERT_EQ(r.code, 0) << r.err;
    for (const auto& chunk : cmd::yaml::split_documents(r.out)) {
      json doc;
      ASSERT_NO_THROW(doc = yaml_to_json(chunk.separator + chunk.body)) << chunk.separator + chunk.body;
      std::vector<std::string> templates;
      pod_templates(doc, "", templates);
      for (const auto& pointer : templates) {
        json pod = doc.at(json::json_pointer(pointer));
        const bool injected = pod.contains("metadata") && pod["metadata"].contains("annotations") &&
                              pod["metadata"]["annotations"].contains("sidecar.istio.io/status");
        if (!injected) continue;
        ++injected_templates;
        int proxies = 0;
        for (const auto& c : pod["spec"]["containers"]) proxies += c["name"] == "istio-proxy";
        EXPECT_EQ(proxies, 1) << pointer;
      }
    }
  }
  EXPECT_GT(files, 50);
  EXPECT_GT(injected_templates, 40);

  // Without an app label, --serviceCluster is .DeploymentMeta's name.namespace: the workload's.
  const auto r =
      run_cli({"kube-inject", "-f", "-", "--injectConfigFile", config.string(), "--meshConfigFile", mesh.string()},
              "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
              "spec:\n  template:\n    metadata: {labels: {tier: front}}\n"
              "    spec: {containers: [{name: web, image: web}]}\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("- --serviceCluster\n        - web.shop\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace meshinject::test
