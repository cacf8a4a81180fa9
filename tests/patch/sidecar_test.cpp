// The sidecar compiler (SPEC section 3): the rendered YAML typed by the
// Kubernetes field each scalar lands in, as Istio's decoder (YAML -> JSON ->
// Go structs) typed it; load errors with template positions; warnings for
// dropped fields; member splices of pod data with their commas; and every
// emitted fragment valid JSON.

#include <gtest/gtest.h>

#include <simdjson.h>

#include <memory>

#include "core/error.hpp"
#include "core/mesh_config.hpp"
#include "patch/admission.hpp"
#include "patch/injector.hpp"
#include "patch/sidecar.hpp"
#include "patch/template_data.hpp"
#include "tests/support/engine_fixture.hpp"

namespace {

namespace mt = meshinject::test;
namespace core = meshinject::core;
namespace patch = meshinject::patch;
namespace tmpl = meshinject::tmpl;
using mt::json;

// ------------------------------------------------------------------ helpers

// Everything a compiled variant and its hole values point into.
struct compiled {
  core::mesh_config mesh = core::default_mesh_config();
  core::config_node values = core::config_node::make_map();
  std::unique_ptr<tmpl::program> program;
  simdjson::dom::parser parser;
  std::string pod_text;
  patch::pod pod;
  tmpl::trace_state state;
  patch::sidecar_variant variant;
  bool ok = false;
  std::string error;
};

json default_pod() {
  return json::parse(R"({"metadata":{"name":"p","labels":{"app":"a"}},
                         "spec":{"containers":[{"name":"app","image":"app:1","ports":[{"containerPort":8080}]}]}})");
}

std::unique_ptr<compiled> compile(const std::string& text, const json& pod_json = default_pod(),
                                  const patch::shared_variant_text* shared = nullptr) {
  auto c = std::make_unique<compiled>();
  c->program = patch::compile_template(text, c->mesh, c->values);
  c->pod_text = pod_json.dump();
  simdjson::dom::element el;
  if (c->parser.parse(c->pod_text).get(el)) throw std::runtime_error("bad pod");
  std::string error;
  if (!patch::parse_pod(el, "default", c->pod, error)) throw std::runtime_error(error);
  patch::template_data data;
  data.p = &c->pod;
  data.proxy_config = &c->mesh.proxy_config();
  data.mesh = &c->mesh.root;
  data.values = &c->values;
  if (!c->program->trace(patch::template_root(data), c->state)) {
    c->error = c->state.error;
    return c;
  }
  tmpl::render_result rendered;
  if (!c->program->render(patch::template_root(data), c->state.trace, rendered, c->error)) return c;
  patch::compile_workspace workspace;
  c->ok = patch::compile_sidecar(*c->program, rendered, c->variant, c->error, workspace, shared);
  return c;
}

// Emits a fragment with this request's holes; checks it is JSON and parses it.
json emit(const compiled& c, const patch::fragment& f, std::string* error_out = nullptr) {
  std::string out, scratch, error;
  const bool ok = patch::emit_fragment(f, c.variant, c.state.holes, out, scratch, error);
  if (error_out) *error_out = error;
  if (!ok) return json();
  EXPECT_TRUE(json::accept(out)) << "not JSON: " << out;
  return json::parse(out, nullptr, false);
}

// Compiles a template with a single container and returns it as JSON.
json container_of(const std::string& text, const json& pod = default_pod()) {
  auto c = compile(text, pod);
  EXPECT_TRUE(c->ok) << c->error;
  if (!c->ok || c->variant.containers().empty()) return json();
  return emit(*c, c->variant.containers()[0].json);
}

std::string load_error_of(const std::string& text) {
  auto c = compile(text);
  EXPECT_FALSE(c->ok) << "compiled: " << text;
  return c->error;
}

json args_of(const std::string& items) {
  return container_of("containers:\n- name: x\n  args:\n" + items)["args"];
}

// ------------------------------------------------------- literal typing

