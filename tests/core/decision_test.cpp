#include "core/decision.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/counting_heap.hpp"

namespace meshinject::core {
namespace {

selector_list selectors(const std::string& yaml) {
  return selector_list::compile(YAML::Load(yaml), "test.yaml", "sel");
}

injection_rules rules(injection_policy_mode policy, const std::string& never = "[]",
                      const std::string& always = "[]") {
  return injection_rules{policy, selectors(never), selectors(always)};
}

// A pod whose views point into its own storage.
struct test_pod {
  std::string ns = "default";
  bool host_network = false;
  std::vector<std::pair<std::string, std::string>> label_kv, annotation_kv;
  std::vector<label> label_views, annotation_views;

  pod_facts facts() {
    label_views.clear();
    annotation_views.clear();
    for (const auto& [k, v] : label_kv) label_views.push_back({k, v});
    for (const auto& [k, v] : annotation_kv) annotation_views.push_back({k, v});
    return pod_facts{ns, host_network, label_views, annotation_views};
  }
};

test_pod with_annotation(std::string value) {
  test_pod p;
  p.annotation_kv = {{"other", "x"}, {std::string(inject_key), std::move(value)}};
  return p;
}
test_pod with_label(std::string value) {
  test_pod p;
  p.label_kv = {{"app", "web"}, {std::string(inject_key), std::move(value)}};
  return p;
}

constexpr auto enabled = injection_policy_mode::enabled;
constexpr auto disabled = injection_policy_mode::disabled;

TEST(parse_policy, only_exact_enabled_and_disabled) {
  EXPECT_EQ(parse_policy("enabled"), enabled);
  EXPECT_EQ(parse_policy("disabled"), disabled);
  for (const char* bad : {"", "Enabled", "DISABLED", "enabled ", "wrong_policy", "true", "on"})
    EXPECT_EQ(parse_policy(bad), std::nullopt) << bad;
  EXPECT_EQ(policy_name(enabled), "enabled");
  EXPECT_EQ(policy_name(disabled), "disabled");
}

TEST(reason_code, every_reason_has_a_distinct_kebab_case_code) {
  const std::vector<std::string_view> want = {
      "host-network",      "ignored-namespace",  "label-opt-in",          "label-opt-out",
      "annotation-opt-in", "annotation-opt-out", "never-inject-selector", "always-inject-selector",
      "policy-enabled",    "policy-disabled",    "foreign-injection"};
  ASSERT_EQ(want.size(), decision_reason_count);
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < decision_reason_count; ++i) {
    std::string_view code = reason_code(static_cast<decision_reason>(i));
    EXPECT_EQ(code, want[i]);
    seen.insert(code);
  }
  EXPECT_EQ(seen.size(), decision_reason_count);
}

TEST(decide, host_network_skips_before_anything_else) {
  test_pod p = with_label("true");
  p.host_network = true;
  p.ns = "kube-system";
  decision d = decide(p.facts(), rules(enabled, "[]", "[{matchLabels: {app: web}}]"));
  EXPECT_FALSE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::host_network);
  EXPECT_EQ(d.selector_index, -1);
}

TEST(decide, ignored_namespaces_skip_even_opted_in_pods) {
  for (const char* ns : {"kube-system", "kube-public"}) {
    test_pod p = with_annotation("true");
    p.ns = ns;
    decision d = decide(p.facts(), rules(enabled));
    EXPECT_FALSE(d.inject) << ns;
    EXPECT_EQ(d.reason, decision_reason::ignored_namespace) << ns;
  }
  // Only those two: upstream's longer list is not ours.
  for (const char* ns : {"kube-node-lease", "local-path-storage", "kube-systemx", "Kube-System", ""}) {
    test_pod p;
    p.ns = ns;
    EXPECT_EQ(decide(p.facts(), rules(enabled)).reason, decision_reason::policy_enabled) << ns;
  }
}

