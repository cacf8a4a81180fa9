// AdmissionReview parsing (SPEC sections 5 and 6): versions, passthrough,
// malformed reviews as HTTP 400 with a message naming the JSON path, hostile
// JSON (truncated, invalid UTF-8, deep nesting), bodies without padding, the
// namespace fallback, and zero heap allocations per request once warm.

#include <gtest/gtest.h>

#include "patch/admission.hpp"
#include "patch/injector.hpp"
#include "tests/support/counting_heap.hpp"
#include "tests/support/engine_fixture.hpp"

namespace {

namespace mt = meshinject::test;
namespace heap = meshinject::test::counting_heap;
namespace patch = meshinject::patch;
using mt::json;

const char* const small_template = "containers:\n- name: istio-proxy\n  image: \"{{ .ObjectMeta.Namespace }}\"\n";

std::shared_ptr<const patch::snapshot> small_snapshot() {
  static const auto s = mt::make_snapshot(mt::injection_config_text(small_template));
  return s;
}

json a_pod() {
  return json::parse(R"({"metadata":{"name":"p","labels":{"app":"a"}},
                         "spec":{"containers":[{"name":"app","image":"app:1","ports":[{"containerPort":8080}]}]}})");
}

struct handled {
  patch::injection_result r;
  json body;
};

// Runs raw bytes through a fresh engine (padded unless told otherwise).
handled handle(const std::string& body, bool padded = true) {
  static patch::engine e(small_snapshot());
  std::string buf = body;
  const std::size_t len = buf.size();
  if (padded) buf.resize(len + simdjson::SIMDJSON_PADDING);
  handled h;
  h.r = e.handle(buf.data(), len, buf.size());
  h.body = json::parse(std::string(h.r.body), nullptr, false);
  EXPECT_FALSE(h.body.is_discarded()) << "the response body is not JSON: " << h.r.body;
  return h;
}

// A malformed review: HTTP 400 with {"error": "..."} that contains `needle`.
void expect_bad_request(const std::string& body, const std::string& needle) {
  SCOPED_TRACE(body.substr(0, 300));
  const handled h = handle(body);
  EXPECT_EQ(h.r.http_status, 400);
  EXPECT_EQ(h.r.kind, patch::outcome::bad_request);
  ASSERT_TRUE(h.body.is_object());
  ASSERT_TRUE(h.body.contains("error")) << h.body.dump();
  const std::string error = h.body["error"];
  EXPECT_NE(error.find(needle), std::string::npos) << error;
  EXPECT_EQ(std::string(h.r.message), error);
}

json review_json(const json& pod = a_pod(), const std::string& version = "admission.k8s.io/v1") {
  return json::parse(mt::make_review(pod, version, "uid-1", "ns1"));
}

// -------------------------------------------------------------- versions

TEST(admission_versions, v1_and_v1beta1_are_answered_in_kind) {
  for (const char* version : {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}) {
    SCOPED_TRACE(version);
    const handled h = handle(review_json(a_pod(), version).dump());
    EXPECT_EQ(h.r.http_status, 200);
    EXPECT_EQ(h.body["apiVersion"], version);
    EXPECT_EQ(h.body["kind"], "AdmissionReview");
    EXPECT_EQ(h.body["response"]["uid"], "uid-1");
    EXPECT_EQ(h.body["response"]["allowed"], true);
    EXPECT_EQ(h.body["response"]["patchType"], "JSONPatch");
    const json patched = mt::apply_patch(a_pod(), mt::response_patch(h.body));
    EXPECT_EQ(patched["spec"]["containers"][1]["image"], "ns1");
  }
}

TEST(admission_versions, uid_is_echoed_and_escaped) {
  for (const char* uid : {"plain", "q\"uote", "back\\slash", "new\nline", "\xc3\xa9\xe2\x80\xa8", "</script>"}) {
    SCOPED_TRACE(uid);
    json review = review_json();
    review["request"]["uid"] = uid;
    const handled h = handle(review.dump());
    EXPECT_EQ(h.body["response"]["uid"], uid);
    // Also on answers without a patch.
    review["request"]["operation"] = "DELETE";
    EXPECT_EQ(handle(review.dump()).body["response"]["uid"], uid);
  }
}

