// The named-templates path's memo of read renders (patch/named_render.hpp's
// rendered_memo): a pod whose trace matches a kept render is served from it
// (engine_stats::uncached_renders stays), with its own per-request values (uid,
// names, annotations); a pod whose template decisions differ is rendered anew;
// what the memo cannot keep is read per request, and the memo's bounds hold.
// Patches are applied with nlohmann-json's RFC 6902 implementation (the oracle).

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "patch/default_config.hpp"
#include "patch/injector.hpp"
#include "patch/json_tree_writer.hpp"
#include "patch/named_render.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/support.hpp"

namespace {

namespace mt = meshinject::test;
namespace patch = meshinject::patch;
using mt::json;

// Holes (the workload's name, annotations), a decision on an annotation, a
// range over the containers, a typed integer, an omitempty env value.
const char* const memo_config = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    metadata:
      labels:
        workload: "{{ .DeploymentMeta.Name }}"
        {{ if eq (index .ObjectMeta.Annotations "example.com/mode") "strict" }}
        mode: strict
        {{ else }}
        mode: relaxed
        {{ end }}
      annotations:
        example.com/apps: "{{ range .Spec.Containers }}{{ .Name }},{{ end }}"
    spec:
      containers:
      - name: istio-proxy
        image: proxy
        ports:
        - containerPort: {{ index .ObjectMeta.Annotations "example.com/port" | default "15090" }}
        env:
        - name: EXTRA
          value: "{{ index .ObjectMeta.Annotations "example.com/extra" }}"
)";

json pod_named(const std::string& name, const json& annotations = json::object(), int containers = 1) {
  json pod = {{"metadata", {{"name", name}, {"namespace", "default"}, {"annotations", annotations}}},
              {"spec", {{"containers", json::array()}}}};
  for (int i = 0; i < containers; ++i)
    pod["spec"]["containers"].push_back({{"name", name + "-" + std::to_string(i)}, {"image", "app"}});
  return pod;
}

using answer = mt::pod_answer;
using mt::review_pod;

const json& proxy_of(const answer& a) {
  for (const json& c : a.patched["spec"]["containers"])
    if (c["name"] == "istio-proxy") return c;
  static const json none;
  return none;
}

std::shared_ptr<const patch::snapshot> memo_snapshot() { return mt::make_snapshot(memo_config, "", "", ""); }

TEST(named_memo, another_uid_and_name_reuse_the_kept_render_with_their_own_values) {
  patch::engine e(memo_snapshot());
  const answer first = review_pod(e, pod_named("web"), "uid-1");
  ASSERT_FALSE(first.patched.is_null()) << first.response.dump();
  EXPECT_EQ(e.stats().uncached_renders.value(), 1u);

  const answer second = review_pod(e, pod_named("api"), "uid-2");
  ASSERT_FALSE(second.patched.is_null()) << second.response.dump();
  EXPECT_EQ(e.stats().uncached_renders.value(), 1u);  // served from the memo
  EXPECT_EQ(e.stats().named_renders.value(), 2u);
  EXPECT_EQ(second.response["response"]["uid"], "uid-2");
  EXPECT_EQ(second.patched["metadata"]["labels"]["workload"], "api");
  EXPECT_EQ(second.patched["metadata"]["annotations"]["example.com/apps"], "api-0,");
  EXPECT_EQ(first.patched["metadata"]["labels"]["workload"], "web");
}

TEST(named_memo, a_pod_that_differs_in_a_decision_renders_again) {
  patch::engine e(memo_snapshot());
  const answer relaxed = review_pod(e, pod_named("web"), "uid-1");
  const answer strict = review_pod(e, pod_named("web", {{"example.com/mode", "strict"}}), "uid-2");
  EXPECT_EQ(e.stats().uncached_renders.value(), 2u);
  EXPECT_EQ(relaxed.patched["metadata"]["labels"]["mode"], "relaxed");
  EXPECT_EQ(strict.patched["metadata"]["labels"]["mode"], "strict");
  // Both renders are kept: either decision again is served from the memo.
  const answer relaxed_again = review_pod(e, pod_named("db"), "uid-3");
  const answer strict_again = review_pod(e, pod_named("db", {{"example.com/mode", "strict"}}), "uid-4");
  EXPECT_EQ(e.stats().uncached_renders.value(), 2u);
  EXPECT_EQ(relaxed_again.patched["metadata"]["labels"]["mode"], "relaxed");
  EXPECT_EQ(strict_again.patched["metadata"]["labels"]["mode"], "strict");
}

