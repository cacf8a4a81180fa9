// meshinject explain: every decision path in text and JSON, the webhook's
// namespaceSelector and objectSelector, and the errors.
#include <gtest/gtest.h>

#include "tests/cmd/cli_runner.hpp"
#include "tests/support/engine_fixture.hpp"

namespace meshinject::test {
namespace {

const std::string sidecar = "containers:\n- name: istio-proxy\n  image: proxy:1\n";

const std::string selectors =
    "neverInjectSelector:\n"
    "- matchLabels: {never: me}\n"
    "- matchExpressions:\n"
    "  - {key: openshift.io/build.name, operator: Exists}\n"
    "alwaysInjectSelector:\n"
    "- matchLabels: {always: me}\n"
    "- matchExpressions:\n"
    "  - {key: tier, operator: In, values: [gold, silver]}\n";

class ExplainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    enabled_ = dir_.path() / "enabled.yaml";
    disabled_ = dir_.path() / "disabled.yaml";
    write_file(enabled_, injection_config_text(sidecar, "enabled", selectors));
    write_file(disabled_, injection_config_text(sidecar, "disabled", selectors));
  }

  static std::string pod(const std::string& metadata_extra, const std::string& spec_extra = "") {
    return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n" + metadata_extra +
           "spec:\n  containers:\n  - name: app\n    image: app\n" + spec_extra;
  }

  cli_result text(const std::string& pod_yaml, const std::filesystem::path& config,
                  std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"explain", "-f", "-", "--inject-config", config.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_cli(argv, pod_yaml);
  }

  json as_json(const std::string& pod_yaml, const std::filesystem::path& config, std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--output", "json"});
    const cli_result r = text(pod_yaml, config, extra);
    EXPECT_EQ(r.code, 0) << r.err;
    try {
      return json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out;
      return json();
    }
  }

  // The text line of step `name`.
  static std::string step_line(const std::string& out, const std::string& name) {
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line))
      if (line.find("  " + name + "  ") != std::string::npos) return line;
    return "(no step " + name + ")";
  }

  // The JSON step called `name`.
  static json step(json j, const std::string& name) {
    for (const auto& s : j["steps"])
      if (s["step"] == name) return s;
    return json();
  }

  // The decision path is the same in text and JSON: the deciding step, the verdict, the patch.
  void expect_path(const std::string& pod_yaml, const std::filesystem::path& config, const std::string& deciding_step,
                   bool inject, const std::string& reason, std::vector<std::string> extra = {}) {
    SCOPED_TRACE(deciding_step + " -> " + reason);
    const cli_result t = text(pod_yaml, config, extra);
    ASSERT_EQ(t.code, 0) << t.err;
    const std::string verdict = std::string(inject ? "inject" : "skip") + " (" + reason + ")";
    EXPECT_NE(step_line(t.out, deciding_step).find("DECIDED: " + verdict), std::string::npos) << t.out;
    EXPECT_NE(t.out.find(std::string("\nVerdict: ") + (inject ? "inject" : "not injected") + " (" + reason + ")\n"),
              std::string::npos)
        << t.out;
    EXPECT_EQ(t.out.find("No patch.") == std::string::npos, inject) << t.out;
    if (inject) {
      EXPECT_NE(t.out.find("\"path\": \"/spec/containers/-\""), std::string::npos) << t.out;
    }
    // Every step after the deciding one is "not reached".
    const std::size_t at = t.out.find(step_line(t.out, deciding_step));
    const std::string after = t.out.substr(at, t.out.find("\n\n", at) - at);
    std::istringstream lines(after);
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) EXPECT_NE(line.find("not reached"), std::string::npos) << line;

    json j = as_json(pod_yaml, config, extra);
    EXPECT_EQ(j["inject"], inject);
    EXPECT_EQ(j["reason"], reason);
    EXPECT_EQ(j["decision"]["reason"], reason);
    EXPECT_TRUE(j["webhookCalled"].is_null());
    json s = step(j, deciding_step);
    EXPECT_EQ(s["outcome"], "decided") << j["steps"].dump();
    EXPECT_EQ(s["inject"], inject);
    EXPECT_EQ(s["reason"], reason);
    EXPECT_EQ(j["patch"].is_array(), inject) << j["patch"].dump();
    if (inject) {
      // The patch applies to the pod and adds the proxy.
      json p = yaml_to_json(pod_yaml);
      p = apply_patch(p, j["patch"]);
      EXPECT_EQ(p["spec"]["containers"].back()["name"], "istio-proxy");
    }
    int index = 0;
    for (const auto& st : j["steps"]) EXPECT_EQ(st["index"], ++index);
  }

  temp_dir dir_;
  std::filesystem::path enabled_, disabled_;
};

