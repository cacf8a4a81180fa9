// The embedded default config (patch/default_config.cpp): it loads in Istio
// >= 1.9's named-templates shape, its values load, every template parses with
// Istio 1.28's function table, and the webhook injects through it a proxy a
// current istiod accepts. Istio 1.28's golden proxy is compared with it field by
// field in tests/cmd/default_config_conformance_test.cpp.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "core/injection_config.hpp"
#include "patch/default_config.hpp"
#include "patch/injector.hpp"
#include "patch/istio_functions.hpp"
#include "template/parse.hpp"
#include "tests/support/engine_fixture.hpp"

namespace {

namespace core = meshinject::core;
namespace patch = meshinject::patch;
namespace tmpl = meshinject::tmpl;
namespace mt = meshinject::test;
using mt::json;

TEST(default_config, loads_in_the_named_templates_shape) {
  const core::injection_config cfg = core::load_injection_config(patch::default_injection_config(), "embedded default");
  EXPECT_EQ(cfg.shape, core::config_shape::named_templates);
  ASSERT_EQ(cfg.templates.size(), 1u);
  EXPECT_EQ(cfg.templates[0].name, "sidecar");
  ASSERT_EQ(cfg.default_templates.size(), 1u);
  EXPECT_EQ(cfg.default_templates[0], "sidecar");
  EXPECT_TRUE(cfg.warnings.empty()) << cfg.warnings.front();
}

TEST(default_config, values_load) {
  const core::config_node values = core::load_values(patch::default_values(), "embedded default values");
  const core::config_node* global = values.find("global");
  ASSERT_NE(global, nullptr);
  const core::config_node* hub = global->find("hub");
  ASSERT_NE(hub, nullptr);
  EXPECT_EQ(hub->text(), "docker.io/istio");
}

TEST(default_config, every_template_parses_with_the_1_28_functions) {
  const core::injection_config cfg = core::load_injection_config(patch::default_injection_config(), "embedded default");
  for (const core::named_template& t : cfg.templates) {
    SCOPED_TRACE(t.name);
    try {
      const auto parsed = tmpl::parse_template(t.text, "{{", "}}", patch::istio_functions_1_28());
      EXPECT_FALSE(parsed.root.empty());
    } catch (const tmpl::parse_error& e) {
      const auto [line, col] = tmpl::line_column(t.text, e.pos);
      ADD_FAILURE() << "template " << t.name << ":" << line << ":" << col << ": " << e.message;
    }
  }
}

// ---- what the webhook injects without --inject-config ---------------------------

json web_pod() {
  return json::parse(R"({"metadata":{"name":"web-1","namespace":"apps","labels":{"app":"web"}},
    "spec":{"containers":[{"name":"web","image":"web:1","ports":[{"containerPort":8080,"name":"http"}]}]}})");
}

json inject(const patch::config_sources& sources, const json& pod) {
  patch::engine e(patch::snapshot::build(sources));
  const json response = mt::run_review(e, mt::make_review(pod, "admission.k8s.io/v1", "u-1", "apps"));
  EXPECT_TRUE(response["response"]["allowed"].get<bool>()) << response.dump();
  const json p = mt::response_patch(response);
  EXPECT_FALSE(p.is_null()) << response.dump();
  return p.is_null() ? pod : mt::apply_patch(pod, p);
}

std::map<std::string, json> by_name(const json& list) {
  std::map<std::string, json> out;
  if (list.is_array())
    for (const json& item : list) out[item.value("name", "")] = item;
  return out;
}

std::string env_value(const json& container, const std::string& name) {
  for (const json& e : container["env"])
    if (e["name"] == name) return e.value("value", "<valueFrom>");
  return "<absent>";
}