TEST(named_memo, a_range_over_another_number_of_containers_renders_again) {
  patch::engine e(memo_snapshot());
  review_pod(e, pod_named("web", json::object(), 1), "uid-1");
  const answer two = review_pod(e, pod_named("web", json::object(), 2), "uid-2");
  EXPECT_EQ(e.stats().uncached_renders.value(), 2u);
  EXPECT_EQ(two.patched["metadata"]["annotations"]["example.com/apps"], "web-0,web-1,");
  const answer other_names = review_pod(e, pod_named("api", json::object(), 2), "uid-3");
  EXPECT_EQ(e.stats().uncached_renders.value(), 2u);
  EXPECT_EQ(other_names.patched["metadata"]["annotations"]["example.com/apps"], "api-0,api-1,");
}

TEST(named_memo, per_request_values_are_typed_by_their_field_each_time) {
  patch::engine e(memo_snapshot());
  const answer set = review_pod(e, pod_named("web", {{"example.com/port", "15001"}, {"example.com/extra", "x"}}), "uid-1");
  ASSERT_FALSE(set.patched.is_null()) << set.response.dump();
  EXPECT_EQ(proxy_of(set)["ports"][0]["containerPort"], 15001);
  EXPECT_EQ(proxy_of(set)["env"][0]["value"], "x");

  // The same trace, an empty value: an EnvVar's empty value is left out (omitempty).
  const answer empty = review_pod(e, pod_named("web", {{"example.com/port", "15002"}}), "uid-2");
  EXPECT_EQ(e.stats().uncached_renders.value(), 1u);
  EXPECT_EQ(proxy_of(empty)["ports"][0]["containerPort"], 15002);
  EXPECT_FALSE(proxy_of(empty)["env"][0].contains("value")) << proxy_of(empty).dump();

  // A value its integer field cannot hold fails this pod alone, as a fresh read would.
  const answer bad = review_pod(e, pod_named("web", {{"example.com/port", "http"}}), "uid-3");
  EXPECT_EQ(bad.response["response"]["allowed"], false);
  const std::string message = bad.response["response"]["status"]["message"];
  EXPECT_NE(message.find("expected an integer, got http"), std::string::npos) << message;
  patch::engine fresh(memo_snapshot());
  const answer bad_fresh = review_pod(fresh, pod_named("web", {{"example.com/port", "http"}}), "uid-3");
  EXPECT_EQ(bad_fresh.response["response"]["status"]["message"], message);

  const answer good_again = review_pod(e, pod_named("web", {{"example.com/port", "15003"}}), "uid-4");
  EXPECT_EQ(proxy_of(good_again)["ports"][0]["containerPort"], 15003);
  EXPECT_EQ(e.stats().uncached_renders.value(), 1u);
}

TEST(named_memo, a_per_request_value_in_a_key_is_read_per_request) {
  const char* const keyed = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    metadata:
      labels:
        "{{ index .ObjectMeta.Annotations "example.com/key" }}": "yes"
    spec:
      containers:
      - name: istio-proxy
        image: proxy
)";
  patch::engine e(mt::make_snapshot(keyed, "", "", ""));
  const answer a = review_pod(e, pod_named("web", {{"example.com/key", "team"}}), "uid-1");
  const answer b = review_pod(e, pod_named("web", {{"example.com/key", "owner"}}), "uid-2");
  EXPECT_EQ(e.stats().uncached_renders.value(), 2u);
  EXPECT_EQ(a.patched["metadata"]["labels"]["team"], "yes");
  EXPECT_EQ(b.patched["metadata"]["labels"]["owner"], "yes");
  EXPECT_FALSE(b.patched["metadata"]["labels"].contains("team"));
}

TEST(named_memo, a_new_snapshot_empties_the_memo) {
  patch::engine e(memo_snapshot());
  review_pod(e, pod_named("web"), "uid-1");
  e.set_snapshot(memo_snapshot());
  const answer a = review_pod(e, pod_named("web"), "uid-2");
  EXPECT_EQ(e.stats().uncached_renders.value(), 2u);
  EXPECT_EQ(a.patched["metadata"]["labels"]["workload"], "web");
}

