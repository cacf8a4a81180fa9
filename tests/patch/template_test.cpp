// Istio's templates (SPEC section 3): the data Istio's bindings expose, Istio's
// functions, load errors with positions in the config, constant folding of
// .ProxyConfig/.MeshConfig/.Values, variants, per-request errors, and hostile pod
// data on the way to the patch. The language itself is tested in tests/template/.
//
// Two ways in: `exec` compiles a program, traces it for a pod, renders the
// variant and fills each placeholder with the traced hole value, which gives the
// exact text Go would have produced; `inject` runs the whole engine and reads
// the resulting pod after applying the patch with an independent oracle.

#include <gtest/gtest.h>

#include <simdjson.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/injection_config.hpp"
#include "core/mesh_config.hpp"
#include "patch/admission.hpp"
#include "patch/injector.hpp"
#include "patch/json_text.hpp"
#include "patch/template_data.hpp"
#include "tests/support/engine_fixture.hpp"

namespace {

namespace mt = meshinject::test;
namespace core = meshinject::core;
namespace patch = meshinject::patch;
namespace tmpl = meshinject::tmpl;
using mt::json;

// ------------------------------------------------------------------ helpers

const char* const test_values = R"Y(
name: demo
list: [a, b, c]
nested:
  a:
    b: deep
num: 3
res:
  limits:
    memory: 1Gi
    cpu: "2"
  list:
  - x
  - z
empty: ""
flag: y
)Y";

// Raw text, so the document order of labels (tier before app) is kept.
const char* const test_pod_text = R"J({
    "metadata": {
      "name": "web-1",
      "labels": {"tier": "front", "app": "web"},
      "annotations": {"k": "v", "empty": "", "json": "{\"b\":[1,2],\"a\":{\"x\":1.5},\"n\":5}", "bad": "not json"}
    },
    "spec": {
      "serviceAccountName": "sa",
      "containers": [
        {"name": "app", "image": "img", "ports": [{"containerPort": 80}, {"containerPort": 8080, "name": "http"}]},
        {"name": "istio-proxy", "ports": [{"containerPort": 15090}]},
        {"name": "side", "ports": [{"containerPort": 80}]}
      ]
    }
  })J";

json test_pod() {
  return json::parse(R"J({
    "metadata": {
      "name": "web-1",
      "labels": {"tier": "front", "app": "web"},
      "annotations": {"empty": "", "k": "v", "json": "{\"b\":[1,2],\"a\":{\"x\":1.5},\"n\":5}", "bad": "not json"}
    },
    "spec": {
      "serviceAccountName": "sa",
      "containers": [
        {"name": "app", "image": "img", "ports": [{"containerPort": 80}, {"containerPort": 8080, "name": "http"}]},
        {"name": "istio-proxy", "ports": [{"containerPort": 15090}]},
        {"name": "side", "ports": [{"containerPort": 80}]}
      ]
    }
  })J");
}

struct exec_result {
  bool ok = false;
  std::string out;
  std::string error;
  std::size_t holes = 0;
  std::vector<std::uint8_t> trace;
};

struct world {
  core::mesh_config mesh = core::default_mesh_config();
  core::config_node values = core::load_values(test_values, "values.yaml");
};

// Runs the template for a pod the way the engine does (trace, then render the
// variant), then fills the placeholders with the hole values.
exec_result exec_raw(const world& w, const std::string& text, const std::string& doc, const std::string& ns = "prod") {
  exec_result r;
  const auto prog_ptr = patch::compile_template(text, w.mesh, w.values);
  const tmpl::program& prog = *prog_ptr;
  simdjson::dom::parser parser;
  simdjson::dom::element el;
  if (parser.parse(doc).get(el)) throw std::runtime_error("bad pod json");
  patch::pod p;
  std::string error;
  if (!patch::parse_pod(el, ns, p, error)) throw std::runtime_error(error);
  patch::template_data data;
  data.p = &p;
  data.proxy_config = &w.mesh.proxy_config();
  data.mesh = &w.mesh.root;
  data.values = &w.values;
  tmpl::trace_state state;
  if (!prog.trace(patch::template_root(data), state)) {
    r.error = state.error;
    return r;
  }
  r.trace = state.trace;
  r.holes = state.holes.size();
  tmpl::render_result rendered;
  if (!prog.render(patch::template_root(data), state.trace, rendered, r.error)) return r;
  if (rendered.holes.size() != state.holes.size()) {
    r.error = "hole count differs between trace and render";
    return r;
  }
  const std::string& t = rendered.text;
  std::size_t pos = 0;
  while (pos < t.size()) {
    const std::size_t open = t.find(tmpl::hole_open, pos);
    if (open == std::string::npos) {
      r.out.append(t, pos, std::string::npos);
      break;
    }
    r.out.append(t, pos, open - pos);
    const std::size_t digits = open + tmpl::hole_open.size();
    const std::size_t close = t.find(tmpl::hole_close, digits);
    const std::size_t n = std::stoul(t.substr(digits, close - digits));
    const tmpl::value& v = state.holes.at(n);
    const std::size_t before = r.out.size();
    if (v.k == tmpl::kind::string) r.out.append(v.s);
    else tmpl::print_value(v, r.out);
    if (v.late_size != 0) {
      // Text the trace left for the patch writer (a toJSON): its size counted as
      // output is the text's, and the writer's one-pass escape is the text escaped.
      const std::string printed = r.out.substr(before);
      EXPECT_EQ(v.late_size, printed.size()) << printed;
      std::string escaped_once, escaped_here;
      patch::append_json_escaped(escaped_once, printed);
      patch::write_to_json_escaped(v, escaped_here);
      EXPECT_EQ(escaped_here, escaped_once);
    }
    pos = close + tmpl::hole_close.size();
    if (rendered.holes[n].structured && t.compare(pos, 3, ": ~") == 0) pos += 3;
  }
  r.ok = true;
  return r;
}

exec_result exec_in(const world& w, const std::string& text, const json& pod_json, const std::string& ns = "prod") {
  return exec_raw(w, text, pod_json.dump(), ns);
}

exec_result exec(const std::string& text, const json& pod_json) {
  static const world w;
  return exec_in(w, text, pod_json);
}

exec_result exec(const std::string& text) {
  static const world w;
  return exec_raw(w, text, test_pod_text);
}

// Output of a template that must succeed (for the test pod unless given one).
std::string out(const std::string& text, const json& pod_json = json()) {
  exec_result r;
  try {
    r = pod_json.is_null() ? exec(text) : exec(text, pod_json);
  } catch (const tmpl::program::compile_error& e) {
    ADD_FAILURE() << "compile error at " << e.pos << ": " << e.message << "\n  template: " << text;
    return "<compile error>";
  }
  EXPECT_TRUE(r.ok) << "template failed: " << r.error << "\n  template: " << text;
  return r.out;
}

// The error of a template that must fail while executing for this pod.
std::string run_error(const std::string& text, const json& pod_json = json()) {
  exec_result r;
  try {
    r = pod_json.is_null() ? exec(text) : exec(text, pod_json);
  } catch (const tmpl::program::compile_error& e) {
    ADD_FAILURE() << "unexpected compile error: " << e.message << "\n  template: " << text;
    return "";
  }
  EXPECT_FALSE(r.ok) << "template succeeded with '" << r.out << "'\n  template: " << text;
  return r.error;
}

struct compile_failure {
  std::string message;
  int line = 0, column = 0;
};

// The load error of a template that must not compile.
compile_failure load_error(const std::string& text) {
  static const world w;
  try {
    patch::compile_template(text, w.mesh, w.values);
  } catch (const tmpl::program::compile_error& e) {
    const auto [line, col] = tmpl::line_column(text, e.pos);
    return {e.message, line, col};
  }
  ADD_FAILURE() << "template compiled, expected a load error: " << text;
  return {};
}

// --- whole engine