TEST(sidecar_typing, args_are_strings_whatever_yaml_says) {
  const std::pair<const char*, const char*> rows[] = {
      {"1337", "1337"},   {"0x1F", "31"},     {"0777", "511"},      {"0o17", "15"},    {"+12", "12"},
      {"-3", "-3"},       {"1_000", "1000"},  {"yes", "true"},      {"Y", "true"},     {"on", "true"},
      {"no", "false"},    {"n", "false"},     {"OFF", "false"},     {"true", "true"},  {"1.5", "1.5"},
      {"1e3", "1000"},    {"0.1", "0.1"},     {"3.14159265358979", "3.1415927"},    {".inf", "+Inf"},
      {"-.inf", "-Inf"},  {"\"1337\"", "1337"}, {"'yes'", "yes"},   {"proxy", "proxy"}, {"--x=1", "--x=1"},
      {"$(POD_NAMESPACE).svc", "$(POD_NAMESPACE).svc"}, {"\"\"", ""}, {"~", ""}, {"null", ""},
  };
  for (const auto& [yaml, want] : rows) {
    SCOPED_TRACE(yaml);
    const json args = args_of(std::string("  - ") + yaml + "\n");
    ASSERT_TRUE(args.is_array()) << args.dump();
    ASSERT_EQ(args.size(), 1u);
    EXPECT_EQ(args[0], want);
  }
}

TEST(sidecar_typing, template_output_is_typed_too) {
  // `- [[ .MeshConfig.ProxyListenPort ]]` renders 15001, which lands in args as "15001".
  const json args = args_of("  - {{ .MeshConfig.ProxyListenPort }}\n  - {{ .ProxyConfig.ProxyAdminPort }}\n  - {{ .MeshConfig.EnableTracing }}\n");
  EXPECT_EQ(args, json::parse(R"(["15001","15000","true"])"));
}

TEST(sidecar_typing, int_or_string_ports) {
  json c = container_of(
      "containers:\n- name: x\n  readinessProbe:\n    httpGet:\n      port: 15020\n  livenessProbe:\n    httpGet:\n"
      "      port: http\n  startupProbe:\n    tcpSocket:\n      port: \"15021\"\n");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["port"], 15020);
  EXPECT_TRUE(c["readinessProbe"]["httpGet"]["port"].is_number_integer());
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"], "http");
  EXPECT_EQ(c["startupProbe"]["tcpSocket"]["port"], "15021");
  EXPECT_NE(load_error_of("containers:\n- name: x\n  readinessProbe:\n    httpGet:\n      port: true\n")
                .find("expected an integer or a string"),
            std::string::npos);
}

TEST(sidecar_typing, quantities_are_strings) {
  json c = container_of(
      "containers:\n- name: x\n  resources:\n    limits:\n      cpu: 2\n      memory: 1Gi\n    requests:\n"
      "      cpu: 100m\n      memory: 128974848\n      ephemeral-storage: 1e3\n");
  EXPECT_EQ(c["resources"]["limits"]["cpu"], "2");
  EXPECT_EQ(c["resources"]["limits"]["memory"], "1Gi");
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "100m");
  EXPECT_EQ(c["resources"]["requests"]["memory"], "128974848");
  EXPECT_EQ(c["resources"]["requests"]["ephemeral-storage"], "1e3");
  EXPECT_NE(load_error_of("containers:\n- name: x\n  resources:\n    limits:\n      cpu: lots\n").find("not a valid quantity"),
            std::string::npos);
  EXPECT_NE(load_error_of("containers:\n- name: x\n  resources:\n    limits:\n      cpu: yes\n").find("quantity"),
            std::string::npos);
}