TEST(default_config, webhook_injects_a_proxy_todays_istiod_accepts) {
  const patch::config_sources embedded;  // no --inject-config, no --values
  const auto snap = patch::snapshot::build(embedded);
  EXPECT_EQ(snap->config().source, "embedded default");
  EXPECT_TRUE(snap->named_templates());
  EXPECT_TRUE(snap->warnings().empty()) << snap->warnings().front();

  const json out = inject(embedded, web_pod());
  const auto inits = by_name(out["spec"]["initContainers"]);
  const auto containers = by_name(out["spec"]["containers"]);
  const auto volumes = by_name(out["spec"]["volumes"]);
  ASSERT_TRUE(inits.count("istio-init")) << out.dump(2);
  ASSERT_TRUE(inits.count("istio-proxy")) << "a native sidecar by default\n" << out.dump(2);
  EXPECT_FALSE(containers.count("istio-proxy"));
  const json& proxy = inits.at("istio-proxy");
  EXPECT_EQ(proxy["restartPolicy"], "Always");
  EXPECT_EQ(proxy["image"], "docker.io/istio/proxyv2:1.28.0");
  EXPECT_EQ(inits.at("istio-init")["image"], "docker.io/istio/proxyv2:1.28.0");
  // Discovery and certificates from istiod on 15012, authenticated by the
  // projected istio-token.
  EXPECT_EQ(env_value(proxy, "CA_ADDR"), "istiod.istio-system.svc:15012");
  EXPECT_EQ(env_value(proxy, "PILOT_CERT_PROVIDER"), "istiod");
  ASSERT_TRUE(volumes.count("istio-token"));
  const json& token = volumes.at("istio-token")["projected"]["sources"][0]["serviceAccountToken"];
  EXPECT_EQ(token["audience"], "istio-ca");
  EXPECT_EQ(token["path"], "istio-token");
  EXPECT_EQ(volumes.at("istiod-ca-cert")["configMap"]["name"], "istio-ca-root-cert");
  EXPECT_FALSE(volumes.count("istio-certs")) << "no /etc/certs secret of Istio 1.1";
  // Istio 1.28's ports and probes.
  EXPECT_EQ(proxy["ports"], json::parse(R"([{"containerPort":15090,"name":"http-envoy-prom","protocol":"TCP"}])"));
  EXPECT_EQ(proxy["readinessProbe"]["httpGet"], json::parse(R"({"path":"/healthz/ready","port":15021})"));
  EXPECT_EQ(proxy["startupProbe"]["httpGet"], json::parse(R"({"path":"/healthz/ready","port":15021})"));
  EXPECT_EQ(proxy["startupProbe"]["failureThreshold"], 600);
  EXPECT_EQ(out["metadata"]["labels"]["security.istio.io/tlsMode"], "istio");
  EXPECT_EQ(out["metadata"]["annotations"]["istio.io/rev"], "default");
  EXPECT_EQ(out["metadata"]["annotations"]["prometheus.io/port"], "15020");
}

TEST(default_config, native_sidecars_off_puts_the_proxy_among_the_containers) {
  patch::config_sources sources;
  sources.native_sidecars = false;
  const json out = inject(sources, web_pod());
  const auto containers = by_name(out["spec"]["containers"]);
  ASSERT_TRUE(containers.count("istio-proxy")) << out.dump(2);
  EXPECT_FALSE(containers.at("istio-proxy").contains("restartPolicy"));
  EXPECT_FALSE(by_name(out["spec"]["initContainers"]).count("istio-proxy"));
}

TEST(default_config, user_volumes_and_proxy_image_annotations_apply) {
  json pod = web_pod();
  pod["metadata"]["annotations"] = {
      {"sidecar.istio.io/userVolume", R"({"extra":{"emptyDir":{"medium":"Memory"}}})"},
      {"sidecar.istio.io/userVolumeMount", R"({"extra":{"mountPath":"/extra","readOnly":true}})"},
      {"sidecar.istio.io/proxyImage", "registry.example.com/istio/proxyv2:1.28.1"}};
  const json out = inject(patch::config_sources{}, pod);
  const auto inits = by_name(out["spec"]["initContainers"]);
  ASSERT_TRUE(inits.count("istio-proxy")) << out.dump(2);
  const json& proxy = inits.at("istio-proxy");
  ASSERT_TRUE(by_name(out["spec"]["volumes"]).count("extra")) << out.dump(2);
  ASSERT_TRUE(by_name(proxy["volumeMounts"]).count("extra")) << proxy.dump(2);
  EXPECT_EQ(by_name(out["spec"]["volumes"]).at("extra")["emptyDir"]["medium"], "Memory");
  EXPECT_EQ(by_name(proxy["volumeMounts"]).at("extra"),
            json::parse(R"({"name":"extra","mountPath":"/extra","readOnly":true})"));
  EXPECT_EQ(proxy["image"], "registry.example.com/istio/proxyv2:1.28.1");
}

TEST(default_config, given_values_replace_the_embedded_ones) {
  patch::config_sources sources;
  sources.values_text = std::string(patch::default_values());
  const std::string from = R"("hub": "docker.io/istio")";
  sources.values_text.replace(sources.values_text.find(from), from.size(), R"("hub": "mirror.example.com/istio")");
  sources.values_name = "values.json";
  const json out = inject(sources, web_pod());
  EXPECT_EQ(by_name(out["spec"]["initContainers"]).at("istio-proxy")["image"], "mirror.example.com/istio/proxyv2:1.28.0");
}

// deploy/base ships the embedded default in its ConfigMap (keys `config` and
// `values`); they must not drift apart.
TEST(default_config, deploy_base_ships_the_embedded_default) {
  const auto base = mt::source_dir() / "deploy" / "base";
  ASSERT_TRUE(std::filesystem::exists(base / "injector-config.yaml")) << base;
  EXPECT_EQ(mt::read_file(base / "injector-config.yaml"), std::string(patch::default_injection_config()));
  EXPECT_EQ(mt::read_file(base / "injector-values.json"), std::string(patch::default_values()));
}

// The former default stays loadable as the documented Istio 1.1 example.
TEST(default_config, the_istio_1_1_example_still_loads) {
  patch::config_sources sources;
  sources.inject_config_text = mt::istio_1_1_example_config();
  sources.inject_config_name = mt::istio_1_1_example_config_path().string();
  const auto snap = patch::snapshot::build(sources);
  EXPECT_FALSE(snap->named_templates());
  EXPECT_TRUE(snap->warnings().empty()) << snap->warnings().front();
}

}  // namespace
