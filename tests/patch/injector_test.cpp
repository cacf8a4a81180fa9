// The engine as a whole: decision wiring, annotations in the patch, the
// embedded default config, the variant cache, per-request additions.
// Every patch is applied with nlohmann-json (an independent RFC 6902
// implementation) before anything is asserted about it.

#include <gtest/gtest.h>

#include "tests/support/engine_fixture.hpp"

namespace {

using meshinject::test::json;
namespace mt = meshinject::test;
namespace mp = meshinject::patch;

const char* simple_template = R"(initContainers:
- name: init
  image: init:1
containers:
- name: istio-proxy
  image: proxy:1
  args: ["--statusPort", "15020"]
volumes:
- name: v
  emptyDir: {}
)";

json app_pod() {
  return json::parse(R"({"metadata":{"name":"web-1","namespace":"apps","labels":{"app":"web"}},
    "spec":{"containers":[{"name":"web","image":"web:1","ports":[{"containerPort":8080,"name":"http"}]}]}})");
}

json inject_ok(mp::engine& e, const json& pod, json* patch_out = nullptr, std::string_view ns = "") {
  const json response = mt::run_review(e, mt::make_review(pod, "admission.k8s.io/v1", "u-1", ns));
  EXPECT_TRUE(response["response"]["allowed"].get<bool>()) << response.dump();
  const json patch = mt::response_patch(response);
  if (patch_out) *patch_out = patch;
  if (patch.is_null()) return pod;
  return mt::apply_patch(pod, patch);
}

TEST(injector, injected_annotations_are_escaped_and_merged) {
  const std::string extra = "injectedAnnotations:\n  example.com/a~b: \"1\"\n  plain: yes-value\n";
  auto snap = mt::make_snapshot(mt::injection_config_text(simple_template, "enabled", extra));
  mp::engine e(snap);

  // A pod with annotations gets one op per key, with ~ and / escaped (RFC 6901).
  json pod = app_pod();
  pod["metadata"]["annotations"] = {{"keep", "me"}, {"plain", "old"}};
  json patch;
  const json out = inject_ok(e, pod, &patch);
  EXPECT_EQ(out["metadata"]["annotations"]["example.com/a~b"], "1");
  EXPECT_EQ(out["metadata"]["annotations"]["plain"], "yes-value");
  EXPECT_EQ(out["metadata"]["annotations"]["keep"], "me");
  bool escaped = false, replaced = false;
  for (const auto& op : patch) {
    escaped = escaped || op["path"] == "/metadata/annotations/example.com~1a~0b";
    replaced = replaced || (op["op"] == "replace" && op["path"] == "/metadata/annotations/plain");
  }
  EXPECT_TRUE(escaped);
  EXPECT_TRUE(replaced);

  // A pod without annotations gets the whole object in one op.
  const json out2 = inject_ok(e, app_pod(), &patch);
  EXPECT_EQ(out2["metadata"]["annotations"].size(), 3u);
  int annotation_ops = 0;
  for (const auto& op : patch) annotation_ops += op["path"].get<std::string>().rfind("/metadata", 0) == 0;
  EXPECT_EQ(annotation_ops, 1);
}

TEST(injector, v1beta1_is_answered_in_v1beta1) {
  auto snap = mt::make_snapshot(mt::injection_config_text(simple_template));
  mp::engine e(snap);
  const json response = mt::run_review(e, mt::make_review(app_pod(), "admission.k8s.io/v1beta1", "b-1"));
  EXPECT_EQ(response["apiVersion"], "admission.k8s.io/v1beta1");
  EXPECT_EQ(response["kind"], "AdmissionReview");
  EXPECT_EQ(response["response"]["uid"], "b-1");
  EXPECT_EQ(response["response"]["patchType"], "JSONPatch");
  EXPECT_NO_THROW(mt::apply_patch(app_pod(), mt::response_patch(response)));
}

TEST(injector, list_add_rules_follow_the_pod_as_it_arrived) {
  auto snap = mt::make_snapshot(mt::injection_config_text(simple_template));
  mp::engine e(snap);
  json patch;
  json pod = app_pod();
  inject_ok(e, pod, &patch);
  // No initContainers and no volumes: added as whole lists; containers appended.
  bool init_whole = false, vol_whole = false, container_append = false;
  for (const auto& op : patch) {
    init_whole = init_whole || (op["path"] == "/spec/initContainers" && op["value"].is_array());
    vol_whole = vol_whole || (op["path"] == "/spec/volumes" && op["value"].is_array());
    container_append = container_append || op["path"] == "/spec/containers/-";
  }
  EXPECT_TRUE(init_whole);
  EXPECT_TRUE(vol_whole);
  EXPECT_TRUE(container_append);
  // An empty list counts as absent.
  pod["spec"]["volumes"] = json::array();
  const json out = inject_ok(e, pod, &patch);
  EXPECT_EQ(out["spec"]["volumes"].size(), 1u);
}