TEST(decide, label_and_annotation_opt_in_and_out) {
  struct row {
    test_pod pod;
    injection_policy_mode policy;
    bool inject;
    decision_reason reason;
  };
  std::vector<row> rows = {
      {with_label("true"), disabled, true, decision_reason::label_opt_in},
      {with_label("false"), enabled, false, decision_reason::label_opt_out},
      {with_annotation("true"), disabled, true, decision_reason::annotation_opt_in},
      {with_annotation("false"), enabled, false, decision_reason::annotation_opt_out},
  };
  for (row& r : rows) {
    decision d = decide(r.pod.facts(), rules(r.policy));
    EXPECT_EQ(d.inject, r.inject) << reason_code(r.reason);
    EXPECT_EQ(d.reason, r.reason) << reason_code(d.reason);
    EXPECT_FALSE(d.has_warning());
  }
}

TEST(decide, values_are_case_insensitive) {
  for (const char* yes : {"y", "Y", "yes", "YES", "Yes", "yEs", "true", "TRUE", "True", "on", "ON", "oN"}) {
    EXPECT_EQ(decide(with_annotation(yes).facts(), rules(disabled)).reason,
              decision_reason::annotation_opt_in)
        << yes;
    EXPECT_EQ(decide(with_label(yes).facts(), rules(disabled)).reason, decision_reason::label_opt_in) << yes;
  }
  for (const char* no :
       {"n", "N", "no", "NO", "No", "false", "FALSE", "False", "fAlSe", "off", "OFF", "Off"}) {
    EXPECT_EQ(decide(with_annotation(no).facts(), rules(enabled)).reason, decision_reason::annotation_opt_out)
        << no;
    EXPECT_EQ(decide(with_label(no).facts(), rules(enabled)).reason, decision_reason::label_opt_out) << no;
  }
}

TEST(decide, label_wins_over_annotation) {
  test_pod p = with_label("false");
  p.annotation_kv = {{std::string(inject_key), "true"}};
  decision d = decide(p.facts(), rules(enabled));
  EXPECT_FALSE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::label_opt_out);

  p = with_label("true");
  p.annotation_kv = {{std::string(inject_key), "false"}};
  d = decide(p.facts(), rules(disabled));
  EXPECT_TRUE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::label_opt_in);
}

TEST(decide, a_present_label_hides_the_annotation_even_when_empty_or_invalid) {
  // inject-required.yaml: "value = label if the label key is present, else annotation".
  test_pod p = with_label("");
  p.annotation_kv = {{std::string(inject_key), "false"}};
  decision d = decide(p.facts(), rules(enabled));
  EXPECT_TRUE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::policy_enabled);
  EXPECT_FALSE(d.has_warning());

  p = with_label("maybe");
  p.annotation_kv = {{std::string(inject_key), "true"}};
  d = decide(p.facts(), rules(disabled));
  EXPECT_FALSE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::policy_disabled);
  EXPECT_EQ(d.ignored_value, "maybe");
  EXPECT_TRUE(d.ignored_value_from_label);
}

TEST(decide, empty_values_leave_the_choice_to_selectors_and_policy) {
  EXPECT_EQ(decide(with_annotation("").facts(), rules(enabled)).reason, decision_reason::policy_enabled);
  EXPECT_EQ(decide(with_annotation("").facts(), rules(disabled)).reason, decision_reason::policy_disabled);
  EXPECT_FALSE(decide(with_annotation("").facts(), rules(enabled)).has_warning());
}

