// Which pods the apiserver sends to meshinject, for every webhook configuration under
// deploy/: each setup (an overlay, or an example built from the components) is
// rendered with `kubectl kustomize`, and for every namespace (labels) × pod (labels)
// of a fixed grid three answers must agree:
//   - the table below, which says what each setup is meant to select;
//   - `meshinject explain --webhook-config` on the rendered configurations;
//   - an independent reading of the apiserver's rules (deploytest::selector_matches).
// The mutation tests at the end show that a wrong table row or a changed selector is
// noticed.
#include "tests/deploy/deploy_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cmd/cli.hpp"

#include <string_view>

namespace meshinject::deploytest {
namespace {

struct namespace_case {
  std::string name;
  Labels labels;
};

struct pod_case {
  std::string what;
  Labels labels;
};

// Rows of every table, in this order.
const std::vector<namespace_case> kNamespaces = {
    {"shop", {}},
    {"shop", {{"istio-injection", "enabled"}}},
    {"shop", {{"istio-injection", "disabled"}}},
    {"shop", {{"istio.io/rev", "default"}}},
    {"shop", {{"istio.io/rev", "mi-1-28"}}},
    {"shop", {{"istio.io/rev", "prod"}}},
    {"shop", {{"istio-injection", "enabled"}, {"istio.io/rev", "mi-1-28"}}},
    {"shop", {{"meshinject.io/trial", "enabled"}}},
    {"kube-system", {{"istio-injection", "enabled"}}},
    {"meshinject-system", {{"istio-injection", "enabled"}, {"meshinject.io/control-plane", "true"}}},
    {"istio-system", {{"istio-injection", "enabled"}}},
};

// Columns of every table, in this order.
const std::vector<pod_case> kPods = {
    {"no labels", {}},
    {"sidecar.istio.io/inject=true", {{"sidecar.istio.io/inject", "true"}}},
    {"sidecar.istio.io/inject=false", {{"sidecar.istio.io/inject", "false"}}},
    {"istio.io/rev=default", {{"istio.io/rev", "default"}}},
    {"istio.io/rev=mi-1-28", {{"istio.io/rev", "mi-1-28"}}},
    {"istio.io/rev=prod", {{"istio.io/rev", "prod"}}},
    {"meshinject.io/trial=true", {{"meshinject.io/trial", "true"}}},
};

// One string per namespace row, one character per pod column: 1 = called.
using table = std::vector<std::string>;

// istio-injection=enabled only, outside the system namespaces and meshinject's own;
// as with Istio's webhooks, a pod labelled sidecar.istio.io/inject=false is never sent.
const table kBase = {"0000000", "1101111", "0000000", "0000000", "0000000", "0000000",
                     "1101111", "0000000", "0000000", "0000000", "1101111"};
// The same, with istio-system (where the install runs) excluded by name.
const table kBesideIstiod = {"0000000", "1101111", "0000000", "0000000", "0000000", "0000000",
                             "1101111", "0000000", "0000000", "0000000", "0000000"};
// Only the trial labels, which istiod's webhooks never select.
const table kTrial = {"0000001", "0000000", "0000000", "0000000", "0000000", "0000000",
                      "0000000", "1101111", "0000000", "0000000", "0000000"};
// Revision mi-1-28, not the default: istio.io/rev=mi-1-28 on the namespace (unless
// istio-injection is set, which wins), or on the pod in an unlabelled namespace.
const table kCanary = {"0000100", "0000000", "0000000", "0000000", "1101111", "0000000",
                       "0000000", "0000100", "0000000", "0000000", "0000000"};
// The canary, and the tag prod served by it.
const table kCanaryWithTag = {"0000110", "0000000", "0000000", "0000000", "1101111", "1101111",
                              "0000000", "0000110", "0000000", "0000000", "0000000"};
// The default revision, as istiod's default webhooks: istio-injection=enabled,
// istio.io/rev=default, and labelled pods in unlabelled namespaces.
const table kDefaultRevision = {"0101000", "1101111", "0000000", "1101111", "0000000", "0000000",
                                "1101111", "0101000", "0000000", "0000000", "0000000"};

// A setup: a kustomization to render (a directory under deploy/, or a kustomization
// written on the fly) and what it must select.
struct setup {
  std::string name;
  std::string directory;      // relative to deploy/, or empty
  std::string kustomization;  // written into a temporary directory; "DEPLOY" is deploy/'s relative path
  table expected;
};

const std::vector<setup>& setups() {
  static const std::vector<setup> all = {
      {"base", "base", "", kBase},
      {"cert-manager", "overlays/cert-manager", "", kBase},
      {"cert-manager with rollout", "",
       "resources: [DEPLOY/overlays/cert-manager]\ncomponents: [DEPLOY/components/rollout]\n", kBase},
      {"beside-istiod", "overlays/beside-istiod", "", kBesideIstiod},
      {"examples/trial", "examples/trial", "", kTrial},
      {"examples/canary", "examples/canary", "", kCanary},
      {"examples/tag", "examples/tag", "", kCanaryWithTag},
      {"examples/instead-of-istiod", "examples/instead-of-istiod", "", kDefaultRevision},
      // deploy/README.md's safe trial: its own image, trial labels on the plain install.
      {"cert-manager with trial-label and image", "",
       "resources: [DEPLOY/overlays/cert-manager]\ncomponents: [DEPLOY/components/trial-label, DEPLOY/components/image]\n"
       "configMapGenerator:\n- name: meshinject-image\n  literals: [image=registry.internal/meshinject:1]\n"
       "  options: {disableNameSuffixHash: true, annotations: {config.kubernetes.io/local-config: \"true\"}}\n",
       kTrial},
  };
  return all;
}

Manifests render(const setup& s) {
  if (!s.directory.empty()) return kustomize(deploy_dir() / s.directory);
  TempDir tmp;
  std::string text = s.kustomization;
  const std::string rel = fs::relative(deploy_dir(), tmp.path()).string();
  for (std::size_t at = text.find("DEPLOY"); at != std::string::npos; at = text.find("DEPLOY", at + rel.size()))
    text.replace(at, 6, rel);
  write_file(tmp.path() / "kustomization.yaml", text);
  return kustomize(tmp.path());
}

std::vector<YAML::Node> webhook_configurations(const Manifests& m) { return m.all("MutatingWebhookConfiguration"); }

std::string as_yaml(const std::vector<YAML::Node>& docs) {
  std::string out;
  for (const auto& d : docs) {
    YAML::Emitter e;
    e << d;
    out += std::string("---\n") + e.c_str() + "\n";
  }
  return out;
}

// ---- the apiserver's reading ---------------------------------------------------------------

bool rules_cover_pod_create(const YAML::Node& rules) {
  if (!rules.IsDefined() || !rules.IsSequence()) return false;
  auto has = [](const YAML::Node& list, std::initializer_list<std::string_view> any) {
    if (!list.IsDefined() || !list.IsSequence()) return false;
    for (const auto& v : list)
      for (std::string_view a : any)
        if (str(v) == a) return true;
    return false;
  };
  for (const auto& r : rules)
    if (has(r["operations"], {"CREATE", "*"}) && has(r["apiGroups"], {"", "*"}) &&
        has(r["apiVersions"], {"v1", "*"}) && has(r["resources"], {"pods", "*"}))
      return true;
  return false;
}

// The apiserver sets kubernetes.io/metadata.name on every namespace.
Labels namespace_labels_seen(const namespace_case& ns) {
  Labels l = ns.labels;
  l["kubernetes.io/metadata.name"] = ns.name;
  return l;
}

bool apiserver_calls(const std::vector<YAML::Node>& configs, const namespace_case& ns, const pod_case& pod) {
  for (const auto& c : configs)
    for (const auto& hook : c["webhooks"])
      if (rules_cover_pod_create(hook["rules"]) &&
          selector_matches(hook["namespaceSelector"], namespace_labels_seen(ns)) &&
          selector_matches(hook["objectSelector"], pod.labels))
        return true;
  return false;
}

// ---- explain's reading -----------------------------------------------------------------------

std::string pod_yaml(const pod_case& pod) {
  std::string text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n";
  if (!pod.labels.empty()) {
    text += "  labels:\n";
    for (const auto& [k, v] : pod.labels) text += "    " + k + ": \"" + v + "\"\n";
  }
  return text + "spec:\n  containers:\n  - name: app\n    image: app:1\n";
}

// `meshinject explain -o json` in-process; returns webhookCalled, or a failure.
testing::AssertionResult explain_calls(const fs::path& webhooks, const namespace_case& ns, const pod_case& pod,
                                       bool& called) {
  TempDir tmp;
  const fs::path pod_file = tmp.path() / "pod.yaml";
  write_file(pod_file, pod_yaml(pod));
  std::string labels;
  for (const auto& [k, v] : ns.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
  std::vector<std::string> argv = {"explain",          "-f",          pod_file.string(), "-o", "json",
                                   "--webhook-config", webhooks.string(), "--namespace",  ns.name};
  if (!labels.empty()) {
    argv.push_back("--namespace-labels");
    argv.push_back(labels);
  }
  const std::vector<std::string_view> views(argv.begin(), argv.end());
  std::istringstream in;
  std::ostringstream out, err;
  const int code = cmd::run(cmd::args(views), cmd::io{in, out, err});
  if (code != 0) return testing::AssertionFailure() << "explain exited " << code << ": " << err.str();
  const auto j = nlohmann::json::parse(out.str(), nullptr, false);
  if (j.is_discarded() || !j.contains("webhookCalled") || !j["webhookCalled"].is_boolean())
    return testing::AssertionFailure() << "explain printed no webhookCalled: " << out.str();
  called = j["webhookCalled"].get<bool>();
  return testing::AssertionSuccess();
}

std::string describe(const namespace_case& ns) {
  std::string out = "namespace " + ns.name + " {";
  for (const auto& [k, v] : ns.labels) out += " " + k + "=" + v;
  return out + " }";
}

// Every disagreement between the table, the apiserver's reading and explain's.
std::vector<std::string> disagreements(const setup& s, const Manifests& rendered) {
  std::vector<std::string> problems;
  const auto configs = webhook_configurations(rendered);
  if (configs.empty()) return {s.name + ": no MutatingWebhookConfiguration rendered"};
  if (s.expected.size() != kNamespaces.size()) return {s.name + ": the table has the wrong number of rows"};
  TempDir tmp;
  const fs::path file = tmp.path() / "webhooks.yaml";
  write_file(file, as_yaml(configs));
  for (std::size_t n = 0; n < kNamespaces.size(); ++n) {
    if (s.expected[n].size() != kPods.size()) {
      problems.push_back(s.name + ": row " + std::to_string(n) + " has the wrong number of columns");
      continue;
    }
    for (std::size_t p = 0; p < kPods.size(); ++p) {
      const bool want = s.expected[n][p] == '1';
      const bool apiserver = apiserver_calls(configs, kNamespaces[n], kPods[p]);
      bool explained = false;
      const auto ran = explain_calls(file, kNamespaces[n], kPods[p], explained);
      const std::string cell = s.name + ", " + describe(kNamespaces[n]) + ", pod " + kPods[p].what + ": ";
      if (!ran) {
        problems.push_back(cell + ran.message());
        continue;
      }
      if (apiserver != want)
        problems.push_back(cell + "the table says " + (want ? "called" : "not called") + ", the apiserver " +
                           (apiserver ? "calls" : "does not call"));
      if (explained != apiserver)
        problems.push_back(cell + "explain says " + (explained ? "called" : "not called") + ", the apiserver " +
                           (apiserver ? "calls" : "does not call"));
    }
  }
  return problems;
}

std::string join(const std::vector<std::string>& p) {
  std::string out;
  for (const auto& s : p) out += "\n  - " + s;
  return out;
}

class Selectors : public testing::TestWithParam<std::size_t> {
 protected:
  void SetUp() override {
    if (!have_tool("kubectl"))
      GTEST_SKIP() << "kubectl is not installed: the manifests under deploy/ cannot be rendered (kubectl kustomize)";
  }
};

TEST_P(Selectors, TableApiserverAndExplainAgree) {
  const setup& s = setups()[GetParam()];
  const auto problems = disagreements(s, render(s));
  EXPECT_TRUE(problems.empty()) << join(problems);
}

INSTANTIATE_TEST_SUITE_P(Deploy, Selectors, testing::Range<std::size_t>(0, setups().size()),
                         [](const testing::TestParamInfo<std::size_t>& test_info) {
                           std::string name;
                           for (char c : setups()[test_info.param].name)
                             name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

// Every overlay, component and example under deploy/ is in a setup above (or, for
// self-signed, has the base's selectors and needs generated certificates: see
// manifests_test.cpp), so a new one cannot go untested.
TEST_F(Selectors, EveryKustomizationIsCovered) {
  std::set<std::string> covered = {"overlays/self-signed"};
  for (const auto& s : setups()) {
    if (!s.directory.empty()) covered.insert(s.directory);
    const std::string& k = s.kustomization;
    for (const char* dir : {"overlays/", "components/", "examples/"})
      for (std::size_t at = k.find(dir); at != std::string::npos; at = k.find(dir, at + 1))
        covered.insert(k.substr(at, k.find_first_of("],\n", at) - at));
  }
  // Components used by the examples.
  for (const auto& s : setups()) {
    if (s.directory.empty()) continue;
    const YAML::Node kustomization = YAML::LoadFile((deploy_dir() / s.directory / "kustomization.yaml").string());
    for (const char* key : {"components", "resources"}) {
      const YAML::Node list = kustomization[key];
      if (!list.IsDefined() || !list.IsSequence()) continue;
      for (const auto& item : list) {
        const fs::path p = fs::weakly_canonical(deploy_dir() / s.directory / str(item));
        const std::string rel = fs::relative(p, fs::weakly_canonical(deploy_dir())).string();
        if (rel.rfind("..", 0) != 0) covered.insert(rel);
      }
    }
  }
  for (const char* group : {"overlays", "components", "examples"})
    for (const auto& entry : fs::directory_iterator(deploy_dir() / group))
      if (entry.is_directory()) {
        const std::string rel = std::string(group) + "/" + entry.path().filename().string();
        EXPECT_TRUE(covered.count(rel)) << rel << " is rendered by no selector setup";
      }
}

// ---- the checks can fail -------------------------------------------------------------------

TEST_F(Selectors, AWrongTableRowIsNoticed) {
  setup s = setups()[5];  // examples/canary
  ASSERT_EQ(s.name, "examples/canary");
  s.expected[1] = "1111111";  // as if the canary also served istio-injection=enabled
  const auto problems = disagreements(s, render(s));
  ASSERT_EQ(problems.size(), kPods.size()) << join(problems);
  EXPECT_NE(problems[0].find("the table says called, the apiserver does not call"), std::string::npos);
}

TEST_F(Selectors, AChangedSelectorIsNoticed) {
  const setup& s = setups()[6];  // examples/tag
  ASSERT_EQ(s.name, "examples/tag");
  Manifests m = render(s).clone();
  bool changed = false;
  for (auto& c : m.docs)
    if (str(c["kind"]) == "MutatingWebhookConfiguration" && str(c["metadata"]["name"]) == "meshinject-tag-prod")
      for (auto e : c["webhooks"][0]["namespaceSelector"]["matchExpressions"])
        if (str(e["key"]) == "istio.io/rev") {
          e["values"][0] = "staging";
          changed = true;
        }
  ASSERT_TRUE(changed);
  const auto problems = disagreements(s, m);
  EXPECT_FALSE(problems.empty());
  for (const auto& p : problems) EXPECT_NE(p.find("istio.io/rev=prod"), std::string::npos) << p;
}

}  // namespace
}  // namespace meshinject::deploytest
