// Every TestWebhookInject case of Istio 1.2 (conformance/istio-1.2/webhook,
// described in its CASES.md), compared by meaning: the expected patch and ours
// are applied to the same pod with an independent RFC 6902 implementation
// (nlohmann-json) and the resulting trees compared.

#include <gtest/gtest.h>

#include <regex>

#include "tests/support/engine_fixture.hpp"

namespace {

using meshinject::test::json;
namespace mt = meshinject::test;

struct webhook_case {
  int id;
  const char* pod;
  const char* tmpl;
  const char* patch;
  bool stale_probe_indices;  // upstream patch uses pre-removal indices (CASES.md)
};

const webhook_case cases[] = {
    {0, "TestWebhookInject.yaml", nullptr, "TestWebhookInject.patch", false},
    {1, "TestWebhookInject_no_initContainers.yaml", nullptr, "TestWebhookInject_no_initContainers.patch", false},
    {2, "TestWebhookInject_no_containers.yaml", nullptr, "TestWebhookInject_no_containers.patch", false},
    {3, "TestWebhookInject_no_volumes.yaml", nullptr, "TestWebhookInject_no_volumes.patch", false},
    {4, "TestWebhookInject_no_imagePullSecrets.yaml", nullptr, "TestWebhookInject_no_imagePullSecrets.patch", false},
    {5, "TestWebhookInject_no_volumes_imagePullSecrets.yaml", nullptr,
     "TestWebhookInject_no_volumes_imagePullSecrets.patch", false},
    {6, "TestWebhookInject_no_containers_volumes_imagePullSecrets.yaml", nullptr,
     "TestWebhookInject_no_containers_volumes_imagePullSecrets.patch", false},
    {7, "TestWebhookInject_no_containers_volumes.yaml", nullptr, "TestWebhookInject_no_containers_volumes.patch",
     false},
    {8, "TestWebhookInject_no_containers_imagePullSecrets.yaml", nullptr,
     "TestWebhookInject_no_containers_imagePullSecrets.patch", false},
    {9, "TestWebhookInject_no_initContainers_containers.yaml", nullptr,
     "TestWebhookInject_no_initContainers_containers.patch", false},
    {10, "TestWebhookInject_no_initContainers_volumes.yaml", nullptr,
     "TestWebhookInject_no_initContainers_volumes.patch", false},
    {11, "TestWebhookInject_no_initContainers_imagePullSecrets.yaml", nullptr,
     "TestWebhookInject_no_initContainers_imagePullSecrets.patch", false},
    {12, "TestWebhookInject_no_containers_volumes_imagePullSecrets.yaml", nullptr,
     "TestWebhookInject_no_containers_volumes_imagePullSecrets.patch", false},
    {13, "TestWebhookInject_no_initContainers_volumes_imagePullSecrets.yaml", nullptr,
     "TestWebhookInject_no_initContainers_volumes_imagePullSecrets.patch", false},
    {14, "TestWebhookInject_no_initContainers_containers_volumes.yaml", nullptr,
     "TestWebhookInject_no_initContainers_containers_volumes.patch", false},
    {15, "TestWebhookInject_no_initContainers_containers_imagePullSecrets.yaml", nullptr,
     "TestWebhookInject_no_initContainers_containers_imagePullSecrets.patch", false},
    {16, "TestWebhookInject_no_initContainers_containers_volumes_imagePullSecrets.yaml", nullptr,
     "TestWebhookInject_no_initcontainers_containers_volumes_imagePullSecrets.patch", false},
    {17, "TestWebhookInject_replace.yaml", nullptr, "TestWebhookInject_replace.patch", false},
    {18, "TestWebhookInject_replace_backwards_compat.yaml", nullptr, "TestWebhookInject_replace_backwards_compat.patch",
     false},
    {19, "TestWebhookInject_http_probe_rewrite.yaml", "TestWebhookInject_http_probe_rewrite_template.yaml",
     "TestWebhookInject_http_probe_rewrite.patch", true},
    {20, "TestWebhookInject_http_probe_nosidecar_rewrite.yaml",
     "TestWebhookInject_http_probe_nosidecar_rewrite_template.yaml",
     "TestWebhookInject_http_probe_nosidecar_rewrite.patch", false},
    {21, "TestWebhookInject_https_probe_rewrite.yaml", "TestWebhookInject_https_probe_rewrite_template.yaml",
     "TestWebhookInject_https_probe_rewrite.patch", true},
    {22, "TestWebhookInject_http_probe_rewrite_enabled_via_annotation.yaml",
     "TestWebhookInject_http_probe_rewrite_enabled_via_annotation_template.yaml",
     "TestWebhookInject_http_probe_rewrite_enabled_via_annotation.patch", true},
    {23, "TestWebhookInject_http_probe_rewrite_disabled_via_annotation.yaml",
     "TestWebhookInject_http_probe_rewrite_disabled_via_annotation_template.yaml",
     "TestWebhookInject_http_probe_rewrite_disabled_via_annotation.patch", false},
};

// CASES.md: shift each probe `replace` path's container index down by the
// number of containers the patch removed before it.
json fix_stale_probe_indices(json patch) {
  std::vector<int> removed;
  const std::regex remove_re(R"(^/spec/containers/(\d+)$)");
  const std::regex probe_re(R"(^/spec/containers/(\d+)/(readinessProbe|livenessProbe)/httpGet$)");
  for (const auto& op : patch) {
    std::smatch m;
    const std::string path = op["path"];
    if (op["op"] == "remove" && std::regex_match(path, m, remove_re)) removed.push_back(std::stoi(m[1]));
  }
  for (auto& op : patch) {
    std::smatch m;
    const std::string path = op["path"];
    if (op["op"] == "replace" && std::regex_match(path, m, probe_re)) {
      const int index = std::stoi(m[1]);
      int shift = 0;
      for (int r : removed) shift += r < index ? 1 : 0;
      op["path"] = "/spec/containers/" + std::to_string(index - shift) + "/" + std::string(m[2]) + "/httpGet";
    }
  }
  return patch;
}

class webhook_conformance : public ::testing::TestWithParam<webhook_case> {};

TEST_P(webhook_conformance, patch_means_what_upstream_means) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const webhook_case& c = GetParam();
  const auto dir = root / "istio-1.2" / "webhook";
  const std::string tmpl = mt::read_file(dir / (c.tmpl ? c.tmpl : "TestWebhookInject_template.yaml"));
  auto snap = mt::make_snapshot(mt::injection_config_text(tmpl), "", "unit-test-fake-version");
  meshinject::patch::engine engine(snap);