TEST(decide, invalid_values_warn_and_fall_through) {
  for (const char* bad : {"maybe", "random", "1", "0", "t", "f", "yess", "truee", " true", "true ", "enabled",
                          "nope", "\xc3\xa9"}) {
    test_pod p = with_annotation(bad);  // the decision views the pod: keep it alive
    decision d = decide(p.facts(), rules(enabled));
    EXPECT_TRUE(d.inject) << bad;
    EXPECT_EQ(d.reason, decision_reason::policy_enabled) << bad;
    EXPECT_EQ(d.ignored_value, bad);
    EXPECT_FALSE(d.ignored_value_from_label);

    d = decide(p.facts(), rules(disabled, "[]", "[{matchLabels: {other: x}}]"));
    EXPECT_FALSE(d.inject) << bad;  // selectors match labels, not annotations
    EXPECT_EQ(d.reason, decision_reason::policy_disabled);
    EXPECT_TRUE(d.has_warning());
  }
  // The warning survives a selector decision too.
  test_pod p = with_label("maybe");
  decision d = decide(p.facts(), rules(disabled, "[{matchLabels: {app: web}}]"));
  EXPECT_EQ(d.reason, decision_reason::never_inject_selector);
  EXPECT_EQ(d.ignored_value, "maybe");
  EXPECT_TRUE(d.ignored_value_from_label);
}

TEST(decide, no_warning_when_an_earlier_step_decides) {
  test_pod p = with_annotation("maybe");
  p.host_network = true;
  EXPECT_FALSE(decide(p.facts(), rules(enabled)).has_warning());
  p.host_network = false;
  p.ns = "kube-public";
  EXPECT_FALSE(decide(p.facts(), rules(enabled)).has_warning());
}

TEST(ignored_value_warning, text_names_the_source_and_value) {
  test_pod p = with_annotation("maybe");
  decision d = decide(p.facts(), rules(enabled));
  EXPECT_EQ(
      ignored_value_warning(d),
      "sidecar.istio.io/inject annotation value \"maybe\" is not one of y, yes, true, on, n, no, false, off; "
      "it is ignored and the selectors and policy decide");
  p = with_label("random");
  d = decide(p.facts(), rules(enabled));
  EXPECT_EQ(ignored_value_warning(d).rfind("sidecar.istio.io/inject label value \"random\" is not one of", 0),
            0u);
  p = with_annotation("true");
  d = decide(p.facts(), rules(enabled));
  EXPECT_EQ(ignored_value_warning(d), "");
}

TEST(ignored_value_warning, hostile_values_are_escaped_and_bounded) {
  test_pod hostile = with_annotation("a\"b\\c\nd");
  decision d = decide(hostile.facts(), rules(enabled));
  EXPECT_NE(ignored_value_warning(d).find("value \"a\\\"b\\\\c\\x0ad\" is not"), std::string::npos)
      << ignored_value_warning(d);

  // 62 ASCII bytes then a two-byte character straddling the 63-byte cut.
  std::string long_value = std::string(62, 'x') + "\xc3\xa9" + std::string(10000, 'y');
  test_pod p = with_annotation(long_value);
  d = decide(p.facts(), rules(enabled));
  std::string w = ignored_value_warning(d);
  EXPECT_NE(w.find("value \"" + std::string(62, 'x') + "...\" is not"), std::string::npos) << w;
  EXPECT_LT(w.size(), 256u);
}

TEST(decide, never_selector_skips_with_its_index) {
  test_pod p;
  p.label_kv = {{"app", "web"}, {"tier", "b"}};
  injection_rules r =
      rules(enabled,
            "[{matchLabels: {app: db}}, {matchExpressions: [{key: tier, operator: In, values: [a, b]}]},"
            " {matchLabels: {app: web}}]");
  decision d = decide(p.facts(), r);
  EXPECT_FALSE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::never_inject_selector);
  EXPECT_EQ(d.selector_index, 1);
}

TEST(decide, always_selector_injects_with_its_index) {
  test_pod p;
  p.label_kv = {{"app", "web"}};
  decision d =
      decide(p.facts(), rules(disabled, "[]", "[{matchLabels: {app: db}}, {matchLabels: {app: web}}]"));
  EXPECT_TRUE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::always_inject_selector);
  EXPECT_EQ(d.selector_index, 1);
}