TEST(injector, istio_1_1_example_config_injects_an_istio_1_1_shaped_sidecar) {
  mp::config_sources sources;
  sources.inject_config_text = mt::istio_1_1_example_config();
  sources.inject_config_name = "istio-1.1-injector-config.yaml";
  auto snap = mp::snapshot::build(sources);
  EXPECT_EQ(snap->config().source, "istio-1.1-injector-config.yaml");
  mp::engine e(snap);
  json pod = app_pod();
  pod["metadata"]["annotations"] = {{"sidecar.istio.io/userVolumeMount", R"({"extra":{"mountPath":"/extra","readonly":true}})"},
                                    {"sidecar.istio.io/userVolume", R"({"extra":{"emptyDir":{"medium":"Memory"}}})"}};
  const json out = inject_ok(e, pod, nullptr, "apps");
  std::map<std::string, json> containers, inits, volumes;
  for (const auto& c : out["spec"]["containers"]) containers[c["name"]] = c;
  for (const auto& c : out["spec"]["initContainers"]) inits[c["name"]] = c;
  for (const auto& v : out["spec"]["volumes"]) volumes[v["name"]] = v;
  ASSERT_TRUE(containers.count("istio-proxy"));
  ASSERT_TRUE(inits.count("istio-init"));
  EXPECT_TRUE(volumes.count("istio-envoy"));
  EXPECT_TRUE(volumes.count("istio-certs"));
  EXPECT_EQ(volumes["istio-certs"]["secret"]["secretName"], "istio.default");
  EXPECT_EQ(volumes["extra"]["emptyDir"]["medium"], "Memory");
  const json& proxy = containers["istio-proxy"];
  EXPECT_EQ(proxy["readinessProbe"]["httpGet"]["port"], 15020);
  bool extra_mount = false;
  for (const auto& m : proxy["volumeMounts"])
    if (m["name"] == "extra") extra_mount = m["readOnly"] == true && m["mountPath"] == "/extra";
  EXPECT_TRUE(extra_mount);
  const auto& init_args = inits["istio-init"]["args"];
  bool b8080 = false;
  for (std::size_t i = 0; i + 1 < init_args.size(); ++i) b8080 = b8080 || (init_args[i] == "-b" && init_args[i + 1] == "8080");
  EXPECT_TRUE(b8080);
  EXPECT_TRUE(snap->warnings().empty()) << snap->warnings().front();
}

TEST(injector, variants_are_cached_per_engine_and_dropped_with_the_snapshot) {
  const std::string tmpl = R"(containers:
- name: istio-proxy
  image: proxy:1
  {{- if index .ObjectMeta.Labels "debug" }}
  args: ["--log", "debug"]
  {{- end }}
)";
  auto snap = mt::make_snapshot(mt::injection_config_text(tmpl));
  mp::engine e(snap);
  mp::injection_result r;
  const std::string plain = mt::make_review(app_pod());
  json debug_pod = app_pod();
  debug_pod["metadata"]["labels"]["debug"] = "1";
  const std::string debug = mt::make_review(debug_pod);

  mt::run_review(e, plain, &r);
  EXPECT_TRUE(r.compiled_variant);
  mt::run_review(e, plain, &r);
  EXPECT_FALSE(r.compiled_variant);
  mt::run_review(e, debug, &r);
  EXPECT_TRUE(r.compiled_variant);
  EXPECT_EQ(e.cached_variants(), 2u);
  const json out = mt::apply_patch(debug_pod, mt::response_patch(mt::run_review(e, debug, &r)));
  EXPECT_FALSE(r.compiled_variant);
  EXPECT_EQ(out["spec"]["containers"][1]["args"][1], "debug");

  e.set_snapshot(snap);
  EXPECT_EQ(e.cached_variants(), 0u);
  mt::run_review(e, plain, &r);
  EXPECT_TRUE(r.compiled_variant);
}

