#include "core/decision.hpp"

#include <array>

#include "core/json_text.hpp"

namespace meshinject::core {

namespace {

constexpr std::string_view istio_1_1_ignored[] = {"kube-system", "kube-public"};
// Istio 1.28's IgnoredNamespaces (pkg/kube/inject/initializer.go): node leases and
// kind's local-path provisioner are never meshed either.
constexpr std::string_view istio_1_28_ignored[] = {"kube-system", "kube-public", "kube-node-lease",
                                                   "local-path-storage"};

bool is_ignored_namespace(std::string_view ns, decision_dialect dialect) noexcept {
  for (std::string_view ignored : ignored_namespaces(dialect))
    if (ns == ignored) return true;
  return false;
}

enum class choice : std::uint8_t { opt_in, opt_out, none, invalid };

// Istio 1.28 compares the value with "true" and "false" as they are.
choice classify_exact(std::string_view value) noexcept {
  if (value.empty()) return choice::none;
  if (value == "true") return choice::opt_in;
  if (value == "false") return choice::opt_out;
  return choice::invalid;
}

// Lower-cases at most five bytes into a stack buffer: the longest accepted word
// is "false", so anything longer is invalid without looking further.
choice classify(std::string_view value, decision_dialect dialect) noexcept {
  if (dialect == decision_dialect::istio_1_28) return classify_exact(value);
  if (value.empty()) return choice::none;
  if (value.size() > 5) return choice::invalid;
  std::array<char, 5> buf{};
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view v(buf.data(), value.size());
  if (v == "y" || v == "yes" || v == "true" || v == "on") return choice::opt_in;
  if (v == "n" || v == "no" || v == "false" || v == "off") return choice::opt_out;
  return choice::invalid;
}

// Pod data quoted for human text, cut on a UTF-8 boundary when long: a label
// value is at most 63 bytes, so more than that is already suspect.
std::string quote_value(std::string_view value, std::size_t max_bytes = 63) {
  return quote_for_humans(value, max_bytes);
}

// "namespace \"x\" is ignored (ignored: kube-system, kube-public)" and the like.
std::string ignored_namespace_detail(std::string_view ns, decision_dialect dialect) {
  std::string detail = "namespace " + quote_value(ns, 253) +
                       (is_ignored_namespace(ns, dialect) ? " is ignored" : " is not ignored") + " (ignored: ";
  const auto list = ignored_namespaces(dialect);
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i > 0) detail += ", ";
    detail += list[i];
  }
  return detail + ")";
}


// JSON text scanning for find_status_revision: each returns the index just past
// what it skipped, or npos when the text ends first.
constexpr std::size_t npos = std::string_view::npos;

std::size_t skip_space(std::string_view s, std::size_t i) noexcept {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// s[i] is the opening quote.
std::size_t skip_string(std::string_view s, std::size_t i) noexcept {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '"') return i + 1;
  }
  return npos;
}

// Any value: a string, a nested object or array (strings inside may hold
// brackets), or a bare literal up to the next delimiter.
std::size_t skip_value(std::string_view s, std::size_t i) noexcept {
  if (i >= s.size()) return npos;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    std::size_t depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        if (i == npos) return npos;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return npos;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;
  return i;
}

// Step 2b: a status annotation some other injector wrote.
bool is_foreign_injection(const pod_facts& pod, const injection_rules& rules, decision& d) noexcept {
  const label* status = find_label(pod.annotations, status_key);
  if (status == nullptr) return false;
  const status_revision found = find_status_revision(status->value);
  if (!found.present) return false;  // the 1.1 shape: any config may re-inject it
  if (rules.dialect == decision_dialect::istio_1_28 && found.value == rules.revision) return false;
  d.foreign_revision = found.value;
  d.own_revision = rules.dialect == decision_dialect::istio_1_28 ? std::string_view(rules.revision)
                                                                  : std::string_view();
  return true;
}

}  // namespace

