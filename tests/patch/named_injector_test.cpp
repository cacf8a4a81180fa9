// The named-templates (Istio >= 1.9) path of the engine (patch/named_injector.cpp):
// template selection and aliases, the gateway-controller refusal,
// .DeploymentMeta/.TypeMeta from owner references, the ProxyConfig defaults,
// the status annotation, re-injection, pod data kept inside strings, and
// Istio 1.28's kube-inject goldens with the chart's rendered ConfigMap. Patches
// are applied with nlohmann-json's RFC 6902 implementation (the oracle) and the
// results compared by meaning.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <string>
#include <utility>

#include "patch/injector.hpp"
#include "patch/k8s_schema.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/support.hpp"

namespace {

namespace mt = meshinject::test;
namespace patch = meshinject::patch;
using mt::json;

std::shared_ptr<const patch::snapshot> load(const std::string& config, const std::string& mesh = "",
                                            const std::string& values = "") {
  return mt::make_snapshot(config, mesh, "", values);
}

using answer = mt::pod_answer;
using mt::review_pod;

// Two small templates, an alias for both, and the gateway controller's name.
const char* const small_config = R"(policy: enabled
defaultTemplates: [first]
aliases:
  both: [first, second]
templates:
  first: |
    metadata:
      labels:
        first: "{{ .DeploymentMeta.Name }}"
        kind: "{{ .TypeMeta.Kind }}"
        api: "{{ .TypeMeta.APIVersion }}"
        copied: "{{ index .ObjectMeta.Annotations `copy-me` }}"
        discovery: "{{ .ProxyConfig.DiscoveryAddress }}"
        status-port: "{{ .ProxyConfig.StatusPort }}"
        native: "{{ .NativeSidecars }}"
        revision: "{{ .Revision | default `default` }}"
    spec:
      initContainers:
      - name: istio-init
        image: "{{ .ProxyImage }}"
        args: ["-u", {{ .ProxyUID | default "1337" | quote }}]
      volumes:
      - name: istio-envoy
        emptyDir: {}
  second: |
    metadata:
      labels:
        second: "yes"
    spec:
      containers:
      - name: istio-proxy
        image: proxy
  waypoint: |
    apiVersion: apps/v1
    kind: Deployment
)";

const char* const small_values = R"({"global": {"hub": "docker.io/istio", "tag": "1.28.0-distroless", "proxy": {"image": "proxyv2"}}})";

json plain_pod() {
  return json::parse(R"({"metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "app", "image": "app"}]}})");
}

TEST(named_injector, renders_the_default_template_with_istio_1_28_data) {
  patch::engine e(load(small_config, "", small_values));
  const answer a = review_pod(e, plain_pod());
  ASSERT_EQ(a.response["response"]["allowed"], true) << a.response.dump();
  const json& labels = a.patched["metadata"]["labels"];
  EXPECT_EQ(labels["first"], "web");
  EXPECT_EQ(labels["kind"], "Pod");
  EXPECT_EQ(labels["api"], "v1");
  EXPECT_EQ(labels["discovery"], "istiod.istio-system.svc:15012");  // 1.28's DefaultProxyConfig
  EXPECT_EQ(labels["status-port"], "15020");
  EXPECT_EQ(labels["native"], "true");
  EXPECT_EQ(labels["revision"], "default");
  EXPECT_FALSE(labels.contains("second"));
  const json& init = a.patched["spec"]["initContainers"][0];
  EXPECT_EQ(init["image"], "docker.io/istio/proxyv2:1.28.0-distroless");
  EXPECT_EQ(init["args"], json::parse(R"(["-u", "1337"])"));
  EXPECT_EQ(e.stats().named_renders.value(), 1u);
}

TEST(named_injector, mesh_default_config_applies_over_1_28_defaults) {
  patch::engine e(load(small_config, "defaultConfig:\n  statusPort: 15099\n", small_values));
  const answer a = review_pod(e, plain_pod());
  EXPECT_EQ(a.patched["metadata"]["labels"]["status-port"], "15099");
  EXPECT_EQ(a.patched["metadata"]["labels"]["discovery"], "istiod.istio-system.svc:15012");
  // The merged-metrics port follows the mesh's status port.
  EXPECT_EQ(a.patched["metadata"]["annotations"]["prometheus.io/port"], "15099");
}