TEST(admission_versions, unknown_api_versions_and_kinds_are_bad_requests) {
  json review = review_json();
  review["apiVersion"] = "admission.k8s.io/v2";
  expect_bad_request(review.dump(), "unsupported apiVersion \"admission.k8s.io/v2\"");
  review.erase("apiVersion");
  expect_bad_request(review.dump(), "apiVersion is missing");
  review = review_json();
  review["apiVersion"] = 1;
  expect_bad_request(review.dump(), "AdmissionReview.apiVersion: expected a string");
  review = review_json();
  review["kind"] = "AdmissionResponse";
  expect_bad_request(review.dump(), "kind is \"AdmissionResponse\"");
}

// ----------------------------------------------------------- passthrough

TEST(admission_passthrough, non_pods_and_non_create_are_allowed_without_patch) {
  struct row {
    const char* what;
    json review;
    const char* reason;
  };
  json deployment = review_json();
  deployment["request"]["kind"]["kind"] = "Deployment";
  deployment["request"]["kind"]["group"] = "apps";
  json other_group = review_json();
  other_group["request"]["kind"]["group"] = "example.com";
  json update = review_json();
  update["request"]["operation"] = "UPDATE";
  json del = review_json();
  del["request"]["operation"] = "DELETE";
  del["request"].erase("object");
  json ephemeral = review_json();
  ephemeral["request"]["subResource"] = "ephemeralcontainers";
  json binding = review_json();
  binding["request"]["subResource"] = "binding";
  binding["request"]["object"] = json::parse(R"({"target":{"name":"node"}})");
  json no_kind = review_json();
  no_kind["request"].erase("kind");
  const row rows[] = {
      {"deployment", deployment, "not-a-pod"}, {"other group", other_group, "not-a-pod"},
      {"update", update, "not-create"},        {"delete", del, "not-create"},
      {"ephemeral", ephemeral, "not-a-pod"},   {"binding", binding, "not-a-pod"},
      {"no kind", no_kind, "not-a-pod"},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.what);
    const handled h = handle(r.review.dump());
    EXPECT_EQ(h.r.http_status, 200);
    EXPECT_EQ(h.r.kind, patch::outcome::passthrough);
    EXPECT_EQ(h.body["response"]["allowed"], true);
    EXPECT_FALSE(h.body["response"].contains("patch"));
    EXPECT_FALSE(h.body["response"].contains("patchType"));
    EXPECT_EQ(h.body["response"]["auditAnnotations"]["reason"], r.reason);
  }
}

// ------------------------------------------------------ malformed reviews

TEST(admission_errors, empty_and_non_json_bodies) {
  const handled h = handle("", true);
  EXPECT_EQ(h.r.http_status, 400);
  EXPECT_EQ(h.body["error"], "the request body is empty");
  expect_bad_request("   ", "not valid JSON");
  expect_bad_request("nope", "not valid JSON");
  expect_bad_request("[]", "a JSON object");
  expect_bad_request("\"review\"", "a JSON object");
  expect_bad_request("42", "a JSON object");
  expect_bad_request("null", "a JSON object");
}

TEST(admission_errors, truncated_json) {
  const std::string full = review_json().dump();
  for (std::size_t cut : {std::size_t{1}, std::size_t{10}, full.size() / 2, full.size() - 1}) {
    SCOPED_TRACE(cut);
    expect_bad_request(full.substr(0, cut), "not valid JSON");
  }
}

TEST(admission_errors, invalid_utf8_inside_strings) {
  for (const std::string& bad : {std::string("\xff"), std::string("\xc3"), std::string("\xed\xa0\x80"),
                                std::string("\xc0\xaf"), std::string("a\xf8z")}) {
    std::string body = review_json().dump();
    const std::size_t at = body.find("\"p\"");  // the pod name
    body.replace(at + 1, 1, bad);
    expect_bad_request(body, "not valid JSON");
  }
}

TEST(admission_errors, deep_nesting_does_not_crash) {
  expect_bad_request(std::string(100000, '['), "not valid JSON");
  std::string open(100000, '['), close(100000, ']');
  expect_bad_request(open + close, "");
  // Deep nesting inside an otherwise fine review.
  std::string body = review_json().dump();
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  body.replace(body.find("\"p\""), 3, deep);
  expect_bad_request(body, "not valid JSON");
  body = std::string(50000, '{');
  expect_bad_request(body, "not valid JSON");
}