TEST(injector, a_full_variant_cache_evicts_and_still_answers_correctly) {
  const std::string tmpl = R"(containers:
- name: istio-proxy
  image: proxy:1
  {{- range $k, $v := fromJSON (index .ObjectMeta.Annotations "extra-args") }}
  {{- end }}
  args: ["{{ index .ObjectMeta.Annotations "extra-args" }}"]
)";
  auto snap = mt::make_snapshot(mt::injection_config_text(tmpl));
  // A pod without the annotation fails this template: a load warning, not an error.
  ASSERT_FALSE(snap->warnings().empty());
  EXPECT_NE(snap->warnings().back().find("not valid JSON"), std::string::npos) << snap->warnings().back();
  mp::engine e(snap, /*max_variants=*/2);
  for (int n = 0; n < 5; ++n) {
    json pod = app_pod();
    json args = json::object();
    for (int k = 0; k < n; ++k) args["k" + std::to_string(k)] = k;
    pod["metadata"]["annotations"] = {{"extra-args", args.dump()}};
    mp::injection_result r;
    const json response = mt::run_review(e, mt::make_review(pod), &r);
    ASSERT_TRUE(response["response"]["allowed"].get<bool>()) << response.dump();
    const json out = mt::apply_patch(pod, mt::response_patch(response));
    EXPECT_EQ(out["spec"]["containers"][1]["args"][0], args.dump());
    EXPECT_TRUE(r.compiled_variant) << n;
  }
  EXPECT_EQ(e.cached_variants(), 2u);
  EXPECT_EQ(e.stats().variant_evictions.value(), 3u);
  EXPECT_EQ(e.stats().uncached_renders.value(), 0u);
}

// Pods of `shapes` different variants: `shape` k carries k extra args.
std::string shaped_review(int shape) {
  json pod = app_pod();
  json args = json::object();
  for (int k = 0; k < shape; ++k) args["k" + std::to_string(k)] = k;
  pod["metadata"]["annotations"] = {{"extra-args", args.dump()}};
  return mt::make_review(pod);
}

const char* shaped_template = R"(containers:
- name: istio-proxy
  image: proxy:1
  {{- range $k, $v := fromJSON (index .ObjectMeta.Annotations "extra-args") }}
  {{- end }}
  args: ["{{ index .ObjectMeta.Annotations "extra-args" }}"]
)";

TEST(injector, a_shape_evicted_and_compiled_again_answers_with_the_same_bytes) {
  auto snap = mt::make_snapshot(mt::injection_config_text(shaped_template));
  mp::engine e(snap, /*max_variants=*/2);
  std::vector<std::string> first;
  mp::injection_result r;
  for (int shape = 0; shape < 4; ++shape) {
    const std::string review = shaped_review(shape);
    r = e.handle(review.data(), review.size(), review.size());
    ASSERT_EQ(r.kind, mp::outcome::injected) << r.message;
    EXPECT_TRUE(r.compiled_variant);
    first.emplace_back(r.body);
  }
  ASSERT_EQ(e.stats().variant_evictions.value(), 2u);  // shapes 0 and 1 are gone
  for (int shape = 0; shape < 4; ++shape) {
    const std::string review = shaped_review(shape);
    r = e.handle(review.data(), review.size(), review.size());
    EXPECT_TRUE(r.compiled_variant) << shape;  // 0, 1: evicted; 2, 3: evicted by 0 and 1
    EXPECT_EQ(r.body, first[static_cast<std::size_t>(shape)]) << shape;
  }
}

TEST(injector, the_engine_counts_hits_misses_their_cost_and_evictions) {
  auto snap = mt::make_snapshot(mt::injection_config_text(shaped_template));
  mp::engine e(snap, /*max_variants=*/2);
  const mp::engine_stats& s = e.stats();
  auto send = [&](int shape) {
    const std::string review = shaped_review(shape);
    return e.handle(review.data(), review.size(), review.size()).compiled_variant;
  };
  EXPECT_TRUE(send(0));
  EXPECT_FALSE(send(0));
  EXPECT_FALSE(send(0));
  EXPECT_TRUE(send(1));
  EXPECT_EQ(s.variant_hits.value(), 2u);
  EXPECT_EQ(s.variant_compiles.value(), 2u);
  EXPECT_GT(s.variant_compile_ns.value(), 0u);
  EXPECT_EQ(s.variant_evictions.value(), 0u);
  EXPECT_EQ(s.cached_variants.value(), 2);
  EXPECT_GT(s.cached_variant_bytes.value(), 0);

  // Shape 0 was used since the hand last passed, so shape 1 goes first.
  EXPECT_TRUE(send(2));
  EXPECT_EQ(s.variant_evictions.value(), 1u);
  EXPECT_FALSE(send(0));
  EXPECT_TRUE(send(1));
  EXPECT_EQ(s.variant_evictions.value(), 2u);
  EXPECT_EQ(s.variant_compiles.value(), 4u);
  EXPECT_EQ(s.variant_hits.value(), 3u);
  EXPECT_EQ(s.cached_variants.value(), 2);
  EXPECT_EQ(s.uncached_renders.value(), 0u);

  e.set_snapshot(snap);
  EXPECT_EQ(s.cached_variants.value(), 0);
  EXPECT_EQ(s.cached_variant_bytes.value(), 0);
}