TEST(sidecar_typing, integers_and_booleans) {
  json c = container_of(
      "containers:\n- name: x\n  securityContext:\n    runAsUser: 1337\n    runAsNonRoot: yes\n"
      "    privileged: false\n    readOnlyRootFilesystem: True\n  readinessProbe:\n    periodSeconds: 0x10\n"
      "    failureThreshold: 3.0\n  ports:\n  - containerPort: 15090\n    protocol: TCP\n  stdin: off\n");
  EXPECT_EQ(c["securityContext"]["runAsUser"], 1337);
  EXPECT_EQ(c["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(c["securityContext"]["privileged"], false);
  EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(c["readinessProbe"]["periodSeconds"], 16);
  EXPECT_EQ(c["readinessProbe"]["failureThreshold"], 3);
  EXPECT_EQ(c["ports"][0]["containerPort"], 15090);
  EXPECT_EQ(c["stdin"], false);
}

TEST(sidecar_typing, quoted_numbers_in_integer_fields_are_load_errors_with_positions) {
  const std::string e = load_error_of("containers:\n- name: x\n  readinessProbe:\n    initialDelaySeconds: \"5\"\n");
  EXPECT_NE(e.find("expected an integer, got '5'"), std::string::npos) << e;
  EXPECT_NE(e.find("template:4:26"), std::string::npos) << e;
  const std::string b = load_error_of("containers:\n- name: x\n  securityContext:\n    privileged: \"true\"\n");
  EXPECT_NE(b.find("expected true or false"), std::string::npos) << b;
  EXPECT_NE(b.find("template:4:17"), std::string::npos) << b;
  const std::string f = load_error_of("containers:\n- name: x\n  readinessProbe:\n    periodSeconds: 1.5\n");
  EXPECT_NE(f.find("expected an integer"), std::string::npos) << f;
  // Through the snapshot: the config file name and the template position.
  try {
    mt::make_snapshot(mt::injection_config_text("containers:\n- name: x\n  ports:\n  - containerPort: \"15090\"\n"));
    ADD_FAILURE() << "loaded";
  } catch (const core::config_error& err) {
    const std::string what = err.what();
    // The template is a block scalar starting on line 3 of the file, indented by
    // 2: template line 4, column 20 is file line 6, column 22.
    EXPECT_EQ(what.rfind("test-config.yaml:6:22: ", 0), 0u) << what;
    EXPECT_NE(what.find("containerPort"), std::string::npos) << what;
  }
}

TEST(sidecar_typing, positions_follow_template_lines_through_actions) {
  // Line 3 of the template holds an action before the bad value: the position
  // is still the template's.
  const std::string e = load_error_of(
      "containers:\n- name: x\n  image: {{ .ProxyConfig.ConfigPath }}\n  readinessProbe:\n    timeoutSeconds: abc\n");
  EXPECT_NE(e.find("template:5:21"), std::string::npos) << e;
}

TEST(sidecar_typing, wrong_shapes_are_load_errors) {
  EXPECT_NE(load_error_of("containers:\n- name: x\n  args: notalist\n").find("expected a list"), std::string::npos);
  EXPECT_NE(load_error_of("containers:\n- name: x\n  resources: 5\n").find("expected a mapping"), std::string::npos);
  EXPECT_NE(load_error_of("containers: {}\n").find("containers must be a list"), std::string::npos);
  EXPECT_NE(load_error_of("- a\n- b\n").find("must be a mapping"), std::string::npos);
  EXPECT_NE(load_error_of("containers:\n- name: x\n  args: [a\n").find("not valid YAML"), std::string::npos);
  EXPECT_NE(load_error_of("containers:\n- name: x\n  image: [a, b]\n").find("expected a string"), std::string::npos);
}

TEST(sidecar_typing, null_fields_are_omitted_and_duplicates_keep_the_last) {
  json c = container_of("containers:\n- name: x\n  image:\n  command: ~\n  workingDir: null\n  imagePullPolicy: Always\n"
                        "  imagePullPolicy: IfNotPresent\n  tty: true\n  tty: false\n");
  EXPECT_FALSE(c.contains("image"));
  EXPECT_FALSE(c.contains("command"));
  EXPECT_FALSE(c.contains("workingDir"));
  EXPECT_EQ(c["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(c["tty"], false);
  EXPECT_EQ(c.size(), 3u) << c.dump();
}

TEST(sidecar_typing, field_names_match_case_insensitively_as_go_json_does) {
  json c = container_of("containers:\n- name: x\n  IMAGE: a\n  volumemounts:\n  - name: v\n    mountpath: /v\n    READONLY: yes\n");
  EXPECT_EQ(c["image"], "a");
  EXPECT_EQ(c["volumeMounts"], json::parse(R"([{"name":"v","mountPath":"/v","readOnly":true}])"));
}

TEST(sidecar_typing, untyped_volume_sources_keep_yaml_types) {
  auto c = compile("volumes:\n- name: v\n  gitRepo:\n    repository: r\n    depth: 1\n    shallow: yes\n    x: ~\n    list: [1, a]\n");
  ASSERT_TRUE(c->ok) << c->error;
  const json v = emit(*c, c->variant.volumes()[0].json);
  EXPECT_EQ(v["gitRepo"], json::parse(R"({"repository":"r","depth":1,"shallow":true,"x":null,"list":[1,"a"]})"));
}

TEST(sidecar_typing, dns_config_pull_secrets_and_rewrite_flag) {
  auto c = compile("rewriteAppHTTPProbe: yes\nimagePullSecrets:\n- name: 123\ndnsConfig:\n  nameservers: [1.1.1.1]\n"
                   "  searches:\n  - svc.cluster.local\n  options:\n  - name: ndots\n    value: 5\n");
  ASSERT_TRUE(c->ok) << c->error;
  EXPECT_EQ(emit(*c, c->variant.image_pull_secrets()[0].json), json::parse(R"({"name":"123"})"));
  EXPECT_TRUE(c->variant.has_dns_config);
  EXPECT_EQ(emit(*c, c->variant.dns_config),
            json::parse(R"({"nameservers":["1.1.1.1"],"searches":["svc.cluster.local"],"options":[{"name":"ndots","value":"5"}]})"));
  EXPECT_EQ(c->variant.rewrite_probe.k, patch::value_ref::kind::literal);
  EXPECT_EQ(c->variant.text(c->variant.rewrite_probe.literal), "true");
}

// ---------------------------------------------------------- warnings

TEST(sidecar_warnings, restart_policy_and_unknown_fields_are_dropped_with_a_warning) {
  auto c = compile("initContainers:\n- name: init\n  image: i\n  restartPolicy: Always\n  colour: blue\n"
                   "containers:\n- name: x\n  image: i\n  bogus:\n    deep: 1\n"
                   "volumes:\n- name: v\n  emptyDir: {}\n  nope: 1\nextraTopLevel: 1\n");
  ASSERT_TRUE(c->ok) << c->error;
  const json init = emit(*c, c->variant.init_containers()[0].json);
  EXPECT_EQ(init, json::parse(R"({"name":"init","image":"i"})"));
  EXPECT_EQ(emit(*c, c->variant.containers()[0].json), json::parse(R"({"name":"x","image":"i"})"));
  EXPECT_EQ(emit(*c, c->variant.volumes()[0].json), json::parse(R"({"name":"v","emptyDir":{}})"));
  auto warned = [&](const std::string& what, const std::string& where) {
    for (const auto& w : c->variant.warnings)
      if (w.find(what) != std::string::npos && w.find(where) != std::string::npos) return true;
    ADD_FAILURE() << "no warning about " << what << " at " << where;
    return false;
  };
  warned("restartPolicy is dropped", "template:4:3");
  warned("colour is not a field of Container", "template:5:3");
  warned("bogus is not a field of Container", "template:9:3");
  warned("nope is not a field of Volume", "template:14:3");
  warned("extraTopLevel", "template:15:1");

  // The snapshot carries them, with the config file name.
  const auto snap = mt::make_snapshot(
      mt::injection_config_text("initContainers:\n- name: init\n  image: i\n  restartPolicy: Always\n"));
  bool found = false;
  for (const auto& w : snap->warnings())
    found = found || (w.find("test-config.yaml") != std::string::npos && w.find("restartPolicy") != std::string::npos);
  EXPECT_TRUE(found);
}

// ------------------------------------------------------ member splices

const char* const splice_values = R"({"emptyDir":{"medium":"Memory"},"secret":{"secretName":"s"}})";

// A volume whose members come from `toYaml` of an annotation, spliced first,
// in the middle, last, or alone.
std::string splice_template(const std::string& item) {
  return "volumes:\n"
         "{{- range $name, $v := fromJSON (index .ObjectMeta.Annotations \"vols\") }}\n" +
         item + "{{- end }}\n";
}

json volumes_with(const std::string& item, const std::string& annotation, const std::string& extra = "{}") {
  json pod = default_pod();
  pod["metadata"]["annotations"] = {{"vols", annotation}, {"extra", extra}};
  auto c = compile(splice_template(item), pod);
  EXPECT_TRUE(c->ok) << c->error;
  json out = json::array();
  if (!c->ok) return out;
  for (const auto& v : c->variant.volumes()) out.push_back(emit(*c, v.json));
  return out;
}

TEST(sidecar_splices, commas_are_right_wherever_the_splice_is) {
  const std::string vols = std::string(R"({"a":)") + splice_values + R"(,"b":{"hostPath":{"path":"/p"}},"c":{}})";
  const json want_a = json::parse(R"({"name":"a","emptyDir":{"medium":"Memory"},"secret":{"secretName":"s"}})");
  const json want_b = json::parse(R"({"name":"b","hostPath":{"path":"/p"}})");
  const json want_c = json::parse(R"({"name":"c"})");
  const std::pair<const char*, std::string> shapes[] = {
      {"last", "- name: \"{{ $name }}\"\n  {{ toYaml $v | indent 2 }}\n"},
      {"first", "-\n  {{ toYaml $v | indent 2 }}\n  name: \"{{ $name }}\"\n"},
      {"middle", "- name: \"{{ $name }}\"\n  {{ toYaml $v | indent 2 }}\n  csi:\n    driver: d\n"},
      {"twice", "- name: \"{{ $name }}\"\n  {{ toYaml $v | indent 2 }}\n"
                "  {{ toYaml (fromJSON (index $.ObjectMeta.Annotations \"extra\")) | indent 2 }}\n"},
      {"twice_first", "-\n  {{ toYaml $v | indent 2 }}\n"
                      "  {{ toYaml (fromJSON (index $.ObjectMeta.Annotations \"extra\")) | indent 2 }}\n"
                      "  name: \"{{ $name }}\"\n"},
  };
  for (const auto& [what, item] : shapes) {
    SCOPED_TRACE(what);
    const bool twice = std::string(what).rfind("twice", 0) == 0;
    const json got = volumes_with(item, vols, twice ? R"({"downwardAPI":{"defaultMode":256}})" : "{}");
    ASSERT_EQ(got.size(), 3u) << got.dump();
    json a = want_a, b = want_b, c = want_c;
    if (std::string(what) == "middle") {
      for (json* j : {&a, &b, &c}) (*j)["csi"] = {{"driver", "d"}};
    }
    if (twice) {
      for (json* j : {&a, &b, &c}) (*j)["downwardAPI"] = {{"defaultMode", 256}};
    }
    EXPECT_EQ(got[0], a);
    EXPECT_EQ(got[1], b);
    EXPECT_EQ(got[2], c);  // the empty splice
  }
}

TEST(sidecar_splices, a_splice_alone_in_its_object) {
  const json got = volumes_with("-\n  {{ toYaml $v | indent 2 }}\n", R"({"x":{"name":"n","emptyDir":{}},"y":{}})");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], json::parse(R"({"name":"n","emptyDir":{}})"));
  EXPECT_EQ(got[1], json::object());
}

TEST(sidecar_splices, spliced_values_are_typed_and_escaped) {
  const json got = volumes_with("- name: \"{{ $name }}\"\n  {{ toYaml $v | indent 2 }}\n",
                                R"({"q\"}],":{"secret":{"secretName":"a\"b\n","defaultMode":420,"items":[{"key":"k","path":7,"mode":384}]},"configmap":{"name":"c"}}})");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], json::parse(R"({"name":"q\"}],","secret":{"secretName":"a\"b\n","defaultMode":420,"items":[{"key":"k","path":"7","mode":384}]},"configMap":{"name":"c"}})"));
}

TEST(sidecar_splices, a_splice_may_not_set_what_the_template_sets) {
  json pod = default_pod();
  pod["metadata"]["annotations"] = {{"vols", R"({"a":{"name":"other"}})"}};
  auto c = compile(splice_template("- name: \"{{ $name }}\"\n  {{ toYaml $v | indent 2 }}\n"), pod);
  ASSERT_TRUE(c->ok) << c->error;
  std::string error;
  (void)emit(*c, c->variant.volumes()[0].json, &error);
  EXPECT_NE(error.find("annotation vols"), std::string::npos) << error;
  EXPECT_NE(error.find("name"), std::string::npos) << error;
}

// Each splice checks against its own fragment's key set, with many fragments
// and key sets in the variant's flat arrays (sidecar_variant::keys).
TEST(sidecar_splices, each_splice_has_its_own_key_set_among_many) {
  json pod = default_pod();
  json many = json::object(), few = json::object();
  for (int i = 0; i < 40; ++i) many["m" + std::to_string(100 + i)] = {{"emptyDir", json::object()}};
  few["a"] = {{"secret", {{"secretName", "s"}}}};
  few["b"] = {{"emptyDir", json::object()}};  // the second range sets emptyDir itself
  pod["metadata"]["annotations"] = {{"vols", many.dump()}, {"more", few.dump()}};
  const std::string text =
      "volumes:\n"
      "{{- range $name, $v := fromJSON (index .ObjectMeta.Annotations \"vols\") }}\n"
      "- name: \"{{ $name }}\"\n  {{ toYaml $v | indent 2 }}\n"
      "{{- end }}\n"
      "{{- range $name, $v := fromJSON (index .ObjectMeta.Annotations \"more\") }}\n"
      "- name: \"{{ $name }}\"\n  emptyDir: {}\n  {{ toYaml $v | indent 2 }}\n"
      "{{- end }}\n";
  auto c = compile(text, pod);
  ASSERT_TRUE(c->ok) << c->error;
  const auto volumes = c->variant.volumes();
  ASSERT_EQ(volumes.size(), 42u);
  for (std::size_t i = 0; i < 40; ++i)
    EXPECT_EQ(emit(*c, volumes[i].json), json::parse(R"({"name":"m)" + std::to_string(100 + i) + R"(","emptyDir":{}})"));
  EXPECT_EQ(emit(*c, volumes[40].json), json::parse(R"({"name":"a","emptyDir":{},"secret":{"secretName":"s"}})"));
  std::string error;
  (void)emit(*c, volumes[41].json, &error);
  EXPECT_NE(error.find("sets 'emptyDir', which the template sets too"), std::string::npos) << error;
  // 42 splices, two distinct key sets held once each: a header and "name" for
  // the first 40, a header, "name" and "emptyDir" for the last two.
  EXPECT_EQ(c->variant.keys.size(), 2u + 3u);
}

TEST(sidecar_splices, a_label_map_splices_as_members) {
  auto c = compile("containers:\n- name: x\n  resources:\n    limits:\n      {{ toYaml .ObjectMeta.Labels | indent 6 }}\n      cpu: 1\n",
                   json::parse(R"({"metadata":{"labels":{"memory":"1Gi","nvidia.com/gpu":"2"}},"spec":{}})"));
  ASSERT_TRUE(c->ok) << c->error;
  const json x = emit(*c, c->variant.containers()[0].json);
  EXPECT_EQ(x["resources"]["limits"], json::parse(R"({"memory":"1Gi","nvidia.com/gpu":"2","cpu":"1"})"));
}

// ------------------------------------ text shared per snapshot

// Every fragment of a variant, written with this request's holes, one after the other.
std::string all_fragments_of(const compiled& c) {
  std::string out, scratch, error;
  for (const auto list : {patch::sidecar_list::init_containers, patch::sidecar_list::containers,
                          patch::sidecar_list::volumes, patch::sidecar_list::image_pull_secrets})
    for (const patch::sidecar_item& item : c.variant.list(list)) {
      EXPECT_TRUE(patch::emit_fragment(item.json, c.variant, c.state.holes, out, scratch, error)) << error;
      out += '\n';
      std::string name_scratch;
      out.append(patch::resolve_ref(item.name, c.variant, c.state.holes, name_scratch)) += '\n';
    }
  if (c.variant.has_dns_config) {
    EXPECT_TRUE(patch::emit_fragment(c.variant.dns_config, c.variant, c.state.holes, out, scratch, error)) << error;
  }
  for (const patch::value_ref* r : {&c.variant.status_port, &c.variant.concurrency, &c.variant.cpu}) {
    std::string ref_scratch;
    out.append(patch::resolve_ref(*r, c.variant, c.state.holes, ref_scratch)) += '\n';
  }
  return out;
}

// The snapshot's shared text (snapshot::build makes it from a plain pod's
// variant) changes where a variant's text is held, never what it writes: whole
// pieces found there, pieces cut into a shared head, new text and a shared tail
// (a user volume's mount after the proxy's own), literals and key sets.
TEST(sidecar_shared_text, a_variant_writes_the_same_with_the_snapshots_shared_text) {
  const std::string text = mt::yaml_to_json(mt::istio_1_1_example_config())["template"];
  const auto plain = compile(text);
  ASSERT_TRUE(plain->ok) << plain->error;
  const patch::shared_variant_text shared(plain->variant);
  const json annotation_sets[] = {
      json::object(),
      {{"sidecar.istio.io/interceptionMode", "TPROXY"}, {"sidecar.istio.io/proxyCPU", "3"},
       {"traffic.sidecar.istio.io/kubevirtInterfaces", "net1"}, {"status.sidecar.istio.io/port", "0"}},
      {{"sidecar.istio.io/userVolume", R"({"v":{"emptyDir":{}},"w":{"secret":{"secretName":"\"}]"}}})"},
       {"sidecar.istio.io/userVolumeMount", R"({"v":{"mountPath":"/v"},"w":{"mountPath":"/w","readOnly":true}})"},
       {"sidecar.istio.io/proxyImage", "img\"\n"}},
  };
  bool cut = false;
  for (const json& annotations : annotation_sets) {
    SCOPED_TRACE(annotations.dump());
    json pod = default_pod();
    pod["metadata"]["annotations"] = annotations;
    const auto alone = compile(text, pod);
    const auto sharing = compile(text, pod, &shared);
    ASSERT_TRUE(alone->ok && sharing->ok) << alone->error << sharing->error;
    EXPECT_EQ(all_fragments_of(*sharing), all_fragments_of(*alone));
    EXPECT_LT(sharing->variant.pool.size(), alone->variant.pool.size() / 4);
    if (sharing->variant.segments.size() > alone->variant.segments.size()) cut = true;
  }
  EXPECT_TRUE(cut) << "no text segment was cut into shared and new text";
}

