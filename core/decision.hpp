#pragma once
// The injection decision: "should this pod get a sidecar, and why?"
//
// decide() is the request-path form: a handful of comparisons over views into
// the parsed request, no allocation, no exceptions. explain_decision() is the
// cold-path form behind `meshinject explain`: it walks the same steps, keeps what
// each one saw, and must reach the same verdict (the conformance test checks it
// on every row of conformance/inject-required.yaml).
//
// Steps, in order (SPEC section 4); the first that decides wins:
//   1. spec.hostNetwork true                      -> skip  (host-network)
//   2. namespace kube-system or kube-public       -> skip  (ignored-namespace)
//   2b. sidecar.istio.io/status written by another injector -> skip (foreign-injection):
//      its status names a revision other than this injector's, or has the newer
//      shape (a `revision` member, Istio >= 1.9) while the config has the 1.1 shape.
//      Rewriting it would replace someone else's proxy; same revision and shape
//      re-inject as before (reinvocation, kube-inject on its own output).
//   3. label sidecar.istio.io/inject if the key is present, else the annotation
//      of the same name, lower-cased: y yes true on -> inject, n no false off ->
//      skip, empty or absent -> go on, anything else -> warn and go on
//   4. first matching neverInjectSelector          -> skip  (never-inject-selector)
//   5. first matching alwaysInjectSelector         -> inject (always-inject-selector)
//   6. policy enabled -> inject, disabled -> skip
//
// A config in Istio >= 1.9's shape (named `templates`) is decided as Istio 1.28's
// injectRequired decides, with the same steps in the same order and two rules
// changed: step 2 also ignores kube-node-lease and local-path-storage, and step 3
// accepts exactly "true" and "false" (case-sensitive; "yes" or "True" is an
// invalid value: warn and go on). The loader picks the dialect from the shape, so
// a cluster moving to today's ConfigMap gets today's rules with it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.hpp"
#include "core/selector.hpp"

namespace meshinject::core {

// The label and annotation key that opts a pod in or out.
inline constexpr std::string_view inject_key = "sidecar.istio.io/inject";

enum class injection_policy_mode : std::uint8_t { enabled, disabled };

// "enabled" or "disabled" (case-sensitive, as Istio); std::nullopt for anything
// else, which the config loader must reject.
std::optional<injection_policy_mode> parse_policy(std::string_view text) noexcept;
std::string_view policy_name(injection_policy_mode mode) noexcept;

enum class decision_reason : std::uint8_t {
  host_network,
  ignored_namespace,
  label_opt_in,
  label_opt_out,
  annotation_opt_in,
  annotation_opt_out,
  never_inject_selector,
  always_inject_selector,
  policy_enabled,
  policy_disabled,
  foreign_injection,
};
inline constexpr std::size_t decision_reason_count = 11;

// Stable kebab-case code for logs, metrics labels, explain and auditAnnotations:
// "host-network", "ignored-namespace", "label-opt-in", "label-opt-out",
// "annotation-opt-in", "annotation-opt-out", "never-inject-selector",
// "always-inject-selector", "policy-enabled", "policy-disabled", "foreign-injection".
std::string_view reason_code(decision_reason reason) noexcept;

// What the decision looks at. Views only: they must outlive the call (and any
// decision that holds ignored_value).
struct pod_facts {
  std::string_view namespace_name;
  bool host_network = false;
  label_set labels;
  label_set annotations;
};

// Whose rules decide: the config's shape chooses (see the top of this file).
enum class decision_dialect : std::uint8_t {
  istio_1_1,   // SPEC section 4, for Istio 1.1-1.8's single-template configs
  istio_1_28,  // Istio 1.28's injectRequired, for configs with named templates
};

// The namespaces step 2 skips, in the order explain lists them.
std::span<const std::string_view> ignored_namespaces(decision_dialect dialect) noexcept;

// The values of sidecar.istio.io/inject that decide, as the warning and explain
// list them: "y, yes, true, on, n, no, false, off" or "true, false".
std::string_view accepted_inject_values(decision_dialect dialect) noexcept;

// The config-derived half of the decision, compiled at load and immutable.
struct injection_rules {
  injection_policy_mode policy = injection_policy_mode::enabled;
  selector_list never_inject;
  selector_list always_inject;
  decision_dialect dialect = decision_dialect::istio_1_1;
  // This injector's revision for the named-templates shape ("default" when none
  // is set): a status annotation naming another one is a foreign injection.
  std::string revision = "default";
};

// The annotation a previous injection left, and what step 2b reads from it.
inline constexpr std::string_view status_key = "sidecar.istio.io/status";

// The top-level "revision" member of a status annotation's JSON object, found
// without parsing the rest (no allocation). `value` is the raw string content
// (escapes left as written). Absent when the text is not an object, has no such
// member, or the member is not a string.
struct status_revision {
  bool present = false;
  std::string_view value;
};
status_revision find_status_revision(std::string_view status_json) noexcept;

struct decision {
  bool inject = false;
  decision_reason reason = decision_reason::policy_disabled;
  int selector_index = -1;  // for never/always_inject_selector: which selector matched