TEST(injector, path_env_and_probe_rewrite_land_in_the_proxy) {
  const std::string tmpl = std::string("rewriteAppHTTPProbe: true\n") + simple_template;
  auto snap = mt::make_snapshot(mt::injection_config_text(tmpl));
  mp::engine e(snap);
  json pod = app_pod();
  pod["spec"]["containers"][0]["readinessProbe"] = {{"httpGet", {{"path", "/ready"}, {"port", "http"}}}};
  std::string review = mt::make_review(pod);
  const std::size_t len = review.size();
  review.resize(len + simdjson::SIMDJSON_PADDING);
  const mp::env_pair env[] = {{"ISTIO_META_CLUSTER_ID", "cluster-1"}, {"ISTIO_META_NETWORK", "net\"1"}};
  const mp::injection_result r = e.handle(review.data(), len, review.size(), env);
  ASSERT_EQ(r.kind, mp::outcome::injected) << r.message;
  const json out = mt::apply_patch(pod, json::parse(std::string(r.patch)));
  const json& proxy = out["spec"]["containers"][1];
  std::map<std::string, std::string> envs;
  for (const auto& v : proxy["env"]) envs[v["name"]] = v["value"];
  EXPECT_EQ(envs["ISTIO_META_CLUSTER_ID"], "cluster-1");
  EXPECT_EQ(envs["ISTIO_META_NETWORK"], "net\"1");
  const json probers = json::parse(envs["ISTIO_KUBE_APP_PROBERS"]);
  EXPECT_EQ(probers["/app-health/web/readyz"]["port"], 8080);  // named port resolved
  EXPECT_EQ(out["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"], "/app-health/web/readyz");
  EXPECT_EQ(out["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"], 15020);
}

TEST(injector, sds_token_mount_sets_fs_group_without_dropping_the_pod_security_context) {
  auto snap = mt::make_snapshot(mt::injection_config_text(simple_template), "enableSdsTokenMount: true\nsdsUdsPath: /var/run/sds\n");
  mp::engine e(snap);
  json pod = app_pod();
  pod["spec"]["securityContext"] = {{"runAsUser", 1000}};
  const json out = inject_ok(e, pod);
  EXPECT_EQ(out["spec"]["securityContext"]["fsGroup"], 1337);
  EXPECT_EQ(out["spec"]["securityContext"]["runAsUser"], 1000);
  const json out2 = inject_ok(e, app_pod());
  EXPECT_EQ(out2["spec"]["securityContext"]["fsGroup"], 1337);
}

TEST(injector, non_pod_and_non_create_pass_through) {
  auto snap = mt::make_snapshot(mt::injection_config_text(simple_template));
  mp::engine e(snap);
  mp::injection_result r;
  json response = mt::run_review(e, mt::make_review(app_pod(), "admission.k8s.io/v1", "x", "", "UPDATE"), &r);
  EXPECT_EQ(r.kind, mp::outcome::passthrough);
  EXPECT_EQ(r.passthrough, mp::passthrough_reason::not_create);
  EXPECT_TRUE(response["response"]["allowed"].get<bool>());
  EXPECT_FALSE(response["response"].contains("patch"));
  EXPECT_FALSE(response["response"].contains("patchType"));
  response = mt::run_review(e, mt::make_review(json::object(), "admission.k8s.io/v1", "y", "", "CREATE", "Service"), &r);
  EXPECT_EQ(r.passthrough, mp::passthrough_reason::not_a_pod);
  EXPECT_FALSE(response["response"].contains("patch"));
}