// Istio 1.28's kube-inject inputs as a webhook sees the pods.
std::vector<std::string> istio_1_28_reviews(const std::filesystem::path& dir) {
  std::vector<std::string> reviews;
  for (const char* input : {"hello.yaml", "daemonset.yaml", "hello-multi.yaml", "auth.yaml", "enable-core-dump.yaml",
                            "explicit-security-context.yaml", "hello-namespace.yaml", "hello-proxy-override.yaml",
                            "grpc-simple.yaml", "grpc-agent.yaml", "hello-mtls-not-ready.yaml",
                            "hello-tracing-disabled.yaml", "auth.non-default-service-account.yaml",
                            "hello-host-network.yaml", "hello-probes.yaml", "https-probes.yaml"}) {
    const json object = mt::yaml_to_json(mt::read_file(dir / "inject" / input));
    json pod = object.value("kind", "") == "Pod" ? object : object["spec"]["template"];
    pod["metadata"]["name"] = object["metadata"].value("name", "pod");
    reviews.push_back(mt::make_review(pod, "admission.k8s.io/v1", std::string("uid-") + input, "default"));
  }
  return reviews;
}

// A warm core answers each review byte for byte as a fresh engine does, after
// every other review went through it first (what one request writes must never
// reach the kept renders another request reads), and a second pass over the
// same reviews renders nothing.
void expect_warm_answers_fresh_ones(const std::shared_ptr<const patch::snapshot>& snap,
                                    std::vector<std::string> reviews, const char* what) {
  auto answer_of = [](patch::engine& e, const std::string& body) {
    const patch::injection_result r = e.handle(body.data(), body.size(), body.size());
    return std::string(r.body);
  };
  patch::engine warm(snap);
  for (const std::string& body : reviews) answer_of(warm, body);
  const std::uint64_t first_pass = warm.stats().uncached_renders.value();
  const std::uint64_t injected_pods = warm.stats().named_renders.value();  // host-network pods are skipped
  EXPECT_GT(first_pass, 0u);
  EXPECT_LE(first_pass, reviews.size());
  std::reverse(reviews.begin(), reviews.end());
  for (const std::string& body : reviews) {
    patch::engine fresh(snap);
    EXPECT_EQ(answer_of(warm, body), answer_of(fresh, body));
  }
  EXPECT_EQ(warm.stats().uncached_renders.value(), first_pass);  // the second pass rendered nothing
  EXPECT_EQ(warm.stats().named_renders.value(), 2 * injected_pods);
  std::cout << what << ": " << reviews.size() << " pods, " << injected_pods << " through the named path, "
            << first_pass << " rendered on the first pass, 0 on the second\n";
}

TEST(named_memo, istio_1_28_goldens_from_the_memo_match_a_fresh_engine) {
  const auto found = mt::conformance_dir();
  if (!found || !std::filesystem::exists(*found / "istio-1.28" / "rendered" / "config.yaml"))
    GTEST_SKIP() << "conformance data not found (set MESHINJECT_CONFORMANCE_DIR to ../shared/conformance)";
  const std::filesystem::path dir = *found / "istio-1.28";
  const auto snap = mt::make_snapshot(mt::read_file(dir / "rendered" / "config.yaml"), "", "",
                                      mt::read_file(dir / "rendered" / "values.json"));
  expect_warm_answers_fresh_ones(snap, istio_1_28_reviews(dir), "Istio 1.28 goldens");
}