std::shared_ptr<const patch::snapshot> snap_of(const std::string& template_text, const std::string& mesh = "",
                                               const std::string& values = "") {
  patch::config_sources s;
  s.inject_config_text = mt::injection_config_text(template_text);
  s.inject_config_name = "test-config.yaml";
  s.mesh_text = mesh;
  s.mesh_name = "test-mesh.yaml";
  s.values_text = values;
  s.values_name = "test-values.yaml";
  return patch::snapshot::build(s);
}

struct run_out {
  json response;
  json patch;
  json pod_after;
  bool allowed = false;
  std::string message;
  std::string raw_patch;
};

run_out inject(const std::shared_ptr<const patch::snapshot>& snap, const json& pod, const std::string& ns = "default") {
  patch::engine e(snap);
  run_out o;
  patch::injection_result r;
  o.response = mt::run_review(e, mt::make_review(pod, "admission.k8s.io/v1", "uid-1", ns), &r);
  o.raw_patch = std::string(r.patch);
  o.allowed = o.response["response"]["allowed"].get<bool>();
  if (!o.allowed) {
    o.message = o.response["response"]["status"]["message"].get<std::string>();
    return o;
  }
  o.patch = mt::response_patch(o.response);
  if (o.patch.is_array()) o.pod_after = mt::apply_patch(pod, o.patch);
  return o;
}

json container_named(const json& pod, const std::string& name) {
  for (const auto& c : pod["spec"]["containers"])
    if (c["name"] == name) return c;
  ADD_FAILURE() << "no container " << name << " in " << pod.dump();
  return json::object();
}

json plain_pod(json annotations = json(), json labels = json()) {
  json pod = {{"metadata", {{"name", "p"}}},
              {"spec", {{"containers", json::array({{{"name", "app"}, {"image", "app:1"}}})}}}};
  if (!annotations.is_null()) pod["metadata"]["annotations"] = annotations;
  if (!labels.is_null()) pod["metadata"]["labels"] = labels;
  return pod;
}

// The image of container x, for a template whose image is `"EXPR"`.
const char* const image_template_prefix = "containers:\n- name: x\n  image: \"";

std::string image_of(const std::string& expr, const json& pod, const std::string& mesh = "",
                     const std::string& values = "") {
  const auto snap = snap_of(image_template_prefix + expr + "\"", mesh, values);
  const run_out o = inject(snap, pod);
  EXPECT_TRUE(o.allowed) << o.message;
  if (!o.allowed) return "<rejected>";
  return container_named(o.pod_after, "x")["image"].get<std::string>();
}

// ------------------------------------------- Istio data, through the language
// The language itself is tested over a test binding in tests/template/; these
// check what Istio's bindings give it: Go's types, fields, maps, lists, errors.

TEST(template_istio_data, pod_fields_and_chains) {
  EXPECT_EQ(out("a{{ .ObjectMeta.Name }}b"), "aweb-1b");
  EXPECT_EQ(out("a[[ .ObjectMeta.Name ]]b"), "aweb-1b");
  EXPECT_EQ(out("{{ $.ObjectMeta.Name }} {{ .ObjectMeta.Labels.app }} {{ .ObjectMeta.Namespace }}"), "web-1 web prod");
  EXPECT_EQ(out("{{ with .Spec }}{{ .ServiceAccountName }}{{ end }} {{ .Spec.HostNetwork }}"), "sa false");
  EXPECT_EQ(out(R"({{ (index .Spec.Containers 1).Name }} {{ (index .Spec.Containers 0).Image }})"), "istio-proxy img");
  EXPECT_EQ(out("{{ $x := .Spec.Containers }}{{ (index $x 2).Name }}"), "side");
  EXPECT_EQ(out("{{ .ObjectMeta.Labels.missing }}"), "<no value>");
}

TEST(template_istio_data, ranges_over_containers_ports_and_label_maps) {
  EXPECT_EQ(out("{{ range $k, $v := .ObjectMeta.Labels }}{{ $k }}={{ $v }};{{ end }}"), "app=web;tier=front;");
  EXPECT_EQ(out("{{ range $i, $c := .Spec.Containers }}{{ $i }}:{{ $c.Name }} {{ end }}"),
            "0:app 1:istio-proxy 2:side ");
  EXPECT_EQ(out("{{ range (index .Spec.Containers 0).Ports }}{{ .ContainerPort }}/{{ .Name }} {{ end }}"),
            "80/ 8080/http ");
  EXPECT_EQ(out("{{ range $c := .Spec.Containers }}{{ range $c.Ports }}{{ $c.Name }}:{{ .ContainerPort }} "
                "{{ end }}{{ end }}"),
            "app:80 app:8080 istio-proxy:15090 side:80 ");
  EXPECT_EQ(out("{{ range .Spec.Containers }}x{{ else }}none{{ end }}", json::parse(R"({"spec":{}})")), "none");
  EXPECT_EQ(out("{{ range $k, $v := .Values.res }}{{ $k }} {{ end }}"), "limits list ");
  EXPECT_NE(run_error("{{ range .ObjectMeta.Name }}x{{ end }}").find("range can't iterate over web-1"),
            std::string::npos);
}

TEST(template_istio_data, truth_len_print_and_index) {
  EXPECT_EQ(out("{{ if .ObjectMeta.Annotations }}t{{ else }}f{{ end }}", json::parse(R"({"metadata":{}})")), "f");
  EXPECT_EQ(out("{{ if .ObjectMeta.Annotations }}t{{ else }}f{{ end }}",
                json::parse(R"({"metadata":{"annotations":{}}})")),
            "f");
  EXPECT_EQ(out("{{ if .Spec.Containers }}t{{ else }}f{{ end }}", json::parse(R"({"spec":{}})")), "f");
  EXPECT_EQ(out("{{ len .ObjectMeta.Labels }} {{ len .Spec.Containers }} {{ len .Values.list }} {{ len .Values }}"),
            "2 3 3 7");
  EXPECT_EQ(out(R"({{ print .ObjectMeta.Labels }} {{ printf "%v" .Values.list }})"), "map[app:web tier:front] [a b c]");
  EXPECT_EQ(out(R"({{ print .Spec.Containers }})"), "[{app} {istio-proxy} {side}]");
  EXPECT_EQ(out(R"([{{ index .ObjectMeta.Labels "missing" }}] {{ index .Values "missing" }})"), "[] <no value>");
  EXPECT_EQ(out(R"([{{ index .ObjectMeta.Annotations "x" }}])", json::parse(R"({"metadata":{}})")), "[]");
  EXPECT_NE(run_error(R"({{ index .Spec.Containers 3 }})").find("index out of range"), std::string::npos);
  EXPECT_NE(run_error(R"({{ index .ObjectMeta.Labels 1 }})").find("index"), std::string::npos);
  EXPECT_NE(load_error(R"({{ .ObjectMeta.Name.X }})").message.find("can't evaluate field X in type string"), std::string::npos);
}

TEST(template_istio_data, enums_compare_as_numbers_and_print_as_names) {
  EXPECT_EQ(out("{{ eq .MeshConfig.ProxyListenPort 15001 }} {{ eq .ProxyConfig.InterceptionMode 0 }}"), "true true");
  EXPECT_EQ(out("{{ gt .ProxyConfig.Concurrency 0 }}"), "false");
  EXPECT_EQ(out(R"({{ printf "%v %s %d" .ProxyConfig.InterceptionMode .ProxyConfig.InterceptionMode .ProxyConfig.InterceptionMode }})"),
            "REDIRECT REDIRECT 0");
  EXPECT_NE(run_error(R"({{ eq .ProxyConfig.InterceptionMode "REDIRECT" }})").find("incompatible types"),
            std::string::npos);
}

TEST(template_istio_data, argument_counts_of_istios_functions_are_load_errors) {
  EXPECT_NE(load_error("{{ annotation .ObjectMeta \"x\" }}").message.find("wrong number of args for annotation"),
            std::string::npos);
  EXPECT_NE(load_error("{{ indent 2 }}").message.find("wrong number of args for indent"), std::string::npos);
  EXPECT_NE(load_error("{{ \"x\" | toJSON .ObjectMeta.Labels }}").message.find("wrong number of args for toJSON"),
            std::string::npos);
  // The piped value counts as an argument.
  EXPECT_EQ(out("{{ \"a\" | indent 2 }}"), "a");
}