TEST(admission_errors, request_problems) {
  json review = review_json();
  review.erase("request");
  expect_bad_request(review.dump(), "request is missing");
  review["request"] = nullptr;
  expect_bad_request(review.dump(), "request is missing");
  review["request"] = json::array({1});
  expect_bad_request(review.dump(), "request: expected an object");
  review["request"] = "x";
  expect_bad_request(review.dump(), "request: expected an object");

  review = review_json();
  review["request"].erase("uid");
  expect_bad_request(review.dump(), "request.uid is missing");
  review["request"]["uid"] = "";
  expect_bad_request(review.dump(), "request.uid is missing");
  review["request"]["uid"] = 7;
  expect_bad_request(review.dump(), "request.uid: expected a string");

  review = review_json();
  review["request"]["kind"] = "Pod";
  expect_bad_request(review.dump(), "request.kind: expected an object");
  review = review_json();
  review["request"]["operation"] = 1;
  expect_bad_request(review.dump(), "request.operation: expected a string");
}

TEST(admission_errors, object_missing_for_a_pod_create) {
  json review = review_json();
  review["request"].erase("object");
  expect_bad_request(review.dump(), "request.object is missing");
  review["request"]["object"] = nullptr;
  expect_bad_request(review.dump(), "request.object is missing");
  review["request"]["object"] = json::array();
  expect_bad_request(review.dump(), "request.object: expected an object");
}

TEST(admission_errors, pod_fields_of_the_wrong_type_name_their_path) {
  struct row {
    const char* pointer;
    json value;
    const char* needle;
  };
  const row rows[] = {
      {"/metadata", json::array(), "request.object.metadata: expected an object"},
      {"/metadata/name", 5, "metadata.name: expected a string"},
      {"/metadata/namespace", json::object(), "metadata.namespace: expected a string"},
      {"/metadata/labels", json::array(), "metadata.labels: expected an object"},
      {"/metadata/labels/app", 1, "metadata.labels.app: expected a string"},
      {"/metadata/labels/app", true, "metadata.labels.app: expected a string"},
      {"/metadata/labels/app", json::object(), "metadata.labels.app: expected a string"},
      {"/metadata/annotations", "x", "metadata.annotations: expected an object"},
      {"/metadata/annotations", json({{"a", 1.5}}), "metadata.annotations.a: expected a string"},
      {"/metadata/ownerReferences", json::object(), "metadata.ownerReferences: expected a list"},
      {"/spec", "x", "request.object.spec: expected an object"},
      {"/spec/containers", json::object(), "spec.containers: expected a list"},
      {"/spec/containers", "c", "spec.containers: expected a list"},
      {"/spec/containers/0", "c", "spec.containers[]: expected an object"},
      {"/spec/containers/0/name", 1, "spec.containers[].name: expected a string"},
      {"/spec/containers/0/ports", json::object(), "spec.containers[].ports: expected a list"},
      {"/spec/containers/0/ports/0", 8080, "spec.containers[].ports[]: expected an object"},
      {"/spec/containers/0/ports/0/containerPort", "8080", "spec.containers[].ports[].containerPort: expected an integer"},
      {"/spec/containers/0/ports/0/containerPort", 80.5, "spec.containers[].ports[].containerPort: expected an integer"},
      {"/spec/initContainers", 1, "spec.initContainers: expected a list"},
      {"/spec/hostNetwork", "true", "spec.hostNetwork: expected true or false"},
      {"/spec/serviceAccountName", json::array(), "spec.serviceAccountName: expected a string"},
      {"/spec/volumes", json::object(), "spec.volumes: expected a list"},
      {"/spec/volumes", json::array({1}), "spec.volumes[]: expected an object"},
      {"/spec/imagePullSecrets", json::array({json::array()}), "spec.imagePullSecrets[]: expected an object"},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(std::string(r.pointer) + " = " + r.value.dump());
    json review = review_json();
    review["request"]["object"][json::json_pointer(r.pointer)] = r.value;
    expect_bad_request(review.dump(), r.needle);
  }
}

TEST(admission_errors, nulls_are_absent_values) {
  json pod = a_pod();
  pod["metadata"]["labels"]["nothing"] = nullptr;
  pod["metadata"]["annotations"] = nullptr;
  pod["metadata"]["namespace"] = nullptr;
  pod["spec"]["initContainers"] = nullptr;
  pod["spec"]["containers"][0]["ports"][0]["name"] = nullptr;
  const handled h = handle(review_json(pod).dump());
  EXPECT_EQ(h.r.http_status, 200);
  EXPECT_EQ(h.body["response"]["allowed"], true) << h.body.dump();
}

// ------------------------------------------------------------- buffers

