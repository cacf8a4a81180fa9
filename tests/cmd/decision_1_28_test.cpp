// A config in Istio >= 1.9's shape is decided by Istio 1.28's rules in every
// front end: explain, kube-inject and the webhook (core/decision tests each rule).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/cmd/cli_runner.hpp"
#include "tests/support/engine_fixture.hpp"

namespace meshinject::test {
namespace {

const char* const named_config =
    "policy: enabled\n"
    "defaultTemplates: [sidecar]\n"
    "templates:\n"
    "  sidecar: |\n"
    "    spec:\n"
    "      containers:\n"
    "      - name: istio-proxy\n"
    "        image: proxy\n";

std::string pod_yaml(const std::string& ns, const std::string& annotation) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: " + ns +
         "\n  annotations: {sidecar.istio.io/inject: \"" + annotation +
         "\"}\nspec: {containers: [{name: web, image: web}]}\n";
}

class Decision128 : public ::testing::Test {
 protected:
  temp_dir dir_;
  std::string config_ = (dir_.path() / "config.yaml").string();
  void SetUp() override { write_file(config_, named_config); }

  json explain(const std::string& pod) {
    const cli_result r = run_cli({"explain", "-f", "-", "--inject-config", config_, "--output", "json"}, pod);
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(r.out);
  }
};

TEST_F(Decision128, ExplainSkipsIstio128sIgnoredNamespaces) {
  for (const char* ns : {"kube-node-lease", "local-path-storage"}) {
    const json j = explain(pod_yaml(ns, "true"));
    EXPECT_EQ(j["inject"], false) << ns;
    EXPECT_EQ(j["reason"], "ignored-namespace") << ns;
  }
}

TEST_F(Decision128, ExplainTakesOnlyTrueAndFalse) {
  json j = explain(pod_yaml("shop", "false"));
  EXPECT_EQ(j["reason"], "annotation-opt-out");
  j = explain(pod_yaml("shop", "no"));  // an opt-out for a 1.1 config; invalid here: policy decides
  EXPECT_EQ(j["inject"], true);
  EXPECT_EQ(j["reason"], "policy-enabled");
  ASSERT_EQ(j["warnings"].size(), 1u) << j["warnings"].dump();
  EXPECT_NE(j["warnings"][0].get<std::string>().find("is not one of true, false"), std::string::npos)
      << j["warnings"].dump();
}

TEST_F(Decision128, KubeInjectDecidesTheSame) {
  cli_result r = run_cli({"kube-inject", "-f", "-", "--injectConfigFile", config_}, pod_yaml("shop", "off"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("istio-proxy"), std::string::npos) << "\"off\" is no opt-out for 1.28\n" << r.out;
  EXPECT_NE(r.err.find("is not one of true, false"), std::string::npos) << r.err;
  r = run_cli({"kube-inject", "-f", "-", "--injectConfigFile", config_}, pod_yaml("kube-node-lease", "true"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("skipping injection (ignored-namespace)"), std::string::npos) << r.err;
}

TEST_F(Decision128, TheWebhookDecidesTheSame) {
  patch::engine webhook(make_snapshot(named_config));
  json response;
  auto review = [&](const std::string& ns, const std::string& value) {
    const json pod = {{"metadata", {{"name", "web"}, {"annotations", {{"sidecar.istio.io/inject", value}}}}},
                      {"spec", {{"containers", {{{"name", "web"}, {"image", "web"}}}}}}};
    patch::injection_result r;
    response = run_review(webhook, make_review(pod, "admission.k8s.io/v1", "uid", ns), &r);
    return r;
  };
  patch::injection_result r = review("local-path-storage", "true");
  EXPECT_EQ(r.decision.reason, core::decision_reason::ignored_namespace);
  r = review("shop", "Yes");
  EXPECT_TRUE(r.decision.inject);
  EXPECT_EQ(r.decision.reason, core::decision_reason::policy_enabled);
  EXPECT_TRUE(r.decision.has_warning());  // the value itself viewed the request buffer, gone now
  // The warning names the values 1.28 accepts, not 1.1's yes/on/no/off.
  ASSERT_EQ(response["response"]["warnings"].size(), 1u) << response.dump();
  EXPECT_EQ(response["response"]["warnings"][0],
            "annotation sidecar.istio.io/inject=\"Yes\" is not one of true, false; it is ignored");
  r = review("shop", "false");
  EXPECT_EQ(r.decision.reason, core::decision_reason::annotation_opt_out);
}

}  // namespace
}  // namespace meshinject::test