TEST_F(ExplainTest, HostNetwork) {
  expect_path(pod("", "  hostNetwork: true\n"), enabled_, "hostNetwork", false, "host-network");
}

TEST_F(ExplainTest, IgnoredNamespace) {
  expect_path(pod(""), enabled_, "ignored namespace", false, "ignored-namespace", {"--namespace", "kube-system"});
  expect_path(pod("  namespace: kube-public\n"), enabled_, "ignored namespace", false, "ignored-namespace");
}

TEST_F(ExplainTest, LabelOptInAndOut) {
  expect_path(pod("  labels: {sidecar.istio.io/inject: \"true\"}\n"), disabled_, "label sidecar.istio.io/inject", true,
              "label-opt-in");
  expect_path(pod("  labels: {sidecar.istio.io/inject: \"no\"}\n  annotations: {sidecar.istio.io/inject: \"yes\"}\n"),
              enabled_, "label sidecar.istio.io/inject", false, "label-opt-out");
  // The label wins: the annotation is not consulted.
  json j = as_json(pod("  labels: {sidecar.istio.io/inject: \"no\"}\n"), enabled_);
  EXPECT_EQ(step(j, "annotation sidecar.istio.io/inject")["outcome"], "not-reached");
}

TEST_F(ExplainTest, AnnotationOptInAndOut) {
  expect_path(pod("  annotations: {sidecar.istio.io/inject: \"on\"}\n"), disabled_,
              "annotation sidecar.istio.io/inject", true, "annotation-opt-in");
  expect_path(pod("  annotations: {sidecar.istio.io/inject: \"false\"}\n"), enabled_,
              "annotation sidecar.istio.io/inject", false, "annotation-opt-out");
}

TEST_F(ExplainTest, InvalidValueWarnsAndTheRestDecides) {
  const std::string p = pod("  annotations: {sidecar.istio.io/inject: \"maybe\"}\n");
  expect_path(p, enabled_, "policy", true, "policy-enabled");
  const cli_result t = text(p, enabled_);
  EXPECT_NE(t.out.find("Warning: sidecar.istio.io/inject annotation value \"maybe\" is not one of"), std::string::npos)
      << t.out;
  json j = as_json(p, enabled_);
  ASSERT_EQ(j["warnings"].size(), 1u);
  EXPECT_NE(j["warnings"][0].get<std::string>().find("\"maybe\""), std::string::npos);
  EXPECT_EQ(step(j, "annotation sidecar.istio.io/inject")["outcome"], "passed");
}

TEST_F(ExplainTest, NeverInjectSelectorByIndex) {
  const std::string p = pod("  labels: {openshift.io/build.name: b1, always: me}\n");
  expect_path(p, enabled_, "neverInjectSelector[1]", false, "never-inject-selector");
  const cli_result t = text(p, enabled_);
  EXPECT_NE(step_line(t.out, "neverInjectSelector[0]").find("matchLabels{never=me}"), std::string::npos) << t.out;
  EXPECT_NE(step_line(t.out, "neverInjectSelector[0]").find("not matched"), std::string::npos) << t.out;
  const std::string decided = step_line(t.out, "neverInjectSelector[1]");
  EXPECT_NE(decided.find("matchExpressions{openshift.io/build.name Exists}  "), std::string::npos) << t.out;
  EXPECT_NE(decided.find("  matched → DECIDED: skip (never-inject-selector)"), std::string::npos) << t.out;
  EXPECT_EQ(decided.rfind("  6  neverInjectSelector[1]  ", 0), 0u) << decided;
  // The always selector would have matched, but it is not reached.
  EXPECT_NE(step_line(t.out, "alwaysInjectSelector[0]").find("not reached (would match)"), std::string::npos) << t.out;
  json j = as_json(p, enabled_);
  EXPECT_EQ(j["decision"]["selectorIndex"], 1);
  EXPECT_EQ(step(j, "neverInjectSelector[1]")["selectorIndex"], 1);
  EXPECT_EQ(step(j, "neverInjectSelector[1]")["matched"], true);
  EXPECT_EQ(step(j, "neverInjectSelector[0]")["matched"], false);
  EXPECT_EQ(step(j, "alwaysInjectSelector[0]")["matched"], true);
  EXPECT_EQ(step(j, "alwaysInjectSelector[0]")["outcome"], "not-reached");
}

