// A pod another injector already injected is never silently rewritten: a status
// annotation naming another revision, or one in a newer shape than the loaded
// config (a `revision` member under a 1.1-style config), is skipped with a warning
// in every front end (core/decision tests the rule itself).
#include <gtest/gtest.h>

#include <string>

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

const std::string single_template_config = injection_config_text(
    "containers:\n"
    "- name: istio-proxy\n"
    "  image: proxy-1-1\n");

// What Istio 1.28 leaves on a pod it injected (revision "default").
const char* const status_1_28 =
    R"({"initContainers":null,"containers":["istio-proxy"],"volumes":null,"imagePullSecrets":null,"revision":"default"})";

json injected_pod(const std::string& status) {
  return {{"metadata", {{"name", "web"}, {"annotations", {{"sidecar.istio.io/status", status}}}}},
          {"spec",
           {{"containers", {{{"name", "web"}, {"image", "web"}}, {{"name", "istio-proxy"}, {"image", "istio-1-28"}}}}}}};
}

std::string pod_yaml(const std::string& status) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  annotations:\n"
         "    sidecar.istio.io/status: '" + status + "'\n"
         "spec:\n  containers:\n  - {name: web, image: web}\n  - {name: istio-proxy, image: istio-1-28}\n";
}

TEST(ForeignInjection, TheWebhookSkipsA128InjectionUnderA11ConfigWithAWarning) {
  patch::engine webhook(make_snapshot(single_template_config));
  patch::injection_result r;
  const json body = run_review(webhook, make_review(injected_pod(status_1_28), "admission.k8s.io/v1", "uid", "shop"), &r);
  EXPECT_EQ(r.kind, patch::outcome::skipped);
  EXPECT_EQ(r.decision.reason, core::decision_reason::foreign_injection);
  const json& response = body["response"];
  EXPECT_EQ(response["allowed"], true);
  EXPECT_FALSE(response.contains("patch")) << body.dump();
  EXPECT_EQ(response["auditAnnotations"]["reason"], "foreign-injection") << body.dump();
  ASSERT_EQ(response["warnings"].size(), 1u) << body.dump();
  EXPECT_NE(response["warnings"][0].get<std::string>().find("newer config shape"), std::string::npos)
      << body.dump();
}

TEST(ForeignInjection, TheWebhookSkipsAnotherRevisionAndReinjectsItsOwn) {
  patch::config_sources canary;
  canary.inject_config_text = named_config;
  canary.revision = "canary";
  patch::engine webhook(patch::snapshot::build(canary));
  patch::injection_result r;
  json body = run_review(webhook, make_review(injected_pod(status_1_28), "admission.k8s.io/v1", "uid", "shop"), &r);
  EXPECT_EQ(r.decision.reason, core::decision_reason::foreign_injection);
  EXPECT_NE(body["response"]["warnings"][0].get<std::string>().find("not this injector's revision \"canary\""),
            std::string::npos)
      << body.dump();

  patch::engine same_revision(make_snapshot(named_config));
  body = run_review(same_revision, make_review(injected_pod(status_1_28), "admission.k8s.io/v1", "uid", "shop"), &r);
  EXPECT_EQ(r.kind, patch::outcome::injected) << body.dump();
  EXPECT_FALSE(body["response"].contains("warnings")) << body.dump();
}

TEST(ForeignInjection, ExplainSaysWhy) {
  temp_dir dir;
  const std::string config = (dir.path() / "config.yaml").string();
  write_file(config, single_template_config);
  const cli_result r =
      run_cli({"explain", "-f", "-", "--inject-config", config, "--output", "json"}, pod_yaml(status_1_28));
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["inject"], false) << j.dump();
  EXPECT_EQ(j["reason"], "foreign-injection") << j.dump();
  ASSERT_EQ(j["warnings"].size(), 1u) << j.dump();
  EXPECT_NE(j["warnings"][0].get<std::string>().find("not re-injected"), std::string::npos) << j.dump();
}

TEST(ForeignInjection, KubeInjectLeavesItAndWarns) {
  temp_dir dir;
  const std::string config = (dir.path() / "config.yaml").string();
  write_file(config, single_template_config);
  const std::string in = pod_yaml(status_1_28);
  const cli_result r = run_cli({"kube-inject", "-f", "-", "--injectConfigFile", config}, in);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("proxy-1-1"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("warning: sidecar.istio.io/status names revision \"default\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipping injection (foreign-injection)"), std::string::npos) << r.err;
}

TEST(ForeignInjection, KubeInjectOnItsOwnOutputStillReinjects) {
  temp_dir dir;
  const std::string config = (dir.path() / "config.yaml").string();
  write_file(config, named_config);
  const std::string pod =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  containers:\n  - {name: web, image: web}\n";
  const cli_result first = run_cli({"kube-inject", "-f", "-", "--injectConfigFile", config}, pod);
  ASSERT_EQ(first.code, 0) << first.err;
  ASSERT_NE(first.out.find("\"revision\":\"default\""), std::string::npos) << first.out;
  const cli_result second = run_cli({"kube-inject", "-f", "-", "--injectConfigFile", config}, first.out);
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(second.err.find("foreign-injection"), std::string::npos) << second.err;
  EXPECT_EQ(second.out, first.out);
}

}  // namespace
}  // namespace meshinject::test