// mesh.ApplyProxyConfig: the pod's proxy.istio.io/config over the mesh's
// defaultConfig, per pod; the next pod without it sees the mesh's alone.
TEST(named_injector, the_pods_proxy_config_annotation_applies_over_the_mesh) {
  const std::string config = std::string(small_config) +
                             "  meta: |\n"
                             "    metadata:\n"
                             "      labels:\n"
                             "        foo: \"{{ index .ProxyConfig.ProxyMetadata `FOO` }}\"\n"
                             "        kept: \"{{ index .ProxyConfig.ProxyMetadata `KEPT` }}\"\n"
                             "        json: '{{ protoToJSON .ProxyConfig }}'\n";
  patch::engine e(load(config, "defaultConfig:\n  statusPort: 15099\n  proxyMetadata: {KEPT: mesh, FOO: mesh}\n",
                       small_values));
  json pod = plain_pod();
  pod["metadata"]["annotations"]["inject.istio.io/templates"] = "first,meta";
  pod["metadata"]["annotations"]["proxy.istio.io/config"] =
      "discoveryAddress: \"x\\\": 1\"\nstatusPort: null\nconcurrency: 0\nproxyMetadata: {FOO: pod}\n";
  const answer a = review_pod(e, pod);
  ASSERT_EQ(a.response["response"]["allowed"], true) << a.response.dump();
  const json& labels = a.patched["metadata"]["labels"];
  EXPECT_EQ(labels["discovery"], "x\": 1");     // pod data stays inside its string
  EXPECT_EQ(labels["status-port"], "15099");  // a null sets nothing
  EXPECT_EQ(labels["foo"], "pod");            // proxyMetadata merges key by key
  EXPECT_EQ(labels["kept"], "mesh");
  EXPECT_EQ(json::parse(labels["json"].get<std::string>())["concurrency"], 0);  // a set Int32Value

  pod["metadata"]["annotations"].erase("proxy.istio.io/config");
  const answer next = review_pod(e, pod);
  EXPECT_EQ(next.patched["metadata"]["labels"]["discovery"], "istiod.istio-system.svc:15012");
  EXPECT_EQ(next.patched["metadata"]["labels"]["foo"], "mesh");
}

// A core keeps each annotation text's merge: pods with other texts, more texts than
// it keeps, and a text seen again each get their own .ProxyConfig.
TEST(named_injector, each_proxy_config_annotation_text_gets_its_own_config_on_one_engine) {
  patch::engine e(load(small_config, "defaultConfig:\n  statusPort: 15099\n", small_values));
  auto status_port_with = [&](int port) {
    json pod = plain_pod();
    pod["metadata"]["annotations"]["proxy.istio.io/config"] = "statusPort: " + std::to_string(port);
    const answer a = review_pod(e, pod);
    return a.patched["metadata"]["labels"]["status-port"].get<std::string>();
  };
  for (int round = 0; round < 2; ++round)
    for (int port = 16000; port < 16040; ++port) EXPECT_EQ(status_port_with(port), std::to_string(port));
  EXPECT_EQ(status_port_with(16003), "16003");
  json plain = plain_pod();
  EXPECT_EQ(review_pod(e, plain).patched["metadata"]["labels"]["status-port"], "15099");
  json bad = plain_pod();
  bad["metadata"]["annotations"]["proxy.istio.io/config"] = "a: [unclosed";
  for (int i = 0; i < 2; ++i) EXPECT_EQ(review_pod(e, bad).response["response"]["allowed"], false);
}

