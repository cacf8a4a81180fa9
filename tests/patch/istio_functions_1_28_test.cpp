// Istio 1.28's function table (patch/istio_functions_1_28.cpp): one test per
// function Istio added since 1.2, against what pkg/kube/inject/template.go
// returns; the order of the table (Istio's own over sprig's); and every function
// the six 1.28 chart templates call is known to meshinject's parser.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "core/injection_config.hpp"
#include "core/mesh_config.hpp"
#include "patch/admission.hpp"
#include "patch/istio_functions.hpp"
#include "patch/template_data.hpp"
#include "template/parse.hpp"
#include "tests/support/support.hpp"

namespace {

namespace mt = meshinject::test;
namespace core = meshinject::core;
namespace patch = meshinject::patch;
namespace tmpl = meshinject::tmpl;

const char* const pod_text = R"J({
    "metadata": {
      "name": "web-1",
      "labels": {"tier": "front", "app": "web"},
      "annotations": {
        "multus-json": "[{\"name\": \"macvlan\"}]",
        "multus-json-has": "[{\"name\": \"istio-cni\", \"namespace\": \"default\"}]",
        "multus-list": "macvlan, other",
        "multus-bad": "[not json]"
      }
    },
    "spec": {
      "containers": [
        {"name": "app", "ports": [{"containerPort": 80}, {"containerPort": 8080, "name": "http", "protocol": "TCP"}]}
      ]
    }
  })J";

// A mesh whose defaultConfig holds Istio 1.28's DefaultProxyConfig() values
// (which protoToJSON leaves out) and two that are not defaults.
const char* const mesh_text = R"Y(
defaultConfig:
  configPath: ./etc/istio/proxy
  binaryPath: /usr/local/bin/envoy
  serviceCluster: istio-proxy
  drainDuration: 45s
  terminationDrainDuration: 5s
  discoveryAddress: istiod.istio-system.svc:15012
  proxyAdminPort: 15000
  statNameLength: 189
  statusPort: 15020
  controlPlaneAuthPolicy: MUTUAL_TLS
  proxyMetadata: {}
  concurrency: 2
  tracing:
    zipkin:
      address: zipkin.istio-system:9411
)Y";

struct world {
  core::mesh_config mesh = core::load_mesh_config(mesh_text, "mesh.yaml");
  core::config_node values = core::load_values("name: demo\nlabels:\n  z: w\n  a: b\nnone:\n", "values.yaml");
};

// The template's output for the test pod, through Istio 1.28's table, the way
// the engine runs a program (trace, render, fill the holes). With
// `named_data`, the data is the named templates' (.ProxyConfig read per
// request, as the pod's annotation may change it) rather than folded at load.
std::string run(const std::string& text, std::string* error = nullptr, bool named_data = false) {
  static const world w;
  auto load = std::make_shared<patch::template_data>();
  load->istio_1_28 = named_data;
  load->proxy_config = &w.mesh.proxy_config();
  load->mesh = &w.mesh.root;
  load->values = &w.values;
  const tmpl::value load_root = patch::template_root(*load);
  const tmpl::program prog(text, patch::istio_functions_1_28(), load_root, load);
  simdjson::dom::parser parser;
  simdjson::dom::element el;
  if (parser.parse(std::string(pod_text)).get(el)) throw std::runtime_error("bad pod json");
  patch::pod p;
  std::string parse_error;
  if (!patch::parse_pod(el, "prod", p, parse_error)) throw std::runtime_error(parse_error);
  patch::template_data data = *load;
  data.p = &p;
  tmpl::trace_state state;
  std::string failure;
  tmpl::render_result rendered;
  if (!prog.trace(patch::template_root(data), state)) failure = state.error;
  else if (!prog.render(patch::template_root(data), state.trace, rendered, failure)) {}
  if (!failure.empty()) {
    if (error) *error = failure;
    else ADD_FAILURE() << failure << "\n  template: " << text;
    return "<failed>";
  }
  std::string out;
  const std::string& t = rendered.text;
  std::size_t pos = 0;
  while (pos < t.size()) {
    const std::size_t open = t.find(tmpl::hole_open, pos);
    if (open == std::string::npos) {
      out.append(t, pos, std::string::npos);
      break;
    }
    out.append(t, pos, open - pos);
    const std::size_t digits = open + tmpl::hole_open.size();
    const std::size_t close = t.find(tmpl::hole_close, digits);
    tmpl::sprint(state.holes.at(std::stoul(t.substr(digits, close - digits))), out);
    pos = close + tmpl::hole_close.size();
  }
  return out;
}