TEST_F(ExplainTest, AlwaysInjectSelectorByIndex) {
  const std::string p = pod("  labels: {tier: silver}\n");
  expect_path(p, disabled_, "alwaysInjectSelector[1]", true, "always-inject-selector");
  json j = as_json(p, disabled_);
  EXPECT_EQ(j["decision"]["selectorIndex"], 1);
  EXPECT_EQ(step(j, "alwaysInjectSelector[1]")["detail"], "matchExpressions{tier In (gold,silver)}");
}

TEST_F(ExplainTest, Policy) {
  expect_path(pod(""), enabled_, "policy", true, "policy-enabled");
  expect_path(pod(""), disabled_, "policy", false, "policy-disabled");
}

TEST_F(ExplainTest, WorkloadsAndNamespaces) {
  const std::string two =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: one, namespace: test}\n"
      "spec:\n  template:\n    spec: {containers: [{name: a, image: a}]}\n---\n"
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n"
      "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: two}\n"
      "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec: {hostNetwork: true, containers: [{name: a, "
      "image: a}]}\n";
  const cli_result t = text(two, enabled_, {"--namespace", "shop"});
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("=== pod 1 of 2\nPod:       document 1, Deployment \"one\""), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("Namespace: test (from the file)"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("=== pod 2 of 2\nPod:       document 3, CronJob \"two\""), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("Namespace: shop (from --namespace)"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("the file says namespace test; --namespace shop is ignored"), std::string::npos) << t.out;

  // JSON needs one pod.
  const cli_result ambiguous = text(two, enabled_, {"-o", "json"});
  EXPECT_EQ(ambiguous.code, 2);
  EXPECT_NE(ambiguous.err.find("--pod 2  document 3, CronJob \"two\""), std::string::npos) << ambiguous.err;
  json j = as_json(two, enabled_, {"--pod", "2"});
  EXPECT_EQ(j["pod"]["kind"], "CronJob");
  EXPECT_EQ(j["pod"]["document"], 3);
  EXPECT_EQ(j["pod"]["namespace"], "default");
  EXPECT_EQ(j["pod"]["namespaceFrom"], "default");
  EXPECT_EQ(as_json(two, enabled_, {"--pod", "1"})["pod"]["namespaceFrom"], "file");
  EXPECT_EQ(as_json(two, enabled_, {"--pod", "2", "-n", "shop"})["pod"]["namespaceFrom"], "flag");
  EXPECT_EQ(j["reason"], "host-network");
  EXPECT_EQ(text(two, enabled_, {"--pod", "3"}).code, 2);
}

TEST_F(ExplainTest, RefusedPodsSaySo) {
  const std::string p = pod("  annotations: {traffic.sidecar.istio.io/includeInboundPorts: \"bad\"}\n");
  const cli_result t = text(p, enabled_);
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("Verdict: refused: the webhook answers allowed: false: invalid value \"bad\" for annotation "
                       "traffic.sidecar.istio.io/includeInboundPorts"),
            std::string::npos)
      << t.out;
  json j = as_json(p, enabled_);
  EXPECT_EQ(j["inject"], false);
  EXPECT_EQ(j["allowed"], false);
  EXPECT_EQ(j["reason"], "invalid-annotation");
  EXPECT_TRUE(j["patch"].is_null());
}