  const json pod = mt::base_pod(mt::yaml_to_json(mt::read_file(dir / c.pod)));
  const json response = mt::run_review(engine, mt::make_review(pod));
  ASSERT_TRUE(response["response"]["allowed"].get<bool>()) << response.dump();
  const json ours = mt::response_patch(response);
  ASSERT_TRUE(ours.is_array()) << "no patch: " << response.dump();
  EXPECT_EQ(response["response"]["patchType"], "JSONPatch");

  json expected = json::parse(mt::read_file(dir / c.patch));
  if (c.stale_probe_indices) {
    // Confirm the upstream patch really cannot be applied as written.
    EXPECT_ANY_THROW(mt::apply_patch(pod, expected));
    expected = fix_stale_probe_indices(expected);
  }
  const json want = mt::apply_patch(pod, expected);
  json got;
  ASSERT_NO_THROW(got = mt::apply_patch(pod, ours)) << "our patch does not apply: " << ours.dump(2);
  EXPECT_EQ(mt::semantic_diff(want, got), "") << "case " << c.id << "\nours: " << ours.dump(2)
                                              << "\nexpected: " << expected.dump(2);
}

INSTANTIATE_TEST_SUITE_P(istio_1_2, webhook_conformance, ::testing::ValuesIn(cases),
                         [](const auto& test_info) { return "case_" + std::to_string(test_info.param.id); });

}  // namespace