TEST(decide, never_beats_always_and_explicit_choice_beats_both) {
  test_pod p;
  p.label_kv = {{"app", "web"}};
  const std::string sel = "[{matchLabels: {app: web}}]";
  decision d = decide(p.facts(), rules(disabled, sel, sel));
  EXPECT_EQ(d.reason, decision_reason::never_inject_selector);
  EXPECT_EQ(d.selector_index, 0);

  p.annotation_kv = {{std::string(inject_key), "yes"}};
  d = decide(p.facts(), rules(disabled, sel, sel));
  EXPECT_TRUE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::annotation_opt_in);
  EXPECT_EQ(d.selector_index, -1);

  p.annotation_kv = {{std::string(inject_key), "off"}};
  d = decide(p.facts(), rules(enabled, "[]", sel));
  EXPECT_FALSE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::annotation_opt_out);
}

TEST(decide, selectors_see_labels_not_annotations) {
  test_pod p;
  p.annotation_kv = {{"app", "web"}};
  decision d = decide(p.facts(), rules(enabled, "[{matchLabels: {app: web}}]"));
  EXPECT_EQ(d.reason, decision_reason::policy_enabled);
}

TEST(decide, policy_decides_last) {
  test_pod p;
  decision d = decide(p.facts(), rules(enabled, "[{matchLabels: {app: x}}]", "[{matchLabels: {app: z}}]"));
  EXPECT_TRUE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::policy_enabled);
  EXPECT_EQ(d.selector_index, -1);
  d = decide(p.facts(), rules(disabled));
  EXPECT_FALSE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::policy_disabled);
}

// ---- explain ---------------------------------------------------------------

std::vector<std::string> names(const explanation& e) {
  std::vector<std::string> out;
  for (const decision_step& s : e.steps) out.push_back(s.name);
  return out;
}

TEST(explain_decision, lists_every_step_in_order_and_marks_the_decider) {
  test_pod p;
  p.label_kv = {{"app", "web"}, {"tier", "a"}};
  injection_rules r =
      rules(disabled, "[{matchLabels: {app: db}}]",
            "[{matchExpressions: [{key: tier, operator: In, values: [a, b]}]}, {matchLabels: {app: web}}]");
  explanation e = explain_decision(p.facts(), r);
  EXPECT_EQ(names(e),
            (std::vector<std::string>{"hostNetwork", "ignored namespace", "label sidecar.istio.io/inject",
                                      "annotation sidecar.istio.io/inject", "neverInjectSelector[0]",
                                      "alwaysInjectSelector[0]", "alwaysInjectSelector[1]", "policy"}));
  using o = decision_step::outcome;
  std::vector<o> outcomes;
  for (const decision_step& s : e.steps) outcomes.push_back(s.result);
  EXPECT_EQ(outcomes, (std::vector<o>{o::passed, o::passed, o::passed, o::passed, o::passed, o::decided,
                                      o::not_reached, o::not_reached}));
  EXPECT_EQ(e.steps[4].detail, "matchLabels{app=db}: does not match");
  EXPECT_EQ(e.steps[4].matched, false);
  EXPECT_EQ(e.steps[5].detail, "matchExpressions{tier In (a,b)}: matches");
  EXPECT_EQ(e.steps[5].reason, decision_reason::always_inject_selector);
  EXPECT_TRUE(e.steps[5].inject);
  EXPECT_EQ(e.steps[5].selector_index, 0);
  EXPECT_EQ(e.steps[6].matched, true);  // would match, but the decision was already made
  EXPECT_EQ(e.steps[7].reason, std::nullopt);
  EXPECT_EQ(e.steps[2].detail, "absent");
  EXPECT_TRUE(e.verdict.inject);
  EXPECT_EQ(e.verdict.reason, decision_reason::always_inject_selector);
  EXPECT_EQ(e.verdict.selector_index, 0);
  EXPECT_EQ(e.warning, "");
}