// What the path reads from the values, the mesh and each ProxyConfig (image, status
// port, hold) is read once per snapshot and per ProxyConfig: a pod's own config
// still changes it, and a new snapshot on the same engine is read again.
TEST(named_injector, settings_follow_the_pods_proxy_config_and_a_new_snapshot) {
  const auto first = load(small_config, "defaultConfig:\n  statusPort: 15099\n", small_values);
  patch::engine e(first);
  json pod = plain_pod();
  pod["metadata"]["annotations"]["inject.istio.io/templates"] = "both";
  pod["metadata"]["annotations"]["prometheus.io/scrape"] = "true";
  auto check = [&](const std::string& image, const std::string& port, bool proxy_first) {
    const answer a = review_pod(e, pod);
    ASSERT_EQ(a.response["response"]["allowed"], true) << a.response.dump();
    EXPECT_EQ(a.patched["spec"]["initContainers"][0]["image"], image);
    EXPECT_EQ(a.patched["metadata"]["annotations"]["prometheus.io/port"], port);
    const json& containers = a.patched["spec"]["containers"];
    ASSERT_EQ(containers.size(), 2u);
    EXPECT_EQ(containers[proxy_first ? 0 : 1]["name"], "istio-proxy");
  };
  check("docker.io/istio/proxyv2:1.28.0-distroless", "15099", false);
  pod["metadata"]["annotations"]["proxy.istio.io/config"] =
      "holdApplicationUntilProxyStarts: true\nimage: {imageType: debug}\n";
  check("docker.io/istio/proxyv2:1.28.0-debug", "15099", true);
  pod["metadata"]["annotations"].erase("proxy.istio.io/config");
  check("docker.io/istio/proxyv2:1.28.0-distroless", "15099", false);

  e.set_snapshot(load(small_config, "defaultConfig:\n  statusPort: 15088\n  image: {imageType: default}\n",
                      R"({"global": {"hub": "other.io/mesh", "tag": "1.28.1", "proxy": {"image": "sidecar",
                          "holdApplicationUntilProxyStarts": true}}})"));
  check("other.io/mesh/sidecar:1.28.1", "15088", true);
  pod["metadata"]["annotations"]["proxy.istio.io/config"] = "image: {imageType: distroless}\n";
  check("other.io/mesh/sidecar:1.28.1-distroless", "15088", true);
}

TEST(named_injector, a_proxy_config_annotation_that_does_not_parse_fails_the_injection) {
  patch::engine e(load(small_config, "", small_values));
  for (const char* bad : {"[not, a, mapping]", "a: [unclosed"}) {
    json pod = plain_pod();
    pod["metadata"]["annotations"]["proxy.istio.io/config"] = bad;
    const answer a = review_pod(e, pod);
    EXPECT_EQ(a.response["response"]["allowed"], false) << bad;
    const std::string message = a.response["response"]["status"]["message"];
    EXPECT_NE(message.find("could not parse proxy config (annotation proxy.istio.io/config)"), std::string::npos)
        << message;
  }
}