TEST(admission_buffers, a_body_without_padding_is_copied) {
  const std::string body = review_json().dump();
  const handled padded = handle(body, true);
  const handled unpadded = handle(body, false);
  EXPECT_EQ(unpadded.r.http_status, 200);
  EXPECT_EQ(unpadded.r.kind, patch::outcome::injected);
  EXPECT_EQ(padded.body, unpadded.body);
  // A body exactly as long as its buffer, followed by bytes that are not JSON:
  // the engine must not read past `len`.
  std::string buf = body + "garbage{{{";
  patch::engine e(small_snapshot());
  const patch::injection_result r = e.handle(buf.data(), body.size(), body.size());
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.kind, patch::outcome::injected);
}

TEST(admission_buffers, parse_review_directly) {
  simdjson::dom::parser parser;
  patch::review rv;
  patch::pod p;
  std::string error;
  std::string body = review_json().dump();
  const std::size_t len = body.size();
  body.resize(len + simdjson::SIMDJSON_PADDING);
  ASSERT_TRUE(patch::parse_review(parser, body.data(), len, body.size(), rv, p, error)) << error;
  EXPECT_EQ(rv.version, patch::review_version::v1);
  EXPECT_EQ(rv.uid, "uid-1");
  EXPECT_EQ(rv.kind, "Pod");
  EXPECT_EQ(rv.operation, "CREATE");
  EXPECT_EQ(rv.namespace_name, "ns1");
  EXPECT_TRUE(rv.is_pod_create);
  EXPECT_EQ(p.name, "p");
  EXPECT_EQ(p.namespace_name, "ns1");  // the request's, as the pod names none
  ASSERT_EQ(p.containers.size(), 1u);
  EXPECT_EQ(p.containers[0].name, "app");
  ASSERT_EQ(p.ports.size(), 1u);
  EXPECT_EQ(p.ports[0].container_port, 8080);
  ASSERT_EQ(p.labels.size(), 1u);
  EXPECT_TRUE(p.has_labels);
  EXPECT_FALSE(p.has_annotations);

  // The parser and pod are reused: a second review leaves nothing of the first.
  json other = a_pod();
  other["metadata"]["namespace"] = "own";
  other["metadata"].erase("labels");
  other["spec"]["containers"].push_back({{"name", "b"}, {"ports", json::array({{{"containerPort", 1}}, {{"containerPort", 2}}})}});
  body = review_json(other).dump();
  const std::size_t len2 = body.size();
  body.resize(len2 + simdjson::SIMDJSON_PADDING);
  ASSERT_TRUE(patch::parse_review(parser, body.data(), len2, body.size(), rv, p, error)) << error;
  EXPECT_EQ(p.namespace_name, "own");
  EXPECT_FALSE(p.has_labels);
  EXPECT_TRUE(p.labels.empty());
  ASSERT_EQ(p.containers.size(), 2u);
  EXPECT_EQ(p.ports.size(), 3u);
  EXPECT_EQ(p.containers[1].ports_end - p.containers[1].ports_begin, 2u);
}

