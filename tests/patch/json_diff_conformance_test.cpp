// The difference between each Istio 1.28 kube-inject input and its golden
// (the pod of a Pod, or the pod template of a workload), applied with
// nlohmann-json, gives the golden: apply(input, diff(input, golden)) == golden.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "patch/json_diff.hpp"
#include "tests/support/support.hpp"

namespace {

namespace json = meshinject::core::json;
namespace mt = meshinject::test;
namespace smp = meshinject::patch::smp;
using nl = nlohmann::json;

// The pod of a one-document Pod or workload file; null for anything else.
nl pod_of(const std::filesystem::path& file) {
  const std::string text = mt::read_file(file);
  std::size_t documents = 0;
  for (const YAML::Node& d : YAML::LoadAll(text)) documents += d.IsNull() ? 0 : 1;
  if (documents != 1) return nl();
  const nl doc = mt::yaml_to_json(text);
  const std::string kind = doc.value("kind", "");
  if (kind == "Pod") return doc;
  if (kind == "CronJob") return doc["spec"]["jobTemplate"]["spec"]["template"];
  for (const char* k : {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "ReplicationController",
                        "DeploymentConfig"})
    if (kind == k) return doc["spec"]["template"];
  return nl();
}

TEST(json_diff_conformance, every_single_pod_golden_is_reached_from_its_input) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const auto dir = root / "istio-1.28" / "inject";
  meshinject::core::arena a;
  simdjson::dom::parser parser;
  meshinject::patch::json_differ differ;
  std::size_t checked = 0, ops = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto input = entry.path();
    if (input.extension() != ".yaml" || input.filename().string().find(".iop.") != std::string::npos) continue;
    const auto golden = std::filesystem::path(input.string() + ".injected");
    if (!std::filesystem::exists(golden)) continue;
    const nl from = pod_of(input);
    const nl to = pod_of(golden);
    if (from.is_null() || to.is_null()) continue;
    SCOPED_TRACE(input.filename().string());
    a.reset();
    json::value x, y;
    ASSERT_FALSE(json::parse(from.dump(), parser, a, x));
    ASSERT_FALSE(json::parse(to.dump(), parser, a, y));
    std::string out;
    ASSERT_FALSE(differ.diff(x, y, &smp::pod(), a, out));
    nl applied;
    ASSERT_NO_THROW(applied = from.patch(nl::parse(out))) << out;
    EXPECT_EQ(applied, to) << out;
    ++checked;
    ops += differ.operations();
  }
  EXPECT_GE(checked, 40u) << "single-pod goldens found";
  std::cout << "checked " << checked << " goldens, " << ops << " operations\n";
}

TEST(json_diff_conformance, hello_injects_its_init_containers_with_one_add) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const auto dir = root / "istio-1.28" / "inject";
  const nl from = pod_of(dir / "hello.yaml");
  const nl to = pod_of(dir / "hello.yaml.injected");
  meshinject::core::arena a;
  simdjson::dom::parser parser;
  meshinject::patch::json_differ differ;
  json::value x, y;
  ASSERT_FALSE(json::parse(from.dump(), parser, a, x));
  ASSERT_FALSE(json::parse(to.dump(), parser, a, y));
  std::string out;
  ASSERT_FALSE(differ.diff(x, y, &smp::pod(), a, out));
  std::size_t init_ops = 0;
  for (const auto& op : nl::parse(out))
    if (op["path"].get<std::string>().rfind("/spec/initContainers", 0) == 0) ++init_ops;
  EXPECT_EQ(init_ops, 1u) << out;
}

}  // namespace