// longest_head and longest_tail measure at the places the shared text holds a
// piece's first (last) 8 bytes; checked against the definition (the longest
// prefix, suffix, that text.find finds) on text the shared text holds, joined
// to text it lacks on either side, at every length.
TEST(sidecar_shared_text, the_longest_shared_head_and_tail_are_the_longest_held) {
  const std::string text = mt::yaml_to_json(mt::istio_1_1_example_config())["template"];
  const auto plain = compile(text);
  ASSERT_TRUE(plain->ok) << plain->error;
  const patch::shared_variant_text shared(plain->variant);
  const std::string_view held = shared.text();
  ASSERT_GT(held.size(), 1000u);
  // Every prefix (suffix) of a held string is held: the longest by bisection.
  auto longest = [&](std::string_view s, bool head) {
    std::size_t found = 0, missing = s.size() + 1;
    while (missing - found > 1) {
      const std::size_t mid = found + (missing - found) / 2;
      (held.find(head ? s.substr(0, mid) : s.substr(s.size() - mid)) != std::string_view::npos ? found : missing) = mid;
    }
    return found;
  };
  const std::string lacking[] = {"", "\x01", "\x01\x02\x03", "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"};
  std::size_t checked = 0, long_heads = 0, long_tails = 0;
  for (std::size_t at = 0; at < held.size(); at += 331) {
    for (const std::size_t length : {1, 5, 8, 9, 31, 200}) {
      const std::string_view piece = held.substr(at, length);
      for (const std::string& before : lacking)
        for (const std::string& after : lacking) {
          const std::string s = before + std::string(piece) + after;
          const std::size_t head = shared.longest_head(s), tail = shared.longest_tail(s);
          ASSERT_EQ(head, longest(s, true)) << '"' << s << '"';
          ASSERT_EQ(tail, longest(s, false)) << '"' << s << '"';
          long_heads += head >= 8;
          long_tails += tail >= 8;
          ++checked;
        }
    }
  }
  EXPECT_GT(long_heads, checked / 8);
  EXPECT_GT(long_tails, checked / 8);
}

