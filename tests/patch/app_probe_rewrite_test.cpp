// Istio 1.28's probe rewrite on a merged pod tree (patch/app_probe_rewrite.hpp):
// what the kubelet is pointed at, and the exact ISTIO_KUBE_APP_PROBERS text Go's
// encoding/json writes for the agent. The goldens (cmd_istio128_goldens_conformance)
// cover Istio's own cases; these cover the branches they do not.
#include "patch/app_probe_rewrite.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <string>

#include "patch/json_tree_writer.hpp"

namespace meshinject::patch {
namespace {

using nlohmann::json;

class AppProbeRewrite : public ::testing::Test {
 protected:
  core::arena arena_;
  simdjson::dom::parser parser_;
  app_probe_rewriter rewriter_;

  // The pod after the rewrite, as nlohmann JSON.
  json rewrite(const json& pod, probe_rewrite_settings s = {.enabled_by_values = true}) {
    arena_.reset();
    core::json::value tree;
    const std::string text = pod.dump();
    EXPECT_FALSE(core::json::parse(text, parser_, arena_, tree));
    const core::json::error e = rewriter_.apply(tree, s, arena_);
    EXPECT_FALSE(e) << e.message;
    std::string out;
    append_json(out, tree);
    return json::parse(out);
  }

  static json pod_with(const json& app, const json& annotations = json::object()) {
    return {{"metadata", {{"annotations", annotations}}},
            {"spec", {{"containers", {app, {{"name", "istio-proxy"}, {"env", {{{"name", "A"}, {"value", "b"}}}}}}}}}};
  }

