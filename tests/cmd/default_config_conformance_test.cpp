// The embedded default against Istio 1.28's own injection, field by field.
//
// `meshinject kube-inject` with no config flags (the embedded default config,
// values and Istio 1.28's mesh defaults) injects upstream's inputs; each pod
// template it writes is compared with the golden Istio 1.28 wrote for the same
// input with its default settings, every field of every container (the proxy,
// the init container, the app's), volume and metadata entry. The differences
// meshinject means to keep are listed below, each with its reason. The test fails
// for a difference not in the list, and for a listed difference no input shows
// any more, so the list stays exact.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "patch/default_config.hpp"
#include "tests/cmd/cli_runner.hpp"
#include "tests/support/support.hpp"

namespace meshinject::test {
namespace {

namespace fs = std::filesystem;

// A difference meshinject keeps: every path with this prefix and suffix, and why.
struct difference {
  json ours, theirs;  // null where absent
};

struct intended_difference {
  std::string prefix, suffix;
  std::string reason;
  bool only_absent_for_empty = false;  // ours absent where Istio's is {}
  bool explains(const std::string& path, const difference& d) const {
    if (only_absent_for_empty && !(d.ours.is_null() && d.theirs == json::object())) return false;
    return path.size() >= prefix.size() + suffix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
};

const std::string released_image =
    "the released image (docker.io/istio/proxyv2:1.28.0), not the development hub and tag of the chart "
    "Istio's tests render (gcr.io/istio-testing, latest)";
const std::string explicit_empty_dir =
    "written as emptyDir: {}; Istio's template leaves the source empty, which the apiserver defaults to the "
    "same emptyDir, so the created pods are equal";
const std::string no_empty_resources =
    "kube-inject adds no empty fields to the user's containers (README); Go's encoder writes resources: {}";

const std::vector<intended_difference> intended = {
    {"spec.initContainers[istio-init].image", "", released_image},
    {"spec.initContainers[istio-proxy].image", "", released_image},
    {"spec.containers[istio-proxy].image", "", released_image},
    {"spec.volumes[workload-socket].emptyDir", "", explicit_empty_dir},
    {"spec.volumes[credential-socket].emptyDir", "", explicit_empty_dir},
    {"spec.volumes[workload-certs].emptyDir", "", explicit_empty_dir},
    {"spec.containers[", "].resources", no_empty_resources, true},
    {"spec.initContainers[", "].resources", no_empty_resources, true},
};

// Upstream's inputs whose golden Istio 1.28 wrote with its default settings (a row
// of cases.yaml without settings, or no row), and whose pods use only what the
// embedded template renders. Left out, with the reason: inputs upstream injects
// with a changed mesh or values (format-duration, hello-tracing-disabled,
// hello-probes-localhost, traffic-annotations, ...: cases.yaml gives them settings);
// proxy.istio.io/overrides inputs (only-proxy-container, proxy-override-*, multiple-templates: the overrides
// annotation's empty `resources` is not rendered as Istio does); the other templates
// (gateway*, grpc-*, custom-template, sidecar-spire), which the embedded config does
// not have.
const char* const default_inputs[] = {
    "auth.non-default-service-account.yaml", "auth.yaml", "daemonset.yaml",
    "deploymentconfig-multi.yaml", "deploymentconfig-with-canonical-service-label.yaml", "enable-core-dump.yaml",
    "explicit-security-context.yaml", "frontend.yaml", "hello-host-network.yaml",
    "hello-host-network-with-ns.yaml", "hello-ignore.yaml", "hello-mtls-not-ready.yaml",
    "hello-multi.yaml", "hello-namespace.yaml", "hello-probes-with-flag-unset-in-annotation.yaml",
    "hello-proxy-override.yaml", "hello.yaml", "init-no-intercept-no-native-sidecar.yaml",
    "kubevirtInterfaces_list.yaml", "list-frontend.yaml", "list.yaml",
    "multi-container.yaml", "multi-init.yaml", "native-sidecar-opt-out.yaml",
    "prometheus-scrape.yaml", "prometheus-scrape2.yaml", "replicaset.yaml",
    "replicationcontroller.yaml", "reroute-virtual-interfaces_list.yaml", "resource_annotations.yaml",
    "statefulset.yaml", "status_annotations.yaml", "status_annotations_zeroport.yaml",
    "traffic-annotations-empty-includes.yaml", "traffic-annotations-wildcards.yaml",
    "truncate-canonical-name-custom-controller-pod.yaml", "truncate-canonical-name-pod.yaml",
    // Probes rewritten to the agent (ISTIO_KUBE_APP_PROBERS), and the pod's own
    // proxy.istio.io/config.
    "hello-readiness.yaml", "https-probes.yaml", "named_port.yaml", "native-sidecar.yaml", "one_container.yaml",
    "ready_live.yaml", "ready_only.yaml", "startup_live.yaml", "startup_ready_live.yaml", "tcp-probes.yaml",
    "two_container.yaml", "hello-probes-proxyHoldApplication-ProxyConfig.yaml",
};

// Lists whose items carry a name are compared by name, so a path says which
// container, variable or volume differs; other lists by position.
bool named_list(const json& a) {
  if (!a.is_array() || a.empty()) return false;
  for (const json& item : a)
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) return false;
  return true;
}

void diff(const json& ours, const json& theirs, const std::string& path, std::map<std::string, difference>& out) {
  if (ours.is_object() && theirs.is_object()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : ours.items()) keys.insert(k);
    for (const auto& [k, v] : theirs.items()) keys.insert(k);
    for (const std::string& k : keys)
      diff(ours.value(k, json()), theirs.value(k, json()), path.empty() ? k : path + "." + k, out);
    return;
  }
  if (named_list(ours) && named_list(theirs)) {
    std::map<std::string, json> a, b;
    json order_a = json::array(), order_b = json::array();
    for (const json& item : ours) a[item["name"]] = item, order_a.push_back(item["name"]);
    for (const json& item : theirs) b[item["name"]] = item, order_b.push_back(item["name"]);
    std::set<std::string> names;
    for (const auto& [n, v] : a) names.insert(n);
    for (const auto& [n, v] : b) names.insert(n);
    for (const std::string& n : names)
      diff(a.count(n) ? a[n] : json(), b.count(n) ? b[n] : json(), path + "[" + n + "]", out);
    // Order matters: containers start in it, and a variable may refer to earlier ones.
    if (a.size() == b.size() && order_a != order_b) out[path + "<order>"] = {order_a, order_b};
    return;
  }
  if (ours.is_array() && theirs.is_array() && ours.size() == theirs.size()) {
    for (std::size_t i = 0; i < ours.size(); ++i) diff(ours[i], theirs[i], path + "[" + std::to_string(i) + "]", out);
    return;
  }
  if (ours != theirs) out[path] = {ours, theirs};
}

// The pod templates of a YAML stream, where kube-inject injects them; a Pod is
// kept as its metadata and spec, which is what a workload's template holds.
std::vector<json> pod_templates(const std::string& text) {
  std::vector<json> out;
  for (const std::string& doc : split_yaml_documents(text))
    if (doc.find_first_not_of(" \t\r\n") != std::string::npos) pods_of(yaml_to_json(doc), out);
  for (json& pod : out)
    if (pod.value("kind", "") == "Pod") pod = {{"metadata", pod.value("metadata", json())}, {"spec", pod.value("spec", json())}};
  return out;
}

// kube-inject with the embedded default on `input`: how each pod template
// differs from the golden's (a path says which template when there are several).
std::map<std::string, difference> differences(const fs::path& input, const fs::path& golden) {
  const cli_result r = run_cli({"kube-inject", "-f", input.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  const std::vector<json> ours = pod_templates(r.out);
  const std::vector<json> theirs = pod_templates(read_file(golden));
  EXPECT_EQ(ours.size(), theirs.size()) << r.out;
  EXPECT_FALSE(theirs.empty()) << golden;
  std::map<std::string, difference> found;
  for (std::size_t i = 0; i < std::min(ours.size(), theirs.size()); ++i) {
    std::map<std::string, difference> one;
    diff(ours[i], theirs[i], "", one);
    for (auto& [path, d] : one) found[(i ? "pod " + std::to_string(i) + ": " : "") + path] = std::move(d);
  }
  return found;
}

std::string shown(const json& j) { return j.is_null() ? std::string("<absent>") : j.dump(); }

TEST(default_config_conformance, istio_1_28_goldens_match_but_for_the_intended_differences) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const fs::path inject = dir / "istio-1.28" / "inject";
  std::vector<bool> used(intended.size(), false);
  for (const char* input : default_inputs) {
    SCOPED_TRACE(input);
    for (const auto& [path, d] : differences(inject / input, inject / (std::string(input) + ".injected"))) {
      const std::string field = path.substr(path.find(": ") == std::string::npos ? 0 : path.find(": ") + 2);
      bool explained = false;
      for (std::size_t i = 0; i < intended.size() && !explained; ++i)
        if (intended[i].explains(field, d)) explained = used[i] = true;
      EXPECT_TRUE(explained) << input << ": " << path << ": ours " << shown(d.ours) << ", Istio 1.28's "
                             << shown(d.theirs) << " (not an intended difference)";
    }
  }
  for (std::size_t i = 0; i < intended.size(); ++i)
    EXPECT_TRUE(used[i]) << intended[i].prefix << "*" << intended[i].suffix << " is listed as an intended difference ("
                         << intended[i].reason << ") but no input differs there now: remove it from the list";
}

// The embedded values hold Istio 1.28's chart defaults (the `values` key its chart
// renders) for every key they set, but the image's hub and tag.
TEST(default_config_conformance, embedded_values_are_istio_1_28s_chart_defaults) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const json theirs = json::parse(read_file(dir / "istio-1.28" / "rendered" / "values.json")).flatten();
  const json ours = json::parse(std::string(patch::default_values())).flatten();
  const std::map<std::string, std::string> intended_values = {
      {"/global/hub", "the released images' registry, not the chart's development hub"},
      {"/global/tag", "the released 1.28.0, not the chart's development tag"},
  };
  std::set<std::string> differing;
  for (const auto& [key, value] : ours.items()) {
    if (theirs.contains(key) && theirs[key] == value) continue;
    differing.insert(key);
    EXPECT_TRUE(intended_values.count(key)) << key << ": ours " << value.dump() << ", Istio 1.28's "
                                            << (theirs.contains(key) ? theirs[key].dump() : "<absent>");
  }
  for (const auto& [key, reason] : intended_values) EXPECT_TRUE(differing.count(key)) << key << " (" << reason << ")";
}

// The comparison itself can fail: a changed field is reported with its path.
TEST(default_config_conformance, a_changed_field_is_reported_by_path) {
  const json ours = json::parse(R"({"spec":{"initContainers":[{"name":"istio-proxy","env":[{"name":"CA_ADDR","value":"a"}]}]}})");
  json theirs = ours;
  theirs["spec"]["initContainers"][0]["env"][0]["value"] = "b";
  std::map<std::string, difference> found;
  diff(ours, theirs, "", found);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found.begin()->first, "spec.initContainers[istio-proxy].env[CA_ADDR].value");
  theirs["spec"]["initContainers"][0]["env"].push_back({{"name", "X"}});
  found.clear();
  diff(ours, theirs, "", found);
  EXPECT_TRUE(found.count("spec.initContainers[istio-proxy].env[X]"));
  EXPECT_FALSE(intended[0].explains("spec.initContainers[istio-proxy].env[X]", found.begin()->second));
  // `resources: {}` is intended only where ours has none.
  EXPECT_TRUE(intended.back().explains("spec.initContainers[app].resources", {json(), json::object()}));
  EXPECT_FALSE(intended.back().explains("spec.initContainers[app].resources", {json::object(), json()}));
}

}  // namespace
}  // namespace meshinject::test