TEST(explain_decision, without_selectors_and_with_a_present_label) {
  test_pod p = with_label("maybe");
  p.annotation_kv = {{std::string(inject_key), "true"}};
  explanation e = explain_decision(p.facts(), rules(enabled));
  ASSERT_EQ(e.steps.size(), 7u);
  using o = decision_step::outcome;
  EXPECT_EQ(e.steps[3].name, "annotation sidecar.istio.io/inject");
  EXPECT_EQ(e.steps[3].result, o::not_applicable);
  EXPECT_EQ(e.steps[4].name, "neverInjectSelector");
  EXPECT_EQ(e.steps[4].result, o::not_applicable);
  EXPECT_EQ(e.steps[4].detail, "none configured");
  EXPECT_EQ(e.steps[5].name, "alwaysInjectSelector");
  EXPECT_EQ(e.steps[6].result, o::decided);
  EXPECT_EQ(e.steps[6].detail, "policy is enabled");
  EXPECT_NE(e.steps[2].detail.find("\"maybe\""), std::string::npos);
  EXPECT_EQ(e.verdict.reason, decision_reason::policy_enabled);
  EXPECT_EQ(e.verdict.ignored_value, "maybe");
  EXPECT_EQ(e.warning, ignored_value_warning(decide(p.facts(), rules(enabled))));
  EXPECT_FALSE(e.warning.empty());
}

TEST(explain_decision, host_network_decides_and_the_rest_is_not_reached) {
  test_pod p = with_annotation("maybe");
  p.host_network = true;
  explanation e = explain_decision(p.facts(), rules(enabled));
  EXPECT_EQ(e.steps[0].result, decision_step::outcome::decided);
  EXPECT_EQ(e.steps[0].reason, decision_reason::host_network);
  for (std::size_t i = 1; i < e.steps.size(); ++i)
    EXPECT_EQ(e.steps[i].result, decision_step::outcome::not_reached) << e.steps[i].name;
  EXPECT_EQ(e.warning, "");  // decide() never looked at the annotation
}

TEST(explain_decision, outcome_names) {
  EXPECT_EQ(outcome_name(decision_step::outcome::passed), "passed");
  EXPECT_EQ(outcome_name(decision_step::outcome::decided), "decided");
  EXPECT_EQ(outcome_name(decision_step::outcome::not_applicable), "not-applicable");
  EXPECT_EQ(outcome_name(decision_step::outcome::not_reached), "not-reached");
}

// ---- the hot path does not allocate ----------------------------------------

TEST(decide, does_not_allocate) {
  // The counter must actually see allocations, or a zero below proves nothing.
  namespace heap = test::counting_heap;
  {
    heap::scope counting;
    std::string probe(100, 'x');
    EXPECT_EQ(probe.size(), 100u);
  }
  ASSERT_GT(heap::calls(), 0u);

  injection_rules r =
      rules(disabled,
            "[{matchLabels: {app: db}}, {matchExpressions: [{key: tier, operator: NotIn, values: [a, b]},"
            " {key: canary, operator: Exists}]}]",
            "[{matchExpressions: [{key: app, operator: In, values: [web, api]}]}]");
  std::vector<test_pod> pods;
  pods.push_back(with_label("maybe"));
  pods.push_back(with_annotation("TRUE"));
  pods.push_back(with_annotation("random-value-that-is-long-enough-to-matter"));
  pods.emplace_back().label_kv = {{"app", "db"}};
  pods.emplace_back().label_kv = {{"tier", "c"}, {"canary", ""}};
  pods.emplace_back().host_network = true;
  pods.emplace_back().ns = "kube-system";
  pods.emplace_back().annotation_kv = {{std::string(status_key), R"({"containers":["istio-proxy"],"revision":"x"})"}};
  std::vector<pod_facts> facts;
  for (test_pod& p : pods) facts.push_back(p.facts());

  // 1000 rounds over every pod, counting heap calls; returns the pods injected.
  const auto decide_rounds = [&] {
    int injected = 0;
    heap::scope counting;
    for (int round = 0; round < 1000; ++round)
      for (const pod_facts& f : facts) injected += decide(f, r).inject ? 1 : 0;
    return injected;
  };
  EXPECT_EQ(decide_rounds(), 2000);  // with_label("maybe") via always (app=web), and "TRUE"
  EXPECT_EQ(heap::calls(), 0u);

  // Istio 1.28's rules walk the same steps without allocating either.
  r.dialect = decision_dialect::istio_1_28;
  EXPECT_EQ(decide_rounds(), 1000);  // "TRUE" is not a 1.28 value: only with_label("maybe") via always
  EXPECT_EQ(heap::calls(), 0u);
}