// The webhook on OpenShift (a UID range given) drops the user's istio-proxy
// runAsUser/runAsGroup when it equals the app's, so the template's user
// stands; kube-inject (istioctl) does not, and a different user is kept.
TEST(named_injector, openshift_resets_a_proxy_user_equal_to_the_apps) {
  const std::string config = std::string(small_config) +
                             "  proxy: |\n"
                             "    spec:\n"
                             "      containers:\n"
                             "      - name: istio-proxy\n"
                             "        image: proxy\n"
                             "        securityContext:\n"
                             "          runAsUser: {{ .ProxyUID }}\n";
  patch::config_sources s;
  s.inject_config_text = config;
  s.inject_config_name = "test-config.yaml";
  s.values_text = small_values;
  s.values_name = "test-values.json";
  s.proxy_uid = 1000629999;
  s.proxy_gid = 1000629999;
  patch::engine e(patch::snapshot::build(s));
  auto pod_with_users = [](int app_user, int proxy_user) {
    json pod = plain_pod();
    pod["metadata"]["annotations"]["inject.istio.io/templates"] = "proxy";
    pod["spec"]["containers"][0]["securityContext"] = {{"runAsUser", app_user}};
    pod["spec"]["containers"].push_back(
        {{"name", "istio-proxy"}, {"image", "auto"},
         {"securityContext", {{"runAsUser", proxy_user}, {"runAsGroup", proxy_user}}}});
    return pod;
  };
  auto proxy_of = [](const json& pod) {
    for (const json& c : pod["spec"]["containers"])
      if (c["name"] == "istio-proxy") return c;
    return json();
  };

  answer a = review_pod(e, pod_with_users(1000620000, 1000620000));
  ASSERT_EQ(a.response["response"]["allowed"], true) << a.response.dump();
  EXPECT_EQ(proxy_of(a.patched)["securityContext"]["runAsUser"], 1000629999);
  const json overrides = json::parse(a.patched["metadata"]["annotations"]["proxy.istio.io/overrides"].get<std::string>());
  const json& proxy_override = overrides.at("containers").at(0);
  EXPECT_FALSE(proxy_override.value("securityContext", json::object()).contains("runAsUser")) << overrides.dump();

  a = review_pod(e, pod_with_users(1000620000, 1000620001));  // the user's own choice
  EXPECT_EQ(proxy_of(a.patched)["securityContext"]["runAsUser"], 1000620001);

  // kube-inject's path (inject_pod) keeps the user's proxy user, as istioctl does.
  simdjson::dom::parser parser;
  const std::string text = pod_with_users(1000620000, 1000620000).dump();
  const patch::injection_result r = e.inject_pod(parser.parse(text), "default", nullptr);
  ASSERT_EQ(r.kind, patch::outcome::injected) << r.message;
  const json patched = mt::apply_patch(pod_with_users(1000620000, 1000620000), json::parse(r.patch));
  EXPECT_EQ(proxy_of(patched)["securityContext"]["runAsUser"], 1000620000);
}

TEST(named_injector, the_pods_annotation_selects_templates_through_aliases) {
  patch::engine e(load(small_config, "", small_values));
  json pod = plain_pod();
  pod["metadata"]["annotations"]["inject.istio.io/templates"] = "both";
  const answer a = review_pod(e, pod);
  ASSERT_EQ(a.response["response"]["allowed"], true) << a.response.dump();
  EXPECT_EQ(a.patched["metadata"]["labels"]["first"], "web");
  EXPECT_EQ(a.patched["metadata"]["labels"]["second"], "yes");
  // The proxy goes last among the containers (reorderPod).
  EXPECT_EQ(a.patched["spec"]["containers"].back()["name"], "istio-proxy");

  pod["metadata"]["annotations"]["inject.istio.io/templates"] = " second ";
  const answer only = review_pod(e, pod);
  EXPECT_FALSE(only.patched["metadata"]["labels"].contains("first"));
  EXPECT_EQ(only.patched["metadata"]["labels"]["second"], "yes");
}

TEST(named_injector, an_unknown_template_fails_and_names_what_there_is) {
  patch::engine e(load(small_config, "", small_values));
  json pod = plain_pod();
  pod["metadata"]["annotations"]["inject.istio.io/templates"] = "nope";
  const answer a = review_pod(e, pod);
  EXPECT_EQ(a.response["response"]["allowed"], false);
  const std::string message = a.response["response"]["status"]["message"];
  EXPECT_NE(message.find("requested template \"nope\" not found; have first, second, waypoint"), std::string::npos)
      << message;
}

TEST(named_injector, a_gateway_controller_template_is_refused) {
  patch::engine e(load(small_config, "", small_values));
  json pod = plain_pod();
  pod["metadata"]["annotations"]["inject.istio.io/templates"] = "first,waypoint";
  const answer a = review_pod(e, pod);
  EXPECT_EQ(a.response["response"]["allowed"], false);
  EXPECT_EQ(a.response["response"]["status"]["code"], 400);
  const std::string message = a.response["response"]["status"]["message"];
  EXPECT_NE(message.find("template \"waypoint\" renders a gateway Deployment"), std::string::npos) << message;
}