// ------------------------------------------------------- Istio functions

TEST(template_istio, annotation) {
  EXPECT_EQ(out(R"({{ annotation .ObjectMeta "k" "d" }})"), "v");
  EXPECT_EQ(out(R"([{{ annotation .ObjectMeta "empty" "d" }}])"), "[]");  // present, even empty
  EXPECT_EQ(out(R"({{ annotation .ObjectMeta "missing" "d" }})"), "d");
  EXPECT_EQ(out(R"({{ annotation .ObjectMeta "missing" 15020 }})"), "15020");
  EXPECT_EQ(out(R"({{ annotation .ObjectMeta "missing" .ProxyConfig.InterceptionMode }})"), "REDIRECT");
  EXPECT_EQ(out(R"({{ annotation .ObjectMeta "missing" .ProxyConfig.ControlPlaneAuthPolicy }})"), "NONE");
  EXPECT_EQ(out(R"({{ annotation .ObjectMeta "missing" .ProxyConfig.ProxyAdminPort }})"), "15000");
  EXPECT_EQ(out(R"({{ annotation .ObjectMeta "missing" true }})"), "true");
  EXPECT_EQ(out(R"({{ annotation .ObjectMeta "missing" 1.5 }})"), "1.5");
  EXPECT_EQ(out(R"({{ annotation .ObjectMeta "missing" "d" }})", json::parse(R"({"metadata":{}})")), "d");
  // Always a string.
  EXPECT_EQ(out(R"({{ eq (annotation .ObjectMeta "missing" 15020) "15020" }})"), "true");
  EXPECT_EQ(out(R"({{ annotation .DeploymentMeta "k" "d" }})"), "v");
}

TEST(template_istio, isset) {
  EXPECT_EQ(out(R"({{ isset .ObjectMeta.Annotations "empty" }})"), "true");
  EXPECT_EQ(out(R"({{ isset .ObjectMeta.Annotations "k" }})"), "true");
  EXPECT_EQ(out(R"({{ isset .ObjectMeta.Annotations "missing" }})"), "false");
  EXPECT_EQ(out(R"({{ isset .ObjectMeta.Annotations "k" }})", json::parse(R"({"metadata":{}})")), "false");
  EXPECT_EQ(out(R"({{ isset .ObjectMeta.Labels "app" }})"), "true");
}

TEST(template_istio, value_or_default) {
  EXPECT_EQ(out(R"({{ valueOrDefault "" "d" }})"), "d");
  EXPECT_EQ(out(R"({{ valueOrDefault "v" "d" }})"), "v");
  EXPECT_EQ(out(R"({{ valueOrDefault .ObjectMeta.Name "d" }})"), "web-1");
  EXPECT_EQ(out(R"({{ valueOrDefault .ObjectMeta.Name "d" }})", json::parse(R"({"metadata":{}})")), "d");
  EXPECT_EQ(out(R"({{ valueOrDefault (index .ObjectMeta.Annotations "empty") "d" }})"), "d");
}

TEST(template_istio, to_json) {
  EXPECT_EQ(out("{{ toJSON .ObjectMeta.Labels }}"), R"({"app":"web","tier":"front"})");  // document order: tier, app
  const json pod = json::parse(R"({"metadata":{"labels":{"b":"<&>","a":"1","c":"\u2028"}}})");
  EXPECT_EQ(out("{{ toJSON .ObjectMeta.Labels }}", pod), R"({"a":"1","b":"\u003c\u0026\u003e","c":"\u2028"})");
  EXPECT_EQ(out("{{ toJson .ObjectMeta.Labels }}", pod), R"({"a":"1","b":"\u003c\u0026\u003e","c":"\u2028"})");
  EXPECT_EQ(out("{{ toJSON .ObjectMeta.Labels }}", json::parse(R"({"metadata":{}})")), "{}");
  EXPECT_EQ(out("{{ toJSON .ObjectMeta.Labels }}", json::parse(R"({"metadata":{"labels":{}}})")), "{}");
  EXPECT_EQ(out("{{ toJSON .ObjectMeta.Annotations }}", json::parse(R"({"metadata":{"annotations":{"q":"\"\\\n"}}})")),
            R"({"q":"\"\\\n"})");
}

TEST(template_istio, to_json_of_many_labels) {
  json labels = json::object();
  for (int i = 99; i >= 0; --i) labels["k" + std::to_string(1000 + i)] = std::to_string(i);
  json pod = {{"metadata", {{"labels", labels}}}};
  const std::string got = out("{{ toJSON .ObjectMeta.Labels }}", pod);
  EXPECT_EQ(json::parse(got), labels);
  EXPECT_EQ(got.substr(0, 15), R"({"k1000":"0","k)");
}

TEST(template_istio, from_json) {
  EXPECT_EQ(out(R"({{ $m := fromJSON (index .ObjectMeta.Annotations "json") }}{{ index $m "n" }} {{ $m.a.x }} {{ len $m.b }})"),
            "5 1.5 2");
  // encoding/json gives float64 for every number.
  EXPECT_EQ(out(R"({{ printf "%d" (index (fromJSON (index .ObjectMeta.Annotations "json")) "n") }})"),
            "%!d(float64=5)");
  EXPECT_EQ(out(R"({{ range fromJSON "[1, \"two\", true, null, {\"a\":1}]" }}{{ . }};{{ end }})"),
            "1;two;true;<nil>;map[a:1];");
  EXPECT_EQ(out(R"({{ (fromJSON "{\"x\":{\"y\":\"z\"}}").x.y }})"), "z");
}

TEST(template_istio, from_json_errors_name_the_annotation) {
  const std::string e = run_error(R"({{ range fromJSON (index .ObjectMeta.Annotations "bad") }}x{{ end }})");
  EXPECT_NE(e.find("annotation bad"), std::string::npos) << e;
  EXPECT_NE(e.find("template:1:"), std::string::npos) << e;
}

TEST(template_istio, to_yaml_of_config_values) {
  EXPECT_EQ(out("{{ toYaml .Values.res }}"), "limits:\n  cpu: \"2\"\n  memory: 1Gi\nlist:\n- x\n- z\n");
  EXPECT_EQ(out("x:\n  {{ toYaml .Values.res | indent 2 }}"),
            "x:\n  limits:\n    cpu: \"2\"\n    memory: 1Gi\n  list:\n  - x\n  - z\n  ");
  EXPECT_EQ(out("{{ toYaml .Values.name }}"), "demo\n");
  EXPECT_EQ(out("{{ toYaml .Values.num }}"), "3\n");
}

TEST(template_istio, to_yaml_of_pod_data_used_as_text) {
  // Through a variable, printf or indent, toYaml of pod data is text, as in Go.
  EXPECT_EQ(out("{{ $y := toYaml .ObjectMeta.Labels }}{{ $y }}"), "app: web\ntier: front\n");
  EXPECT_EQ(out("{{ printf \"%s\" (toYaml .ObjectMeta.Labels | indent 2) }}"), "app: web\n  tier: front\n  ");
  EXPECT_EQ(out("{{ toYaml .ObjectMeta.Labels | indent 2 | printf \"[%s]\" }}"), "[app: web\n  tier: front\n  ]");
  EXPECT_EQ(out("{{ $y := toYaml .ObjectMeta.Labels }}{{ $y | indent 1 }}"), "app: web\n tier: front\n ");
  EXPECT_EQ(out("{{ len (toYaml .ObjectMeta.Labels) }}"), "21");
  EXPECT_EQ(out("{{ toYaml (fromJSON (index .ObjectMeta.Annotations \"json\")) | printf \"%s\" }}"),
            "a:\n  x: 1.5\nb:\n- 1\n- 2\n\"n\": 5\n");  // a plain n would read back as false
  EXPECT_EQ(out("{{ if toYaml .ObjectMeta.Annotations }}t{{ end }}", json::parse(R"({"metadata":{}})")), "t");
  EXPECT_EQ(out("{{ eq (toYaml .ObjectMeta.Name) \"web-1\\n\" }}"), "true");
  EXPECT_NE(run_error("{{ range toYaml .ObjectMeta.Labels }}x{{ end }}").find("range can't iterate over app: web"),
            std::string::npos);
}