  // Set when sidecar.istio.io/inject held a value that is neither yes-like nor
  // no-like; it was ignored and later steps decided. Views the pod_facts input.
  std::string_view ignored_value;
  bool ignored_value_from_label = false;
  decision_dialect dialect = decision_dialect::istio_1_1;  // which values the warning names

  // reason == foreign_injection: the revision the pod's status names (views the
  // pod_facts input), and this injector's (views the rules).
  std::string_view foreign_revision;
  std::string_view own_revision;

  bool has_warning() const noexcept { return !ignored_value.empty(); }  // the ignored value's
};

decision decide(const pod_facts& pod, const injection_rules& rules) noexcept;

// The AdmissionResponse warning for a decision that ignored an invalid value, or
// "" when there is none. The value is quoted with control characters escaped and
// cut to 63 bytes, so a hostile annotation cannot flood the response.
std::string ignored_value_warning(const decision& d);

// The AdmissionResponse warning for a foreign injection, or "" for any other
// decision. Writes into `out` (cleared first) so the request path can reuse a
// buffer; the pod's revision is quoted and cut like ignored values.
void append_foreign_injection_warning(std::string& out, const decision& d);
std::string foreign_injection_warning(const decision& d);

// One step of explain_decision, shaped so text and JSON renderings are direct:
//   text:  "<name>: <outcome> - <detail>"
//   JSON:  {"step": name, "outcome": outcome_name(result), "detail": detail,
//           "reason": reason_code(*reason), "inject": inject, "matched": *matched}
struct decision_step {
  enum class outcome : std::uint8_t {
    passed,          // looked, did not decide
    decided,         // this step made the decision
    not_applicable,  // nothing to look at (annotation when the label is present, no selectors)
    not_reached,     // after the deciding step; detail still says what it would have seen
  };

  std::string name;    // "hostNetwork", "ignored namespace", "label sidecar.istio.io/inject",
                       // "annotation sidecar.istio.io/inject", "neverInjectSelector[i]",
                       // "alwaysInjectSelector[i]" (no index: one not_applicable step for an
                       // empty list), "policy"
  std::string detail;  // one sentence: what the step saw
  outcome result = outcome::passed;
  bool inject = false;                    // the verdict, when result == decided
  std::optional<decision_reason> reason;  // set when result == decided
  int selector_index = -1;                // selector steps only
  std::optional<bool> matched;            // selector steps only: does the selector match the pod
};

std::string_view outcome_name(decision_step::outcome o) noexcept;  // "passed", "decided",
                                                                   // "not-applicable", "not-reached"

struct explanation {
  std::vector<decision_step> steps;  // every step, in order
  decision verdict;                  // taken from the deciding step, not from decide()
  std::string warning;               // ignored_value_warning or foreign_injection_warning of verdict
};

// Cold path for `meshinject explain`. verdict.ignored_value views `pod`.
explanation explain_decision(const pod_facts& pod, const injection_rules& rules);

}  // namespace meshinject::core