// parse_pod reads each object's members in one walk: every field it reads must
// come out as before, whatever the members' order, with the ones it skips
// interleaved, and the first of a repeated name wins as at_key's did (a pod
// that did not come through the review's key scan, as `explain` and tests read).
TEST(admission_pod_fields, one_walk_per_object_reads_each_member_in_any_order) {
  simdjson::dom::parser parser;
  const std::string text = R"({
    "spec": {"volumes": [{"x": 1, "name": "v1"}], "containers": [{"name": "first", "name": "second",
        "livenessProbe": {"httpGet": {"port": 81}}, "volumeMounts": [{"mountPath": "/m", "x": [], "name": "vm"}],
        "ports": [{"protocol": "UDP", "name": "dns", "containerPort": 53}], "image": "img", "zz": {},
        "readinessProbe": {"httpGet": {"port": "http"}}, "name": "last"}],
      "serviceAccount": "old", "securityContext": {}, "hostNetwork": true, "serviceAccountName": "sa",
      "imagePullSecrets": [{"name": "pull"}], "initContainers": [{"name": "init"}]},
    "metadata": {"ownerReferences": [{"controller": true, "apiVersion": "apps/v1", "name": "rs", "kind": "ReplicaSet"}],
      "annotations": {"a": "1"}, "labels": {"l": "2"}, "namespace": "ns", "generateName": "g-", "name": "p"}})";
  simdjson::dom::element el;
  ASSERT_FALSE(parser.parse(text).get(el));
  patch::pod p;
  std::string error;
  ASSERT_TRUE(patch::parse_pod(el, "fallback", p, error)) << error;
  EXPECT_EQ(p.name, "p");
  EXPECT_EQ(p.generate_name, "g-");
  EXPECT_EQ(p.namespace_name, "ns");
  ASSERT_EQ(p.labels.size(), 1u);
  ASSERT_EQ(p.annotations.size(), 1u);
  ASSERT_EQ(p.owners.size(), 1u);
  EXPECT_EQ(p.owners[0].kind, "ReplicaSet");
  EXPECT_EQ(p.owners[0].name, "rs");
  EXPECT_EQ(p.owners[0].api_version, "apps/v1");
  EXPECT_TRUE(p.owners[0].controller);
  EXPECT_TRUE(p.host_network);
  EXPECT_EQ(p.service_account_name, "sa");
  EXPECT_EQ(p.service_account, "old");
  EXPECT_TRUE(p.has_security_context);
  ASSERT_EQ(p.containers.size(), 1u);
  EXPECT_EQ(p.containers[0].name, "first");
  EXPECT_EQ(p.containers[0].image, "img");
  EXPECT_TRUE(p.containers[0].has_readiness_http_get);
  EXPECT_TRUE(p.containers[0].has_liveness_http_get);
  ASSERT_EQ(p.ports.size(), 1u);
  EXPECT_EQ(p.ports[0].container_port, 53);
  EXPECT_EQ(p.ports[0].name, "dns");
  EXPECT_EQ(p.ports[0].protocol, "UDP");
  ASSERT_EQ(p.mounts.size(), 1u);
  EXPECT_EQ(p.mounts[0].name, "vm");
  EXPECT_EQ(p.mounts[0].mount_path, "/m");
  ASSERT_EQ(p.init_containers.size(), 1u);
  EXPECT_EQ(p.init_containers[0].name, "init");
  ASSERT_EQ(p.volume_names.size(), 1u);
  EXPECT_EQ(p.volume_names[0], "v1");
  ASSERT_EQ(p.image_pull_secret_names.size(), 1u);
  EXPECT_EQ(p.image_pull_secret_names[0], "pull");
}

// Errors are still found in the order the fields are read, not the order the
// members come in: a container's bad image after its bad name names the name.
TEST(admission_pod_fields, the_first_field_read_names_the_error_whatever_the_member_order) {
  simdjson::dom::parser parser;
  simdjson::dom::element el;
  ASSERT_FALSE(parser.parse(std::string(R"({"spec":{"containers":[{"image":1,"name":2}]},"metadata":{"name":3}})"))
                   .get(el));
  patch::pod p;
  std::string error;
  EXPECT_FALSE(patch::parse_pod(el, "d", p, error));
  EXPECT_EQ(error, "metadata.name: expected a string");
  ASSERT_FALSE(parser.parse(std::string(R"({"spec":{"containers":[{"image":1,"name":2}]}})")).get(el));
  EXPECT_FALSE(patch::parse_pod(el, "d", p, error));
  EXPECT_EQ(error, "spec.containers[].name: expected a string");
}

// A NUL in a name is found eight bytes at a time: at every position of every
// length past two words, and not where there is none.
TEST(admission_pod_fields, a_nul_in_a_name_is_refused_at_every_position) {
  simdjson::dom::parser parser;
  for (std::size_t len = 1; len <= 24; ++len) {
    for (std::size_t at = 0; at <= len; ++at) {
      std::string name(len, 'n');
      if (at < len) name.replace(at, 1, "\\u0000");
      const std::string text = R"({"metadata":{"name":")" + name + R"("}})";
      simdjson::dom::element el;
      ASSERT_FALSE(parser.parse(text).get(el));
      patch::pod p;
      std::string error;
      EXPECT_EQ(patch::parse_pod(el, "d", p, error), at == len) << "length " << len << " at " << at;
      if (at < len) {
        EXPECT_EQ(error, "metadata.name: contains a NUL character (\\u0000)");
      }
    }
  }
}

// ------------------------------------------------------ namespace fallback