// The embedded default shares its kept render's plain subtrees with every
// request's merged pod: the same check over the repository's own reviews
// (load/reviews) and, where the conformance data is, Istio 1.28's inputs.
TEST(named_memo, the_embedded_default_from_the_memo_matches_a_fresh_engine) {
  const auto snap = mt::make_snapshot(std::string(patch::default_injection_config()), "", "",
                                      std::string(patch::default_values()));
  std::vector<std::string> reviews;
  for (const char* name : {"orders-pod.json", "cart-pod-v1beta1.json", "many-env-pod.json", "kube-system-pod.json",
                           "opt-out-pod.json"})
    reviews.push_back(mt::read_file(mt::source_dir() / "load" / "reviews" / name));
  // Pods whose answers make the steps after the merge write: the proxy's env
  // and the pod's annotations (Prometheus scraping), labels (a network), the
  // containers (the user's own istio-proxy, the overrides annotation).
  json scraped = json::parse(mt::read_file(mt::source_dir() / "load" / "reviews" / "orders-pod.json"));
  json& scraped_pod = scraped["request"]["object"];
  scraped_pod["metadata"]["annotations"]["prometheus.io/scrape"] = "true";
  scraped_pod["metadata"]["annotations"]["prometheus.io/port"] = "9090";
  scraped_pod["metadata"]["labels"]["topology.istio.io/network"] = "net-1";
  scraped["request"]["uid"] = "uid-scraped";
  reviews.push_back(scraped.dump());
  json own_proxy = scraped;
  own_proxy["request"]["object"]["spec"]["containers"].push_back(
      {{"name", "istio-proxy"}, {"image", "auto"}, {"securityContext", {{"runAsUser", 1000}}}});
  own_proxy["request"]["uid"] = "uid-own-proxy";
  reviews.push_back(own_proxy.dump());
  json overridden = scraped;
  overridden["request"]["object"]["metadata"]["annotations"]["proxy.istio.io/overrides"] =
      R"({"containers":[{"name":"istio-proxy","image":"mine"}]})";
  overridden["request"]["uid"] = "uid-overridden";
  reviews.push_back(overridden.dump());
  if (const auto found = mt::conformance_dir(); found && std::filesystem::exists(*found / "istio-1.28" / "inject"))
    for (std::string& r : istio_1_28_reviews(*found / "istio-1.28")) reviews.push_back(std::move(r));
  else
    std::cout << "conformance data not found: only load/reviews checked\n";
  expect_warm_answers_fresh_ones(snap, reviews, "embedded default");
}

// The bounds: over either, the next request starts with an empty memo.
TEST(rendered_memo, is_emptied_when_a_request_starts_over_its_entry_bound) {
  patch::rendered_memo memo(2, std::size_t{1} << 20);
  const int programs[3] = {};
  const std::uint8_t trace[] = {1, 2, 3};
  for (const int& p : programs) {
    memo.start_request();
    memo.insert(&p, trace, std::make_unique<patch::rendered_skeleton>());
  }
  EXPECT_EQ(memo.clears(), 1u);
  EXPECT_EQ(memo.size(), 1u);
  EXPECT_NE(memo.find(&programs[2], trace), nullptr);
  EXPECT_EQ(memo.find(&programs[0], trace), nullptr);
  const std::uint8_t other[] = {1, 2, 4};
  EXPECT_EQ(memo.find(&programs[2], other), nullptr);
}

TEST(rendered_memo, is_emptied_when_a_request_starts_over_its_byte_bound) {
  patch::rendered_memo memo(256, 1);
  const int program = 0;
  const std::uint8_t trace[] = {7};
  memo.start_request();
  memo.insert(&program, trace, std::make_unique<patch::rendered_skeleton>());
  EXPECT_GT(memo.bytes(), 1u);
  EXPECT_NE(memo.find(&program, trace), nullptr);  // kept for the request that made it
  memo.start_request();
  EXPECT_EQ(memo.size(), 0u);
  EXPECT_EQ(memo.bytes(), 0u);
  EXPECT_EQ(memo.clears(), 1u);
}

}  // namespace

namespace {

// A kept render's subtrees without a per-request value are written as text
// prepared once; a subtree holding one is written per request.
TEST(named_memo, subtrees_without_a_per_request_value_get_text_prepared_once) {
  const std::string hole = std::string(meshinject::tmpl::hole_open) + "0" + std::string(meshinject::tmpl::hole_close);
  const std::string rendered = "spec:\n  containers:\n  - name: istio-proxy\n    image: \"" + hole +
                               "\"\n    resources:\n      limits:\n        cpu: \"2\"\n    args: [\"a~/b\", x]\n";
  const meshinject::tmpl::hole_info info[] = {{}};
  patch::yaml_reader_state state;
  patch::rendered_skeleton skeleton;
  ASSERT_TRUE(patch::read_rendered_skeleton(rendered, info, state, skeleton));

  meshinject::core::arena a;
  const meshinject::tmpl::value holes[] = {meshinject::tmpl::value::string("proxyv2:\"1.28\"")};
  meshinject::core::json::value tree;
  std::string error;
  ASSERT_TRUE(patch::instantiate_rendered_pod(skeleton, holes, state, a, tree, error)) << error;
  const auto& proxy = tree.find("spec")->find("containers")->items()[0];
  EXPECT_EQ(proxy.prepared(), nullptr) << "holds the image's per-request value";
  EXPECT_EQ(tree.prepared(), nullptr);
  ASSERT_NE(proxy.find("resources")->prepared(), nullptr);
  EXPECT_EQ(proxy.find("resources")->prepared()->text, R"({"limits":{"cpu":"2"}})");
  ASSERT_NE(proxy.find("args")->prepared(), nullptr);
  EXPECT_EQ(proxy.find("args")->prepared()->text, R"(["a~/b","x"])");
  std::string text;
  patch::append_json(text, tree);
  EXPECT_EQ(text, R"({"spec":{"containers":[{"name":"istio-proxy","image":"proxyv2:\"1.28\"",)"
                  R"("resources":{"limits":{"cpu":"2"}},"args":["a~/b","x"]}]}})");
}