TEST(template_istio, to_yaml_of_pod_data_in_a_string_field_is_never_an_object) {
  const auto snap = snap_of("containers:\n- name: x\n  image: i\n  env:\n  - name: L\n    value: \"{{ toYaml .ObjectMeta.Labels }}\"");
  // Istio would fold the YAML text into the quoted string; we refuse the pod
  // rather than send an object where Kubernetes wants a string.
  const run_out o = inject(snap, plain_pod(json(), {{"app", "a"}}));
  EXPECT_FALSE(o.allowed);
  EXPECT_NE(o.message.find("expected string, got the YAML of a map"), std::string::npos) << o.message;
}

TEST(template_istio, indent_skips_the_first_line) {
  EXPECT_EQ(out(R"({{ indent 2 "a\nb\nc" }})"), "a\n  b\n  c");
  EXPECT_EQ(out(R"({{ indent 0 "a\nb" }})"), "a\nb");
  EXPECT_EQ(out(R"({{ indent 3 "a\n" }})"), "a\n   ");
  EXPECT_EQ(out(R"({{ "a\nb" | indent 1 }})"), "a\n b");
}

TEST(template_istio, format_duration) {
  world w;
  w.mesh = core::load_mesh_config(R"(defaultConfig:
  drainDuration: 45s
  parentShutdownDuration: 1m0s
  connectTimeout: 1.5s
  discoveryRefreshDelay: 100ms
)",
                                  "mesh.yaml");
  auto r = exec_in(w,
                   "{{ formatDuration .ProxyConfig.DrainDuration }} {{ formatDuration .ProxyConfig.ParentShutdownDuration }} "
                   "{{ formatDuration .ProxyConfig.ConnectTimeout }} {{ formatDuration .ProxyConfig.DiscoveryRefreshDelay }}",
                   test_pod());
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.out, "45s 1m0s 1.5s 100ms");
  // Unset (nil *Duration) gives 1s.
  EXPECT_EQ(out("{{ formatDuration .ProxyConfig.DiscoveryRefreshDelay }}"), "1s");
  EXPECT_EQ(out("{{ formatDuration .ProxyConfig.ParentShutdownDuration }}"), "1m0s");
  EXPECT_EQ(out("{{ formatDuration .MeshConfig.SdsRefreshDelay }}"), "15s");
}

TEST(template_istio, inbound_and_application_ports) {
  EXPECT_EQ(out("{{ includeInboundPorts .Spec.Containers }}"), "80,8080,15090,80");
  EXPECT_EQ(out("{{ applicationPorts .Spec.Containers }}"), "80,8080,80");
  EXPECT_EQ(out("[{{ includeInboundPorts .Spec.Containers }}]", json::parse(R"({"spec":{}})")), "[]");
  EXPECT_EQ(out("[{{ applicationPorts .Spec.Containers }}]",
                json::parse(R"({"spec":{"containers":[{"name":"istio-proxy","ports":[{"containerPort":1}]}]}})")),
            "[]");
}

TEST(template_istio, exclude_inbound_port) {
  EXPECT_EQ(out(R"({{ excludeInboundPort 15020 "" }})"), "15020");
  EXPECT_EQ(out(R"({{ excludeInboundPort "15020" "1,2" }})"), "1,2,15020");
  EXPECT_EQ(out(R"({{ excludeInboundPort "0" "1,2" }})"), "1,2");
  EXPECT_EQ(out(R"({{ excludeInboundPort "" " 1,2 " }})"), " 1,2 ");
  EXPECT_EQ(out(R"({{ excludeInboundPort " " "1" }})"), "1");
  EXPECT_EQ(out(R"({{ excludeInboundPort 15020 "15020,1" }})"), "15020,1");
  EXPECT_EQ(out(R"({{ excludeInboundPort " 7 " " 1 ,, 2 " }})"), "1,2,7");
  // Only an exactly equal entry counts as present; others are trimmed.
  EXPECT_EQ(out(R"({{ excludeInboundPort 15020 "1, 15020" }})"), "1,15020,15020");
  EXPECT_EQ(out(R"({{ excludeInboundPort 15020 "," }})"), "15020");
  EXPECT_EQ(out(R"({{ excludeInboundPort (annotation .ObjectMeta "status.sidecar.istio.io/port" 15020) (annotation .ObjectMeta "x" "") }})"),
            "15020");
}

TEST(template_istio, kubevirt_directory_contains) {
  EXPECT_EQ(out(R"({{ kubevirtInterfaces "net1, net2" }})"), "net1, net2");
  EXPECT_EQ(out(R"({{ directory "/etc/certs/root-cert.pem" }})"), "/etc/certs/");
  EXPECT_EQ(out(R"([{{ directory "file" }}])"), "[]");
  EXPECT_EQ(out(R"({{ directory "/a/" }})"), "/a/");
  EXPECT_EQ(out(R"({{ directory "/" }})"), "/");
  EXPECT_EQ(out(R"({{ contains "b" "abc" }} {{ contains "abc" "b" }})"), "true false");
  EXPECT_EQ(out(R"({{ "web" | contains "e" }})"), "true");
}

TEST(template_istio, unknown_function_is_a_load_error) {
  auto e = load_error("a\n  {{ nosuch 1 }}");
  EXPECT_NE(e.message.find("function \"nosuch\" not defined"), std::string::npos);
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 6);
  // sprig functions are not part of Istio's runtime function map.
  EXPECT_NE(load_error("{{ default \"a\" \"b\" }}").message.find("not defined"), std::string::npos);
}

// --------------------------------------------------------- config data

TEST(template_config_data, proto_getters) {
  EXPECT_EQ(out("[{{ .ProxyConfig.GetTracing.GetZipkin.GetAddress }}]"), "[]");
  EXPECT_EQ(out("{{ if .ProxyConfig.GetTracing }}set{{ else }}unset{{ end }}"), "unset");
  world w;
  w.mesh = core::load_mesh_config("defaultConfig:\n  tracing:\n    zipkin:\n      address: zipkin.istio-system:9411\n",
                                  "mesh.yaml");
  auto r = exec_in(w, "{{ .ProxyConfig.GetTracing.GetZipkin.GetAddress }}|{{ .ProxyConfig.Tracing.Zipkin.Address }}|"
                      "[{{ .ProxyConfig.GetTracing.GetLightstep.GetAddress }}]",
                   test_pod());
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.out, "zipkin.istio-system:9411|zipkin.istio-system:9411|[]");
}

// "Get" alone names a field "get", not a getter: the load check and the run
// agree, so it is refused unless the file has a `get` newer than our schema.
TEST(template_config_data, get_alone_is_a_field_name) {
  EXPECT_NE(load_error("{{ .ProxyConfig.Get }}").message.find("*ProxyConfig"), std::string::npos);
  world w;
  w.mesh = core::load_mesh_config("defaultConfig:\n  get: newer\n", "mesh.yaml");
  auto r = exec_in(w, "{{ .ProxyConfig.Get }}|{{ .ProxyConfig.GetDrainDuration }}", test_pod());
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.out, "newer|45s");
}

TEST(template_config_data, nil_message_without_getter_fails) {
  EXPECT_NE(run_error("{{ .ProxyConfig.Tracing.Zipkin.Address }}").find("nil pointer"), std::string::npos);
}

