// The real Istio 1.1 production template (conformance/istio-1.1) compiled and
// rendered by the engine, checked field by field against what Istio 1.1 does
// (see that directory's README), for the realistic review and for variants of it.

#include <gtest/gtest.h>

#include <openssl/evp.h>

#include "tests/support/engine_fixture.hpp"

namespace {

using meshinject::test::json;
namespace mt = meshinject::test;
namespace mp = meshinject::patch;

std::string sha256_hex(const std::string& s) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d, &n, EVP_sha256(), nullptr);
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", d[i]);
    out += buf;
  }
  return out;
}

class istio11 : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto dir = mt::conformance_dir();
    if (!dir) GTEST_SKIP() << "conformance data not found (MESHINJECT_CONFORMANCE_DIR); Istio's template is not in this repository";
    root_ = *dir;
    config_ = mt::read_file(root_ / "istio-1.1" / "injector-config.yaml");
    mesh_ = mt::read_file(root_ / "istio-1.1" / "mesh.yaml");
    review_ = json::parse(mt::read_file(root_ / "reviews" / "checkout-pod.json"));
  }

  // Runs the review (optionally modified) and returns the pod after the patch.
  json inject(const json& review, bool with_mesh = true, json* patch_out = nullptr, json* response_out = nullptr) {
    auto snap = mt::make_snapshot(config_, with_mesh ? mesh_ : "");
    mp::engine engine(snap);
    const json response = mt::run_review(engine, review.dump());
    if (response_out) *response_out = response;
    const json patch = mt::response_patch(response);
    if (patch_out) *patch_out = patch;
    const json pod = review["request"]["object"];
    if (patch.is_null()) return pod;
    return mt::apply_patch(pod, patch);
  }

  static const json& container(const json& pod, const std::string& name, const char* list = "containers") {
    static const json none;
    if (!pod.contains("spec") || !pod["spec"].contains(list)) return none;
    for (const auto& c : pod["spec"][list])
      if (c["name"] == name) return c;
    return none;
  }

  static std::string arg_after(const json& c, const std::string& flag) {
    const auto& args = c["args"];
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == flag) return args[i + 1].get<std::string>();
    return "<absent>";
  }

  static std::string env(const json& c, const std::string& name) {
    for (const auto& e : c["env"])
      if (e["name"] == name) return e.contains("value") ? e["value"].get<std::string>() : "<valueFrom>";
    return "<absent>";
  }

  std::filesystem::path root_;
  std::string config_, mesh_;
  json review_;
};