status_revision find_status_revision(std::string_view s) noexcept {
  std::size_t i = skip_space(s, 0);
  if (i >= s.size() || s[i] != '{') return {};
  i = skip_space(s, i + 1);
  while (i < s.size() && s[i] == '"') {
    const std::size_t key_end = skip_string(s, i);
    if (key_end == npos) return {};
    const std::string_view key = s.substr(i + 1, key_end - i - 2);
    i = skip_space(s, key_end);
    if (i >= s.size() || s[i] != ':') return {};
    i = skip_space(s, i + 1);
    if (key == "revision") {
      if (i >= s.size() || s[i] != '"') return {};
      const std::size_t value_end = skip_string(s, i);
      if (value_end == npos) return {};
      return {true, s.substr(i + 1, value_end - i - 2)};
    }
    i = skip_value(s, i);
    if (i == npos) return {};
    i = skip_space(s, i);
    if (i < s.size() && s[i] == ',') i = skip_space(s, i + 1);
  }
  return {};
}

std::span<const std::string_view> ignored_namespaces(decision_dialect dialect) noexcept {
  if (dialect == decision_dialect::istio_1_28) return istio_1_28_ignored;
  return istio_1_1_ignored;
}

std::string_view accepted_inject_values(decision_dialect dialect) noexcept {
  if (dialect == decision_dialect::istio_1_28) return "true, false";
  return "y, yes, true, on, n, no, false, off";
}

std::optional<injection_policy_mode> parse_policy(std::string_view text) noexcept {
  if (text == "enabled") return injection_policy_mode::enabled;
  if (text == "disabled") return injection_policy_mode::disabled;
  return std::nullopt;
}

std::string_view policy_name(injection_policy_mode mode) noexcept {
  return mode == injection_policy_mode::enabled ? "enabled" : "disabled";
}

std::string_view reason_code(decision_reason reason) noexcept {
  switch (reason) {
    case decision_reason::host_network:
      return "host-network";
    case decision_reason::ignored_namespace:
      return "ignored-namespace";
    case decision_reason::label_opt_in:
      return "label-opt-in";
    case decision_reason::label_opt_out:
      return "label-opt-out";
    case decision_reason::annotation_opt_in:
      return "annotation-opt-in";
    case decision_reason::annotation_opt_out:
      return "annotation-opt-out";
    case decision_reason::never_inject_selector:
      return "never-inject-selector";
    case decision_reason::always_inject_selector:
      return "always-inject-selector";
    case decision_reason::policy_enabled:
      return "policy-enabled";
    case decision_reason::policy_disabled:
      return "policy-disabled";
    case decision_reason::foreign_injection:
      return "foreign-injection";
  }
  return "unknown";
}

decision decide(const pod_facts& pod, const injection_rules& rules) noexcept {
  decision d;
  d.dialect = rules.dialect;
  if (pod.host_network) {
    d.reason = decision_reason::host_network;
    return d;
  }
  if (is_ignored_namespace(pod.namespace_name, rules.dialect)) {
    d.reason = decision_reason::ignored_namespace;
    return d;
  }
  if (is_foreign_injection(pod, rules, d)) {
    d.reason = decision_reason::foreign_injection;
    return d;
  }

  const label* explicit_choice = find_label(pod.labels, inject_key);
  const bool from_label = explicit_choice != nullptr;
  if (!from_label) explicit_choice = find_label(pod.annotations, inject_key);
  if (explicit_choice != nullptr) {
    switch (classify(explicit_choice->value, rules.dialect)) {
      case choice::opt_in:
        d.inject = true;
        d.reason = from_label ? decision_reason::label_opt_in : decision_reason::annotation_opt_in;
        return d;
      case choice::opt_out:
        d.reason = from_label ? decision_reason::label_opt_out : decision_reason::annotation_opt_out;
        return d;
      case choice::invalid:
        d.ignored_value = explicit_choice->value;
        d.ignored_value_from_label = from_label;
        break;
      case choice::none:
        break;
    }
  }

  if (int i = rules.never_inject.first_match(pod.labels); i >= 0) {
    d.reason = decision_reason::never_inject_selector;
    d.selector_index = i;
    return d;
  }
  if (int i = rules.always_inject.first_match(pod.labels); i >= 0) {
    d.inject = true;
    d.reason = decision_reason::always_inject_selector;
    d.selector_index = i;
    return d;
  }
  d.inject = rules.policy == injection_policy_mode::enabled;
  d.reason = d.inject ? decision_reason::policy_enabled : decision_reason::policy_disabled;
  return d;
}