TEST(template_config_data, enums) {
  EXPECT_EQ(out("{{ .ProxyConfig.InterceptionMode }} {{ .ProxyConfig.InterceptionMode.String }} "
                "{{ .ProxyConfig.ControlPlaneAuthPolicy }}"),
            "REDIRECT REDIRECT NONE");
  world w;
  w.mesh = core::load_mesh_config("defaultConfig:\n  interceptionMode: TPROXY\n  controlPlaneAuthPolicy: MUTUAL_TLS\n",
                                  "mesh.yaml");
  auto r = exec_in(w, "{{ .ProxyConfig.InterceptionMode.String }} {{ .ProxyConfig.ControlPlaneAuthPolicy }}", test_pod());
  EXPECT_EQ(r.out, "TPROXY MUTUAL_TLS");
}

TEST(template_config_data, scalars) {
  EXPECT_EQ(out("{{ .ProxyConfig.ConfigPath }} {{ .ProxyConfig.ProxyAdminPort }} {{ .MeshConfig.ProxyListenPort }} "
                "{{ .ProxyConfig.DiscoveryAddress }} {{ .MeshConfig.EnableTracing }}"),
            "/etc/istio/proxy 15000 15001 istio-pilot:15010 true");
}

TEST(template_config_data, values) {
  EXPECT_EQ(out("{{ .Values.name }} {{ .Values.num }} {{ .Values.nested.a.b }}"), "demo 3 deep");
  // Values are typed as YAML 1.1: a plain `y` is a boolean.
  EXPECT_EQ(out("{{ .Values.flag }} {{ printf \"%t\" .Values.flag }}"), "true true");
  EXPECT_EQ(out("{{ .Values.missing }}"), "<no value>");
  EXPECT_EQ(out("{{ .Values.nested.nope }}"), "<no value>");
  EXPECT_NE(run_error("{{ .Values.missing.x }}").find("nil pointer"), std::string::npos);
}

TEST(template_config_data, map_field_of_pod_data) {
  EXPECT_EQ(out("{{ .ObjectMeta.Labels.missing }}"), "<no value>");
}

// ----------------------------------------------------- .DeploymentMeta

TEST(template_deployment_meta, is_the_pods_metadata_with_the_request_namespace) {
  const auto snap = snap_of(std::string(image_template_prefix) +
                            "{{ .DeploymentMeta.Name }}/{{ .DeploymentMeta.Namespace }}/"
                            "{{ index .DeploymentMeta.Labels \"app\" }}/{{ .ObjectMeta.Namespace }}\"");
  json pod = plain_pod(json(), {{"app", "shop"}});
  const run_out o = inject(snap, pod, "team-a");
  ASSERT_TRUE(o.allowed) << o.message;
  EXPECT_EQ(container_named(o.pod_after, "x")["image"], "p/team-a/shop/team-a");
}

// ------------------------------------------------------- load errors

TEST(template_load_errors, positions_inside_the_template) {
  struct row {
    const char* text;
    const char* message;
    int line, column;
  };
  const row rows[] = {
      {"a: 1\nb: {{ .ObjectMeta.Lables }}", "can't evaluate field Lables in type *v1.ObjectMeta", 2, 7},
      {"{{ .Spec.Containerz }}", "can't evaluate field Containerz in type *v1.PodSpec", 1, 4},
      {"{{ .ProxyConfig.DrainDurashun }}", "can't evaluate field DrainDurashun in type *ProxyConfig", 1, 4},
      {"{{ .ObjectMeta.Name.Foo }}", "can't evaluate field Foo", 1, 4},
      {"{{ .Nope }}", "can't evaluate field Nope", 1, 4},
      {"x\ny\n   {{ foo }}", "function \"foo\" not defined", 3, 7},
      {"{{ $nope }}", "undefined variable: $nope", 1, 4},
      {"a\n{{ .ObjectMeta.Name", "unclosed action", 2, 1},
      {"{{ if true }}\nx", "missing {{end}}", 1, 1},
      {"x{{ end }}", "unexpected {{end}}", 1, 2},
      {"x\n {{ else }}", "unexpected {{else}}", 2, 2},
      {"{{ template \"x\" . }}", "no such template \"x\"", 1, 13},
      {"{{ define \"x\" }}{{ end }}{{ template \"x\" }}", "{{template \"x\" .}} only", 1, 29},
      {"{{ if true }}{{ define \"x\" }}{{ end }}{{ end }}", "define only at the top level", 1, 17},
      {"{{ define \"x\" }}a{{ end }}{{ define \"x\" }}b{{ end }}", "multiple definition of template", 1, 30},
      {"{{ range .Values.list }}{{ break }}{{ end }}", "'break' is not supported", 1, 28},
      {"{{ len 1 2 }}", "wrong number of args for len: want 1 got 2", 1, 4},
      {"{{ if true }}{{ else }}{{ else }}{{ end }}", "second {{else}}", 1, 24},
      {"{{ \"unterminated }}", "unterminated quoted string", 1, 4},
      {"{{ ( 1 }}", "unclosed left parenthesis", 1, 8},
      {"{{ }}", "missing value for command", 1, 1},
      {"{{ 1 2 }}", "non-function", 1, 4},
      {"{{ .ObjectMeta.Name ! }}", "unexpected character '!'", 1, 21},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.text);
    const compile_failure e = load_error(r.text);
    EXPECT_NE(e.message.find(r.message), std::string::npos) << e.message;
    EXPECT_EQ(e.line, r.line) << e.message;
    EXPECT_EQ(e.column, r.column) << e.message;
  }
}