// -------------------------------------------- every fragment is valid JSON

// Fragments are the compiled-variant path of Istio 1.1's shape: the former
// default, now the documented example, exercises every one of its holes.
TEST(sidecar_fragments, every_fragment_of_the_istio_11_example_is_json) {
  const json annotation_sets[] = {
      json::object(),
      {{"sidecar.istio.io/interceptionMode", "TPROXY"}, {"sidecar.istio.io/proxyCPU", "3"},
       {"traffic.sidecar.istio.io/kubevirtInterfaces", "net1"}, {"status.sidecar.istio.io/port", "0"}},
      {{"sidecar.istio.io/userVolume", R"({"v":{"emptyDir":{}},"w":{"secret":{"secretName":"\"}]"}}})"},
       {"sidecar.istio.io/userVolumeMount", R"({"v":{"mountPath":"/v"}})"},
       {"sidecar.istio.io/proxyImage", "img\"\n"}},
  };
  for (const json& annotations : annotation_sets) {
    SCOPED_TRACE(annotations.dump());
    json pod = default_pod();
    pod["metadata"]["annotations"] = annotations;
    patch::engine e(mt::make_snapshot(mt::istio_1_1_example_config()));
    patch::injection_result r;
    const json response = mt::run_review(e, mt::make_review(pod), &r);
    ASSERT_EQ(r.kind, patch::outcome::injected) << response.dump();
    const json p = json::parse(std::string(r.patch));
    for (const auto& op : p) EXPECT_TRUE(op.contains("op") && op.contains("path")) << op.dump();
    EXPECT_NO_THROW((void)mt::apply_patch(pod, p));
  }
}