void append_foreign_injection_warning(std::string& out, const decision& d) {
  out.clear();
  if (d.reason != decision_reason::foreign_injection) return;
  out += "sidecar.istio.io/status names revision \"";
  append_escaped(out, d.foreign_revision.substr(0, 63), escape_style::human);
  if (d.own_revision.empty())
    out += "\": injected from a newer config shape (named templates) than the loaded Istio 1.1-style config; "
           "not re-injected";
  else {
    out += "\", not this injector's revision \"";
    append_escaped(out, d.own_revision.substr(0, 63), escape_style::human);
    out += "\"; not re-injected";
  }
}

std::string foreign_injection_warning(const decision& d) {
  std::string out;
  append_foreign_injection_warning(out, d);
  return out;
}

std::string ignored_value_warning(const decision& d) {
  if (!d.has_warning()) return {};
  return std::string(inject_key) + (d.ignored_value_from_label ? " label" : " annotation") + " value " +
         quote_value(d.ignored_value) + " is not one of " + std::string(accepted_inject_values(d.dialect)) +
         "; it is ignored and the selectors and policy decide";
}

std::string_view outcome_name(decision_step::outcome o) noexcept {
  switch (o) {
    case decision_step::outcome::passed:
      return "passed";
    case decision_step::outcome::decided:
      return "decided";
    case decision_step::outcome::not_applicable:
      return "not-applicable";
    case decision_step::outcome::not_reached:
      return "not-reached";
  }
  return "unknown";
}

namespace {

// Builds the step list; the first call to settle() fixes the verdict and every
// later step is marked not_reached. A step reference is only valid until the
// next step() call (the vector may grow).
class explainer {
 public:
  explanation result;

  decision_step& step(std::string name, std::string detail) {
    decision_step& s = result.steps.emplace_back();
    s.name = std::move(name);
    s.detail = std::move(detail);
    s.result = decided_ ? decision_step::outcome::not_reached : decision_step::outcome::passed;
    return s;
  }

  void settle(decision_step& s, bool inject, decision_reason reason, int selector_index = -1) {
    if (decided_) return;
    decided_ = true;
    s.result = decision_step::outcome::decided;
    s.inject = inject;
    s.reason = reason;
    result.verdict.inject = inject;
    result.verdict.reason = reason;
    result.verdict.selector_index = selector_index;
  }

  void not_applicable(decision_step& s) {
    if (!decided_) s.result = decision_step::outcome::not_applicable;
  }

  bool decided() const noexcept { return decided_; }

