// deploy/overlays/beside-istiod and the examples built on it: meshinject runs in
// istio-system, reads Istio's own ConfigMaps as watched directories, owns nothing of
// Istio's (so deleting it leaves Istio intact), and every webhook configuration it
// renders (the install's and a revision tag's) reaches its Service with a certificate
// that covers the Service's names. The mutation tests break one thing at a time.
#include "tests/deploy/deploy_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace meshinject::deploytest {
namespace {

using Problems = std::vector<std::string>;

constexpr const char* kIstioNamespace = "istio-system";

std::string join(const Problems& p) {
  std::string out;
  for (const auto& s : p) out += "\n  - " + s;
  return out;
}

bool mentions(const Problems& problems, const std::string& word) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(word) != std::string::npos; });
}

// The ConfigMap name and key a flag's file comes from, through the volume mounted
// at the file's directory.
struct mounted_key {
  std::string config_map, key;
};

std::optional<mounted_key> config_map_key_of(const YAML::Node& pod_spec, const YAML::Node& container,
                                             const std::string& file, Problems& problems) {
  const fs::path path(file);
  for (const auto& vm : container["volumeMounts"]) {
    if (fs::path(str(vm["mountPath"])) != path.parent_path()) continue;
    if (is_set(vm["subPath"])) problems.push_back(file + " is mounted with subPath: the kubelet never updates it");
    for (const auto& v : pod_spec["volumes"])
      if (str(v["name"]) == str(vm["name"])) {
        if (!is_set(v["configMap"])) {
          problems.push_back(file + " is not on a ConfigMap volume");
          return std::nullopt;
        }
        if (is_set(v["configMap"]["items"]))
          problems.push_back("the volume for " + file + " lists items; mount the whole ConfigMap");
        return mounted_key{str(v["configMap"]["name"]), path.filename().string()};
      }
  }
  problems.push_back(file + " is on no mounted volume");
  return std::nullopt;
}

Problems check_beside_istiod(const Manifests& m) {
  Problems problems;
  // Istio owns its namespace and its ConfigMaps.
  if (!m.all("Namespace").empty()) problems.push_back("renders a Namespace: deleting the overlay would delete it");
  for (const auto& cm : m.all("ConfigMap"))
    problems.push_back("renders ConfigMap " + str(cm["metadata"]["name"]) + ": Istio's ConfigMaps are Istio's");
  const std::set<std::string> cluster_scoped = {"MutatingWebhookConfiguration", "Namespace"};
  for (const auto& d : m.docs)
    if (!cluster_scoped.count(str(d["kind"])) && str(d["metadata"]["namespace"]) != kIstioNamespace)
      problems.push_back(str(d["kind"]) + " " + str(d["metadata"]["name"]) + " is in namespace '" +
                         str(d["metadata"]["namespace"]) + "', not " + kIstioNamespace);

  // Istio's injection config, values and mesh config, as istiod reads them.
  const YAML::Node deployment = m.one("Deployment");
  const YAML::Node spec = deployment["spec"]["template"]["spec"];
  const YAML::Node container = spec["containers"][0];
  const auto args = args_of(container);
  struct want {
    const char* flag;
    const char* config_map;
    const char* key;
  };
  for (const want& w : {want{"--inject-config", "istio-sidecar-injector", "config"},
                        want{"--values", "istio-sidecar-injector", "values"}, want{"--mesh-config", "istio", "mesh"}}) {
    const auto file = flag_value(args, w.flag);
    if (!file) {
      problems.push_back(std::string("serve has no ") + w.flag);
      continue;
    }
    const auto got = config_map_key_of(spec, container, *file, problems);
    if (got && (got->config_map != w.config_map || got->key != w.key))
      problems.push_back(std::string(w.flag) + " reads key '" + got->key + "' of ConfigMap " + got->config_map +
                         ", not '" + w.key + "' of " + w.config_map);
  }

  // Every webhook reaches the Service, whose names the serving certificate covers.
  const YAML::Node service = m.one("Service");
  const std::string svc = str(service["metadata"]["name"]), svc_ns = str(service["metadata"]["namespace"]);
  std::optional<YAML::Node> serving;
  for (const auto& c : m.all("Certificate"))
    if (!c["spec"]["isCA"].as<bool>(false)) serving = c;
  if (!serving) {
    problems.push_back("no serving Certificate");
    return problems;
  }
  std::set<std::string> sans;
  for (const auto& n : (*serving)["spec"]["dnsNames"]) sans.insert(str(n));
  for (const auto& name : service_dns_names(svc, svc_ns))
    if (!sans.count(name)) problems.push_back("the serving certificate does not cover " + name);
  const std::string ca_from = str((*serving)["metadata"]["namespace"]) + "/" + str((*serving)["metadata"]["name"]);
  for (const auto& config : m.all("MutatingWebhookConfiguration")) {
    const std::string name = str(config["metadata"]["name"]);
    if (str(config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]) != ca_from)
      problems.push_back(name + ": cert-manager.io/inject-ca-from is not " + ca_from);
    for (const auto& hook : config["webhooks"]) {
      const YAML::Node s = hook["clientConfig"]["service"];
      if (str(s["name"]) != svc || str(s["namespace"]) != svc_ns)
        problems.push_back(name + "/" + str(hook["name"]) + " calls " + str(s["namespace"]) + "/" + str(s["name"]) +
                           ", not the Service " + svc_ns + "/" + svc);
      // With failurePolicy Fail, the injector must never be asked about its own pods.
      Labels own = {{"kubernetes.io/metadata.name", kIstioNamespace}, {"istio-injection", "enabled"}};
      if (str(hook["failurePolicy"]) == "Fail" && selector_matches(hook["namespaceSelector"], own))
        problems.push_back(name + "/" + str(hook["name"]) + " selects " + kIstioNamespace +
                           " labelled istio-injection=enabled");
    }
  }
  return problems;
}