TEST(named_injector, a_template_that_does_not_compile_is_a_load_error_naming_it) {
  const std::string bad = std::string(small_config) + "  broken: |\n    x: {{ nosuchfunction 1 }}\n";
  try {
    load(bad);
    FAIL() << "loaded";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("template broken"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nosuchfunction"), std::string::npos) << e.what();
  }
}

// GetDeployMetaFromPod: a generated pod's controller names its workload.
TEST(named_injector, deployment_meta_and_type_meta_come_from_the_controller) {
  patch::engine e(load(small_config, "", small_values));
  struct row {
    const char* owner;
    const char* extra_labels;
    const char* name, *kind, *api;
  } rows[] = {
      {R"({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "shop-7d4b9c", "controller": true})",
       R"({"pod-template-hash": "7d4b9c"})", "shop", "Deployment", "apps/v1"},
      {R"({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "shop-7d4b9c", "controller": true})", "{}",
       "shop-7d4b9c", "ReplicaSet", "apps/v1"},
      {R"({"apiVersion": "batch/v1", "kind": "Job", "name": "nightly-28012345", "controller": true})", "{}",
       "nightly", "CronJob", "batch/v1"},
      {R"({"apiVersion": "batch/v1", "kind": "Job", "name": "once-1234", "controller": true})", "{}", "once-1234",
       "Job", "batch/v1"},
      {R"({"apiVersion": "v1", "kind": "ReplicationController", "name": "rc-1", "controller": true})",
       R"({"deploymentconfig": "legacy"})", "legacy", "DeploymentConfig", "v1"},
      {R"({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": false})", "{}", "", "Pod",
       "v1"},
  };
  for (const row& r : rows) {
    json pod = plain_pod();
    pod["metadata"].erase("name");
    pod["metadata"]["generateName"] = "gen-";
    pod["metadata"]["ownerReferences"] = json::array({json::parse(r.owner)});
    pod["metadata"]["labels"].update(json::parse(r.extra_labels));
    const answer a = review_pod(e, pod);
    SCOPED_TRACE(r.owner);
    EXPECT_EQ(a.patched["metadata"]["labels"]["first"], r.name);
    EXPECT_EQ(a.patched["metadata"]["labels"]["kind"], r.kind);
    EXPECT_EQ(a.patched["metadata"]["labels"]["api"], r.api);
  }
}

TEST(named_injector, the_status_annotation_is_written_as_istio_1_28_writes_it) {
  patch::engine e(load(small_config, "", small_values));
  json pod = plain_pod();
  pod["metadata"]["annotations"]["inject.istio.io/templates"] = "both";
  const answer a = review_pod(e, pod);
  EXPECT_EQ(a.patched["metadata"]["annotations"]["sidecar.istio.io/status"],
            R"({"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["istio-envoy"],)"
            R"("imagePullSecrets":null,"revision":"default"})");
}

TEST(named_injector, reinjecting_an_injected_pod_changes_nothing) {
  patch::engine e(load(small_config, "", small_values));
  json pod = plain_pod();
  pod["metadata"]["annotations"]["inject.istio.io/templates"] = "both";
  const answer first = review_pod(e, pod);
  const answer again = review_pod(e, first.patched);
  ASSERT_FALSE(again.patched.is_null()) << again.response.dump();
  EXPECT_EQ(mt::semantic_diff(first.patched, again.patched), "");
}

TEST(named_injector, pod_data_stays_inside_its_string) {
  patch::engine e(load(small_config, "", small_values));
  json pod = plain_pod();
  pod["metadata"]["annotations"]["copy-me"] = "x\"\n  injected: true\n}], {";
  const answer a = review_pod(e, pod);
  ASSERT_EQ(a.response["response"]["allowed"], true) << a.response.dump();
  EXPECT_EQ(a.patched["metadata"]["labels"]["copied"], "x\"\n  injected: true\n}], {");
  EXPECT_FALSE(a.patched["metadata"]["labels"].contains("injected"));
}

TEST(named_injector, a_one_template_config_keeps_the_1_1_path) {
  patch::engine e(load("policy: enabled\ntemplate: |\n  containers:\n  - name: sidecar\n    image: s\n"));
  const answer a = review_pod(e, plain_pod());
  EXPECT_EQ(a.patched["spec"]["containers"][1]["name"], "sidecar");
  EXPECT_EQ(e.stats().named_renders.value(), 0u);
}