// The user's own istio-proxy (here from an earlier injection's
// proxy.istio.io/overrides) is merged into the injected one (Istio's
// reapplyOverwrittenContainers) inside a subtree that has prepared text, and
// the container is added whole: the answer carries the user's values, and the
// next pod of the trace the render's.
const char* const prepared_config = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    metadata:
      labels:
        workload: "{{ .DeploymentMeta.Name }}"
    spec:
      containers:
      - name: istio-proxy
        image: proxy
        args: [proxy, sidecar]
        resources:
          limits:
            cpu: "2"
            memory: 1Gi
        securityContext:
          runAsUser: 1337
)";

TEST(named_memo, a_request_that_changes_a_prepared_subtree_is_written_from_its_tree) {
  patch::engine e(mt::make_snapshot(prepared_config, "", "", ""));
  const answer plain = review_pod(e, pod_named("web"), "uid-1");
  ASSERT_FALSE(plain.patched.is_null()) << plain.response.dump();
  EXPECT_EQ(proxy_of(plain)["resources"]["limits"]["cpu"], "2");

  const json user = pod_named(
      "web", {{"proxy.istio.io/overrides", R"({"containers":[{"name":"istio-proxy","resources":{"limits":{"cpu":"4"}}}]})"}});
  for (int round = 0; round < 2; ++round) {
    const answer merged = review_pod(e, user, "uid-2");
    ASSERT_FALSE(merged.patched.is_null()) << merged.response.dump();
    EXPECT_EQ(proxy_of(merged)["resources"]["limits"]["cpu"], "4") << proxy_of(merged).dump();
    EXPECT_EQ(proxy_of(merged)["resources"]["limits"]["memory"], "1Gi");
    EXPECT_EQ(proxy_of(merged)["securityContext"]["runAsUser"], 1337);
    patch::engine fresh(mt::make_snapshot(prepared_config, "", "", ""));
    EXPECT_EQ(review_pod(fresh, user, "uid-2").patched, merged.patched);
  }

  const answer plain_again = review_pod(e, pod_named("api"), "uid-3");
  EXPECT_EQ(proxy_of(plain_again)["resources"]["limits"]["cpu"], "2") << "the kept render is unchanged";
  EXPECT_EQ(proxy_of(plain_again), proxy_of(plain));
  EXPECT_EQ(e.stats().uncached_renders.value(), 1u);
}

// A kept render's subtree the strategic merge would drop something from (a null
// member, an object carrying $patch) is walked by the merge each time; one it
// keeps whole is linked without a walk (prepared_text::links_whole).
const char* const dropping_config = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    metadata:
      labels:
        workload: "{{ .DeploymentMeta.Name }}"
    spec:
      containers:
      - name: istio-proxy
        image: proxy
        resources:
          limits:
            cpu: "2"
            memory: null
        securityContext:
          $patch: delete
          runAsUser: 1337
        args: [proxy, sidecar]
)";

