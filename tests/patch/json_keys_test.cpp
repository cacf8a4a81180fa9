// JSON ambiguity (issue 16): a repeated key is read as the apiserver's decoder
// reads it, the last member wins, in every object the engine reads, on the 1.1
// and the 1.28 path; keys with NUL, lone surrogates and integers out of range are
// 400s with a message. nlohmann-json, which also keeps the last member of a
// repeated key, is the oracle for the rewrite.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "patch/admission.hpp"
#include "patch/injector.hpp"
#include "patch/json_keys.hpp"
#include "tests/support/engine_fixture.hpp"

namespace {

namespace mt = meshinject::test;
namespace patch = meshinject::patch;
using mt::json;

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& text) {
  simdjson::dom::element e;
  EXPECT_EQ(parser.parse(text).get(e), simdjson::SUCCESS) << text;
  return e;
}

// ------------------------------------------------------------- the scan

TEST(json_key_scan, finds_a_repeated_key_at_any_depth_and_size) {
  simdjson::dom::parser parser;
  patch::key_scan scan;
  std::string wide = "{";
  for (int i = 0; i < 40; ++i) wide += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  const std::string wide_unique = wide + "\"last\":0}";
  const std::string wide_repeat = wide + "\"k7\":0}";
  struct row {
    std::string text;
    bool duplicate;
  };
  const row rows[] = {
      {R"({"a":1,"b":{"a":2},"c":[{"a":1,"b":2}]})", false},
      {R"({"a":1,"a":2})", true},
      {R"({"x":{"y":[1,{"z":1,"w":2,"z":3}]}})", true},
      {R"([{"a":1},{"a":2}])", false},  // the same key in two objects is no repeat
      {R"({"a":{"k":1},"b":{"k":1,"k":1}})", true},
      {wide_unique, false},
      {wide_repeat, true},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.text.substr(0, 80));
    const patch::key_scan_result got = scan.scan(parse(parser, r.text));
    EXPECT_EQ(got.duplicate, r.duplicate);
    EXPECT_FALSE(got.nul_in_key);
  }
}

TEST(json_key_scan, a_nul_in_any_key_is_reported) {
  simdjson::dom::parser parser;
  patch::key_scan scan;
  EXPECT_TRUE(scan.scan(parse(parser, R"({"a":{"b\u0000c":1}})")).nul_in_key);
  EXPECT_TRUE(scan.scan(parse(parser, R"([1,{"\u0000":1}])")).nul_in_key);
  EXPECT_FALSE(scan.scan(parse(parser, R"({"a":"value\u0000is not a key"})")).nul_in_key);
}

// ------------------------------------------------------------- the rewrite

TEST(json_last_wins, matches_nlohmann_which_keeps_the_last_member) {
  simdjson::dom::parser parser;
  const std::string cases[] = {
      R"({"a":1,"a":2})",
      R"({"a":{"x":1},"b":true,"a":{"y":[1,2,{"q":"r","q":"s"}]}})",
      R"({"s":"é\n\"\\\u2028","n":null,"d":-1.5e300,"i":-9223372036854775808,"u":18446744073709551615})",
      R"({"a":1,"b":2,"a":3,"c":4,"b":5})",
      R"({"port":8080.0,"port":8081.0})",
      R"([[],{},[{}],""])",
  };
  for (const std::string& text : cases) {
    SCOPED_TRACE(text);
    std::string out;
    patch::write_last_wins(parse(parser, text), out);
    const json got = json::parse(out);
    EXPECT_EQ(got, json::parse(text));
    // Nothing repeats once rewritten.
    patch::key_scan scan;
    EXPECT_FALSE(scan.scan(parse(parser, out)).duplicate) << out;
  }
}

TEST(json_last_wins, a_double_stays_a_double) {
  simdjson::dom::parser parser;
  std::string out;
  patch::write_last_wins(parse(parser, R"({"p":80.0,"p":8080.0})"), out);
  EXPECT_EQ(out, R"({"p":8080.0})");
}

// ---------------------------------------------- every object parse_review reads

std::string base_review() {
  json pod = json::parse(R"({"metadata":{"name":"web","namespace":"pns","generateName":"g-",
      "labels":{"app":"web"},"annotations":{"note":"n"},
      "ownerReferences":[{"kind":"ReplicaSet","name":"rs","apiVersion":"apps/v1","controller":true}]},
    "spec":{"hostNetwork":false,"serviceAccountName":"sa",
      "containers":[{"name":"app","image":"app:1","ports":[{"containerPort":8080,"name":"http"}]}],
      "initContainers":[{"name":"init","image":"i"}],
      "volumes":[{"name":"v"}]}})");
  return mt::make_review(pod, "admission.k8s.io/v1", "uid-1", "ns1");
}