TEST(template_load_errors, positions_in_the_config_file) {
  // injection_config_text writes `policy` on line 1, `template: |-` on line 2 and
  // the template indented by 2 from line 3: template line L, column C is file
  // line L + 2, column C + 2.
  struct row {
    const char* text;
    const char* message;
    int line, column;
  };
  const row rows[] = {
      {"containers:\n- name: x\n  image: \"{{ .ObjectMeta.Lables }}\"", "Lables", 5, 16},
      {"containers:\n- name: x\n  image: \"[[ nosuch ]]\"", "not defined", 5, 16},
      {"containers:\n- name: x\n  image: \"{{ $v }}\"", "undefined variable", 5, 16},
      {"containers:\n{{ if true }}\n- name: x", "missing {{end}}", 4, 3},
      {"containers:\n- name: x\n  image: {{ .ObjectMeta.Name", "unclosed action", 5, 12},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.text);
    try {
      snap_of(r.text);
      ADD_FAILURE() << "loaded";
    } catch (const core::config_error& e) {
      EXPECT_NE(std::string(e.what()).find(r.message), std::string::npos) << e.what();
      EXPECT_EQ(e.where().file, "test-config.yaml");
      EXPECT_EQ(e.where().line, r.line) << e.what();
      EXPECT_EQ(e.where().column, r.column) << e.what();
      EXPECT_NE(std::string(e.what()).find("test-config.yaml:" + std::to_string(r.line) + ":" +
                                           std::to_string(r.column) + ": "),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(template_load_errors, a_constant_that_fails_does_not_load) {
  EXPECT_THROW(snap_of("containers:\n- name: x\n  image: \"{{ index .Values.list 3 }}\""), core::config_error);
  // Failing for a plain pod only (pod data) is a load warning: pods that have
  // what the template needs still inject.
  const auto snap = snap_of("containers:\n- name: x\n  image: \"{{ (index .Spec.Containers 1).Name }}\"");
  bool warned = false;
  for (const auto& w : snap->warnings()) warned = warned || w.find("index out of range") != std::string::npos;
  EXPECT_TRUE(warned);
}

// ----------------------------------------------------------- folding

TEST(template_folding, config_only_expressions_are_folded) {
  world w;
  const auto prog = patch::compile_template(
      "a: {{ .ProxyConfig.ConfigPath }}\nb: {{ formatDuration .ProxyConfig.DrainDuration }}\n"
      "{{ if gt .ProxyConfig.Concurrency 0 }}c: 1{{ end }}\n{{ range .Values.list }}- {{ . }}\n{{ end }}"
      "{{ $x := .MeshConfig.ProxyListenPort }}d: {{ $x }}\n{{ with .Values.nested }}{{ .a.b }}{{ end }}",
      w.mesh, w.values);
  EXPECT_EQ(prog->decision_count(), 0u);
  EXPECT_EQ(prog->hole_sites(), 0u);
  for (const json& pod : {test_pod(), json::parse(R"({"metadata":{"name":"other"}})")}) {
    auto r = exec_in(w, prog->text(), pod);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.trace.empty());
    EXPECT_EQ(r.holes, 0u);
    EXPECT_EQ(r.out, "a: /etc/istio/proxy\nb: 45s\n\n- a\n- b\n- c\nd: 15001\ndeep");
  }
}

TEST(template_folding, pod_dependent_parts_are_decisions_and_holes) {
  world w;
  const auto prog = patch::compile_template(
      "{{ .ObjectMeta.Name }} {{ .ProxyConfig.ConfigPath }}\n"
      "{{ if .ObjectMeta.Labels }}L{{ end }}{{ annotation .ObjectMeta \"x\" .ProxyConfig.InterceptionMode }}\n"
      "{{ range .Spec.Containers }}{{ .Name }}{{ end }}{{ $n := .ObjectMeta.Name }}{{ $n }}",
      w.mesh, w.values);
  EXPECT_EQ(prog->decision_count(), 2u);  // the if and the range
  EXPECT_EQ(prog->hole_sites(), 4u);      // name, annotation, .Name in the range, $n
}

TEST(template_folding, folded_text_is_in_the_variant_not_the_holes) {
  // The Istio 1.1 template's plain pod: only the pod-dependent parts are holes.
  const auto snap = snap_of(std::string(image_template_prefix) + "{{ .ProxyConfig.ConfigPath }}:{{ .ObjectMeta.Name }}\"");
  const run_out o = inject(snap, plain_pod());
  ASSERT_TRUE(o.allowed) << o.message;
  EXPECT_EQ(container_named(o.pod_after, "x")["image"], "/etc/istio/proxy:p");
  EXPECT_EQ(snap->program().hole_sites(), 1u);
  EXPECT_EQ(snap->program().decision_count(), 0u);
}

// ----------------------------------------------------------- variants

TEST(template_variants, traces_follow_the_decisions_only) {
  world w;
  const std::string t =
      "{{ if eq (index .ObjectMeta.Labels \"app\") \"web\" }}web {{ .ObjectMeta.Name }}{{ else }}other{{ end }}"
      "{{ range .Spec.Containers }}-{{ .Name }}{{ end }}";
  json a = test_pod();
  json b = test_pod();
  b["metadata"]["name"] = "different-name";
  b["spec"]["containers"][0]["name"] = "renamed";
  json c = test_pod();
  c["metadata"]["labels"]["app"] = "api";
  json d = test_pod();
  d["spec"]["containers"].erase(2);
  const auto ra = exec_in(w, t, a), rb = exec_in(w, t, b), rc = exec_in(w, t, c), rd = exec_in(w, t, d);
  ASSERT_TRUE(ra.ok && rb.ok && rc.ok && rd.ok);
  EXPECT_EQ(ra.trace, rb.trace);  // same outcomes, different hole values
  EXPECT_NE(ra.out, rb.out);
  EXPECT_NE(ra.trace, rc.trace);  // the if went the other way
  EXPECT_NE(ra.trace, rd.trace);  // the range ran a different number of times
  EXPECT_EQ(ra.out, "web web-1-app-istio-proxy-side");
  EXPECT_EQ(rb.out, "web different-name-renamed-istio-proxy-side");
  EXPECT_EQ(rc.out, "other-app-istio-proxy-side");
  EXPECT_EQ(rd.out, "web web-1-app-istio-proxy");
}

TEST(template_variants, the_engine_caches_one_variant_per_trace) {
  const auto snap = snap_of(std::string(image_template_prefix) +
                            "{{ if .ObjectMeta.Labels }}L{{ else }}N{{ end }}{{ .ObjectMeta.Name }}\"");
  patch::engine e(snap);
  patch::injection_result r;
  auto review = [&](json pod) { return mt::run_review(e, mt::make_review(pod), &r); };
  review(plain_pod(json(), {{"a", "b"}}));
  EXPECT_TRUE(r.compiled_variant);
  json p2 = plain_pod(json(), {{"c", "d"}});
  p2["metadata"]["name"] = "q";
  const json resp = review(p2);
  EXPECT_FALSE(r.compiled_variant);
  EXPECT_EQ(container_named(mt::apply_patch(p2, mt::response_patch(resp)), "x")["image"], "Lq");
  review(plain_pod());
  EXPECT_TRUE(r.compiled_variant);
  EXPECT_EQ(e.cached_variants(), 2u);
}

// ----------------------------------------------------- per-request errors

TEST(template_request_errors, from_json_of_a_bad_annotation_is_allowed_false) {
  const auto snap = snap_of(
      "containers:\n- name: x\n  image: i\n  args:\n"
      "  {{- if isset .ObjectMeta.Annotations \"j\" }}\n"
      "  {{- range $k, $v := fromJSON (index .ObjectMeta.Annotations \"j\") }}\n  - \"{{ $k }}\"\n  {{- end }}\n"
      "  {{- end }}");
  run_out o = inject(snap, plain_pod({{"j", "{nope"}}));
  EXPECT_FALSE(o.allowed);
  EXPECT_NE(o.message.find("annotation j"), std::string::npos) << o.message;
  o = inject(snap, plain_pod({{"j", R"({"b":1,"a":2})"}}));
  ASSERT_TRUE(o.allowed) << o.message;
  EXPECT_EQ(container_named(o.pod_after, "x")["args"], json::parse(R"(["a","b"])"));
  // A JSON scalar cannot be ranged over.
  o = inject(snap, plain_pod({{"j", "5"}}));
  EXPECT_FALSE(o.allowed);
  EXPECT_NE(o.message.find("annotation j: range can't iterate over 5"), std::string::npos) << o.message;
}

TEST(template_request_errors, index_out_of_range_on_pod_data) {
  const auto snap = snap_of(std::string(image_template_prefix) + "{{ (index .Spec.Containers 0).Name }}\"");
  run_out o = inject(snap, plain_pod());
  ASSERT_TRUE(o.allowed) << o.message;
  EXPECT_EQ(container_named(o.pod_after, "x")["image"], "app");
  json pod = plain_pod();
  pod["spec"]["containers"] = json::array();
  o = inject(snap, pod);
  EXPECT_FALSE(o.allowed);
  EXPECT_NE(o.message.find("index out of range"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("template:3:"), std::string::npos) << o.message;
}

TEST(template_request_errors, comparison_errors_with_pod_data) {
  const auto snap = snap_of(std::string(image_template_prefix) +
                            "{{ if gt (len .ObjectMeta.Labels) 1 }}many{{ else }}few{{ end }}\"");
  EXPECT_EQ(image_of("{{ if gt (len .ObjectMeta.Labels) 1 }}many{{ else }}few{{ end }}", plain_pod()), "few");
  const run_out o = inject(snap, plain_pod(json(), {{"a", "1"}, {"b", "2"}}));
  ASSERT_TRUE(o.allowed);
  EXPECT_EQ(container_named(o.pod_after, "x")["image"], "many");
}

// ------------------------------------------------------- hostile values

struct hostile_case {
  const char* name;
  std::string value;
};

std::vector<hostile_case> hostile_values() {
  std::string big(64 * 1024, 'a');
  for (std::size_t i = 0; i < big.size(); i += 97) big[i] = '"';
  return {
      {"quote", "a\"b"},
      {"newline", "line1\nline2\n"},
      {"json_breakout", "\"}],\"x\":{"},
      {"backslash", "C:\\dir\\"},
      {"unicode", "\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x80\xa8 end"},
      {"yaml_looking", "key: [1, 2]"},
      {"yaml_doc", "---\n- a\n: b\n#c"},
      {"curly_actions", "{{ .ObjectMeta.Name }}"},
      {"square_actions", "[[ .ObjectMeta.Name ]]"},
      {"placeholders", "\xee\x80\x80" "0\xee\x80\x81 and \xee\x80\x80" "1"},
      {"control", std::string("nul\x01\x1f\t", 7)},
      {"empty", ""},
      {"spaces", "  padded  "},
      {"big", big},
  };
}

TEST(template_hostile, annotation_values_stay_inside_their_strings) {
  const std::string t =
      "containers:\n"
      "- name: x\n"
      "  image: \"{{ index .ObjectMeta.Annotations \"h\" }}\"\n"
      "  args:\n"
      "  - \"pre-{{ index .ObjectMeta.Annotations \"h\" }}-post\"\n"
      "  - {{ index .ObjectMeta.Annotations \"h\" }}\n"
      "  env:\n"
      "  - name: PLAIN\n"
      "    value: {{ index .ObjectMeta.Annotations \"h\" }}\n"
      "  - name: QUOTED\n"
      "    value: '{{ annotation .ObjectMeta \"h\" \"d\" }}'\n"
      "  - name: JSON\n"
      "    value: |\n"
      "      {{ toJSON .ObjectMeta.Annotations }}\n";
  // The same template in Istio 1.1's delimiters.
  std::string square = t;
  for (std::size_t at = 0; (at = square.find("{{", at)) != std::string::npos;) square.replace(at, 2, "[[");
  for (std::size_t at = 0; (at = square.find("}}", at)) != std::string::npos;) square.replace(at, 2, "]]");
  for (const std::string& text : {t, square}) {
    const auto snap = snap_of(text);
    for (const auto& h : hostile_values()) {
      SCOPED_TRACE(std::string(h.name) + " in " + text.substr(text.find("image"), 14));
      const run_out o = inject(snap, plain_pod({{"h", h.value}}));
      ASSERT_TRUE(o.allowed) << o.message;
      ASSERT_TRUE(json::accept(o.raw_patch)) << o.raw_patch.substr(0, 2000);
      const json x = container_named(o.pod_after, "x");
      EXPECT_EQ(x["image"], h.value);
      EXPECT_EQ(x["args"][0], "pre-" + h.value + "-post");
      EXPECT_EQ(x["args"][1], h.value);
      EXPECT_EQ(x["env"][0]["value"], h.value);
      EXPECT_EQ(x["env"][1]["value"], h.value);
      const std::string js = x["env"][2]["value"];
      ASSERT_FALSE(js.empty());
      EXPECT_EQ(js.back(), '\n');
      EXPECT_EQ(json::parse(x["env"][2]["value"].get<std::string>()), json({{"h", h.value}}));
      EXPECT_EQ(x.size(), 4u) << x.dump();
    }
  }
}

TEST(template_hostile, labels_and_names_too) {
  const std::string t =
      "containers:\n- name: x\n  image: \"{{ .ObjectMeta.Name }}\"\n  args:\n"
      "  {{- range $k, $v := .ObjectMeta.Labels }}\n  - \"{{ $k }}={{ $v }}\"\n  {{- end }}\n";
  const auto snap = snap_of(t);
  for (const auto& h : hostile_values()) {
    if (h.value.empty()) continue;
    SCOPED_TRACE(h.name);
    json pod = plain_pod(json(), {{h.value, h.value}});
    pod["metadata"]["name"] = h.value;
    if (h.value.find('\0') != std::string::npos) {
      // A NUL in a key or a name is refused (issue 16): a 400 naming it.
      patch::engine e(snap);
      patch::injection_result r;
      const json answer = mt::run_review(e, mt::make_review(pod, "admission.k8s.io/v1", "uid-1", "default"), &r);
      EXPECT_EQ(r.http_status, 400);
      EXPECT_NE(std::string(r.message).find("NUL character"), std::string::npos) << answer.dump();
      continue;
    }
    const run_out o = inject(snap, pod);
    ASSERT_TRUE(o.allowed) << o.message;
    const json x = container_named(o.pod_after, "x");
    EXPECT_EQ(x["image"], h.value);
    EXPECT_EQ(x["args"], json::array({h.value + "=" + h.value}));
  }
}

TEST(template_hostile, integer_fields_reject_non_integers) {
  const auto snap = snap_of(
      "containers:\n- name: x\n  image: i\n  readinessProbe:\n    initialDelaySeconds: "
      "{{ annotation .ObjectMeta \"delay\" 1 }}\n    httpGet:\n      port: {{ annotation .ObjectMeta \"port\" 15020 }}");
  run_out o = inject(snap, plain_pod({{"delay", "7"}, {"port", "http"}}));
  ASSERT_TRUE(o.allowed) << o.message;
  json x = container_named(o.pod_after, "x");
  EXPECT_EQ(x["readinessProbe"]["initialDelaySeconds"], 7);
  EXPECT_EQ(x["readinessProbe"]["httpGet"]["port"], "http");
  o = inject(snap, plain_pod({{"port", "8080"}}));
  ASSERT_TRUE(o.allowed) << o.message;
  EXPECT_EQ(container_named(o.pod_after, "x")["readinessProbe"]["httpGet"]["port"], 8080);
  for (const char* bad : {"7\"}", "1,2", "x", "1.5", "true"}) {
    SCOPED_TRACE(bad);
    o = inject(snap, plain_pod({{"delay", bad}}));
    EXPECT_FALSE(o.allowed);
    EXPECT_NE(o.message.find("delay"), std::string::npos) << o.message;
  }
}

TEST(template_hostile, invalid_utf8_never_reaches_the_patch) {
  // The apiserver sends valid UTF-8; a review with invalid bytes is refused
  // before any template runs.
  const auto snap = snap_of(std::string(image_template_prefix) + "{{ index .ObjectMeta.Annotations `h` }}\"");
  patch::engine e(snap);
  std::string review = mt::make_review(plain_pod({{"h", "PLACEHOLDER"}}));
  review.replace(review.find("PLACEHOLDER"), 11, "a\xff\xfe" "b");
  const json resp = json::parse(std::string(e.handle(review.data(), review.size(), review.size()).body));
  EXPECT_TRUE(resp.contains("error")) << resp.dump();
  // A lone surrogate escape is valid JSON text: whatever it decodes to, the
  // patch stays valid JSON and UTF-8.
  review = mt::make_review(plain_pod({{"h", "PLACEHOLDER"}}));
  review.replace(review.find("PLACEHOLDER"), 11, "a\\udc00b");
  patch::injection_result r = e.handle(review.data(), review.size(), review.size());
  if (r.kind == patch::outcome::injected) {
    const json p = json::parse(std::string(r.patch));
    EXPECT_TRUE(p.is_array());
  } else {
    EXPECT_EQ(r.http_status, 400);
  }
}

// --------------------------------------------- userVolume / userVolumeMount

const char* const user_volume_template = R"T(containers:
- name: istio-proxy
  image: proxy
  volumeMounts:
  - name: istio-envoy
    mountPath: /etc/istio/proxy
  [[- if isset .ObjectMeta.Annotations `sidecar.istio.io/userVolumeMount` ]]
  [[- range $name, $mount := fromJSON (index .ObjectMeta.Annotations `sidecar.istio.io/userVolumeMount`) ]]
  - name: "[[ $name ]]"
    [[ toYaml $mount | indent 4 ]]
  [[- end ]]
  [[- end ]]
volumes:
- name: istio-envoy
  emptyDir:
    medium: Memory
[[- if isset .ObjectMeta.Annotations `sidecar.istio.io/userVolume` ]]
[[- range $name, $volume := fromJSON (index .ObjectMeta.Annotations `sidecar.istio.io/userVolume`) ]]
- name: "[[ $name ]]"
  [[ toYaml $volume | indent 2 ]]
[[- end ]]
[[- end ]]
)T";

void check_user_volumes(const std::shared_ptr<const patch::snapshot>& snap) {
  const json ann = {
      {"sidecar.istio.io/userVolume",
       R"({"vol-b":{"secret":{"secretName":"s\"x","defaultMode":420,"optional":true,"bogus":1}},)"
       R"("vol-a":{"hostPath":{"path":"/var/\"lib","type":"Directory"}},"vol-c":{"configMap":{"name":"cm","items":[{"key":"k","path":123}]}}})"},
      {"sidecar.istio.io/userVolumeMount",
       R"({"vol-a":{"mountPath":"/a","readonly":true,"SUBPATH":"x"},"vol-b":{"mountPath":"/b\n","readOnly":false}})"}};
  const run_out o = inject(snap, plain_pod(ann));
  ASSERT_TRUE(o.allowed) << o.message;
  ASSERT_TRUE(json::accept(o.raw_patch)) << o.raw_patch.substr(0, 2000);
  const json proxy = container_named(o.pod_after, "istio-proxy");
  const json& mounts = proxy["volumeMounts"];
  bool saw_a = false, saw_b = false;
  for (const auto& m : mounts) {
    if (m["name"] == "vol-a") {
      saw_a = true;
      EXPECT_EQ(m, json::parse(R"({"name":"vol-a","mountPath":"/a","readOnly":true,"subPath":"x"})")) << m.dump();
    }
    if (m["name"] == "vol-b") {
      saw_b = true;
      EXPECT_EQ(m, json::parse(R"({"name":"vol-b","mountPath":"/b\n","readOnly":false})")) << m.dump();
    }
  }
  EXPECT_TRUE(saw_a && saw_b) << mounts.dump();
  std::map<std::string, json> volumes;
  for (const auto& v : o.pod_after["spec"]["volumes"]) volumes[v["name"].get<std::string>()] = v;
  ASSERT_TRUE(volumes.count("vol-a") && volumes.count("vol-b") && volumes.count("vol-c")) << o.pod_after.dump();
  EXPECT_EQ(volumes["vol-a"], json::parse(R"({"name":"vol-a","hostPath":{"path":"/var/\"lib","type":"Directory"}})"));
  EXPECT_EQ(volumes["vol-b"],
            json::parse(R"({"name":"vol-b","secret":{"secretName":"s\"x","defaultMode":420,"optional":true}})"));
  EXPECT_EQ(volumes["vol-c"], json::parse(R"({"name":"vol-c","configMap":{"name":"cm","items":[{"key":"k","path":"123"}]}})"));
  EXPECT_TRUE(volumes["vol-b"]["secret"]["defaultMode"].is_number_integer());
}