TEST(admission_namespace, falls_back_to_the_request_namespace) {
  const handled h = handle(review_json().dump());
  EXPECT_EQ(h.r.namespace_name, "ns1");
  const json patched = mt::apply_patch(a_pod(), mt::response_patch(h.body));
  EXPECT_EQ(patched["spec"]["containers"][1]["image"], "ns1");

  json pod = a_pod();
  pod["metadata"]["namespace"] = "own";
  const handled h2 = handle(review_json(pod).dump());
  EXPECT_EQ(h2.r.namespace_name, "own");
  EXPECT_EQ(mt::apply_patch(pod, mt::response_patch(h2.body))["spec"]["containers"][1]["image"], "own");

  // An ignored namespace given only by the request still skips.
  json review = review_json();
  review["request"]["namespace"] = "kube-system";
  const handled h3 = handle(review.dump());
  EXPECT_EQ(h3.r.kind, patch::outcome::skipped);
  EXPECT_FALSE(h3.body["response"].contains("patch"));
}

// ------------------------------------------------------------ robustness

TEST(admission_robustness, mutated_reviews_never_crash) {
  patch::engine e(patch::snapshot::build(patch::config_sources{}));
  json pod = a_pod();
  pod["metadata"]["annotations"] = {{"sidecar.istio.io/userVolume", R"({"v":{"secret":{"secretName":"s"}}})"},
                                    {"sidecar.istio.io/userVolumeMount", R"({"v":{"mountPath":"/v"}})"},
                                    {"status.sidecar.istio.io/port", "15020"}};
  const std::string base = review_json(pod).dump();
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  static constexpr char specials[] = "{}[]\",:\\0123456789-.eEtrufalsn \n\x00\xff\xc3";
  int answered = 0, rejected = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string body = base;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int k = 0; k < edits && !body.empty(); ++k) {
      const std::size_t at = next() % body.size();
      switch (next() % 4) {
        case 0: body[at] = specials[next() % (sizeof specials - 1)]; break;
        case 1: body.erase(at, 1 + next() % 8); break;
        case 2: body.insert(at, 1, specials[next() % (sizeof specials - 1)]); break;
        default: body.resize(at); break;
      }
    }
    std::string buf = body;
    buf.resize(body.size() + simdjson::SIMDJSON_PADDING);
    const patch::injection_result r = e.handle(buf.data(), body.size(), buf.size());
    ASSERT_TRUE(r.http_status == 200 || r.http_status == 400) << r.http_status;
    ASSERT_TRUE(json::accept(std::string(r.body))) << body << "\n-> " << r.body;
    if (r.http_status == 200) ++answered;
    else ++rejected;
    if (r.kind == patch::outcome::injected) {
      const json p = json::parse(std::string(r.patch), nullptr, false);
      ASSERT_TRUE(p.is_array()) << r.patch;
      for (const auto& op : p) ASSERT_TRUE(op.contains("op") && op.contains("path")) << op.dump();
    }
  }
  EXPECT_GT(answered, 100);
  EXPECT_GT(rejected, 100);
}

TEST(admission_robustness, random_annotation_values_are_rejected_or_injected_cleanly) {
  patch::engine e(patch::snapshot::build(patch::config_sources{}));
  const char* const keys[] = {
      "sidecar.istio.io/interceptionMode", "status.sidecar.istio.io/port",
      "readiness.status.sidecar.istio.io/initialDelaySeconds", "readiness.status.sidecar.istio.io/applicationPorts",
      "traffic.sidecar.istio.io/includeOutboundIPRanges", "traffic.sidecar.istio.io/excludeInboundPorts",
      "traffic.sidecar.istio.io/includeInboundPorts", "traffic.sidecar.istio.io/kubevirtInterfaces",
      "sidecar.istio.io/proxyImage", "sidecar.istio.io/proxyCPU", "sidecar.istio.io/proxyMemory",
      "sidecar.istio.io/userVolume", "sidecar.istio.io/userVolumeMount", "sidecar.istio.io/discoveryAddress",
      "sidecar.istio.io/controlPlaneAuthPolicy", "sidecar.istio.io/rewriteAppHTTPProbers",
      "sidecar.istio.io/status"};
  static constexpr const char* pieces[] = {"0", "1", "15020", ",", " ", "*", "10.0.0.0/8", "::1/128", "\"", "\n",
                                           "{", "}", "[", "]", ":", "{\"v\":{\"emptyDir\":{}}}", "REDIRECT",
                                           "TPROXY", "NONE", "100m", "1Gi", "true", "-", "\\", "\xc3\xa9", "}],"};
  std::uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  int injected = 0, refused = 0;
  for (int round = 0; round < 3000; ++round) {
    json pod = a_pod();
    pod["metadata"]["annotations"] = json::object();
    const int n = 1 + static_cast<int>(next() % 3);
    for (int k = 0; k < n; ++k) {
      std::string value;
      const int parts = static_cast<int>(next() % 4);
      for (int q = 0; q < parts; ++q) value += pieces[next() % (sizeof pieces / sizeof pieces[0])];
      pod["metadata"]["annotations"][keys[next() % (sizeof keys / sizeof keys[0])]] = value;
    }
    patch::injection_result r;
    const json response = mt::run_review(e, mt::make_review(pod, "admission.k8s.io/v1", "u", "ns"), &r);
    ASSERT_EQ(r.http_status, 200);
    if (r.kind == patch::outcome::injected) {
      ++injected;
      json patched;
      ASSERT_NO_THROW(patched = mt::apply_patch(pod, mt::response_patch(response))) << pod.dump();
      ASSERT_TRUE(patched["spec"]["containers"].is_array());
    } else {
      ++refused;
      ASSERT_FALSE(response["response"]["allowed"].get<bool>()) << response.dump();
      const std::string message = response["response"]["status"]["message"];
      bool named = false;
      for (const char* k : keys) named = named || (message.find(k) != std::string::npos && pod["metadata"]["annotations"].contains(k));
      EXPECT_TRUE(named) << message << "\n" << pod.dump();
    }
  }
  EXPECT_GT(injected, 100);
  EXPECT_GT(refused, 100);
}