// What a parse read, as text: two parses agree when these agree.
std::string summary(const patch::review& r, const patch::pod& p) {
  std::string s = "uid=" + std::string(r.uid) + " kind=" + std::string(r.kind) + " op=" + std::string(r.operation) +
                  " ns=" + std::string(r.namespace_name) + " pod=" + std::string(p.name) + "/" +
                  std::string(p.namespace_name) + "/" + std::string(p.generate_name) + " sa=" +
                  std::string(p.service_account_name) + " host=" + (p.host_network ? "1" : "0");
  for (const auto& l : p.labels) s += " label:" + std::string(l.key) + "=" + std::string(l.value);
  for (const auto& l : p.annotations) s += " annotation:" + std::string(l.key) + "=" + std::string(l.value);
  for (const auto& o : p.owners) s += " owner:" + std::string(o.kind) + "/" + std::string(o.name) + (o.controller ? "*" : "");
  for (const auto& c : p.containers) s += " container:" + std::string(c.name) + "=" + std::string(c.image);
  for (const auto& c : p.init_containers) s += " init:" + std::string(c.name);
  for (const auto& port : p.ports) s += " port:" + std::to_string(port.container_port) + "/" + std::string(port.name);
  for (const auto& v : p.volume_names) s += " volume:" + std::string(v);
  return s;
}

std::string parse_summary(const std::string& text) {
  simdjson::dom::parser parser;
  patch::review_scratch scratch;
  patch::review r;
  patch::pod p;
  std::string error;
  std::string buf = text;
  buf.resize(text.size() + simdjson::SIMDJSON_PADDING);
  if (!patch::parse_review(parser, scratch, buf.data(), text.size(), buf.size(), r, p, error)) return "error: " + error;
  return summary(r, p);
}

std::string replaced(std::string text, const std::string& needle, const std::string& with) {
  const std::size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  if (at != std::string::npos) text.replace(at, needle.size(), with);
  return text;
}

TEST(json_duplicate_keys, every_object_the_review_is_read_from_keeps_the_last_member) {
  struct row {
    const char* what;
    std::string needle, with;  // a member of the base review, and that member with an earlier one before it
    const char* expected;      // in the summary of the last-wins read
  };
  const row rows[] = {
      {"request.uid", R"("uid":"uid-1")", R"("uid":"first","uid":"uid-1")", "uid=uid-1 "},
      {"request.uid, last differs", R"("uid":"uid-1")", R"("uid":"uid-1","uid":"second")", "uid=second "},
      {"request.kind object", R"("kind":{"group":"")", R"("kind":{"kind":"Secret"},"kind":{"group":"")",
       "kind=Pod op"},
      {"request.kind.kind", R"("kind":"Pod")", R"("kind":"Pod","kind":"Service")", "kind=Service"},
      {"request.operation", R"("operation":"CREATE")", R"("operation":"CREATE","operation":"DELETE")", "op=DELETE"},
      {"request.namespace", R"("namespace":"ns1")", R"("namespace":"ns1","namespace":"ns2")", "ns=ns2"},
      {"metadata.name", R"("name":"web")", R"("name":"web","name":"web2")", "pod=web2/"},
      {"metadata.namespace", R"("namespace":"pns")", R"("namespace":"pns","namespace":"pns2")", "/pns2/"},
      {"metadata.generateName", R"("generateName":"g-")", R"("generateName":"g-","generateName":"h-")", "/h- "},
      {"metadata.labels member", R"("app":"web")", R"("app":"web","app":"api")", "label:app=api"},
      {"metadata.labels object", R"("labels":{)", R"("labels":{"gone":"1"},"labels":{)", "label:app=web annotation"},
      {"metadata.annotations member", R"("note":"n")", R"("note":"n","note":"m")", "annotation:note=m"},
      {"metadata.annotations object", R"("annotations":{)", R"("annotations":{"gone":"1"},"annotations":{)",
       "annotation:note=n owner"},
      {"metadata object", R"("metadata":{"annotations")", R"("metadata":{"name":"gone"},"metadata":{"annotations")",
       "pod=web/"},
      {"metadata.ownerReferences", R"("ownerReferences":[)", R"("ownerReferences":[],"ownerReferences":[)",
       "owner:ReplicaSet/rs*"},
      {"ownerReferences[].controller", R"("controller":true)", R"("controller":true,"controller":false)",
       "owner:ReplicaSet/rs "},
      {"spec object", R"("spec":{"containers")", R"("spec":{"hostNetwork":true},"spec":{"containers")",
       "host=0"},
      {"spec.hostNetwork", R"("hostNetwork":false)", R"("hostNetwork":false,"hostNetwork":true)", "host=1"},
      {"spec.serviceAccountName", R"("serviceAccountName":"sa")", R"("serviceAccountName":"sa","serviceAccountName":"sb")",
       "sa=sb"},
      {"spec.containers", R"("containers":[)", R"("containers":[{"name":"gone"}],"containers":[)",
       "container:app=app:1 init"},
      {"containers[].name", R"("name":"app")", R"("name":"app","name":"main")", "container:main="},
      {"containers[].image", R"("image":"app:1")", R"("image":"app:1","image":"app:2")", "=app:2"},
      {"ports[].containerPort", R"("containerPort":8080)", R"("containerPort":8080,"containerPort":9090)",
       "port:9090/http"},
      {"spec.initContainers", R"("initContainers":[)", R"("initContainers":[{"name":"gone"}],"initContainers":[)",
       "init:init "},
      {"spec.volumes", R"("volumes":[{"name":"v"}])", R"("volumes":[{"name":"v"}],"volumes":[{"name":"w"}])",
       "volume:w"},
      {"request.object", R"("object":{)", R"("object":{"metadata":{"name":"gone"}},"object":{)", "pod=web/"},
  };
  const std::string base = base_review();
  for (const row& r : rows) {
    SCOPED_TRACE(r.what);
    const std::string text = replaced(base, r.needle, r.with);
    const std::string got = parse_summary(text);
    EXPECT_NE(got.find(r.expected), std::string::npos) << got;
    // The oracle: nlohmann-json keeps the last member too; both reads must agree.
    EXPECT_EQ(got, parse_summary(json::parse(text).dump()));
  }
}