TEST(injector, invalid_inject_value_warns_and_falls_back_to_policy) {
  auto snap = mt::make_snapshot(mt::injection_config_text(simple_template, "disabled"));
  mp::engine e(snap);
  json pod = app_pod();
  pod["metadata"]["annotations"] = {{"sidecar.istio.io/inject", "maybe"}};
  const json response = mt::run_review(e, mt::make_review(pod));
  EXPECT_FALSE(response["response"].contains("patch"));
  ASSERT_TRUE(response["response"].contains("warnings"));
  EXPECT_NE(response["response"]["warnings"][0].get<std::string>().find("maybe"), std::string::npos);
  EXPECT_EQ(response["response"]["auditAnnotations"]["reason"], "policy-disabled");
}

// Every row of conformance/inject-required.yaml, through the whole engine: the
// review's labels, annotations, namespace and hostNetwork reach the decision.
TEST(injector_conformance, decision_table_through_the_engine) {
  MESHINJECT_REQUIRE_CONFORMANCE(root);
  const json table = mt::yaml_to_json(mt::read_file(root / "inject-required.yaml"));
  int rows = 0;
  for (const auto& row : table["cases"]) {
    SCOPED_TRACE(row["id"].get<std::string>());
    std::string extra;
    auto selectors = [&](const char* key) {
      if (row[key].empty()) return;
      extra += std::string(key) + ": " + row[key].dump() + "\n";
    };
    selectors("neverInjectSelector");
    selectors("alwaysInjectSelector");
    const std::string config = mt::injection_config_text(simple_template, row["policy"], extra);
    const bool valid_policy = row["policy"] == "enabled" || row["policy"] == "disabled";
    if (!valid_policy) {
      // An invalid policy never loads, so it never injects (row u10).
      EXPECT_THROW(mt::make_snapshot(config), std::exception);
      EXPECT_FALSE(row["want"].get<bool>());
      ++rows;
      continue;
    }
    auto snap = mt::make_snapshot(config);
    mp::engine e(snap);
    json pod = {{"metadata", {{"name", row["name"]}, {"namespace", row["namespace"]}}}, {"spec", {{"containers", json::array({{{"name", "c"}}})}}}};
    if (!row["labels"].empty()) pod["metadata"]["labels"] = row["labels"];
    if (!row["annotations"].empty()) pod["metadata"]["annotations"] = row["annotations"];
    if (row["hostNetwork"].get<bool>()) pod["spec"]["hostNetwork"] = true;
    const json response = mt::run_review(e, mt::make_review(pod, "admission.k8s.io/v1", "row", row["namespace"].get<std::string>()));
    EXPECT_TRUE(response["response"]["allowed"].get<bool>());
    EXPECT_EQ(response["response"].contains("patch"), row["want"].get<bool>());
    if (response["response"].contains("patch")) {
      EXPECT_NO_THROW(mt::apply_patch(pod, mt::response_patch(response)));
    }
    ++rows;
  }
  EXPECT_EQ(rows, 50);
}

// Istio 1.1's production template, with `volumes` user volumes: each count is
// a variant of its own (the template ranges over the annotation).
json production_pod_with_user_volumes(int volumes) {
  json review = json::parse(mt::read_file(mt::source_dir() / "load" / "reviews" / "orders-pod.json"));
  json pod = review["request"]["object"];
  json declared = json::object(), mounts = json::object();
  for (int i = 0; i < volumes; ++i) {
    declared["extra-" + std::to_string(i)] = {{"secret", {{"secretName", "extra-" + std::to_string(i)}}}};
    mounts["extra-" + std::to_string(i)] = {{"mountPath", "/etc/extra/" + std::to_string(i)}, {"readOnly", true}};
  }
  pod["metadata"]["annotations"]["sidecar.istio.io/userVolume"] = declared.dump();
  pod["metadata"]["annotations"]["sidecar.istio.io/userVolumeMount"] = mounts.dump();
  return pod;
}

TEST(injector, the_default_byte_bound_binds_before_the_entry_bound_for_istio_1_1) {
  mp::engine e(mt::make_snapshot(mt::istio_1_1_example_config()), mp::variant_cache_limits{});
  mt::run_review(e, mt::make_review(production_pod_with_user_volumes(1), "admission.k8s.io/v1", "u", "store"));
  ASSERT_EQ(e.cached_variants(), 1u);
  const auto one_variant = static_cast<std::size_t>(e.stats().cached_variant_bytes.value());
  ASSERT_GT(one_variant, 0u);
  // How many such variants 4 MiB keeps: fewer than the entry bound (so bytes
  // bind), and more than the 256 entries that used to be the only real bound.
  const std::size_t kept_by_bytes = mp::variant_cache_limits::default_bytes / one_variant;
  EXPECT_LT(kept_by_bytes, mp::variant_cache_limits::default_entries) << one_variant << " bytes a variant";
  EXPECT_GT(kept_by_bytes, 256u) << one_variant << " bytes a variant";
}

