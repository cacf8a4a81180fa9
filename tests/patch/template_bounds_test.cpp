// The per-pod template bounds (tmpl::eval_limits through config_sources) on both
// injection paths: Istio 1.1's single template (patch/injector, patch_builder)
// and Istio >= 1.9's named templates (patch/named_injector, named_render). A pod
// that makes a valid template pass a bound is refused with allowed:false and a
// message naming the bound; the engine answers the next pod as before.

#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "patch/injector.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/support.hpp"

namespace {

namespace mt = meshinject::test;
namespace patch = meshinject::patch;
using mt::json;

// Work that grows with the pod: every container's ports, once per container.
const char* const nested_1_1 = R"(containers:
- name: istio-proxy
  image: proxy
  env:
{{- range $c := .Spec.Containers }}{{ range $d := $.Spec.Containers }}{{ range $e := $c.Ports }}
  - name: "{{ $c.Name }}-{{ $d.Name }}-{{ $e.ContainerPort }}"
    value: "{{ $e.Protocol }}"
{{- end }}{{ end }}{{ end }}
)";

const char* const nested_1_28 = R"(policy: enabled
defaultTemplates: [sidecar]
templates:
  sidecar: |
    spec:
      containers:
      - name: istio-proxy
        image: proxy
        env:
    {{- range $c := .Spec.Containers }}{{ range $d := $.Spec.Containers }}{{ range $e := $c.Ports }}
        - name: "{{ $c.Name }}-{{ $d.Name }}-{{ $e.ContainerPort }}"
          value: "{{ $e.Protocol }}"
    {{- end }}{{ end }}{{ end }}
)";

json pod_with(int containers, int ports) {
  json pod = {{"metadata", {{"name", "p"}, {"namespace", "default"}}}, {"spec", {{"containers", json::array()}}}};
  for (int c = 0; c < containers; ++c) {
    json container = {{"name", "c" + std::to_string(c)}, {"image", "app"}, {"ports", json::array()}};
    for (int p = 0; p < ports; ++p) container["ports"].push_back({{"containerPort", 8000 + p}});
    pod["spec"]["containers"].push_back(container);
  }
  return pod;
}

std::shared_ptr<const patch::snapshot> build(const std::string& config, const meshinject::tmpl::eval_limits& limits) {
  patch::config_sources s;
  s.inject_config_text = config;
  s.inject_config_name = "test-config.yaml";
  s.template_limits = limits;
  return patch::snapshot::build(s);
}

json review(patch::engine& e, const json& pod) {
  return mt::run_review(e, mt::make_review(pod, "admission.k8s.io/v1", "uid-1", "default"));
}

void expect_refused_then_served(const std::string& config, const meshinject::tmpl::eval_limits& limits,
                                const json& heavy, const std::string& bound) {
  patch::engine e(build(config, limits));
  const json refused = review(e, heavy);
  EXPECT_EQ(refused["response"]["allowed"], false) << refused.dump();
  const std::string message = refused["response"]["status"]["message"].get<std::string>();
  EXPECT_NE(message.find(bound), std::string::npos) << message;
  // The next, small pod on the same engine is injected.
  const json served = review(e, pod_with(1, 1));
  EXPECT_EQ(served["response"]["allowed"], true) << served.dump();
  EXPECT_TRUE(served["response"].contains("patch")) << served.dump();
}

TEST(template_bounds, steps_on_the_1_1_path) {
  const std::string config = mt::injection_config_text(nested_1_1);
  meshinject::tmpl::eval_limits limits;
  limits.max_steps = 2000;
  // 3 containers x 3 x 2 ports is well inside; 12 x 12 x 10 is past 2000 steps.
  patch::engine within(build(config, limits));
  EXPECT_EQ(review(within, pod_with(3, 2))["response"]["allowed"], true);
  expect_refused_then_served(config, limits, pod_with(12, 10), "bound of 2000 steps for one pod (--max-template-steps)");
}

TEST(template_bounds, steps_on_the_1_28_path) {
  meshinject::tmpl::eval_limits limits;
  limits.max_steps = 2000;
  patch::engine within(build(nested_1_28, limits));
  EXPECT_EQ(review(within, pod_with(3, 2))["response"]["allowed"], true);
  expect_refused_then_served(nested_1_28, limits, pod_with(12, 10),
                             "bound of 2000 steps for one pod (--max-template-steps)");
}

TEST(template_bounds, output_bytes_on_both_paths) {
  meshinject::tmpl::eval_limits limits;
  limits.max_output_bytes = 20'000;
  expect_refused_then_served(mt::injection_config_text(nested_1_1), limits, pod_with(12, 10),
                             "bound of 20000 bytes of output for one pod (--max-patch-bytes)");
  expect_refused_then_served(nested_1_28, limits, pod_with(12, 10),
                             "bound of 20000 bytes of output for one pod (--max-patch-bytes)");
}