TEST_F(istio11, realistic_review_gets_the_1_1_sidecar) {
  json patch, response;
  const json pod = inject(review_, true, &patch, &response);
  EXPECT_EQ(response["response"]["uid"], review_["request"]["uid"]);
  EXPECT_EQ(response["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(response["response"]["auditAnnotations"]["reason"], "policy-enabled");

  const json& init = container(pod, "istio-init", "initContainers");
  ASSERT_FALSE(init.is_null());
  EXPECT_EQ(arg_after(init, "-b"), "8080");          // the pod's container port
  EXPECT_EQ(arg_after(init, "-u"), "1337");          // an unquoted 1337 under args is a string
  EXPECT_TRUE(init["args"][3].is_string());
  EXPECT_EQ(arg_after(init, "-p"), "15001");         // .MeshConfig.ProxyListenPort
  EXPECT_EQ(arg_after(init, "-m"), "REDIRECT");      // enum default formatted by name
  EXPECT_EQ(arg_after(init, "-i"), "*");
  EXPECT_EQ(arg_after(init, "-x"), "");
  EXPECT_EQ(arg_after(init, "-d"), "15020");         // excludeInboundPort of the status port
  EXPECT_FALSE(init.contains("restartPolicy"));      // not a container field for Istio 1.1's decoder
  EXPECT_EQ(init["securityContext"]["capabilities"]["add"][0], "NET_ADMIN");

  const json& proxy = container(pod, "istio-proxy");
  ASSERT_FALSE(proxy.is_null());
  EXPECT_EQ(proxy["image"], "docker.io/istio/proxyv2:1.1.0");
  EXPECT_EQ(proxy["readinessProbe"]["httpGet"]["port"], 15020);
  EXPECT_TRUE(proxy["readinessProbe"]["httpGet"]["port"].is_number());
  EXPECT_EQ(proxy["readinessProbe"]["httpGet"]["path"], "/healthz/ready");
  EXPECT_EQ(proxy["readinessProbe"]["initialDelaySeconds"], 1);
  EXPECT_EQ(proxy["readinessProbe"]["periodSeconds"], 2);
  EXPECT_EQ(proxy["readinessProbe"]["failureThreshold"], 30);
  EXPECT_EQ(arg_after(proxy, "--serviceCluster"), "checkout.$(POD_NAMESPACE)");
  EXPECT_EQ(arg_after(proxy, "--drainDuration"), "45s");
  EXPECT_EQ(arg_after(proxy, "--parentShutdownDuration"), "1m0s");
  EXPECT_EQ(arg_after(proxy, "--discoveryAddress"), "istio-pilot.istio-system:15010");
  EXPECT_EQ(arg_after(proxy, "--zipkinAddress"), "zipkin.istio-system:9411");
  EXPECT_EQ(arg_after(proxy, "--connectTimeout"), "10s");
  EXPECT_EQ(arg_after(proxy, "--proxyAdminPort"), "15000");
  EXPECT_EQ(arg_after(proxy, "--concurrency"), "2");
  EXPECT_EQ(arg_after(proxy, "--controlPlaneAuthPolicy"), "NONE");
  EXPECT_EQ(arg_after(proxy, "--statusPort"), "15020");
  EXPECT_EQ(arg_after(proxy, "--applicationPorts"), "8080");
  int concurrency_flags = 0;
  for (const auto& a : proxy["args"]) concurrency_flags += a == "--concurrency" ? 1 : 0;
  EXPECT_EQ(concurrency_flags, 1);  // the template set it; nothing appended
  EXPECT_EQ(env(proxy, "ISTIO_META_INTERCEPTION_MODE"), "REDIRECT");
  const json labels = json::parse(env(proxy, "ISTIO_METAJSON_LABELS"));
  EXPECT_EQ(labels, review_["request"]["object"]["metadata"]["labels"]);
  const json annotations = json::parse(env(proxy, "ISTIO_METAJSON_ANNOTATIONS"));
  EXPECT_EQ(annotations, review_["request"]["object"]["metadata"]["annotations"]);
  EXPECT_EQ(proxy["securityContext"]["runAsUser"], 1337);
  EXPECT_EQ(proxy["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(proxy["resources"]["limits"]["cpu"], "2000m");
  EXPECT_EQ(proxy["resources"]["requests"]["memory"], "128Mi");
  // The app's service-account token mount is copied into the proxy.
  bool sa = false;
  for (const auto& m : proxy["volumeMounts"]) sa = sa || m["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount";
  EXPECT_TRUE(sa);

  // Volumes, with the service account's secret.
  const auto& volumes = pod["spec"]["volumes"];
  ASSERT_GE(volumes.size(), 4u);
  EXPECT_EQ(volumes[volumes.size() - 2]["name"], "istio-envoy");
  EXPECT_EQ(volumes.back()["secret"]["secretName"], "istio.checkout");

  // Status annotation: what was injected, versioned by the template's hash.
  const json status = json::parse(pod["metadata"]["annotations"]["sidecar.istio.io/status"].get<std::string>());
  const std::string template_text = mt::yaml_to_json(config_)["template"];
  EXPECT_EQ(status["version"], sha256_hex(template_text));
  EXPECT_EQ(status["initContainers"], json::array({"istio-init"}));
  EXPECT_EQ(status["containers"], json::array({"istio-proxy"}));
  EXPECT_EQ(status["volumes"], json::array({"istio-envoy", "istio-certs"}));
  EXPECT_TRUE(status["imagePullSecrets"].is_null());
  // The pod's own annotations are kept.
  EXPECT_EQ(pod["metadata"]["annotations"]["prometheus.io/port"], "9090");
}

TEST_F(istio11, without_mesh_file_uses_istio_defaults_and_appends_concurrency) {
  const json pod = inject(review_, false);
  const json& proxy = container(pod, "istio-proxy");
  EXPECT_EQ(arg_after(proxy, "--discoveryAddress"), "istio-pilot:15010");
  EXPECT_EQ(arg_after(proxy, "--connectTimeout"), "1s");
  EXPECT_EQ(arg_after(proxy, "--zipkinAddress"), "");
  EXPECT_EQ(arg_after(proxy, "--parentShutdownDuration"), "1m0s");
  // The template emits no --concurrency (default 0); the CPU limit 2000m adds 2.
  EXPECT_EQ(proxy["args"][proxy["args"].size() - 2], "--concurrency");
  EXPECT_EQ(proxy["args"].back(), "2");
}

TEST_F(istio11, annotations_change_the_sidecar) {
  json review = review_;
  auto& ann = review["request"]["object"]["metadata"]["annotations"];
  ann["sidecar.istio.io/interceptionMode"] = "TPROXY";
  ann["status.sidecar.istio.io/port"] = "15999";
  ann["traffic.sidecar.istio.io/includeInboundPorts"] = "8080,9090";
  ann["sidecar.istio.io/proxyImage"] = "registry.example.com/proxy:9";
  ann["readiness.status.sidecar.istio.io/periodSeconds"] = "7";
  ann["sidecar.istio.io/proxyCPU"] = "500m";
  const json pod = inject(review);
  const json& init = container(pod, "istio-init", "initContainers");
  EXPECT_EQ(arg_after(init, "-m"), "TPROXY");
  EXPECT_EQ(arg_after(init, "-b"), "8080,9090");
  EXPECT_EQ(arg_after(init, "-d"), "15999");
  const json& proxy = container(pod, "istio-proxy");
  EXPECT_EQ(proxy["image"], "registry.example.com/proxy:9");
  EXPECT_EQ(proxy["readinessProbe"]["httpGet"]["port"], 15999);
  EXPECT_EQ(proxy["readinessProbe"]["periodSeconds"], 7);
  EXPECT_EQ(env(proxy, "ISTIO_META_INTERCEPTION_MODE"), "TPROXY");
  EXPECT_EQ(proxy["securityContext"]["capabilities"]["add"][0], "NET_ADMIN");
  EXPECT_EQ(proxy["securityContext"]["runAsGroup"], 1337);
  EXPECT_FALSE(proxy["securityContext"].contains("runAsUser"));
  EXPECT_EQ(proxy["resources"]["requests"]["cpu"], "500m");
  EXPECT_FALSE(proxy["resources"].contains("limits"));
}

TEST_F(istio11, interception_none_drops_init_and_status_port_zero_drops_probe) {
  json review = review_;
  auto& ann = review["request"]["object"]["metadata"]["annotations"];
  ann["sidecar.istio.io/interceptionMode"] = "NONE";
  ann["status.sidecar.istio.io/port"] = "0";
  json patch;
  const json pod = inject(review, true, &patch);
  EXPECT_TRUE(container(pod, "istio-init", "initContainers").is_null());
  const json& proxy = container(pod, "istio-proxy");
  EXPECT_FALSE(proxy.contains("readinessProbe"));
  EXPECT_EQ(arg_after(proxy, "--statusPort"), "<absent>");
  const json status = json::parse(pod["metadata"]["annotations"]["sidecar.istio.io/status"].get<std::string>());
  EXPECT_TRUE(status["initContainers"].is_null());
}

TEST_F(istio11, user_volumes_from_annotations) {
  json review = review_;
  auto& ann = review["request"]["object"]["metadata"]["annotations"];
  ann["sidecar.istio.io/userVolume"] =
      R"({"data":{"persistentVolumeClaim":{"claimName":"claim-1"}},"conf":{"configMap":{"name":"cm","defaultMode":420}}})";
  ann["sidecar.istio.io/userVolumeMount"] = R"({"data":{"mountPath":"/data","readOnly":true}})";
  const json pod = inject(review);
  const auto& volumes = pod["spec"]["volumes"];
  // Keys in sorted order, as Go ranges over a map.
  ASSERT_EQ(volumes[volumes.size() - 2]["name"], "conf");
  EXPECT_EQ(volumes[volumes.size() - 2]["configMap"]["defaultMode"], 420);
  EXPECT_EQ(volumes.back()["name"], "data");
  EXPECT_EQ(volumes.back()["persistentVolumeClaim"]["claimName"], "claim-1");
  const json& proxy = container(pod, "istio-proxy");
  bool found = false;
  for (const auto& m : proxy["volumeMounts"])
    if (m["name"] == "data") {
      found = true;
      EXPECT_EQ(m["mountPath"], "/data");
      EXPECT_EQ(m["readOnly"], true);
    }
  EXPECT_TRUE(found);
  const json status = json::parse(pod["metadata"]["annotations"]["sidecar.istio.io/status"].get<std::string>());
  EXPECT_EQ(status["volumes"], json::array({"istio-envoy", "istio-certs", "conf", "data"}));
}

TEST_F(istio11, invalid_annotation_is_rejected_naming_it) {
  json review = review_;
  review["request"]["object"]["metadata"]["annotations"]["traffic.sidecar.istio.io/excludeOutboundIPRanges"] = "*";
  json response;
  inject(review, true, nullptr, &response);
  EXPECT_FALSE(response["response"]["allowed"].get<bool>());
  EXPECT_FALSE(response["response"].contains("patch"));
  const std::string message = response["response"]["status"]["message"];
  EXPECT_NE(message.find("traffic.sidecar.istio.io/excludeOutboundIPRanges"), std::string::npos) << message;
}

TEST_F(istio11, reinjection_yields_exactly_one_sidecar) {
  const json once = inject(review_);
  json again_review = review_;
  again_review["request"]["object"] = once;
  json patch;
  const json twice = inject(again_review, true, &patch);
  int proxies = 0, inits = 0, envoy_volumes = 0;
  for (const auto& c : twice["spec"]["containers"]) proxies += c["name"] == "istio-proxy";
  for (const auto& c : twice["spec"]["initContainers"]) inits += c["name"] == "istio-init";
  for (const auto& v : twice["spec"]["volumes"]) envoy_volumes += v["name"] == "istio-envoy";
  EXPECT_EQ(proxies, 1);
  EXPECT_EQ(inits, 1);
  EXPECT_EQ(envoy_volumes, 1);
  // Apart from the proxy's copy of the pod annotations (which now include the
  // first status annotation), the second injection changes nothing.
  auto without_annotation_env = [](json pod) {
    for (auto& c : pod["spec"]["containers"]) {
      if (c["name"] != "istio-proxy") continue;
      json kept = json::array();
      for (const auto& e : c["env"])
        if (e["name"] != "ISTIO_METAJSON_ANNOTATIONS") kept.push_back(e);
      c["env"] = kept;
    }
    return pod;
  };
  EXPECT_EQ(mt::semantic_diff(without_annotation_env(once), without_annotation_env(twice)), "");
  // The second patch replaces the status annotation rather than adding it.
  bool replaced = false;
  for (const auto& op : patch)
    replaced = replaced || (op["op"] == "replace" && op["path"] == "/metadata/annotations/sidecar.istio.io~1status");
  EXPECT_TRUE(replaced);
}

TEST_F(istio11, host_network_and_opt_out_are_skipped) {
  json review = review_;
  review["request"]["object"]["spec"]["hostNetwork"] = true;
  json response;
  inject(review, true, nullptr, &response);
  EXPECT_TRUE(response["response"]["allowed"].get<bool>());
  EXPECT_FALSE(response["response"].contains("patch"));
  EXPECT_EQ(response["response"]["auditAnnotations"]["reason"], "host-network");

  review = review_;
  review["request"]["object"]["metadata"]["annotations"]["sidecar.istio.io/inject"] = "false";
  inject(review, true, nullptr, &response);
  EXPECT_FALSE(response["response"].contains("patch"));
  EXPECT_EQ(response["response"]["auditAnnotations"]["reason"], "annotation-opt-out");
}

}  // namespace