TEST(sidecar_fragments, every_fragment_of_the_istio_11_template_is_json) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const std::string config = mt::read_file(root / "istio-1.1" / "injector-config.yaml");
  const std::string text = mt::yaml_to_json(config)["template"];
  json pod = default_pod();
  pod["metadata"]["annotations"] = {{"sidecar.istio.io/userVolume", R"({"v":{"emptyDir":{}}})"},
                                    {"sidecar.istio.io/userVolumeMount", R"({"v":{"mountPath":"/v"}})"},
                                    {"sidecar.istio.io/bootstrapOverride", "x"}};
  auto c = compile(text, pod);
  ASSERT_TRUE(c->ok) << c->error;
  std::size_t n = 0;
  for (const auto list : {patch::sidecar_list::init_containers, patch::sidecar_list::containers,
                          patch::sidecar_list::volumes, patch::sidecar_list::image_pull_secrets})
    for (const auto& item : c->variant.list(list)) {
      const json j = emit(*c, item.json);
      EXPECT_TRUE(j.is_object()) << j.dump();
      ++n;
    }
  EXPECT_EQ(n, 1u + 1u + 4u + 0u);  // istio-init; istio-proxy; custom-bootstrap-volume, istio-envoy, istio-certs, v
  // No restartPolicy in istio-init, with a warning.
  EXPECT_FALSE(emit(*c, c->variant.init_containers()[0].json).contains("restartPolicy"));
  bool warned = false;
  for (const auto& w : c->variant.warnings) warned = warned || w.find("restartPolicy") != std::string::npos;
  EXPECT_TRUE(warned);
}