TEST(named_memo, a_prepared_subtree_the_merge_drops_from_is_still_dropped_from) {
  const std::string rendered =
      "spec:\n  containers:\n  - name: istio-proxy\n    resources:\n      limits:\n        cpu: \"2\"\n"
      "        memory: null\n    securityContext:\n      $patch: delete\n    args: [proxy, sidecar]\n";
  patch::yaml_reader_state state;
  patch::rendered_skeleton skeleton;
  ASSERT_TRUE(patch::read_rendered_skeleton(rendered, {}, state, skeleton));
  const auto& proxy = skeleton.tree.find("spec")->find("containers")->items()[0];
  ASSERT_NE(proxy.prepared(), nullptr);
  EXPECT_FALSE(proxy.prepared()->links_whole);
  EXPECT_FALSE(proxy.find("resources")->prepared()->links_whole) << "a null member";
  EXPECT_FALSE(proxy.find("securityContext")->prepared()->links_whole) << "a directive";
  EXPECT_TRUE(proxy.find("args")->prepared()->links_whole);

  patch::engine e(mt::make_snapshot(dropping_config, "", "", ""));
  for (const char* name : {"web", "api"}) {
    const answer a = review_pod(e, pod_named(name), std::string("uid-") + name);
    ASSERT_FALSE(a.patched.is_null()) << a.response.dump();
    const json& proxy_out = proxy_of(a);
    EXPECT_EQ(proxy_out["resources"], json({{"limits", {{"cpu", "2"}}}})) << proxy_out.dump();
    EXPECT_FALSE(proxy_out.contains("securityContext")) << proxy_out.dump();
    EXPECT_EQ(proxy_out["args"], json({"proxy", "sidecar"}));
  }
  EXPECT_EQ(e.stats().uncached_renders.value(), 1u) << "the second pod is served from the memo";
}

// A render without a per-request value is the kept skeleton's own storage in
// the request's tree (instantiate_rendered_pod's share_plain): every step that
// writes into the merged pod must write into a copy. Each pod here makes one of
// them write where the render's subtree is (the proxy's env, the init
// container's args, a volume the merge merges twice, the labels and
// annotations), and the pods after it must still get the render as it was.
const char* const static_config = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    metadata:
      labels:
        istio: sidecar
      annotations:
        example.com/injected: "yes"
    spec:
      volumes:
      - name: istio-data
        emptyDir: {}
      - name: istio-data
        emptyDir:
          medium: Memory
      containers:
      - name: istio-proxy
        image: proxy
        args: [proxy, sidecar]
        env:
        - name: FIXED
          value: "1"
      initContainers:
      - name: istio-init
        image: proxy
        args: [istio-iptables, "-u", "1337"]
)";

TEST(named_memo, steps_after_the_merge_never_write_into_the_kept_render) {
  patch::engine e(mt::make_snapshot(static_config, "", "", ""));
  auto env_names = [](const answer& a) {
    std::vector<std::string> names;
    for (const json& v : proxy_of(a)["env"]) names.push_back(v["name"]);
    return names;
  };
  auto init_args = [](const answer& a) { return a.patched["spec"]["initContainers"][0]["args"]; };
  auto check_plain = [&](const char* name) {
    const answer a = review_pod(e, pod_named(name), std::string("uid-") + name);
    ASSERT_FALSE(a.patched.is_null()) << a.response.dump();
    EXPECT_EQ(env_names(a), std::vector<std::string>{"FIXED"}) << name;
    EXPECT_EQ(init_args(a), json({"istio-iptables", "-u", "1337"})) << name;
    EXPECT_EQ(a.patched["spec"]["volumes"], json({{{"name", "istio-data"}, {"emptyDir", json::object()}},
                                                  {{"name", "istio-data"}, {"emptyDir", {{"medium", "Memory"}}}}}))
        << name;
    EXPECT_EQ(a.patched["metadata"]["labels"], json({{"istio", "sidecar"}})) << name;
    EXPECT_EQ(a.patched["metadata"]["annotations"]["example.com/injected"], "yes") << name;
  };
  check_plain("first");

  // Prometheus annotations: the proxy's env gets an entry, the annotations are
  // rewritten; the pod's volume list makes the merge merge istio-data twice.
  json scraped = pod_named("scraped", {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "8080"}});
  scraped["metadata"]["labels"] = {{"topology.istio.io/network", "net-1"}};
  scraped["spec"]["volumes"] = json::array({{{"name", "data"}, {"emptyDir", json::object()}}});
  const answer s = review_pod(e, scraped, "uid-scraped");
  ASSERT_FALSE(s.patched.is_null()) << s.response.dump();
  EXPECT_EQ(env_names(s), (std::vector<std::string>{"FIXED", "ISTIO_META_NETWORK", "ISTIO_PROMETHEUS_ANNOTATIONS"}));
  EXPECT_EQ(s.patched["metadata"]["annotations"]["prometheus.io/port"], "15020");
  EXPECT_EQ(s.patched["metadata"]["labels"]["topology.istio.io/network"], "net-1");
  // The second istio-data merges into the first, which must be a copy by then.
  EXPECT_EQ(s.patched["spec"]["volumes"], json({{{"name", "istio-data"}, {"emptyDir", {{"medium", "Memory"}}}},
                                                {{"name", "data"}, {"emptyDir", json::object()}}}));
  check_plain("second");

  // The user's istio-proxy runs as 1000: the init container's -u follows it.
  json user = pod_named("user");
  user["spec"]["containers"].push_back({{"name", "istio-proxy"}, {"securityContext", {{"runAsUser", 1000}}}});
  const answer u = review_pod(e, user, "uid-user");
  ASSERT_FALSE(u.patched.is_null()) << u.response.dump();
  EXPECT_EQ(init_args(u), json({"istio-iptables", "-u", "1000"}));
  check_plain("third");
  EXPECT_EQ(e.stats().uncached_renders.value(), 1u) << "every pod is served from one kept render";
}