TEST(template_bounds, the_whole_patch_is_bounded_too) {
  // A template of about 50 bytes passes a bound of 150 bytes; the patch the engine
  // builds around it (operations, paths, the status annotation) does not.
  meshinject::tmpl::eval_limits limits;
  limits.max_output_bytes = 150;
  const std::string configs[] = {
      mt::injection_config_text("containers:\n- name: istio-proxy\n  image: proxy\n"),
      "policy: enabled\ndefaultTemplates: [s]\ntemplates:\n  s: |\n    spec:\n      containers:\n"
      "      - name: istio-proxy\n        image: proxy\n"};
  for (const std::string& config : configs) {
    patch::engine bounded(build(config, limits));
    for (int round = 0; round < 2; ++round) {  // refused alike twice: nothing left half-done
      const json refused = review(bounded, pod_with(1, 1));
      EXPECT_EQ(refused["response"]["allowed"], false) << refused.dump();
      EXPECT_FALSE(refused["response"].contains("patch")) << refused.dump();
      const std::string message = refused["response"]["status"]["message"].get<std::string>();
      EXPECT_NE(message.find("bytes, past the bound of 150 (--max-patch-bytes)"), std::string::npos) << message;
    }
    patch::engine unbounded(build(config, {}));
    EXPECT_EQ(review(unbounded, pod_with(1, 1))["response"]["allowed"], true);
  }
}

TEST(template_bounds, the_default_bound_refuses_a_pod_built_to_pass_it) {
  // 60 containers of 40 ports each: 60 x 60 x 40 = 144,000 iterations.
  expect_refused_then_served(nested_1_28, {}, pod_with(60, 40), "steps for one pod (--max-template-steps)");
}

// A compiled sidecar's JSON must stay under 8 MiB: a segment holds its text's
// offset and length in 24 bits (patch/sidecar.hpp). With the output bound raised
// past that, a template that renders more is refused at its compile, with a
// message saying why, instead of writing segments whose offsets wrapped.
// A config file holds at most 4 MiB, so the text is a variable of `chunk`
// bytes written `copies` times (under `condition`, when there is one).
std::string config_with_env_of(std::size_t chunk, int copies, const std::string& condition = "") {
  std::string value;
  for (int k = 0; k < copies; ++k) value += "{{ $chunk }}";
  if (!condition.empty()) value = "{{ if " + condition + " }}" + value + "{{ else }}small{{ end }}";
  return mt::injection_config_text("{{ $chunk := \"" + std::string(chunk, 'a') + "\" }}containers:\n"
                                   "- name: istio-proxy\n  image: proxy\n  env:\n  - name: BIG\n"
                                   "    value: \"" + value + "\"\n");
}

meshinject::tmpl::eval_limits past_the_sidecar_bound() {
  meshinject::tmpl::eval_limits limits;
  limits.max_output_bytes = std::size_t{64} << 20;
  return limits;
}

constexpr std::size_t mib = std::size_t{1} << 20;
constexpr const char* const sidecar_too_large = "the rendered sidecar is too large: 8 MiB of JSON text or more";

TEST(template_bounds, a_sidecar_of_8_mib_is_refused_when_the_config_loads) {
  try {
    (void)build(config_with_env_of(mib, 8), past_the_sidecar_bound());
    ADD_FAILURE() << "a template whose sidecar is 8 MiB of JSON loaded";
  } catch (const meshinject::core::config_error& e) {
    EXPECT_NE(std::string(e.what()).find(sidecar_too_large), std::string::npos) << e.what();
  }
  // 4 KiB less, more than the JSON around the value: it loads and injects.
  patch::engine e(build(config_with_env_of(mib - 512, 8), past_the_sidecar_bound()));
  EXPECT_EQ(review(e, pod_with(1, 1))["response"]["allowed"], true);
}

TEST(template_bounds, a_pod_whose_sidecar_is_8_mib_is_refused_and_the_next_is_served) {
  // Only a pod that asks for it gets the large text: the config loads, and the
  // engine compiles that pod's variant on its miss and refuses it.
  const std::string config = config_with_env_of(mib, 9, "eq (annotation .ObjectMeta `big` `no`) `yes`");
  json heavy = pod_with(1, 1);
  heavy["metadata"]["annotations"] = {{"big", "yes"}};
  expect_refused_then_served(config, past_the_sidecar_bound(), heavy, sidecar_too_large);
  // Refused alike a second time: the failed compile left nothing in the cache.
  patch::engine e(build(config, past_the_sidecar_bound()));
  for (int round = 0; round < 2; ++round) EXPECT_EQ(review(e, heavy)["response"]["allowed"], false) << round;
  EXPECT_EQ(e.cached_variants(), 0u);
  EXPECT_EQ(review(e, pod_with(1, 1))["response"]["allowed"], true);
  EXPECT_EQ(e.cached_variants(), 1u);
}

}  // namespace