// ---- Istio 1.28's injectRequired, for configs with named templates ---------

injection_rules rules_1_28(injection_policy_mode policy, const std::string& never = "[]",
                           const std::string& always = "[]") {
  injection_rules r = rules(policy, never, always);
  r.dialect = decision_dialect::istio_1_28;
  return r;
}

TEST(decide_1_28, ignores_the_four_namespaces_of_istio_1_28) {
  for (const char* ns : {"kube-system", "kube-public", "kube-node-lease", "local-path-storage"}) {
    test_pod p = with_label("true");
    p.ns = ns;
    decision d = decide(p.facts(), rules_1_28(enabled));
    EXPECT_FALSE(d.inject) << ns;
    EXPECT_EQ(d.reason, decision_reason::ignored_namespace) << ns;
  }
  for (const char* ns : {"default", "kube-node-leasex", "Local-Path-Storage", ""}) {
    test_pod p;
    p.ns = ns;
    EXPECT_EQ(decide(p.facts(), rules_1_28(enabled)).reason, decision_reason::policy_enabled) << ns;
  }
  EXPECT_EQ(ignored_namespaces(decision_dialect::istio_1_28).size(), 4u);
  EXPECT_EQ(ignored_namespaces(decision_dialect::istio_1_1).size(), 2u);
}

TEST(decide_1_28, host_network_still_comes_first) {
  test_pod p = with_label("true");
  p.host_network = true;
  EXPECT_EQ(decide(p.facts(), rules_1_28(enabled)).reason, decision_reason::host_network);
}

TEST(decide_1_28, only_exact_true_and_false_decide) {
  EXPECT_EQ(decide(with_label("true").facts(), rules_1_28(disabled)).reason, decision_reason::label_opt_in);
  EXPECT_EQ(decide(with_label("false").facts(), rules_1_28(enabled)).reason, decision_reason::label_opt_out);
  EXPECT_EQ(decide(with_annotation("true").facts(), rules_1_28(disabled)).reason,
            decision_reason::annotation_opt_in);
  EXPECT_EQ(decide(with_annotation("false").facts(), rules_1_28(enabled)).reason,
            decision_reason::annotation_opt_out);
  // What SPEC section 4 accepts for 1.1 configs is an invalid value here: warn, then policy.
  for (const char* other : {"y", "yes", "on", "n", "no", "off", "True", "TRUE", "False", "enabled", "1"}) {
    test_pod p = with_annotation(other);
    decision d = decide(p.facts(), rules_1_28(enabled));
    EXPECT_TRUE(d.inject) << other;
    EXPECT_EQ(d.reason, decision_reason::policy_enabled) << other;
    EXPECT_EQ(d.ignored_value, other);
    d = decide(p.facts(), rules_1_28(disabled));
    EXPECT_FALSE(d.inject) << other;
    EXPECT_EQ(d.reason, decision_reason::policy_disabled) << other;
  }
}

TEST(decide_1_28, a_present_label_hides_the_annotation) {
  test_pod p = with_label("");
  p.annotation_kv = {{std::string(inject_key), "false"}};
  EXPECT_EQ(decide(p.facts(), rules_1_28(enabled)).reason, decision_reason::policy_enabled);
  p = with_label("false");
  p.annotation_kv = {{std::string(inject_key), "true"}};
  EXPECT_EQ(decide(p.facts(), rules_1_28(enabled)).reason, decision_reason::label_opt_out);
}