// The render names a list and its $deleteFromPrimitiveList, merged into the
// user's own istio-proxy that has no such list: the merge links the render's
// list and then deletes from it, which must happen in a copy (the list is the
// kept render's storage). Twice, so a kept render changed the first time shows.
const char* const delete_config = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    spec:
      containers:
      - name: istio-proxy
        image: proxy
        args: [a, b]
        $deleteFromPrimitiveList/args: [a]
)";

TEST(named_memo, a_list_the_merge_links_and_then_deletes_from_is_a_copy) {
  patch::engine e(mt::make_snapshot(delete_config, "", "", ""));
  json user = pod_named("user");
  user["spec"]["containers"].push_back({{"name", "istio-proxy"}, {"image", "mine"}});
  for (const char* uid : {"uid-1", "uid-2", "uid-3"}) {
    const answer a = review_pod(e, user, uid);
    ASSERT_FALSE(a.patched.is_null()) << a.response.dump();
    EXPECT_EQ(proxy_of(a)["args"], json({"b"})) << uid;
  }
}

// The render's volume merges into the pod's volume of the same name wherever it
// sits in a long list: before and past the items own_merged_into looks up at
// once (32). The merge replaces its emptyDir's medium in place, so that volume
// (and its emptyDir) must be copies first; were the pod's tree written into,
// the diff would see no change there and the patch would leave it as it was. Each pod twice, then a plain pod: the kept render stays.
TEST(named_memo, a_volume_the_render_merges_into_is_a_copy_wherever_it_sits) {
  patch::engine e(mt::make_snapshot(static_config, "", "", ""));
  for (const int at : {0, 1, 31, 32, 39}) {
    json pod = pod_named("volumes");
    json& volumes = pod["spec"]["volumes"] = json::array();
    for (int i = 0; i < 40; ++i) volumes.push_back({{"name", "v" + std::to_string(i)}, {"hostPath", {{"path", "/v"}}}});
    volumes[at] = {{"name", "istio-data"}, {"emptyDir", {{"medium", "Disk"}}}};
    for (const char* uid : {"uid-1", "uid-2"}) {
      const answer a = review_pod(e, pod, uid);
      ASSERT_FALSE(a.patched.is_null()) << a.response.dump();
      const json& merged = a.patched["spec"]["volumes"];
      ASSERT_EQ(merged.size(), 40u) << at;
      std::size_t found = 0;
      for (const json& v : merged) {
        if (v["name"] != "istio-data") continue;
        ++found;
        EXPECT_EQ(v, json({{"name", "istio-data"}, {"emptyDir", {{"medium", "Memory"}}}}))
            << "at " << at << ", " << uid;
      }
      EXPECT_EQ(found, 1u) << at;
    }
  }
  const answer plain = review_pod(e, pod_named("plain"), "uid-plain");
  EXPECT_EQ(plain.patched["spec"]["volumes"], json({{{"name", "istio-data"}, {"emptyDir", json::object()}},
                                                    {{"name", "istio-data"}, {"emptyDir", {{"medium", "Memory"}}}}}));
}

}  // namespace