TEST(template_user_volumes, through_the_istio_11_shape) { check_user_volumes(snap_of(user_volume_template)); }

// The former embedded default: its user volumes go through the compiled path's
// typing. The embedded default's (Istio 1.28 shape) are in default_config_test.cpp.
TEST(template_user_volumes, through_the_istio_11_example_config) {
  check_user_volumes(mt::make_snapshot(mt::istio_1_1_example_config()));
}

TEST(template_user_volumes, bad_entries_are_allowed_false_naming_the_annotation) {
  const auto snap = snap_of(user_volume_template);
  struct row {
    const char* annotation;
    const char* value;
  };
  const row rows[] = {
      {"sidecar.istio.io/userVolume", R"({"v":5})"},
      {"sidecar.istio.io/userVolume", R"({"v":"text"})"},
      {"sidecar.istio.io/userVolume", R"({"v":{"secret":{"defaultMode":"abc"}}})"},
      {"sidecar.istio.io/userVolume", R"({"v":{"secret":{"defaultMode":1.5}}})"},
      {"sidecar.istio.io/userVolume", R"({"v":{"secret":"x"}})"},
      {"sidecar.istio.io/userVolume", R"({"v":{"secret":{"optional":"yes"}}})"},
      {"sidecar.istio.io/userVolume", R"({"v":{"name":"other"}})"},
      {"sidecar.istio.io/userVolume", "not json"},
      {"sidecar.istio.io/userVolumeMount", R"({"m":{"readOnly":"true"}})"},
      {"sidecar.istio.io/userVolumeMount", R"({"m":[1]})"},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(std::string(r.annotation) + "=" + r.value);
    const run_out o = inject(snap, plain_pod({{r.annotation, r.value}}));
    EXPECT_FALSE(o.allowed);
    EXPECT_NE(o.message.find(r.annotation), std::string::npos) << o.message;
  }
}