TEST(decide_1_28, selectors_then_policy_as_before) {
  test_pod p = with_label("maybe");  // app=web
  decision d = decide(p.facts(), rules_1_28(enabled, "[{matchLabels: {app: web}}]", "[{matchLabels: {app: web}}]"));
  EXPECT_EQ(d.reason, decision_reason::never_inject_selector);
  EXPECT_EQ(d.ignored_value, "maybe");
  d = decide(p.facts(), rules_1_28(disabled, "[]", "[{matchLabels: {app: web}}]"));
  EXPECT_EQ(d.reason, decision_reason::always_inject_selector);
  EXPECT_TRUE(d.inject);
  // An explicit "true" beats a matching never selector, as upstream's useDefault does.
  p = with_label("true");
  EXPECT_EQ(decide(p.facts(), rules_1_28(enabled, "[{matchLabels: {app: web}}]")).reason,
            decision_reason::label_opt_in);
}

TEST(decide_1_28, the_warning_names_the_values_1_28_accepts) {
  test_pod p = with_annotation("yes");
  const std::string w = ignored_value_warning(decide(p.facts(), rules_1_28(enabled)));
  EXPECT_EQ(w,
            "sidecar.istio.io/inject annotation value \"yes\" is not one of true, false; it is ignored and the "
            "selectors and policy decide");
}

TEST(explain_decision_1_28, agrees_with_decide_and_lists_the_1_28_namespaces) {
  test_pod p = with_label("yes");
  p.ns = "local-path-storage";
  explanation e = explain_decision(p.facts(), rules_1_28(enabled));
  EXPECT_EQ(e.steps[1].detail,
            "namespace \"local-path-storage\" is ignored (ignored: kube-system, kube-public, kube-node-lease, "
            "local-path-storage)");
  EXPECT_EQ(e.verdict.reason, decision_reason::ignored_namespace);

  p.ns = "shop";
  e = explain_decision(p.facts(), rules_1_28(disabled));
  EXPECT_EQ(e.verdict.reason, decide(p.facts(), rules_1_28(disabled)).reason);
  EXPECT_EQ(e.verdict.reason, decision_reason::policy_disabled);
  EXPECT_NE(e.steps[2].detail.find("is not one of true, false"), std::string::npos) << e.steps[2].detail;
  EXPECT_EQ(e.warning, ignored_value_warning(decide(p.facts(), rules_1_28(disabled))));
}

}  // namespace
}  // namespace meshinject::core

// ---- step 2b: injections by another revision or a newer config shape -------

namespace meshinject::core {
namespace {

constexpr const char* status_1_1 =
    R"({"version":"abc","initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["istio-envoy"],"imagePullSecrets":null})";
constexpr const char* status_1_28 =
    R"({"initContainers":["istio-init","istio-proxy"],"containers":null,"volumes":["istio-envoy"],"imagePullSecrets":null,"revision":"default"})";

test_pod injected_by(std::string status, std::string inject_label = "") {
  test_pod p;
  p.annotation_kv = {{std::string(status_key), std::move(status)}};
  if (!inject_label.empty()) p.label_kv = {{std::string(inject_key), std::move(inject_label)}};
  return p;
}

TEST(find_status_revision, reads_the_top_level_member_only) {
  EXPECT_FALSE(find_status_revision(status_1_1).present);
  const status_revision r = find_status_revision(status_1_28);
  EXPECT_TRUE(r.present);
  EXPECT_EQ(r.value, "default");
  EXPECT_EQ(find_status_revision(R"( { "revision" : "canary" } )").value, "canary");
  // Nested or quoted "revision" is not the member.
  EXPECT_FALSE(find_status_revision(R"({"x":{"revision":"a"},"y":["\"revision\":\"b\""]})").present);
  EXPECT_EQ(find_status_revision(R"({"x":{"revision":"a"},"revision":"c"})").value, "c");
  EXPECT_EQ(find_status_revision(R"({"a\"b":"}","revision":"c"})").value, "c");
  for (const char* bad : {"", "null", "[]", R"({"revision":null})", R"({"revision":1})", R"({"revision":"unterminated)",
                          R"({"x":[1,2)", "{\"x\"", "{\"x\":"})
    EXPECT_FALSE(find_status_revision(bad).present) << bad;
}