 private:
  bool decided_ = false;
};

void explain_value(explainer& ex, const label* found, bool from_label, decision_dialect dialect) {
  const std::string_view where = from_label ? "label" : "annotation";
  decision_step& s = ex.step(std::string(where) + ' ' + std::string(inject_key), {});
  if (found == nullptr) {
    s.detail = "absent";
    return;
  }
  const std::string shown = quote_value(found->value);
  switch (classify(found->value, dialect)) {
    case choice::opt_in:
      s.detail = "value " + shown + " opts in";
      ex.settle(s, true, from_label ? decision_reason::label_opt_in : decision_reason::annotation_opt_in);
      break;
    case choice::opt_out:
      s.detail = "value " + shown + " opts out";
      ex.settle(s, false, from_label ? decision_reason::label_opt_out : decision_reason::annotation_opt_out);
      break;
    case choice::none:
      s.detail = "empty: no explicit choice";
      break;
    case choice::invalid:
      s.detail = "value " + shown + " is not one of " + std::string(accepted_inject_values(dialect)) +
                 "; ignored (a warning is returned)";
      if (!ex.decided()) {
        ex.result.verdict.ignored_value = found->value;
        ex.result.verdict.ignored_value_from_label = from_label;
      }
      break;
  }
}

void explain_selectors(explainer& ex, const selector_list& list, std::string_view field, label_set labels,
                       bool inject, decision_reason reason) {
  if (list.empty()) {
    ex.not_applicable(ex.step(std::string(field), "none configured"));
    return;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const bool matched = list.matches(i, labels);
    decision_step& s = ex.step(std::string(field) + '[' + std::to_string(i) + ']',
                               list.describe(i) + (matched ? ": matches" : ": does not match"));
    s.selector_index = static_cast<int>(i);
    s.matched = matched;
    if (matched) ex.settle(s, inject, reason, static_cast<int>(i));
  }
}

void explain_previous_injection(explainer& ex, const pod_facts& pod, const injection_rules& rules) {
  // Listed only for pods that carry a status: a fresh pod's explanation stays as it was.
  const label* status = find_label(pod.annotations, status_key);
  if (status == nullptr) return;
  decision_step& s = ex.step("previous injection", {});
  decision found;
  if (!is_foreign_injection(pod, rules, found)) {
    const status_revision r = find_status_revision(status->value);
    s.detail = r.present ? "injected by this revision (" + quote_value(r.value) + "): re-injected"
                         : "no revision (an Istio 1.1-style injection): re-injected";
    return;
  }
  found.reason = decision_reason::foreign_injection;
  s.detail = foreign_injection_warning(found);
  if (!ex.decided()) {
    ex.result.verdict.foreign_revision = found.foreign_revision;
    ex.result.verdict.own_revision = found.own_revision;
  }
  ex.settle(s, false, decision_reason::foreign_injection);
}

}  // namespace

explanation explain_decision(const pod_facts& pod, const injection_rules& rules) {
  explainer ex;
  ex.result.verdict.dialect = rules.dialect;

  decision_step& host =
      ex.step("hostNetwork", pod.host_network ? "spec.hostNetwork is true" : "spec.hostNetwork is false");
  if (pod.host_network) ex.settle(host, false, decision_reason::host_network);

  const bool ignored = is_ignored_namespace(pod.namespace_name, rules.dialect);
  decision_step& ns = ex.step("ignored namespace", ignored_namespace_detail(pod.namespace_name, rules.dialect));
  if (ignored) ex.settle(ns, false, decision_reason::ignored_namespace);

  explain_previous_injection(ex, pod, rules);

  const label* from_label = find_label(pod.labels, inject_key);
  explain_value(ex, from_label, true, rules.dialect);
  if (from_label != nullptr) {
    decision_step& s = ex.step("annotation " + std::string(inject_key),
                               "not consulted: the label is present and wins over the annotation");
    ex.not_applicable(s);
  } else {
    explain_value(ex, find_label(pod.annotations, inject_key), false, rules.dialect);
  }

  explain_selectors(ex, rules.never_inject, "neverInjectSelector", pod.labels, false,
                    decision_reason::never_inject_selector);
  explain_selectors(ex, rules.always_inject, "alwaysInjectSelector", pod.labels, true,
                    decision_reason::always_inject_selector);

  const bool enabled = rules.policy == injection_policy_mode::enabled;
  decision_step& policy = ex.step("policy", "policy is " + std::string(policy_name(rules.policy)));
  ex.settle(policy, enabled, enabled ? decision_reason::policy_enabled : decision_reason::policy_disabled);

  ex.result.warning = ex.result.verdict.reason == decision_reason::foreign_injection
                          ? foreign_injection_warning(ex.result.verdict)
                          : ignored_value_warning(ex.result.verdict);
  return std::move(ex.result);
}

}  // namespace meshinject::core