// resource.Quantity's canonical text, which Istio's typed round trip writes.
TEST(named_injector, quantities_are_written_in_canonical_form) {
  const std::pair<const char*, const char*> cases[] = {
      {"2000m", "2"}, {"100m", "100m"}, {"0.5", "500m"},  {"1.5", "1500m"}, {"2000", "2k"},  {"128Mi", "128Mi"},
      {"1024Mi", "1Gi"}, {"0.5Gi", "512Mi"}, {"512", "512"}, {"0", "0"},   {"1Ki", "1Ki"},  {"-100m", "-100m"},
  };
  for (const auto& [in, want] : cases) {
    std::string out;
    ASSERT_TRUE(patch::k8s::canonical_quantity(in, out)) << in;
    EXPECT_EQ(out, want) << in;
  }
  std::string out;
  EXPECT_FALSE(patch::k8s::canonical_quantity("lots", out));
  EXPECT_FALSE(patch::k8s::canonical_quantity("1e3", out));
}

// ------------------------------------------------------------ Istio 1.28's data

// The pod template of a kube-inject input (a Deployment, ...) or the Pod itself.
json pod_of(const json& object) {
  if (object.value("kind", "") == "Pod") return object;
  if (object.contains("spec") && object["spec"].contains("jobTemplate"))
    return object["spec"]["jobTemplate"]["spec"]["template"];
  return object["spec"]["template"];
}

// kube-inject's path: the workload's name and type are .DeploymentMeta and .TypeMeta.
std::string inject_and_compare(patch::engine& e, const std::filesystem::path& dir, const std::string& input) {
  const json object = mt::yaml_to_json(mt::read_file(dir / "inject" / input));
  const json golden = mt::yaml_to_json(mt::read_file(dir / "inject" / (input + ".injected")));
  const json pod = pod_of(object);
  const std::string text = pod.dump();
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  if (parser.parse(text).get(element)) return "input does not parse";
  patch::workload_meta workload;
  const std::string name = object["metadata"].value("name", "");
  const std::string ns = object["metadata"].value("namespace", "default");
  const std::string kind = object.value("kind", ""), api = object.value("apiVersion", "");
  workload.name = name;
  workload.namespace_name = ns;
  workload.kind = kind;
  workload.api_version = api;
  const patch::injection_result r = e.inject_pod(element, ns, &workload);
  if (r.kind == patch::outcome::skipped) return mt::semantic_diff(pod, pod_of(golden));
  if (r.kind != patch::outcome::injected) return "not injected: " + std::string(r.message);
  const json patched = mt::apply_patch(pod, json::parse(r.patch));
  return mt::semantic_diff(patched, pod_of(golden));
}

struct istio_1_28 : ::testing::Test {
  std::shared_ptr<const patch::snapshot> snap;
  std::filesystem::path dir;
  void SetUp() override {
    const auto found = mt::conformance_dir();
    if (!found || !std::filesystem::exists(*found / "istio-1.28" / "rendered" / "config.yaml"))
      GTEST_SKIP() << "conformance data not found (set MESHINJECT_CONFORMANCE_DIR to ../shared/conformance)";
    dir = *found / "istio-1.28";
    snap = load(mt::read_file(dir / "rendered" / "config.yaml"), "", mt::read_file(dir / "rendered" / "values.json"));
  }
};

TEST_F(istio_1_28, hello_matches_its_golden) {
  patch::engine e(snap);
  EXPECT_EQ(inject_and_compare(e, dir, "hello.yaml"), "");
}

// The webhook path: a Deployment's pod as the apiserver sends it, its workload
// found from the ReplicaSet that owns it.
TEST_F(istio_1_28, hello_through_the_webhook_matches_its_golden) {
  patch::engine e(snap);
  json pod = pod_of(mt::yaml_to_json(mt::read_file(dir / "inject" / "hello.yaml")));
  json expected = pod_of(mt::yaml_to_json(mt::read_file(dir / "inject" / "hello.yaml.injected")));
  const json owner = json::parse(
      R"([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "hello-5d8f7", "uid": "u", "controller": true}])");
  for (json* p : {&pod, &expected}) {
    (*p)["metadata"]["generateName"] = "hello-5d8f7-";
    (*p)["metadata"]["namespace"] = "default";
    (*p)["metadata"]["ownerReferences"] = owner;
    (*p)["metadata"]["labels"]["pod-template-hash"] = "5d8f7";
  }
  const answer a = review_pod(e, pod);
  ASSERT_FALSE(a.patched.is_null()) << a.response.dump();
  EXPECT_EQ(mt::semantic_diff(a.patched, expected), "");
}