// --------------------------------------------------------- scalar holes

TEST(sidecar_holes, pod_values_in_typed_fields) {
  json pod = default_pod();
  pod["metadata"]["annotations"] = {{"n", "42"}, {"b", "yes"}, {"q", "250m"}, {"s", "0x1F"}};
  auto c = compile("containers:\n- name: x\n  args:\n  - {{ index .ObjectMeta.Annotations \"s\" }}\n"
                   "  securityContext:\n    runAsUser: {{ index .ObjectMeta.Annotations \"n\" }}\n"
                   "    privileged: {{ index .ObjectMeta.Annotations \"b\" }}\n"
                   "  resources:\n    limits:\n      cpu: {{ index .ObjectMeta.Annotations \"q\" }}\n"
                   "  readinessProbe:\n    httpGet:\n      port: {{ index .ObjectMeta.Annotations \"n\" }}\n",
                   pod);
  ASSERT_TRUE(c->ok) << c->error;
  const json x = emit(*c, c->variant.containers()[0].json);
  // Pod text in a string field stays the exact text (never re-typed as YAML).
  EXPECT_EQ(x["args"][0], "0x1F");
  EXPECT_EQ(x["securityContext"]["runAsUser"], 42);
  EXPECT_EQ(x["securityContext"]["privileged"], true);
  EXPECT_EQ(x["resources"]["limits"]["cpu"], "250m");
  EXPECT_EQ(x["readinessProbe"]["httpGet"]["port"], 42);
}