// -------------------------------------------------- the webhook configuration

class ExplainWebhookTest : public ExplainTest {
 protected:
  std::string webhook_config() const { return (source_dir() / "deploy" / "base" / "mutatingwebhook.yaml").string(); }
};

TEST_F(ExplainWebhookTest, NamespaceWithoutTheLabelIsNeverSentToTheWebhook) {
  const std::string p = pod("");
  const cli_result t = text(p, enabled_, {"--webhook-config", webhook_config(), "--namespace", "shop"});
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("Will the apiserver call the webhook?"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("NOT matched: namespace shop lacks label istio-injection=enabled"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("Verdict: not injected: the webhook is not called because namespace shop lacks label "
                       "istio-injection=enabled\n  (if the webhook were called: inject (policy-enabled))"),
            std::string::npos)
      << t.out;
  EXPECT_NE(t.out.find("No patch."), std::string::npos);
  EXPECT_NE(step_line(t.out, "policy").find("DECIDED: inject (policy-enabled)"), std::string::npos) << t.out;

  json j = as_json(p, enabled_, {"--webhook-config", webhook_config(), "--namespace", "shop"});
  EXPECT_EQ(j["inject"], false);
  EXPECT_EQ(j["reason"], "webhook-not-called");
  EXPECT_EQ(j["webhookCalled"], false);
  EXPECT_TRUE(j["patch"].is_null());
  EXPECT_EQ(j["decision"]["inject"], true);  // what the webhook would decide
  EXPECT_EQ(j["webhook"]["namespaceLabels"]["kubernetes.io/metadata.name"], "shop");
  json w = j["webhook"]["webhooks"][0];
  EXPECT_EQ(w["name"], "sidecar-injector.meshinject.io");
  EXPECT_EQ(w["called"], false);
  EXPECT_EQ(w["whyNot"], "namespace shop lacks label istio-injection=enabled");
  EXPECT_EQ(w["namespaceSelector"]["requirements"][0]["requirement"], "matchLabels{istio-injection=enabled}");
  EXPECT_EQ(w["namespaceSelector"]["requirements"][0]["matched"], false);
  EXPECT_EQ(w["rules"]["matched"], true);
}

TEST_F(ExplainWebhookTest, LabelledNamespaceIsSentAndInjected) {
  const std::vector<std::string> flags = {"--webhook-config",   webhook_config(),
                                          "--namespace",        "shop",
                                          "--namespace-labels", "istio-injection=enabled,team=blue"};
  const cli_result t = text(pod(""), enabled_, flags);
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("→ called"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("Verdict: inject (policy-enabled)"), std::string::npos) << t.out;
  json j = as_json(pod(""), enabled_, flags);
  EXPECT_EQ(j["inject"], true);
  EXPECT_EQ(j["webhookCalled"], true);
  EXPECT_TRUE(j["patch"].is_array());
  EXPECT_TRUE(j["warnings"].empty()) << j["warnings"].dump();
  EXPECT_EQ(j["webhook"]["namespaceLabels"]["team"], "blue");
}

TEST_F(ExplainWebhookTest, SystemAndControlPlaneNamespacesAreExcludedWhateverTheirLabels) {
  json j = as_json(pod(""), enabled_,
                   {"--webhook-config", webhook_config(), "--namespace", "kube-node-lease", "--namespace-labels",
                    "istio-injection=enabled"});
  EXPECT_EQ(j["webhookCalled"], false);
  EXPECT_EQ(j["webhook"]["webhooks"][0]["whyNot"],
            "namespace kube-node-lease has label kubernetes.io/metadata.name=kube-node-lease, which is one of "
            "(kube-system,kube-public,kube-node-lease)");
  j = as_json(pod(""), enabled_,
              {"--webhook-config", webhook_config(), "--namespace", "meshinject-system", "--namespace-labels",
               "istio-injection=enabled,meshinject.io/control-plane=true"});
  EXPECT_EQ(j["webhookCalled"], false);
  EXPECT_EQ(j["webhook"]["webhooks"][0]["whyNot"],
            "namespace meshinject-system has label meshinject.io/control-plane=true, which must be absent");
  // The namespace label that is there but with another value.
  j = as_json(
      pod(""), enabled_,
      {"--webhook-config", webhook_config(), "--namespace", "shop", "--namespace-labels", "istio-injection=disabled"});
  EXPECT_EQ(j["webhook"]["webhooks"][0]["whyNot"],
            "namespace shop has label istio-injection=disabled, not istio-injection=enabled");
}

TEST_F(ExplainWebhookTest, ObjectSelectorAndRules) {
  const auto config = dir_.path() / "webhook.yaml";
  write_file(config,
             "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n"
             "metadata: {name: custom}\nwebhooks:\n"
             "- name: by-object.example.com\n"
             "  rules: [{operations: [\"*\"], apiGroups: [\"\"], apiVersions: [\"*\"], resources: [\"pods\"]}]\n"
             "  objectSelector:\n"
             "    matchExpressions:\n"
             "    - {key: sidecar.istio.io/inject, operator: NotIn, values: [\"false\"]}\n"
             "- name: deployments-only.example.com\n"
             "  rules: [{operations: [CREATE], apiGroups: [apps], apiVersions: [v1], resources: [deployments]}]\n");
  json j =
      as_json(pod("  labels: {sidecar.istio.io/inject: \"false\"}\n"), enabled_, {"--webhook-config", config.string()});
  EXPECT_EQ(j["webhookCalled"], false);
  EXPECT_EQ(j["message"],
            "not injected: the webhook is not called because the pod has label sidecar.istio.io/inject=false, which "
            "is one of (false)");
  EXPECT_EQ(j["webhook"]["webhooks"][0]["namespaceSelector"]["present"], false);
  EXPECT_EQ(j["webhook"]["webhooks"][1]["rules"]["matched"], false);
  EXPECT_NE(j["webhook"]["webhooks"][1]["whyNot"].get<std::string>().find("no rule covers pod CREATE"),
            std::string::npos);
  // A note that the namespace labels were not given.
  EXPECT_NE(j["warnings"].dump().find("no --namespace-labels"), std::string::npos) << j["warnings"].dump();

  j = as_json(pod("  labels: {app: x}\n"), enabled_, {"--webhook-config", config.string()});
  EXPECT_EQ(j["webhookCalled"], true);
  EXPECT_EQ(j["webhook"]["webhooks"][0]["called"], true);
  EXPECT_EQ(j["webhook"]["webhooks"][0]["objectSelector"]["matched"], true);
  EXPECT_EQ(j["inject"], true);

  // A bad selector in the webhook config is an error with its position.
  write_file(config,
             "kind: MutatingWebhookConfiguration\nwebhooks:\n- name: w\n  namespaceSelector:\n"
             "    matchExpressions:\n    - {key: a, operator: Near}\n");
  const cli_result bad = text(pod(""), enabled_, {"--webhook-config", config.string()});
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(has_position(bad.err, config.string(), 6, 26)) << bad.err;
}

TEST_F(ExplainTest, Errors) {
  EXPECT_EQ(text(pod(""), enabled_, {"--output", "yaml"}).code, 2);
  EXPECT_EQ(text(pod(""), enabled_, {"--namespace-labels", "a=b"}).code, 2);
  EXPECT_EQ(text(pod(""), enabled_, {"--pod", "zero"}).code, 2);
  EXPECT_EQ(run_cli({"explain"}).code, 2);

  cli_result r = text("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", enabled_);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no pod or pod template found"), std::string::npos) << r.err;

  r = text("kind: Service\n---\nkind: Pod\nmetadata: {name: [\n", enabled_);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("<stdin>:5:1: document 2: invalid YAML"), std::string::npos) << r.err;

  const auto hooks = dir_.path() / "none.yaml";
  write_file(hooks, "kind: Service\n");
  r = text(pod(""), enabled_, {"--webhook-config", hooks.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no MutatingWebhookConfiguration"), std::string::npos) << r.err;

  r = text(pod(""), enabled_, {"--webhook-config", hooks.string(), "--namespace-labels", "=x"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--namespace-labels takes key=value pairs"), std::string::npos) << r.err;
}

// Istio >= 1.9's configs: which templates were merged and why (the pod's
// annotation, defaultTemplates, an alias), and whether the proxy is a native
// sidecar, read from the pod the patch gives.
TEST(ExplainNamedTemplates, SaysWhichTemplatesAndWhyAndNativeOrClassic) {
  temp_dir dir;
  const std::filesystem::path config = dir.path() / "named.yaml";
  write_file(config,
             "policy: enabled\n"
             "defaultTemplates: [sidecar]\n"
             "aliases:\n"
             "  both: [sidecar, extra]\n"
             "templates:\n"
             "  sidecar: |\n"
             "    {{ $native := ne (index .ObjectMeta.Annotations `sidecar.istio.io/nativeSidecar` | default (printf \"%t\" .NativeSidecars)) \"false\" }}\n"
             "    spec:\n"
             "      {{- if $native }}\n"
             "      initContainers:\n"
             "      - name: istio-proxy\n"
             "        image: proxy\n"
             "        restartPolicy: Always\n"
             "      {{- else }}\n"
             "      containers:\n"
             "      - name: istio-proxy\n"
             "        image: proxy\n"
             "      {{- end }}\n"
             "  extra: |\n"
             "    metadata:\n"
             "      labels:\n"
             "        extra: \"yes\"\n");
  auto run = [&](const std::string& annotations, const std::string& output) {
    const std::string pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {" + annotations +
                            "}\nspec:\n  containers:\n  - name: app\n    image: app\n";
    return run_cli({"explain", "-f", "-", "--inject-config", config.string(), "--output", output}, pod);
  };

  cli_result r = run("", "json");
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["templates"], json::parse(R"([{"name": "sidecar", "from": "defaultTemplates"}])")) << r.out;
  EXPECT_EQ(j["sidecar"]["mode"], "native");
  EXPECT_EQ(j["sidecar"]["why"], "the injector's native-sidecar setting is on (--native-sidecars)");

  r = run("inject.istio.io/templates: both, sidecar.istio.io/nativeSidecar: 'false'", "json");
  ASSERT_EQ(r.code, 0) << r.err;
  j = json::parse(r.out);
  EXPECT_EQ(j["templates"], json::parse(R"j([
      {"name": "sidecar", "from": "alias both (from annotation inject.istio.io/templates)"},
      {"name": "extra", "from": "alias both (from annotation inject.istio.io/templates)"}])j"))
      << r.out;
  EXPECT_EQ(j["sidecar"]["mode"], "classic");
  EXPECT_EQ(j["sidecar"]["why"], "the pod's annotation sidecar.istio.io/nativeSidecar=false");

  r = run("inject.istio.io/templates: ' extra,sidecar'", "text");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Templates (merged in this order):\n"
                       "  extra    from annotation inject.istio.io/templates\n"
                       "  sidecar  from annotation inject.istio.io/templates\n"
                       "Sidecar:   native (istio-proxy in initContainers, restartPolicy: Always): "
                       "the injector's native-sidecar setting is on (--native-sidecars)\n"),
            std::string::npos)
      << r.out;

  // Not injected: nothing is merged, so no templates are named.
  r = run("sidecar.istio.io/inject: 'false'", "json");
  j = json::parse(r.out);
  EXPECT_TRUE(j["templates"].empty()) << r.out;
  EXPECT_TRUE(j["sidecar"]["mode"].is_null());
}

TEST(ExplainBinary, ExitsZeroWhateverTheVerdictAndSaysWhichConfig) {
  MESHINJECT_REQUIRE_BINARY();
  const std::string p =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n"
      "  containers: [{name: a, image: a}]\n";
  const cli_result r = run_binary({"explain", "-f", "-", "-o", "json"}, p);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("using the embedded default injection config"), std::string::npos) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["inject"], false);
  EXPECT_EQ(j["reason"], "host-network");
  EXPECT_EQ(j["config"]["source"], "embedded default");
}

}  // namespace
}  // namespace meshinject::test