TEST(json_duplicate_keys, the_scan_allocates_nothing_once_warm_and_stays_off_without_repeats) {
  // A review without repeats is never rewritten: the scratch's rewrite stays empty.
  simdjson::dom::parser parser;
  patch::review_scratch scratch;
  patch::review r;
  patch::pod p;
  std::string error;
  std::string buf = base_review();
  const std::size_t len = buf.size();
  buf.resize(len + simdjson::SIMDJSON_PADDING);
  ASSERT_TRUE(patch::parse_review(parser, scratch, buf.data(), len, buf.size(), r, p, error)) << error;
  EXPECT_TRUE(scratch.rewritten.empty());
  buf = replaced(base_review(), R"("uid":"uid-1")", R"("uid":"a","uid":"uid-1")");
  const std::size_t len2 = buf.size();
  buf.resize(len2 + simdjson::SIMDJSON_PADDING);
  ASSERT_TRUE(patch::parse_review(parser, scratch, buf.data(), len2, buf.size(), r, p, error)) << error;
  EXPECT_FALSE(scratch.rewritten.empty());
  EXPECT_EQ(r.uid, "uid-1");
}

// ------------------------------------------------------------ through the engine

const char* const small_template = "containers:\n- name: istio-proxy\n  image: \"{{ .ObjectMeta.Namespace }}\"\n";

json answer(patch::engine& e, const std::string& body) {
  const patch::injection_result r = e.handle(body.data(), body.size(), body.size());
  return json::parse(std::string(r.body));
}

TEST(json_duplicate_keys, the_engine_answers_the_last_uid_and_decides_on_the_last_annotations) {
  patch::engine e(mt::make_snapshot(mt::injection_config_text(small_template)));
  const std::string base = base_review();
  json a = answer(e, replaced(base, R"("uid":"uid-1")", R"("uid":"uid-1","uid":"uid-2")"));
  EXPECT_EQ(a["response"]["uid"], "uid-2") << a.dump();

  // Opted out by the first annotations object, not by the last: injected.
  a = answer(e, replaced(base, R"("annotations":{)",
                         R"("annotations":{"sidecar.istio.io/inject":"false"},"annotations":{)"));
  EXPECT_EQ(a["response"]["patchType"], "JSONPatch") << a.dump();
  // Opted out by the last member of a repeated key: skipped.
  a = answer(e, replaced(base, R"("note":"n")", R"("sidecar.istio.io/inject":"true","sidecar.istio.io/inject":"false")"));
  EXPECT_EQ(a["response"]["allowed"], true) << a.dump();
  EXPECT_FALSE(a["response"].contains("patch")) << a.dump();

  // The patch is computed from the last members: the template reads the pod's namespace.
  a = answer(e, replaced(base, R"("namespace":"pns")", R"("namespace":"pns","namespace":"last-ns")"));
  const json pod = json::parse(replaced(base, R"("namespace":"pns")", R"("namespace":"pns","namespace":"last-ns")"))["request"]["object"];
  const json patched = mt::apply_patch(pod, mt::response_patch(a));
  EXPECT_EQ(patched["spec"]["containers"].back()["image"], "last-ns");
}