class BesideIstiod : public testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (!have_tool("kubectl"))
      GTEST_SKIP() << "kubectl is not installed: the manifests under deploy/ cannot be rendered (kubectl kustomize)";
  }
};

TEST_P(BesideIstiod, RunsOnIstiosConfigAndOwnsNothingOfIstios) {
  const auto problems = check_beside_istiod(kustomize(deploy_dir() / GetParam()));
  EXPECT_TRUE(problems.empty()) << GetParam() << join(problems);
}

INSTANTIATE_TEST_SUITE_P(Deploy, BesideIstiod,
                         testing::Values("overlays/beside-istiod", "examples/trial", "examples/canary", "examples/tag",
                                         "examples/instead-of-istiod"),
                         [](const testing::TestParamInfo<const char*>& test_info) {
                           std::string name;
                           for (const char* c = test_info.param; *c; ++c)
                             name += std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
                           return name;
                         });

TEST_F(BesideIstiod, TheTagReachesTheSameServiceWithTheSameFailurePolicy) {
  const auto m = kustomize(deploy_dir() / "examples" / "tag");
  const auto install = m.find("MutatingWebhookConfiguration", "meshinject");
  const auto tag = m.find("MutatingWebhookConfiguration", "meshinject-tag-prod");
  ASSERT_TRUE(install && tag);
  EXPECT_EQ(str((*tag)["metadata"]["labels"]["istio.io/tag"]), "prod");
  for (const auto& hook : (*tag)["webhooks"]) {
    EXPECT_EQ(YAML::Dump(hook["clientConfig"]), YAML::Dump((*install)["webhooks"][0]["clientConfig"]));
    EXPECT_EQ(str(hook["failurePolicy"]), str((*install)["webhooks"][0]["failurePolicy"]));
  }
}

// ---- the checks can fail -------------------------------------------------------------------

class BesideIstiodMutations : public BesideIstiod {
 protected:
  void SetUp() override {
    BesideIstiod::SetUp();
    if (IsSkipped()) return;
    rendered_ = kustomize(deploy_dir() / "examples" / "tag");
    ASSERT_TRUE(check_beside_istiod(rendered_).empty());
  }
  Manifests fresh() const { return rendered_.clone(); }
  static YAML::Node doc(Manifests& m, const std::string& kind, const std::string& name) {
    for (auto& d : m.docs)
      if (str(d["kind"]) == kind && str(d["metadata"]["name"]) == name) return d;
    throw std::runtime_error("no " + kind + " " + name);
  }
  Manifests rendered_;
};

TEST_F(BesideIstiodMutations, OwningIstiosObjects) {
  auto m = fresh();
  m.docs.push_back(YAML::Load("{apiVersion: v1, kind: Namespace, metadata: {name: istio-system}}"));
  m.docs.push_back(YAML::Load("{apiVersion: v1, kind: ConfigMap, metadata: {name: istio, namespace: istio-system}}"));
  const auto problems = check_beside_istiod(m);
  EXPECT_TRUE(mentions(problems, "renders a Namespace")) << join(problems);
  EXPECT_TRUE(mentions(problems, "renders ConfigMap istio")) << join(problems);
}

TEST_F(BesideIstiodMutations, ReadingMeshinjectsConfigInstead) {
  auto m = fresh();
  YAML::Node d = doc(m, "Deployment", "meshinject");
  for (auto v : d["spec"]["template"]["spec"]["volumes"])
    if (str(v["name"]) == "mesh") v["configMap"]["name"] = "meshinject-config";
  const auto problems = check_beside_istiod(m);
  EXPECT_TRUE(mentions(problems, "--mesh-config reads key 'mesh' of ConfigMap meshinject-config")) << join(problems);
}

TEST_F(BesideIstiodMutations, TheTagCallsTheOldNamespace) {
  auto m = fresh();
  YAML::Node d = doc(m, "MutatingWebhookConfiguration", "meshinject-tag-prod");
  d["webhooks"][1]["clientConfig"]["service"]["namespace"] = "meshinject-system";
  d["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] = "meshinject-system/meshinject-serving";
  const auto problems = check_beside_istiod(m);
  EXPECT_TRUE(mentions(problems, "calls meshinject-system/meshinject")) << join(problems);
  EXPECT_TRUE(mentions(problems, "inject-ca-from is not istio-system/meshinject-serving")) << join(problems);
}

TEST_F(BesideIstiodMutations, CertificateForTheOldNamespace) {
  auto m = fresh();
  YAML::Node d = doc(m, "Certificate", "meshinject-serving");
  d["spec"]["dnsNames"] = YAML::Load("[meshinject.meshinject-system.svc]");
  const auto problems = check_beside_istiod(m);
  EXPECT_TRUE(mentions(problems, "does not cover meshinject.istio-system.svc")) << join(problems);
}

TEST_F(BesideIstiodMutations, SelectingItsOwnNamespace) {
  auto m = fresh();
  YAML::Node d = doc(m, "MutatingWebhookConfiguration", "meshinject");
  d["webhooks"][0]["namespaceSelector"] = YAML::Load("{matchLabels: {istio-injection: enabled}}");
  d["webhooks"][0]["failurePolicy"] = "Fail";
  const auto problems = check_beside_istiod(m);
  EXPECT_TRUE(mentions(problems, "selects istio-system")) << join(problems);
}

}  // namespace
}  // namespace meshinject::deploytest