// ------------------------------------------------------- zero allocations

std::size_t allocations_per_call(patch::engine& e, std::string& buf, std::size_t len, int calls,
                                 patch::outcome expected) {
  for (int i = 0; i < 3; ++i) {  // warm up: parser capacity, arena blocks, variant cache
    const patch::injection_result r = e.handle(buf.data(), len, buf.size());
    EXPECT_EQ(r.kind, expected) << r.message;
  }
  patch::outcome last = patch::outcome::bad_request;
  {
    heap::scope counting;
    for (int i = 0; i < calls; ++i) last = e.handle(buf.data(), len, buf.size()).kind;
  }
  EXPECT_EQ(last, expected);
  return heap::calls();
}

TEST(admission_allocations, the_counter_counts) {
  const std::int64_t live_before = heap::live_bytes();
  std::string* p = nullptr;
  {
    heap::scope counting;
    p = new std::string(100, 'x');
  }
  EXPECT_GE(heap::calls(), 1u);
  EXPECT_GE(heap::live_bytes() - live_before, static_cast<std::int64_t>(sizeof(std::string) + 100));
  delete p;
  EXPECT_EQ(heap::live_bytes(), live_before);
}

TEST(admission_allocations, zero_per_request_once_warm_with_the_istio_11_template) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  patch::config_sources s;
  s.inject_config_text = mt::read_file(root / "istio-1.1" / "injector-config.yaml");
  s.inject_config_name = "injector-config.yaml";
  s.mesh_text = mt::read_file(root / "istio-1.1" / "mesh.yaml");
  s.mesh_name = "mesh.yaml";
  patch::engine e(patch::snapshot::build(s));
  std::string buf = mt::read_file(root / "reviews" / "checkout-pod.json");
  const std::size_t len = buf.size();
  buf.resize(len + simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(allocations_per_call(e, buf, len, 20, patch::outcome::injected), 0u);

  // Without padding the engine copies into its own buffer, which is kept.
  std::string exact = buf.substr(0, len);
  for (int i = 0; i < 3; ++i) (void)e.handle(exact.data(), len, len);
  {
    heap::scope counting;
    for (int i = 0; i < 10; ++i) (void)e.handle(exact.data(), len, len);
  }
  EXPECT_EQ(heap::calls(), 0u);
}