std::string run_error(const std::string& text) {
  std::string error;
  run(text, &error);
  return error;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(istio_1_28_functions, toLower) { EXPECT_EQ(run(R"({{ toLower "Deployment" }})"), "deployment"); }

TEST(istio_1_28_functions, excludeInterfaces) { EXPECT_EQ(run(R"({{ excludeInterfaces "eth1,eth2" }})"), "eth1,eth2"); }

TEST(istio_1_28_functions, appendMultusNetwork) {
  EXPECT_EQ(run(R"({{ appendMultusNetwork "" "default/istio-cni" }})"), "default/istio-cni");
  EXPECT_EQ(run(R"({{ appendMultusNetwork (index .ObjectMeta.Annotations "multus-json") "default/istio-cni" }})"),
            R"([{"name": "macvlan"}, {"name": "istio-cni", "namespace": "default"}])");
  EXPECT_EQ(run(R"({{ appendMultusNetwork (index .ObjectMeta.Annotations "multus-json") "istio-cni" }})"),
            R"([{"name": "macvlan"}, {"name": "istio-cni"}])");
  EXPECT_EQ(run(R"({{ appendMultusNetwork (index .ObjectMeta.Annotations "multus-json-has") "default/istio-cni" }})"),
            R"([{"name": "istio-cni", "namespace": "default"}])");
  EXPECT_EQ(run(R"({{ appendMultusNetwork (index .ObjectMeta.Annotations "multus-list") "default/istio-cni" }})"),
            "macvlan, other, default/istio-cni");
  EXPECT_EQ(run(R"({{ appendMultusNetwork (index .ObjectMeta.Annotations "multus-list") "other" }})"), "macvlan, other");
  EXPECT_EQ(run(R"({{ appendMultusNetwork (index .ObjectMeta.Annotations "multus-bad") "default/istio-cni" }})"),
            "[not json]");
}

TEST(istio_1_28_functions, structToJSON) {
  EXPECT_EQ(run(R"({{ structToJSON nil }})"), "{}");
  EXPECT_EQ(run(R"({{ range .Spec.Containers }}{{ range .Ports }}{{ structToJSON . }};{{ end }}{{ end }})"),
            R"({"containerPort":80};{"name":"http","containerPort":8080,"protocol":"TCP"};)");
  EXPECT_EQ(run(R"({{ structToJSON .Values.labels }} {{ structToJSON (dict "b" 1 "a" "<x>") }})"),
            R"({"a":"b","z":"w"} {"a":"\u003cx\u003e","b":1})");
  // sprig's toJson over the same YAML data: a map[string]interface{}, keys sorted.
  EXPECT_EQ(run(R"({{ toJson .Values.labels }} {{ toJson .Values.none }} {{ keys .Values.labels }})"),
            R"({"a":"b","z":"w"} null [a z])");
}

TEST(istio_1_28_functions, protoToJSON) {
  // cleanProxyConfig: what equals Istio's DefaultProxyConfig() is left out, the rest stays.
  const std::string json = run(R"({{ protoToJSON .ProxyConfig }})");
  for (const char* field : {"configPath", "binaryPath", "serviceCluster", "\"drainDuration", "terminationDrainDuration",
                            "discoveryAddress", "proxyAdminPort", "statNameLength", "statusPort",
                            "controlPlaneAuthPolicy", "proxyMetadata"})
    EXPECT_FALSE(contains(json, field)) << field << " in " << json;
  EXPECT_TRUE(contains(json, R"("concurrency":2)")) << json;
  EXPECT_TRUE(contains(json, R"("tracing":{"zipkin":{"address":"zipkin.istio-system:9411"}})")) << json;
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_EQ(run(R"({{ protoToJSON nil }})"), "{}");
  EXPECT_TRUE(contains(run_error(R"({{ protoToJSON "x" }})"), "expected proto.Message"));
}

// Istio 1.28 reads .ProxyConfig per request through chains resolved at load
// (istio_bindings.cpp, proxy_chain). Each must give what the same names give
// read one at a time: `(.ProxyConfig).A.B` starts from a parenthesised value,
// which no accessor covers. The mesh above sets some fields and nested messages
// and leaves others nil (lightstep, tlsSettings, holdApplicationUntilProxyStarts).
TEST(istio_1_28_functions, proxy_config_chains_read_as_field_by_field) {
  const auto shown = [](const std::string& text) {
    std::string error;
    const std::string out = run(text, &error, true);
    if (error.empty()) return out;
    const std::size_t message = error.find(": ");  // after "template:LINE:COL", which differs by form
    return "error " + error.substr(message == std::string::npos ? 0 : message);
  };
  const char* const chains[] = {
      "",
      ".Concurrency",
      ".GetConcurrency",
      ".StatusPort",
      ".DiscoveryAddress",
      ".ZipkinAddress",
      ".InterceptionMode",
      ".InterceptionMode.String",
      ".GetInterceptionMode.String",
      ".ControlPlaneAuthPolicy",
      ".ControlPlaneAuthPolicy.String",
      ".ProxyMetadata",
      ".DrainDuration",
      ".TerminationDrainDuration",
      ".ConnectTimeout",
      ".HoldApplicationUntilProxyStarts",
      ".HoldApplicationUntilProxyStarts.GetValue",
      ".HoldApplicationUntilProxyStarts.Value",
      ".GetHoldApplicationUntilProxyStarts.GetValue",
      ".Tracing",
      ".GetTracing",
      ".Tracing.Zipkin",
      ".Tracing.Zipkin.Address",
      ".GetTracing.GetZipkin.GetAddress",
      ".GetTracing.GetLightstep",
      ".GetTracing.GetLightstep.GetAddress",
      ".GetTracing.GetLightstep.Secure",
      ".Tracing.Lightstep.Address",
      ".Tracing.Lightstep.GetAddress",
      ".GetTracing.GetTlsSettings.GetCaCertificates",
      ".GetTracing.GetTlsSettings.SubjectAltNames",
      ".GetTracing.TlsSettings.GetSni",
  };
  for (const std::string chain : chains) {
    SCOPED_TRACE(".ProxyConfig" + chain);
    const auto form = [&](const std::string& base) {
      return "{{ typeOf " + base + chain + " }} [{{ " + base + chain + " }}] {{ if " + base + chain +
             " }}true{{ else }}false{{ end }}";
    };
    const std::string resolved = shown(form(".ProxyConfig"));
    EXPECT_EQ(resolved, shown(form("(.ProxyConfig)")));
    EXPECT_EQ(resolved.find("<failed>"), std::string::npos);
  }
  // The nil messages above fail as Go fails them, resolved or not.
  EXPECT_TRUE(contains(shown("{{ .ProxyConfig.Tracing.Lightstep.Address }}"),
                       "nil pointer evaluating *Tracing_Lightstep.Address"));
  EXPECT_EQ(shown("{{ .ProxyConfig.GetTracing.GetZipkin.GetAddress }}"), "zipkin.istio-system:9411");
  EXPECT_EQ(shown("{{ .ProxyConfig.ControlPlaneAuthPolicy.String }}"), "MUTUAL_TLS");
  EXPECT_EQ(shown("{{ .ProxyConfig.HoldApplicationUntilProxyStarts.GetValue }}"), "false");
}

TEST(istio_1_28_functions, env) {
  // The environment is read once, when the table is first built.
  EXPECT_EQ(run(R"({{ env "MESHINJECT_TEST_SURELY_UNSET_VARIABLE" "fallback" }})"), "fallback");
  const char* path = std::getenv("PATH");
  ASSERT_NE(path, nullptr);
  EXPECT_EQ(run(R"({{ env "PATH" "x" }})"), path);
}

TEST(istio_1_28_functions, omit) {
  EXPECT_EQ(run(R"({{ omit .ObjectMeta.Labels "tier" "nope" }})"), "map[app:web]");
  EXPECT_TRUE(contains(run_error(R"({{ omit (dict "a" 1) "a" }})"), "expected map[string]string"));
}

TEST(istio_1_28_functions, strdict) {
  EXPECT_EQ(run(R"({{ strdict "b" "2" "a" "1" "c" }})"), "map[a:1 b:2 c:]");
  EXPECT_TRUE(contains(run_error(R"({{ strdict "a" 1 }})"), "expected string; got int"));
}

TEST(istio_1_28_functions, toJsonMap) {
  EXPECT_EQ(run(R"({{ toJsonMap .ObjectMeta.Labels (strdict "app" "x<" "z" "1") }})"),
            R"({"app":"x\u003c","tier":"front","z":"1"})");
  EXPECT_EQ(run(R"({{ toJsonMap }})"), "null");
}

TEST(istio_1_28_functions, mergeMaps) {
  EXPECT_EQ(run(R"({{ mergeMaps .ObjectMeta.Labels (strdict "app" "new") }})"), "map[app:new tier:front]");
  EXPECT_EQ(run(R"({{ mergeMaps }})"), "<nil>");
}

// Istio's functions replace sprig's of the same name, as Funcs(sprig).Funcs(Istio's) does.
TEST(istio_1_28_functions, istio_over_sprig) {
  EXPECT_EQ(run("{{ indent 2 \"a\\nb\" }}"), "a\n  b");  // Istio's indent leaves the first line alone
  EXPECT_EQ(run(R"({{ .ObjectMeta.Labels | toJSON }} {{ toJson (list 1 "a") }})"), R"({"app":"web","tier":"front"} [1,"a"])");
  EXPECT_EQ(run(R"({{ "a-b-" | trimSuffix "-" | upper | quote }} {{ list "x" "y" | join "," }})"), R"("A-B" x,y)");
}

// Every function the chart's templates call is known, with the right number of
// arguments, and every template parses (define/template included).
TEST(istio_1_28_functions, the_six_chart_templates_parse) {
  MESHINJECT_REQUIRE_CONFORMANCE(dir);
  const std::filesystem::path files = dir / "istio-1.28" / "chart" / "files";
  if (!std::filesystem::exists(files)) GTEST_SKIP() << files << " not found: the Istio 1.28 data is not there";
  const char* const names[] = {"injection-template.yaml", "gateway-injection-template.yaml", "grpc-simple.yaml",
                               "grpc-agent.yaml", "waypoint.yaml", "kube-gateway.yaml"};
  for (const char* name : names) {
    SCOPED_TRACE(name);
    const std::string text = mt::read_file(files / name);
    try {
      const auto parsed = tmpl::parse_template(text, "{{", "}}", patch::istio_functions_1_28());
      EXPECT_FALSE(parsed.root.empty());
    } catch (const tmpl::parse_error& e) {
      const auto [line, col] = tmpl::line_column(text, e.pos);
      ADD_FAILURE() << "template " << name << ":" << line << ":" << col << ": " << e.message;
    }
  }
}

}  // namespace