TEST(json_duplicate_keys, the_1_28_path_renders_from_the_last_member) {
  const char* const config = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    metadata:
      labels:
        copied: "{{ index .ObjectMeta.Annotations `copy-me` }}"
    spec:
      containers:
      - name: istio-proxy
        image: proxy
)";
  patch::engine e(mt::make_snapshot(config, "", "", R"({"global": {"hub": "h", "tag": "t", "proxy": {"image": "p"}}})"));
  const std::string text =
      replaced(base_review(), R"("note":"n")", R"("copy-me":"first","copy-me":"last")");
  const json a = answer(e, text);
  ASSERT_EQ(a["response"]["allowed"], true) << a.dump();
  // nlohmann applies the patch to the pod as it reads it, with the last member.
  const json patched = mt::apply_patch(json::parse(text)["request"]["object"], mt::response_patch(a));
  EXPECT_EQ(patched["metadata"]["labels"]["copied"], "last") << patched.dump();
  EXPECT_EQ(patched["metadata"]["annotations"]["copy-me"], "last");
}

// ------------------------------------------------------------ refused input

TEST(json_hostile, nul_lone_surrogates_and_out_of_range_integers_are_400s_with_a_message) {
  patch::engine e(mt::make_snapshot(mt::injection_config_text(small_template)));
  const std::string base = base_review();
  struct row {
    const char* what;
    std::string body;
    const char* needle;
  };
  const row rows[] = {
      {"NUL in a label key", replaced(base, R"("app":"web")", R"("a\u0000pp":"web")"), "NUL character"},
      {"NUL in a key nobody reads", replaced(base, R"("app":"web")", R"("app":"web","x":{"\u0000":1})"),
       "NUL character"},
      {"NUL in the pod's name", replaced(base, R"("name":"web")", R"("name":"we\u0000b")"),
       "metadata.name: contains a NUL character"},
      {"NUL in a container name", replaced(base, R"("name":"app")", R"("name":"a\u0000")"),
       "spec.containers[].name: contains a NUL character"},
      {"lone high surrogate", replaced(base, R"("note":"n")", R"("note":"\ud800")"), "surrogate"},
      {"lone low surrogate", replaced(base, R"("note":"n")", R"("note":"\udc00x")"), "surrogate"},
      {"high surrogate then a letter", replaced(base, R"("note":"n")", R"("note":"\ud800\u0041")"), "surrogate"},
      {"containerPort past int32", replaced(base, R"("containerPort":8080)", R"("containerPort":4294967296)"),
       "containerPort: 4294967296 is out of range for a 32-bit integer"},
      {"containerPort negative past int32",
       replaced(base, R"("containerPort":8080)", R"("containerPort":-2147483649)"), "out of range"},
      {"containerPort past uint64", replaced(base, R"("containerPort":8080)", R"("containerPort":99999999999999999999)"),
       "number"},
      {"containerPort past double", replaced(base, R"("containerPort":8080)", R"("containerPort":1e400)"), "number"},
      {"probe port past int32",
       replaced(base, R"("image":"app:1")", R"("image":"app:1","readinessProbe":{"httpGet":{"port":2147483648}})"),
       "httpGet.port: 2147483648 is out of range"},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.what);
    const patch::injection_result res = e.handle(r.body.data(), r.body.size(), r.body.size());
    EXPECT_EQ(res.http_status, 400);
    EXPECT_NE(std::string(res.message).find(r.needle), std::string::npos) << res.message;
    // The next good review is answered as if nothing happened.
    const patch::injection_result good = e.handle(base.data(), base.size(), base.size());
    EXPECT_EQ(good.http_status, 200);
    EXPECT_EQ(json::parse(std::string(good.body))["response"]["uid"], "uid-1");
  }
  // The edges of int32 are accepted.
  for (const char* port : {"2147483647", "0"}) {
    const std::string body = replaced(base, R"("containerPort":8080)", std::string(R"("containerPort":)") + port);
    EXPECT_EQ(e.handle(body.data(), body.size(), body.size()).http_status, 200) << port;
  }
}

}  // namespace