// Inputs that run with the default settings and whose goldens meshinject
// matches. Not yet: the probe rewrite (hello-probes*, hello-readiness,
// https-probes), gateway.yaml's env; the data-driven runner over cases.yaml
// lists every row with its reason.
TEST_F(istio_1_28, default_setting_goldens) {
  patch::engine e(snap);
  for (const char* input : {"hello.yaml", "daemonset.yaml", "hello-multi.yaml", "auth.yaml", "enable-core-dump.yaml",
                            "explicit-security-context.yaml", "hello-namespace.yaml", "hello-proxy-override.yaml",
                            "grpc-simple.yaml", "grpc-agent.yaml", "hello-mtls-not-ready.yaml",
                            "hello-tracing-disabled.yaml", "auth.non-default-service-account.yaml",
                            "hello-host-network.yaml", "hello-ignore.yaml"}) {
    SCOPED_TRACE(input);
    EXPECT_EQ(inject_and_compare(e, dir, input), "");
  }
}

}  // namespace

namespace {

// The merge starts from a pod that shares managedFields and status with the pod
// as received (the diff skips them); a template that writes them must get the
// pod's own copy first, or its values would vanish from the patch.
const char* const status_writing_config = R"(policy: enabled
defaultTemplates: [first]
templates:
  first: |
    metadata:
      managedFields:
      - manager: meshinject
    status:
      phase: Injected
    spec:
      containers:
      - name: istio-proxy
        image: proxy
)";

TEST(named_injector, a_template_writing_managed_fields_or_status_changes_them_in_the_patch) {
  patch::engine e(load(status_writing_config, "", small_values));
  json pod = plain_pod();
  pod["metadata"]["managedFields"] = json::parse(R"([{"manager":"kubectl","operation":"Update"}])");
  pod["status"] = json::parse(R"({"phase":"Pending","qosClass":"BestEffort"})");
  for (int request = 0; request < 2; ++request) {  // the second from the memo
    const answer a = review_pod(e, pod);
    ASSERT_EQ(a.response["response"]["allowed"], true) << a.response.dump();
    EXPECT_EQ(a.patched["metadata"]["managedFields"], json::parse(R"([{"manager":"meshinject"}])"));
    EXPECT_EQ(a.patched["status"], json::parse(R"({"phase":"Injected","qosClass":"BestEffort"})"));
    EXPECT_EQ(a.patched["spec"]["containers"][1]["name"], "istio-proxy");
  }
}

TEST(named_injector, managed_fields_and_status_no_template_writes_stay_as_they_were) {
  patch::engine e(load(small_config, "", small_values));
  json pod = plain_pod();
  pod["metadata"]["managedFields"] = json::parse(R"([{"manager":"kubectl","fieldsV1":{"f:spec":{}}}])");
  pod["status"] = json::parse(R"({"phase":"Pending"})");
  const answer a = review_pod(e, pod);
  ASSERT_EQ(a.response["response"]["allowed"], true) << a.response.dump();
  EXPECT_EQ(a.patched["metadata"]["managedFields"], pod["metadata"]["managedFields"]);
  EXPECT_EQ(a.patched["status"], pod["status"]);
  EXPECT_EQ(a.patched["metadata"]["labels"]["first"], "web");
}

// The apiserver's managedFields and the pod's status are left out of the tree
// the merge starts from when no template reaches them (patch/named_injector.cpp's
// unread_by_merge): they come back exactly as sent, whatever they hold, and a
// template that does write into one still gets Istio's merge.
const char* const unread_parts_config = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    spec:
      containers:
      - name: istio-proxy
        image: proxy
  with_status: |
    status:
      message: injected
      conditions:
      - type: Injected
        status: "True"
  drop_fields: |
    metadata:
      managedFields: null
)";