TEST(admission_allocations, zero_per_request_once_warm_with_user_volumes_and_rewrites) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  patch::config_sources s;
  s.inject_config_text = mt::read_file(root / "istio-1.1" / "injector-config.yaml");
  s.inject_config_name = "injector-config.yaml";
  s.mesh_text = mt::read_file(root / "istio-1.1" / "mesh.yaml");
  s.mesh_name = "mesh.yaml";
  patch::engine e(patch::snapshot::build(s));
  json review = json::parse(mt::read_file(root / "reviews" / "checkout-pod.json"));
  review["request"]["object"]["metadata"]["annotations"]["sidecar.istio.io/userVolume"] =
      R"({"cfg":{"configMap":{"name":"c","defaultMode":420}},"data":{"emptyDir":{}}})";
  review["request"]["object"]["metadata"]["annotations"]["sidecar.istio.io/userVolumeMount"] =
      R"({"cfg":{"mountPath":"/cfg","readOnly":true}})";
  review["request"]["object"]["metadata"]["annotations"]["sidecar.istio.io/rewriteAppHTTPProbers"] = "true";
  review["request"]["object"]["metadata"]["annotations"]["sidecar.istio.io/status"] =
      R"({"version":"x","initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["istio-envoy"],"imagePullSecrets":null})";
  std::string buf = review.dump();
  const std::size_t len = buf.size();
  buf.resize(len + simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(allocations_per_call(e, buf, len, 20, patch::outcome::injected), 0u);
}

// The compiled-variant path (Istio 1.1's shape, the former default). The
// embedded default's 1.28 shape renders per request and allocates
// (patch/README.md), so this pins the 1.1 example explicitly.
TEST(admission_allocations, zero_per_request_once_warm_with_the_istio_11_example_config) {
  patch::engine e(mt::make_snapshot(mt::istio_1_1_example_config()));
  json pod = json::parse(R"({
    "metadata": {"generateName": "web-5d8f-", "labels": {"app": "web", "version": "v1"},
                 "annotations": {"prometheus.io/scrape": "true", "sidecar.istio.io/userVolumeMount": "{\"v\":{\"mountPath\":\"/v\"}}",
                                 "sidecar.istio.io/userVolume": "{\"v\":{\"emptyDir\":{}}}"},
                 "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d8f", "controller": true}]},
    "spec": {"serviceAccountName": "web",
             "containers": [{"name": "web", "image": "web:1", "ports": [{"containerPort": 8080, "name": "http"}],
                             "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
                             "volumeMounts": [{"name": "tok", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}],
             "volumes": [{"name": "tok", "secret": {"secretName": "t"}}]}
  })");
  std::string buf = mt::make_review(pod, "admission.k8s.io/v1", "c0ffee", "shop");
  const std::size_t len = buf.size();
  buf.resize(len + simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(allocations_per_call(e, buf, len, 20, patch::outcome::injected), 0u);

  // A pod with hundreds of labels and annotations (toJSON sorts them).
  json crowded = pod;
  for (int i = 0; i < 300; ++i) {
    crowded["metadata"]["labels"]["example.com/l-" + std::to_string(i * 7919 % 1000)] = "v" + std::to_string(i);
    crowded["metadata"]["annotations"]["example.com/a-" + std::to_string(i * 7919 % 1000)] = std::string(40, 'x');
  }
  std::string cbuf = mt::make_review(crowded, "admission.k8s.io/v1", "c0ffee", "shop");
  const std::size_t clen = cbuf.size();
  cbuf.resize(clen + simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(allocations_per_call(e, cbuf, clen, 10, patch::outcome::injected), 0u);

  // Skips, passthrough and bad requests are allocation-free too.
  json skip = pod;
  skip["metadata"]["annotations"]["sidecar.istio.io/inject"] = "false";
  std::string sbuf = mt::make_review(skip);
  const std::size_t slen = sbuf.size();
  sbuf.resize(slen + simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(allocations_per_call(e, sbuf, slen, 10, patch::outcome::skipped), 0u);
  std::string pbuf = mt::make_review(pod, "admission.k8s.io/v1", "u", "shop", "UPDATE");
  const std::size_t plen = pbuf.size();
  pbuf.resize(plen + simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(allocations_per_call(e, pbuf, plen, 10, patch::outcome::passthrough), 0u);
  json bad = json::parse(mt::make_review(pod));
  bad["request"]["object"]["spec"]["containers"] = 1;
  std::string bbuf = bad.dump();
  const std::size_t blen = bbuf.size();
  bbuf.resize(blen + simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(allocations_per_call(e, bbuf, blen, 10, patch::outcome::bad_request), 0u);
  json rejected = pod;
  rejected["metadata"]["annotations"]["sidecar.istio.io/interceptionMode"] = "BOGUS";
  std::string rbuf = mt::make_review(rejected);
  const std::size_t rlen = rbuf.size();
  rbuf.resize(rlen + simdjson::SIMDJSON_PADDING);
  EXPECT_EQ(allocations_per_call(e, rbuf, rlen, 10, patch::outcome::rejected), 0u);
}

}  // namespace