TEST(injector, a_byte_bounded_cache_keeps_its_bound_and_every_answer_right) {
  constexpr std::size_t bound = 16 * 1024;
  mp::engine e(mt::make_snapshot(mt::istio_1_1_example_config()), mp::variant_cache_limits{.bytes = bound});
  constexpr int shapes = 24;
  for (int round = 0; round < 2; ++round) {
    for (int n = 0; n < shapes; ++n) {
      const json pod = production_pod_with_user_volumes(n);
      mp::injection_result r;
      const json response = mt::run_review(e, mt::make_review(pod, "admission.k8s.io/v1", "u", "store"), &r);
      ASSERT_TRUE(response["response"]["allowed"].get<bool>()) << response.dump();
      const json out = mt::apply_patch(pod, mt::response_patch(response));
      std::size_t extra = 0;
      for (const json& v : out["spec"]["volumes"]) extra += v["name"].get<std::string>().rfind("extra-", 0) == 0;
      EXPECT_EQ(extra, static_cast<std::size_t>(n)) << "round " << round;
      EXPECT_LE(static_cast<std::size_t>(e.stats().cached_variant_bytes.value()), bound) << n;
    }
  }
  // Far fewer than 24 variants fit in 16 KiB, so the second round misses again.
  EXPECT_LT(e.cached_variants(), static_cast<std::size_t>(shapes));
  EXPECT_GE(e.cached_variants(), 1u);
  EXPECT_EQ(e.stats().variant_compiles.value(), 2u * shapes);
  EXPECT_EQ(e.stats().variant_evictions.value(), 2u * shapes - e.cached_variants());
  EXPECT_EQ(e.stats().uncached_renders.value(), 0u);
}

// A miss compiles in the engine's workspace, kept from the misses before it
// (the YAML reader, the text and segments being built, the members stack):
// nothing of an earlier compile may leak into a later one. Many shapes of the
// Istio 1.1 production template through one engine whose cache holds four,
// so most requests miss after evictions; each answer is a fresh engine's, byte
// for byte, and applies (nlohmann-json) to a pod with the shape's volumes.
TEST(injector, many_shapes_through_one_engine_answer_as_a_fresh_engine_does) {
  const auto snap = mt::make_snapshot(mt::istio_1_1_example_config());
  mp::engine kept(snap, mp::variant_cache_limits{.entries = 4});
  const char* modes[] = {"REDIRECT", "TPROXY"};
  const char* status_ports[] = {"15020", "0", "15021"};
  int compiled = 0;
  for (int round = 0; round < 2; ++round) {
    for (int n = 0; n < 18; ++n) {
      const int volumes = (n * 7) % 6;
      json pod = production_pod_with_user_volumes(volumes);
      auto& annotations = pod["metadata"]["annotations"];
      annotations["sidecar.istio.io/interceptionMode"] = modes[n % 2];
      annotations["status.sidecar.istio.io/port"] = status_ports[n % 3];
      const std::string review = mt::make_review(pod, "admission.k8s.io/v1", "u-" + std::to_string(n), "store");
      const mp::injection_result r = kept.handle(review.data(), review.size(), review.size());
      ASSERT_EQ(r.kind, mp::outcome::injected) << n << ": " << r.message;
      compiled += r.compiled_variant;
      mp::engine fresh(snap, mp::variant_cache_limits{.entries = 4});
      const mp::injection_result expected = fresh.handle(review.data(), review.size(), review.size());
      ASSERT_TRUE(expected.compiled_variant);
      EXPECT_EQ(r.body, expected.body) << "round " << round << ", shape " << n;
      const json out = mt::apply_patch(pod, mt::response_patch(json::parse(r.body)));
      std::size_t extra = 0;
      for (const json& v : out["spec"]["volumes"]) extra += v["name"].get<std::string>().rfind("extra-", 0) == 0;
      EXPECT_EQ(extra, static_cast<std::size_t>(volumes)) << n;
    }
  }
  EXPECT_GT(kept.stats().variant_evictions.value(), 0u);
  EXPECT_GT(compiled, 18);  // the second round missed again after evictions
}

}  // namespace