json pod_with_odd_unread_parts() {
  json pod = {{"metadata", {{"name", "web"}, {"namespace", "default"}, {"labels", {{"app", "ok"}}}}},
              {"spec", {{"containers", {{{"name", "web"}, {"image", "app"}}}}}}};
  pod["metadata"]["managedFields"] = json::parse(R"([
    {"manager":"kube\"ctl\\\n\u00e9\u2028","operation":"Update","apiVersion":"v1",
     "fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{}}}},
     "nested":[[1,[2,[3.5e3,-0,18446744073709551615]]],[],{}],"time":null,"ok":true},
    {"manager":"</script>&","fieldsType":"FieldsV1","fieldsV1":{}}])");
  pod["status"] = json::parse(R"({"phase":"Pending","conditions":[{"type":"PodScheduled","status":"True",
    "message":"tab\there \"quoted\""}],"qosClass":"BestEffort"})");
  return pod;
}

TEST(named_unread_parts, odd_managed_fields_and_status_come_back_unchanged) {
  patch::engine e(load(unread_parts_config));
  const json pod = pod_with_odd_unread_parts();
  for (int round = 0; round < 2; ++round) {  // cold, then from the memo
    const answer a = review_pod(e, pod, "uid-" + std::to_string(round));
    ASSERT_FALSE(a.patched.is_null()) << a.response.dump();
    EXPECT_EQ(a.patched["metadata"]["managedFields"], pod["metadata"]["managedFields"]);
    EXPECT_EQ(a.patched["status"], pod["status"]);
    EXPECT_EQ(a.patched["spec"]["containers"].size(), 2u);
    for (const json& op : mt::response_patch(a.response)) {
      const std::string path = op["path"];
      EXPECT_NE(path.rfind("/status", 0), 0u) << op.dump();
      EXPECT_NE(path.rfind("/metadata/managedFields", 0), 0u) << op.dump();
    }
  }
}

TEST(named_unread_parts, a_template_writing_into_status_is_merged_into_the_pods_status) {
  patch::engine e(load(unread_parts_config));
  json pod = pod_with_odd_unread_parts();
  pod["metadata"]["annotations"] = {{"inject.istio.io/templates", "sidecar,with_status"}};
  for (int round = 0; round < 2; ++round) {
    const answer a = review_pod(e, pod, "uid-" + std::to_string(round));
    ASSERT_FALSE(a.patched.is_null()) << a.response.dump();
    const json& status = a.patched["status"];
    EXPECT_EQ(status["phase"], "Pending") << status.dump();
    EXPECT_EQ(status["qosClass"], "BestEffort");
    EXPECT_EQ(status["message"], "injected");
    // Pod conditions merge by `type`: the template's first, the pod's kept.
    ASSERT_EQ(status["conditions"].size(), 2u) << status.dump();
    EXPECT_EQ(status["conditions"][0]["type"], "Injected");
    EXPECT_EQ(status["conditions"][1], pod["status"]["conditions"][0]);
    EXPECT_EQ(a.patched["metadata"]["managedFields"], pod["metadata"]["managedFields"]);
    EXPECT_EQ(a.patched["spec"]["containers"].size(), 2u);
  }
}

TEST(named_unread_parts, a_template_deleting_managed_fields_removes_them) {
  patch::engine e(load(unread_parts_config));
  json pod = pod_with_odd_unread_parts();
  pod["metadata"]["annotations"] = {{"inject.istio.io/templates", "sidecar,drop_fields"}};
  const answer a = review_pod(e, pod);
  ASSERT_FALSE(a.patched.is_null()) << a.response.dump();
  EXPECT_FALSE(a.patched["metadata"].contains("managedFields")) << a.patched["metadata"].dump();
  EXPECT_EQ(a.patched["status"], pod["status"]);
  EXPECT_EQ(a.patched["spec"]["containers"].size(), 2u);
}

}  // namespace