TEST(sidecar_holes, a_quoted_hole_in_an_integer_field_is_a_load_error) {
  const std::string e =
      load_error_of("containers:\n- name: x\n  securityContext:\n    runAsUser: \"{{ .ObjectMeta.Name }}\"\n");
  EXPECT_NE(e.find("quotes a pod-dependent value"), std::string::npos) << e;
  const std::string m =
      load_error_of("containers:\n- name: x\n  securityContext:\n    runAsUser: 1{{ .ObjectMeta.Name }}\n");
  EXPECT_NE(m.find("mixed with text"), std::string::npos) << m;
}

TEST(sidecar_holes, a_pod_value_cannot_name_a_field) {
  const std::string e = load_error_of("containers:\n- name: x\n  {{ .ObjectMeta.Name }}: 1\n");
  EXPECT_NE(e.find("cannot be a field name"), std::string::npos) << e;
}

TEST(sidecar_holes, pod_values_may_be_map_keys) {
  auto c = compile("containers:\n- name: x\n  resources:\n    limits:\n      \"{{ .ObjectMeta.Name }}\": 1\n",
                   json::parse(R"({"metadata":{"name":"ex\"ample.com/gpu"},"spec":{}})"));
  ASSERT_TRUE(c->ok) << c->error;
  EXPECT_EQ(emit(*c, c->variant.containers()[0].json)["resources"]["limits"], json::parse(R"({"ex\"ample.com/gpu":"1"})"));
}

}  // namespace