  static std::string probers_env(const json& pod) {
    for (const json& c : pod["spec"]["containers"])
      if (c["name"] == "istio-proxy")
        for (const json& e : c["env"])
          if (e["name"] == "ISTIO_KUBE_APP_PROBERS") return e["value"];
    return "";
  }
};

TEST_F(AppProbeRewrite, HttpProbeMovesToTheAgentAndKeepsItsOriginalForIt) {
  const json app = {{"name", "web"},
                    {"ports", {{{"name", "http"}, {"containerPort", 8080}}}},
                    {"readinessProbe", {{"httpGet", {{"path", "/ready"}, {"port", "http"}, {"scheme", "HTTPS"}}},
                                        {"timeoutSeconds", 3},
                                        {"periodSeconds", 7}}},
                    {"livenessProbe", {{"tcpSocket", {{"port", 9000}, {"host", "localhost"}}}}},
                    {"startupProbe", {{"grpc", {{"port", 9001}}}}}};
  const json out = rewrite(pod_with(app));
  const json& web = out["spec"]["containers"][0];
  EXPECT_EQ(web["readinessProbe"],
            json::parse(R"({"httpGet":{"path":"/app-health/web/readyz","port":15020,"scheme":"HTTP"},
                            "timeoutSeconds":3,"periodSeconds":7})"));
  EXPECT_EQ(web["livenessProbe"], json::parse(R"({"httpGet":{"path":"/app-health/web/livez","port":15020}})"));
  EXPECT_EQ(web["startupProbe"], json::parse(R"({"httpGet":{"path":"/app-health/web/startupz","port":15020}})"));
  // Keys sorted, Go's field order, the named port resolved, gRPC's nil service written as null.
  EXPECT_EQ(probers_env(out),
            R"({"/app-health/web/livez":{"tcpSocket":{"port":9000,"host":"localhost"}},)"
            R"("/app-health/web/readyz":{"httpGet":{"path":"/ready","port":8080,"scheme":"HTTPS"},"timeoutSeconds":3},)"
            R"("/app-health/web/startupz":{"grpc":{"port":9001,"service":null}}})");
  // Appended after the proxy's own variables.
  EXPECT_EQ(out["spec"]["containers"][1]["env"][0]["name"], "A");
}

TEST_F(AppProbeRewrite, LifecycleHooksAndInitContainersToo) {
  json pod = pod_with({{"name", "web"},
                       {"lifecycle", {{"preStop", {{"httpGet", {{"port", 91}}}}},
                                      {"postStart", {{"tcpSocket", {{"port", 93}}}}}}}});
  pod["spec"]["initContainers"] = {{{"name", "setup"}, {"readinessProbe", {{"exec", {{"command", {"true"}}}}}}},
                                   {{"name", "side"}, {"restartPolicy", "Always"},
                                    {"readinessProbe", {{"httpGet", {{"port", 81}}}}}}};
  const json out = rewrite(pod);
  EXPECT_EQ(out["spec"]["containers"][0]["lifecycle"],
            json::parse(R"({"preStop":{"httpGet":{"path":"/app-lifecycle/web/prestopz","port":15020}},
                            "postStart":{"httpGet":{"path":"/app-lifecycle/web/poststartz","port":15020}}})"));
  EXPECT_EQ(out["spec"]["initContainers"][0]["readinessProbe"]["exec"]["command"][0], "true");  // exec: untouched
  EXPECT_EQ(out["spec"]["initContainers"][1]["readinessProbe"]["httpGet"]["path"], "/app-health/side/readyz");
  EXPECT_EQ(probers_env(out),
            R"({"/app-health/side/readyz":{"httpGet":{"port":81}},)"
            R"("/app-lifecycle/web/poststartz":{"tcpSocket":{"port":93}},)"
            R"("/app-lifecycle/web/prestopz":{"httpGet":{"port":91}}})");
}

TEST_F(AppProbeRewrite, AnnotationAndValuesDecide) {
  const json app = {{"name", "web"}, {"readinessProbe", {{"httpGet", {{"port", 80}}}}}};
  json out = rewrite(pod_with(app, {{"sidecar.istio.io/rewriteAppHTTPProbers", "false"}}));
  EXPECT_EQ(out["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"], 80);
  EXPECT_EQ(probers_env(out), "");
  out = rewrite(pod_with(app), {.enabled_by_values = false});
  EXPECT_EQ(out["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"], 80);
  out = rewrite(pod_with(app, {{"sidecar.istio.io/rewriteAppHTTPProbers", "T"}}), {.enabled_by_values = false});
  EXPECT_EQ(out["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"], 15020);
  // Not a Go bool: the values' setting stands.
  out = rewrite(pod_with(app, {{"sidecar.istio.io/rewriteAppHTTPProbers", "nope"}}));
  EXPECT_EQ(out["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"], 15020);
}

TEST_F(AppProbeRewrite, PodStatusPortAnnotationAndTheMeshPort) {
  const json app = {{"name", "web"},
                    {"readinessProbe", {{"httpGet", {{"port", 15021}}}}},
                    {"livenessProbe", {{"httpGet", {{"port", 80}}}}}};
  const json out = rewrite(pod_with(app, {{"status.sidecar.istio.io/port", "15999"}}),
                           {.enabled_by_values = true, .mesh_status_port = 15021});
  EXPECT_EQ(out["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"], 15999);
  // A probe already on the mesh's status port is not handed to the agent again.
  EXPECT_EQ(probers_env(out), R"({"/app-health/web/livez":{"httpGet":{"port":80}}})");
}

TEST_F(AppProbeRewrite, UnknownNamedPortIsRewrittenButNotHandedOver) {
  const json app = {{"name", "web"}, {"readinessProbe", {{"httpGet", {{"port", "nope"}}}}}};
  const json out = rewrite(pod_with(app));
  EXPECT_EQ(out["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"], 15020);
  EXPECT_EQ(probers_env(out), "");
}

TEST_F(AppProbeRewrite, PodDataIsEscapedAsGoEscapesIt) {
  const json app = {
      {"name", "web"},
      {"readinessProbe",
       {{"httpGet", {{"path", "/a\"},\"x\":{<b>"}, {"port", 80}, {"httpHeaders", {{{"name", "X"}, {"value", "1&2"}}}}}}}}};
  const json out = rewrite(pod_with(app));
  const std::string env = probers_env(out);
  EXPECT_EQ(env, R"({"/app-health/web/readyz":{"httpGet":{"path":"/a\"},\"x\":{\u003cb\u003e","port":80,)"
                 R"("httpHeaders":[{"name":"X","value":"1\u00262"}]}}})");
  // Still one member whose original path reads back intact.
  EXPECT_EQ(json::parse(env)["/app-health/web/readyz"]["httpGet"]["path"], "/a\"},\"x\":{<b>");
}

TEST_F(AppProbeRewrite, ReinjectionKeepsTheProbersAlreadyThere) {
  json pod = pod_with({{"name", "web"},
                       {"readinessProbe", {{"httpGet", {{"port", 80}}}}},
                       {"livenessProbe", {{"httpGet", {{"port", 81}}}}}},
                      {{"sidecar.istio.io/status", "{}"}});
  pod["spec"]["containers"][1]["env"].push_back(
      {{"name", "ISTIO_KUBE_APP_PROBERS"}, {"value", R"({"/app-health/web/readyz":{"httpGet":{"port":8888}}})"}});
  json out = rewrite(pod);
  EXPECT_EQ(probers_env(out),
            R"({"/app-health/web/livez":{"httpGet":{"port":81}},"/app-health/web/readyz":{"httpGet":{"port":8888}}})");
  EXPECT_EQ(out["spec"]["containers"][1]["env"].size(), 2u);  // replaced, not appended

  // An earlier value that is not KubeAppProbers JSON stays as it was.
  pod["spec"]["containers"][1]["env"][1]["value"] = "not json";
  out = rewrite(pod);
  EXPECT_EQ(probers_env(out), "not json");
  EXPECT_EQ(out["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"], 15020);
}

TEST_F(AppProbeRewrite, WithoutAProxyNothingChanges) {
  const json pod = {{"spec", {{"containers", {{{"name", "web"}, {"readinessProbe", {{"httpGet", {{"port", 80}}}}}}}}}}};
  EXPECT_EQ(rewrite(pod), pod);
}

}  // namespace
}  // namespace meshinject::patch