TEST(decide_foreign, a_1_28_injection_is_not_rewritten_by_a_1_1_config) {
  test_pod p = injected_by(status_1_28);
  decision d = decide(p.facts(), rules(enabled));
  EXPECT_FALSE(d.inject);
  EXPECT_EQ(d.reason, decision_reason::foreign_injection);
  EXPECT_EQ(d.foreign_revision, "default");
  EXPECT_EQ(foreign_injection_warning(d),
            "sidecar.istio.io/status names revision \"default\": injected from a newer config shape (named "
            "templates) than the loaded Istio 1.1-style config; not re-injected");
  // An explicit opt-in does not make it ours.
  p = injected_by(status_1_28, "true");
  EXPECT_EQ(decide(p.facts(), rules(enabled)).reason, decision_reason::foreign_injection);
  // Earlier steps still come first.
  p.host_network = true;
  EXPECT_EQ(decide(p.facts(), rules(enabled)).reason, decision_reason::host_network);
}

TEST(decide_foreign, same_shape_and_revision_reinject_as_before) {
  test_pod p = injected_by(status_1_1);
  EXPECT_EQ(decide(p.facts(), rules(enabled)).reason, decision_reason::policy_enabled);
  EXPECT_EQ(decide(p.facts(), rules_1_28(enabled)).reason, decision_reason::policy_enabled);  // an upgrade
  p = injected_by(status_1_28);
  EXPECT_EQ(decide(p.facts(), rules_1_28(enabled)).reason, decision_reason::policy_enabled);
  test_pod garbled = injected_by("not json");
  EXPECT_EQ(decide(garbled.facts(), rules(enabled)).reason, decision_reason::policy_enabled);
}

TEST(decide_foreign, another_revision_is_foreign) {
  test_pod p = injected_by(status_1_28);
  injection_rules r = rules_1_28(enabled);
  r.revision = "canary";
  const decision d = decide(p.facts(), r);
  EXPECT_EQ(d.reason, decision_reason::foreign_injection);
  EXPECT_EQ(d.own_revision, "canary");
  EXPECT_EQ(foreign_injection_warning(d),
            "sidecar.istio.io/status names revision \"default\", not this injector's revision \"canary\"; not "
            "re-injected");
  EXPECT_EQ(foreign_injection_warning(decide(injected_by(status_1_1).facts(), r)), "");
}

TEST(explain_decision_foreign, lists_the_previous_injection_and_agrees_with_decide) {
  test_pod p = injected_by(status_1_28);
  explanation e = explain_decision(p.facts(), rules(enabled));
  EXPECT_EQ(names(e), (std::vector<std::string>{"hostNetwork", "ignored namespace", "previous injection",
                                                "label sidecar.istio.io/inject",
                                                "annotation sidecar.istio.io/inject", "neverInjectSelector",
                                                "alwaysInjectSelector", "policy"}));
  EXPECT_EQ(e.steps[2].result, decision_step::outcome::decided);
  EXPECT_EQ(e.verdict.reason, decision_reason::foreign_injection);
  EXPECT_EQ(e.warning, foreign_injection_warning(decide(p.facts(), rules(enabled))));
  p = injected_by(status_1_28);
  e = explain_decision(p.facts(), rules_1_28(enabled));
  EXPECT_EQ(e.steps[2].result, decision_step::outcome::passed);
  EXPECT_EQ(e.steps[2].detail, "injected by this revision (\"default\"): re-injected");
  EXPECT_EQ(e.verdict.reason, decision_reason::policy_enabled);
  EXPECT_EQ(e.warning, "");
}

}  // namespace
}  // namespace meshinject::core