TEST(template_user_volumes, empty_object_adds_nothing) {
  const auto snap = snap_of(user_volume_template);
  const run_out o = inject(snap, plain_pod({{"sidecar.istio.io/userVolume", "{}"}, {"sidecar.istio.io/userVolumeMount", "{}"}}));
  ASSERT_TRUE(o.allowed) << o.message;
  EXPECT_EQ(o.pod_after["spec"]["volumes"].size(), 1u);
  EXPECT_EQ(container_named(o.pod_after, "istio-proxy")["volumeMounts"].size(), 1u);
}

// ------------------------------------- the Istio 1.1 template, end to end

TEST(template_istio11, renders_for_a_plain_pod) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  patch::config_sources s;
  s.inject_config_text = mt::read_file(root / "istio-1.1" / "injector-config.yaml");
  s.inject_config_name = "injector-config.yaml";
  s.mesh_text = mt::read_file(root / "istio-1.1" / "mesh.yaml");
  s.mesh_name = "mesh.yaml";
  const auto snap = patch::snapshot::build(s);
  EXPECT_EQ(snap->program().delimiters(), "[[");
  json pod = plain_pod(json(), {{"app", "shop"}});
  pod["spec"]["containers"][0]["ports"] = json::array({{{"containerPort", 8080}}});
  const run_out o = inject(snap, pod, "ns1");
  ASSERT_TRUE(o.allowed) << o.message;
  const json proxy = container_named(o.pod_after, "istio-proxy");
  const std::vector<std::string> args = proxy["args"];
  auto after = [&](const std::string& flag) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == flag) return args[i + 1];
    return std::string("<absent>");
  };
  EXPECT_EQ(after("--serviceCluster"), "shop.$(POD_NAMESPACE)");
  EXPECT_EQ(after("--drainDuration"), "45s");
  EXPECT_EQ(after("--parentShutdownDuration"), "1m0s");
  EXPECT_EQ(after("--connectTimeout"), "10s");
  EXPECT_EQ(after("--zipkinAddress"), "zipkin.istio-system:9411");
  EXPECT_EQ(after("--discoveryAddress"), "istio-pilot.istio-system:15010");
  EXPECT_EQ(after("--concurrency"), "2");
  EXPECT_EQ(after("--controlPlaneAuthPolicy"), "NONE");
  EXPECT_EQ(after("--statusPort"), "15020");
  EXPECT_EQ(after("--applicationPorts"), "8080");
  EXPECT_EQ(after("--proxyAdminPort"), "15000");
  const json init = o.pod_after["spec"]["initContainers"][0];
  const std::vector<std::string> iargs = init["args"];
  auto iafter = [&](const std::string& flag) {
    for (std::size_t i = 0; i + 1 < iargs.size(); ++i)
      if (iargs[i] == flag) return iargs[i + 1];
    return std::string("<absent>");
  };
  EXPECT_EQ(iafter("-p"), "15001");
  EXPECT_EQ(iafter("-m"), "REDIRECT");
  EXPECT_EQ(iafter("-i"), "*");
  EXPECT_EQ(iafter("-b"), "8080");
  EXPECT_EQ(iafter("-d"), "15020");
  EXPECT_EQ(proxy["readinessProbe"]["httpGet"]["port"], 15020);
  EXPECT_EQ(proxy["readinessProbe"]["initialDelaySeconds"], 1);
  bool labels_env = false;
  for (const auto& env : proxy["env"])
    if (env["name"] == "ISTIO_METAJSON_LABELS") {
      labels_env = true;
      EXPECT_EQ(env["value"], "{\"app\":\"shop\"}\n");
    }
  EXPECT_TRUE(labels_env);
}

}  // namespace
