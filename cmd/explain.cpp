// meshinject explain: "why is my pod [not] getting injected?" Runs the webhook's
// decision on a pod (or a workload's pod template) step by step, shows the patch
// the webhook would answer with, and, given the MutatingWebhookConfiguration and
// the namespace's labels, whether the apiserver would call the webhook at all.
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <ostream>

#include "cmd/cli.hpp"
#include "cmd/config_flags.hpp"
#include "cmd/flags.hpp"
#include "cmd/json_patch.hpp"
#include "cmd/workloads.hpp"
#include "cmd/yaml_io.hpp"
#include "core/decision.hpp"
#include "core/error.hpp"
#include "core/selector.hpp"
#include "patch/admission.hpp"

namespace meshinject::cmd {
namespace {

constexpr char usage[] =
    "usage: meshinject explain -f FILE|- [--namespace NS] [-o text|json] [--pod N]\n"
    "                          [--webhook-config FILE --namespace-labels k=v,...] [config flags]\n"
    "\n"
    "Shows every step of the injection decision for a pod, or a workload's pod template\n"
    "(hostNetwork, ignored namespace, the sidecar.istio.io/inject label and annotation, each\n"
    "neverInjectSelector and alwaysInjectSelector, the policy), the step that decided, and the\n"
    "JSON Patch the webhook would answer with. With --webhook-config it also evaluates the\n"
    "webhook's rules, namespaceSelector (against --namespace-labels and the\n"
    "kubernetes.io/metadata.name label the apiserver sets) and objectSelector: a pod the\n"
    "apiserver never sends to the webhook is not injected, whatever the decision says.\n"
    "The namespace is the file's, else --namespace, else default. Exit 0 whatever the verdict.";

using yaml::value;

value str(std::string_view s) { return value::string(std::string(s)); }
value boolean(bool b) {
  value v;
  v.k = value::kind::boolean;
  v.b = b;
  return v;
}
value integer(std::int64_t i) {
  value v;
  v.k = value::kind::integer;
  v.i = i;
  return v;
}
value sequence() {
  value v;
  v.k = value::kind::sequence;
  return v;
}
void set(value& obj, std::string key, value v) { obj.members.emplace_back(std::move(key), std::move(v)); }

// ------------------------------------------------- the webhook configuration

struct requirement_result {
  std::string text;  // matchLabels{k=v}, matchExpressions{k NotIn (a,b)}
  bool matched = false;
  std::string detail;  // why it failed, naming the label
};

struct selector_result {
  bool present = false;  // absent or empty: matches everything
  bool matched = true;
  std::vector<requirement_result> requirements;
};

struct webhook_result {
  std::string name;
  bool rules_matched = false;
  std::string rules_detail;
  selector_result namespace_selector, object_selector;
  bool has_match_conditions = false;
  bool called = false;
  std::string why_not;  // the first failing requirement, as a sentence
};

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

std::vector<std::string> scalars_of(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n.IsSequence())
    for (const auto& item : n)
      if (item.IsScalar()) out.push_back(item.Scalar());
  return out;
}

bool contains(const std::vector<std::string>& list, std::initializer_list<std::string_view> any) {
  for (const auto& s : list)
    for (std::string_view a : any)
      if (s == a) return true;
  return false;
}

// Whether the webhook's rules cover a v1 Pod CREATE.
void evaluate_rules(const YAML::Node& rules, webhook_result& w) {
  if (!rules.IsSequence() || rules.size() == 0) {
    w.rules_detail = "no rules: the webhook is called for nothing";
    return;
  }
  std::size_t i = 0;
  for (const auto& rule : rules) {
    const auto ops = scalars_of(yaml::child(rule, "operations"));
    const auto groups = scalars_of(yaml::child(rule, "apiGroups"));
    const auto versions = scalars_of(yaml::child(rule, "apiVersions"));
    const auto resources = scalars_of(yaml::child(rule, "resources"));
    const std::string scope =
        yaml::child(rule, "scope").IsScalar() ? yaml::child(rule, "scope").Scalar() : std::string("*");
    if (contains(ops, {"CREATE", "*"}) && contains(groups, {"", "*"}) && contains(versions, {"v1", "*"}) &&
        contains(resources, {"pods", "*", "*/*"}) && (scope == "*" || scope == "Namespaced")) {
      w.rules_matched = true;
      w.rules_detail =
          "rule " + std::to_string(i) + " (" + join(ops, ",") + " " + join(resources, ",") + ") covers pod CREATE";
      return;
    }
    ++i;
  }
  w.rules_detail = "no rule covers pod CREATE (apiGroups \"\", apiVersions v1, resources pods)";
}

std::string label_list(const std::vector<std::string>& values) { return "(" + join(values, ",") + ")"; }

// One requirement of a LabelSelector (Kubernetes semantics), worded for a person.
requirement_result evaluate_requirement(core::label_set labels, const std::string& subject, const std::string& key,
                                        std::string_view op, const std::vector<std::string>& values) {
  requirement_result r;
  const core::label* have = core::find_label(labels, key);
  const bool among = have && std::find(values.begin(), values.end(), have->value) != values.end();
  if (op == "matchLabels") {
    r.text = "matchLabels{" + key + "=" + values.front() + "}";
    r.matched = among;
  } else {
    r.text = "matchExpressions{" + key + " " + std::string(op);
    if (op == "In" || op == "NotIn") r.text += " " + label_list(values);
    r.text += "}";
    if (op == "In") r.matched = among;
    else if (op == "NotIn") r.matched = !among;
    else if (op == "Exists") r.matched = have != nullptr;
    else r.matched = have == nullptr;
  }
  if (r.matched) return r;
  const std::string now = have ? key + "=" + std::string(have->value) : std::string();
  if (op == "matchLabels") {
    r.detail = have ? subject + " has label " + now + ", not " + key + "=" + values.front()
                    : subject + " lacks label " + key + "=" + values.front();
  } else if (op == "In") {
    r.detail = have ? subject + " has label " + now + ", which is not one of " + label_list(values)
                    : subject + " lacks label " + key + " (one of " + label_list(values) + ")";
  } else if (op == "NotIn") {
    r.detail = subject + " has label " + now + ", which is one of " + label_list(values);
  } else if (op == "Exists") {
    r.detail = subject + " lacks label " + key;
  } else {
    r.detail = subject + " has label " + now + ", which must be absent";
  }
  return r;
}

// A webhook's namespaceSelector or objectSelector: absent or empty matches
// everything (unlike the injection config's selectors, which then match nothing).
// The compiled selector decides; the requirements one by one say why.
selector_result evaluate_selector(const YAML::Node& sel, const std::string& file, const std::string& field,
                                  core::label_set labels, const std::string& subject) {
  selector_result out;
  if (!sel.IsDefined() || sel.IsNull()) return out;
  YAML::Node list(YAML::NodeType::Sequence);
  list.push_back(sel);
  const core::selector_list compiled = core::selector_list::compile(list, file, field);  // validates
  const YAML::Node match_labels = yaml::child(sel, "matchLabels");
  if (match_labels.IsMap())
    for (const auto& kv : match_labels)
      out.requirements.push_back(
          evaluate_requirement(labels, subject, kv.first.Scalar(), "matchLabels", {kv.second.Scalar()}));
  const YAML::Node expressions = yaml::child(sel, "matchExpressions");
  if (expressions.IsSequence())
    for (const auto& e : expressions)
      out.requirements.push_back(evaluate_requirement(labels, subject, yaml::child(e, "key").Scalar(),
                                                      yaml::child(e, "operator").Scalar(),
                                                      scalars_of(yaml::child(e, "values"))));
  out.present = !out.requirements.empty();
  if (!out.present) return out;
  out.matched = compiled.matches(0, labels);
  bool all = true;
  for (const auto& r : out.requirements) all = all && r.matched;
  if (all != out.matched)
    throw core::config_error({file, 0, 0}, field + ": internal error: the selector and its requirements disagree");
  return out;
}

struct webhook_report {
  std::string file;
  std::string namespace_name;
  std::vector<core::label> namespace_labels;
  std::vector<webhook_result> webhooks;
  bool called = false;
  std::string why_not;
};

void collect_webhooks(const YAML::Node& doc, std::vector<YAML::Node>& out) {
  if (!doc.IsMap() || !yaml::child(doc, "kind").IsScalar()) return;
  const std::string kind = yaml::child(doc, "kind").Scalar();
  if (kind == "List" && yaml::child(doc, "items").IsSequence()) {
    for (const auto& item : yaml::child(doc, "items")) collect_webhooks(item, out);
  } else if (kind == "MutatingWebhookConfiguration" && yaml::child(doc, "webhooks").IsSequence()) {
    for (const auto& w : yaml::child(doc, "webhooks")) out.push_back(w);
  }
}

// Throws core::config_error for a file that cannot be read as a webhook config.
webhook_report evaluate_webhooks(const std::string& text, const std::string& file, const std::string& ns,
                                 const std::vector<core::label>& ns_labels, core::label_set pod_labels) {
  webhook_report report;
  report.file = file;
  report.namespace_name = ns;
  report.namespace_labels = ns_labels;
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw core::config_error({file, e.mark.line + 1, e.mark.column + 1}, "invalid YAML: " + e.msg);
  }
  std::vector<YAML::Node> hooks;
  for (const auto& d : docs) collect_webhooks(d, hooks);
  if (hooks.empty())
    throw core::config_error({file, 0, 0}, "no MutatingWebhookConfiguration with webhooks in the file");
  std::size_t i = 0;
  for (const auto& h : hooks) {
    webhook_result w;
    w.name =
        yaml::child(h, "name").IsScalar() ? yaml::child(h, "name").Scalar() : "webhooks[" + std::to_string(i) + "]";
    const std::string field = "webhooks[" + std::to_string(i) + "]";
    evaluate_rules(yaml::child(h, "rules"), w);
    w.namespace_selector = evaluate_selector(yaml::child(h, "namespaceSelector"), file, field + ".namespaceSelector",
                                             report.namespace_labels, "namespace " + ns);
    w.object_selector =
        evaluate_selector(yaml::child(h, "objectSelector"), file, field + ".objectSelector", pod_labels, "the pod");
    w.has_match_conditions =
        yaml::child(h, "matchConditions").IsSequence() && yaml::child(h, "matchConditions").size() > 0;
    w.called = w.rules_matched && w.namespace_selector.matched && w.object_selector.matched;
    if (!w.rules_matched) w.why_not = w.rules_detail;
    for (const selector_result* s : {&w.namespace_selector, &w.object_selector})
      for (const auto& r : s->requirements)
        if (!r.matched && w.why_not.empty()) w.why_not = r.detail;
    report.called = report.called || w.called;
    if (!w.called && report.why_not.empty()) report.why_not = w.why_not;
    report.webhooks.push_back(std::move(w));
    ++i;
  }
  return report;
}

bool parse_namespace_labels(std::string_view text, std::vector<core::label>& out, std::string& error) {
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      error = "--namespace-labels takes key=value pairs separated by commas, not '" + std::string(item) + "'";
      return false;
    }
    const std::string_view key = item.substr(0, eq), val = item.substr(eq + 1);
    if (const std::string e = core::label_key_error(key); !e.empty()) {
      error = "--namespace-labels: label key '" + std::string(key) + "': " + e;
      return false;
    }
    if (const std::string e = core::label_value_error(val); !e.empty()) {
      error = "--namespace-labels: label value '" + std::string(val) + "': " + e;
      return false;
    }
    std::erase_if(out, [&](const core::label& l) { return l.key == key; });
    out.push_back({key, val});
  }
  return true;
}

// ------------------------------------------------------------ one explanation

struct target_in_file {
  int document = 0;
  const value* doc = nullptr;
  pod_target t;
};

struct options {
  std::string file;
  std::string namespace_flag;
  std::string output = "text";
  std::string webhook_config;
  std::string webhook_config_text;
  std::string namespace_labels;
  bool labels_given = false;
};

// What explain found out about one pod, gathered before anything is printed.
struct pod_explanation {
  std::string location;  // file:line
  std::string label;     // document N, kind name
  std::string ns;
  std::string ns_from = "file";  // JSON: file, flag, default
  std::vector<std::string> warnings;
  core::explanation ex;
  std::optional<webhook_report> hook;
  bool refused = false;  // the engine answers allowed: false
  std::string engine_message;
  std::string patch_text;
  bool called = true;  // the apiserver calls the webhook
  std::string decided;
  bool inject = false;
  std::string reason, verdict;
  // Istio >= 1.9's configs, when the pod is injected: the templates merged, in
  // order, each with why it was chosen, and where the proxy ended up.
  struct chosen_template {
    std::string name;
    std::string from;  // "annotation inject.istio.io/templates", "defaultTemplates", "alias X (from ...)"
  };
  std::vector<chosen_template> templates;
  std::string sidecar_mode;  // "native" or "classic"; empty: no istio-proxy in the result
  std::string sidecar_why;
};

struct explainer {
  const options& opt;
  const patch::snapshot& snap;
  patch::engine& engine;
  std::ostream& out;

  std::string step_outcome(const core::decision_step& s) const {
    const bool selector = s.matched.has_value();
    std::string o;
    switch (s.result) {
      case core::decision_step::outcome::decided:
        o = selector ? "matched → " : "";
        o += std::string("DECIDED: ") + (s.inject ? "inject" : "skip") + " (" +
             std::string(core::reason_code(*s.reason)) + ")";
        return o;
      case core::decision_step::outcome::passed: return selector ? "not matched" : "passed";
      case core::decision_step::outcome::not_applicable: return "not applicable";
      case core::decision_step::outcome::not_reached:
        return selector && *s.matched ? "not reached (would match)" : "not reached";
    }
    return {};
  }

  std::string step_detail(const core::decision_step& s) const {
    if (s.selector_index < 0) return s.detail;
    const auto& rules = snap.config().rules;
    const bool never = s.name.rfind("never", 0) == 0;
    return (never ? rules.never_inject : rules.always_inject).describe(static_cast<std::size_t>(s.selector_index));
  }

  // Returns false for an error (printed to err).
  bool run(const target_in_file& target, std::size_t number, std::size_t count, std::ostream& err) {
    pod_explanation e;
    if (!gather(target, e, err)) return false;
    if (opt.output == "json") print_json(target, e);
    else print_text(e, number, count);
    return true;
  }

  // The file's namespace, else --namespace, else "default"; a conflict warns.
  void resolve_namespace(const value& pod, const value& owner, pod_explanation& e) const {
    e.ns = file_namespace(pod, owner);
    if (!e.ns.empty() && !opt.namespace_flag.empty() && e.ns != opt.namespace_flag)
      e.warnings.push_back("the file says namespace " + e.ns + "; --namespace " + opt.namespace_flag +
                           " is ignored (kubectl would refuse the mismatch)");
    if (e.ns.empty() && !opt.namespace_flag.empty()) {
      e.ns = opt.namespace_flag;
      e.ns_from = "flag";
    }
    if (e.ns.empty()) {
      e.ns = "default";
      e.ns_from = "default";
    }
  }

  bool gather(const target_in_file& target, pod_explanation& e, std::ostream& err) {
    const pod_target& t = target.t;
    const value* pod = at_path(*target.doc, t.path);
    const value* owner = at_path(*target.doc, t.owner_path);
    e.location = display_name(opt.file) + ":" + std::to_string(t.line);
    e.label = "document " + std::to_string(target.document) + ", " + describe_target(t);
    resolve_namespace(*pod, *owner, e);

    std::string json;
    try {
      json = yaml::to_json(*pod);
    } catch (const std::exception& x) {
      err << e.location << ": " << e.label << ": " << x.what() << '\n';
      return false;
    }
    simdjson::dom::parser parser;
    const simdjson::padded_string padded(json);
    simdjson::dom::element object = parser.parse(padded).value();
    patch::pod facts_pod;
    std::string problem;
    if (!patch::parse_pod(object, e.ns, facts_pod, problem)) {
      err << e.location << ": " << e.label << ": " << problem << '\n';
      return false;
    }
    const core::pod_facts facts{facts_pod.namespace_name, facts_pod.host_network, facts_pod.labels,
                                facts_pod.annotations};
    e.ex = core::explain_decision(facts, snap.config().rules);
    if (!e.ex.warning.empty()) e.warnings.push_back(e.ex.warning);
    if (!opt.webhook_config.empty() && !evaluate_hook(facts_pod, e, err)) return false;

    // The webhook's own answer: .DeploymentMeta is the pod's metadata, as in the webhook.
    const patch::injection_result r = engine.inject_pod(object, e.ns, nullptr);
    if (r.decision.inject != e.ex.verdict.inject || r.decision.reason != e.ex.verdict.reason)
      e.warnings.push_back("internal: the explanation and the engine disagree; please report this");
    e.refused =
        r.kind == patch::outcome::rejected || r.kind == patch::outcome::failed || r.kind == patch::outcome::bad_request;
    e.engine_message = std::string(r.message);
    if (r.kind == patch::outcome::injected) e.patch_text = std::string(r.patch);
    settle_verdict(r.kind, e);
    if (snap.named_templates() && r.kind == patch::outcome::injected) describe_named(facts_pod, *pod, e);
    return true;
  }

  // The templates a pod gets (the engine's select_named_templates, told) and
  // whether its proxy runs as a native sidecar, read from the patched pod.
  void describe_named(const patch::pod& facts_pod, const value& pod, pod_explanation& e) const {
    constexpr std::string_view templates_annotation = "inject.istio.io/templates";
    const core::label* chosen = facts_pod.annotation(templates_annotation);
    const std::string source = chosen ? "annotation " + std::string(templates_annotation) : "defaultTemplates";
    auto add = [&](std::string name) {
      name.erase(0, name.find_first_not_of(" \t\n\r\v\f"));
      name.erase(name.find_last_not_of(" \t\n\r\v\f") + 1);
      for (const core::template_alias& alias : snap.config().aliases) {
        if (alias.name != name) continue;
        for (const std::string& t : alias.templates) e.templates.push_back({t, "alias " + name + " (from " + source + ")"});
        return;
      }
      e.templates.push_back({name, source});
    };
    if (chosen) {
      std::string_view rest = chosen->value;
      for (std::size_t comma; (comma = rest.find(',')) != std::string_view::npos; rest.remove_prefix(comma + 1))
        add(std::string(rest.substr(0, comma)));
      add(std::string(rest));
    } else {
      for (const std::string& name : snap.config().default_templates) add(name);
    }

    value patched = pod;
    if (!json_patch::apply(patched, e.patch_text).empty()) return;
    auto has_proxy = [&](std::string_view list) {
      const value* spec = patched.find("spec");
      const value* items = spec ? spec->find(list) : nullptr;
      if (!items) return false;
      for (const value& c : items->items)
        if (const value* n = c.find("name"); n && n->s == "istio-proxy") return true;
      return false;
    };
    if (has_proxy("initContainers")) e.sidecar_mode = "native";
    else if (has_proxy("containers")) e.sidecar_mode = "classic";
    else return;
    if (const core::label* a = facts_pod.annotation("sidecar.istio.io/nativeSidecar"); a && !a->value.empty())
      e.sidecar_why = "the pod's annotation sidecar.istio.io/nativeSidecar=" + std::string(a->value);
    else
      e.sidecar_why = std::string("the injector's native-sidecar setting is ") +
                      (snap.named_settings().native_sidecars ? "on" : "off") + " (--native-sidecars)";
  }

  // Would the apiserver call the webhook for this pod (--webhook-config)?
  bool evaluate_hook(const patch::pod& facts_pod, pod_explanation& e, std::ostream& err) const {
    std::vector<core::label> ns_labels;
    std::string problem;
    if (!parse_namespace_labels(opt.namespace_labels, ns_labels, problem)) {
      err << problem << '\n';
      return false;
    }
    std::erase_if(ns_labels, [](const core::label& l) { return l.key == "kubernetes.io/metadata.name"; });
    ns_labels.push_back({"kubernetes.io/metadata.name", e.ns});
    try {
      e.hook = evaluate_webhooks(opt.webhook_config_text, display_name(opt.webhook_config), e.ns, ns_labels,
                                 facts_pod.labels);
    } catch (const core::config_error& x) {
      err << x.what() << '\n';
      return false;
    }
    if (!opt.labels_given)
      e.warnings.push_back("no --namespace-labels: namespace " + e.ns +
                           " is taken to have no labels but kubernetes.io/metadata.name");
    for (const auto& w : e.hook->webhooks)
      if (w.has_match_conditions)
        e.warnings.push_back("webhook " + w.name + " has matchConditions (CEL), which explain does not evaluate");
    return true;
  }

  // Not called, refused, or the decision's verdict.
  static void settle_verdict(patch::outcome kind, pod_explanation& e) {
    e.called = !e.hook || e.hook->called;
    e.decided = std::string(e.ex.verdict.inject ? "inject" : "not injected") + " (" +
                std::string(core::reason_code(e.ex.verdict.reason)) + ")";
    if (!e.called) {
      e.reason = "webhook-not-called";
      e.verdict = "not injected: the webhook is not called because " + e.hook->why_not;
    } else if (e.refused && e.ex.verdict.inject) {
      e.reason = kind == patch::outcome::rejected ? "invalid-annotation" : "template";
      e.verdict = "refused: the webhook answers allowed: false: " + e.engine_message;
    } else {
      e.inject = e.ex.verdict.inject;
      e.reason = std::string(core::reason_code(e.ex.verdict.reason));
      e.verdict = e.decided;
    }
  }

  // ------------------------------------------------------------------ JSON

  static value selector_json(const selector_result& s) {
    value sj = value::mapping();
    set(sj, "present", boolean(s.present));
    set(sj, "matched", boolean(s.matched));
    value reqs = sequence();
    for (const auto& rq : s.requirements) {
      value rj = value::mapping();
      set(rj, "requirement", str(rq.text));
      set(rj, "matched", boolean(rq.matched));
      if (!rq.matched) set(rj, "detail", str(rq.detail));
      reqs.items.push_back(std::move(rj));
    }
    set(sj, "requirements", std::move(reqs));
    return sj;
  }

  static value webhook_json(const webhook_report& hook) {
    value h = value::mapping();
    set(h, "config", str(hook.file));
    set(h, "namespace", str(hook.namespace_name));
    value labels = value::mapping();
    for (const auto& l : hook.namespace_labels) set(labels, std::string(l.key), str(l.value));
    set(h, "namespaceLabels", std::move(labels));
    value list = sequence();
    for (const auto& w : hook.webhooks) {
      value wj = value::mapping();
      set(wj, "name", str(w.name));
      set(wj, "called", boolean(w.called));
      if (!w.called) set(wj, "whyNot", str(w.why_not));
      value rules = value::mapping();
      set(rules, "matched", boolean(w.rules_matched));
      set(rules, "detail", str(w.rules_detail));
      set(wj, "rules", std::move(rules));
      set(wj, "namespaceSelector", selector_json(w.namespace_selector));
      set(wj, "objectSelector", selector_json(w.object_selector));
      set(wj, "matchConditions", boolean(w.has_match_conditions));
      list.items.push_back(std::move(wj));
    }
    set(h, "webhooks", std::move(list));
    return h;
  }

  value steps_json(const core::explanation& ex) const {
    value steps = sequence();
    int index = 0;
    for (const auto& s : ex.steps) {
      value sj = value::mapping();
      set(sj, "index", integer(++index));
      set(sj, "step", str(s.name));
      set(sj, "detail", str(step_detail(s)));
      set(sj, "outcome", str(core::outcome_name(s.result)));
      if (s.result == core::decision_step::outcome::decided) {
        set(sj, "inject", boolean(s.inject));
        set(sj, "reason", str(core::reason_code(*s.reason)));
      }
      if (s.selector_index >= 0) set(sj, "selectorIndex", integer(s.selector_index));
      if (s.matched) set(sj, "matched", boolean(*s.matched));
      steps.items.push_back(std::move(sj));
    }
    return steps;
  }

  value pod_json(const target_in_file& target, const pod_explanation& e) const {
    const pod_target& t = target.t;
    value p = value::mapping();
    set(p, "file", str(display_name(opt.file)));
    set(p, "line", integer(t.line));
    set(p, "document", integer(target.document));
    if (!t.item.empty()) set(p, "item", str(t.item));
    set(p, "kind", str(t.kind));
    set(p, "name", str(t.name));
    set(p, "namespace", str(e.ns));
    set(p, "namespaceFrom", str(e.ns_from));
    return p;
  }

  void print_json(const target_in_file& target, const pod_explanation& e) const {
    value o = value::mapping();
    set(o, "pod", pod_json(target, e));
    value c = value::mapping();
    set(c, "source", str(snap.config().source));
    set(c, "policy", str(core::policy_name(snap.config().rules.policy)));
    set(o, "config", std::move(c));
    set(o, "inject", boolean(e.inject));
    set(o, "reason", str(e.reason));
    set(o, "message", str(e.verdict));
    set(o, "allowed", boolean(!(e.called && e.refused && e.ex.verdict.inject)));
    set(o, "webhookCalled", e.hook ? boolean(e.hook->called) : value{});
    set(o, "webhook", e.hook ? webhook_json(*e.hook) : value{});
    value d = value::mapping();
    set(d, "inject", boolean(e.ex.verdict.inject));
    set(d, "reason", str(core::reason_code(e.ex.verdict.reason)));
    if (e.ex.verdict.selector_index >= 0) set(d, "selectorIndex", integer(e.ex.verdict.selector_index));
    set(o, "decision", std::move(d));
    set(o, "steps", steps_json(e.ex));
    if (!e.patch_text.empty() && e.called) {
      simdjson::dom::parser pp;
      set(o, "patch", yaml::from_json(pp.parse(simdjson::padded_string(e.patch_text)).value()));
    } else {
      set(o, "patch", value{});
    }
    if (e.refused && e.ex.verdict.inject) set(o, "error", str(e.engine_message));
    if (snap.named_templates()) {
      value list = sequence();
      for (const auto& t : e.templates) {
        value tj = value::mapping();
        set(tj, "name", str(t.name));
        set(tj, "from", str(t.from));
        list.items.push_back(std::move(tj));
      }
      set(o, "templates", std::move(list));
      value sidecar = value::mapping();
      set(sidecar, "mode", e.sidecar_mode.empty() ? value{} : str(e.sidecar_mode));
      set(sidecar, "why", e.sidecar_why.empty() ? value{} : str(e.sidecar_why));
      set(o, "sidecar", std::move(sidecar));
    }
    value ws = sequence();
    for (const auto& w : e.warnings) ws.items.push_back(str(w));
    set(o, "warnings", std::move(ws));
    out << yaml::to_pretty_json(o) << '\n';
  }

  // ------------------------------------------------------------------ text

  void print_selector_text(std::string_view name, const selector_result& s) const {
    if (!s.present) {
      out << "    " << name << "  none: " << (name[0] == 'n' ? "every namespace" : "every pod") << '\n';
      return;
    }
    std::size_t width = 0;
    for (const auto& rq : s.requirements) width = std::max(width, rq.text.size());
    bool first = true;
    for (const auto& rq : s.requirements) {
      out << "    " << (first ? std::string(name) : std::string(17, ' ')) << "  " << rq.text
          << std::string(width - rq.text.size() + 2, ' ') << (rq.matched ? "matched" : "NOT matched: " + rq.detail)
          << '\n';
      first = false;
    }
  }

  void print_webhook_text(const webhook_report& hook, const std::string& ns) const {
    out << "\nWill the apiserver call the webhook?\n";
    std::vector<std::string> shown;
    for (const auto& l : hook.namespace_labels) shown.push_back(std::string(l.key) + "=" + std::string(l.value));
    out << "  namespace " << ns << " labels: " << join(shown, ",") << '\n';
    for (const auto& w : hook.webhooks) {
      out << "  webhook " << w.name << " (" << hook.file << ")\n";
      out << "    rules              " << w.rules_detail << '\n';
      print_selector_text("namespaceSelector", w.namespace_selector);
      print_selector_text("objectSelector   ", w.object_selector);
      out << "    → " << (w.called ? "called" : "NOT called: " + w.why_not) << '\n';
    }
  }

  void print_steps_text(const core::explanation& ex) const {
    std::size_t name_width = 4, detail_width = 6;
    for (const auto& s : ex.steps) {
      name_width = std::max(name_width, s.name.size());
      // A very long detail (an invalid value, a long selector) does not push the others right.
      if (step_detail(s).size() <= 80) detail_width = std::max(detail_width, step_detail(s).size());
    }
    int index = 0;
    for (const auto& s : ex.steps) {
      const std::string detail = step_detail(s);
      std::string n = std::to_string(++index);
      out << std::string(3 - std::min<std::size_t>(3, n.size()), ' ') << n << "  " << s.name
          << std::string(name_width - s.name.size() + 2, ' ') << detail
          << std::string(detail.size() < detail_width ? detail_width - detail.size() + 2 : 2, ' ') << step_outcome(s)
          << '\n';
    }
  }

  void print_text(const pod_explanation& e, std::size_t number, std::size_t count) const {
    if (count > 1) out << (number > 1 ? "\n" : "") << "=== pod " << number << " of " << count << '\n';
    out << "Pod:       " << e.label << " (" << e.location << ")\n";
    out << "Namespace: " << e.ns << " ("
        << (e.ns_from == "file"   ? "from the file"
            : e.ns_from == "flag" ? "from --namespace"
                                  : "neither the file nor --namespace names one")
        << ")\n";
    out << "Config:    " << snap.config().source << " (policy " << core::policy_name(snap.config().rules.policy)
        << ")\n";
    if (e.hook) print_webhook_text(*e.hook, e.ns);
    out << "\nDecision" << (e.called ? "" : " (for information: the webhook would decide this if it were called)")
        << ":\n";
    print_steps_text(e.ex);
    for (const auto& w : e.warnings) out << "\nWarning: " << w << '\n';
    out << "\nVerdict: " << e.verdict << '\n';
    if (!e.templates.empty()) {
      out << "\nTemplates (merged in this order):\n";
      std::size_t width = 0;
      for (const auto& t : e.templates) width = std::max(width, t.name.size());
      for (const auto& t : e.templates)
        out << "  " << t.name << std::string(width - t.name.size() + 2, ' ') << "from " << t.from << '\n';
    }
    if (!e.sidecar_mode.empty())
      out << "Sidecar:   " << e.sidecar_mode
          << (e.sidecar_mode == "native" ? " (istio-proxy in initContainers, restartPolicy: Always)"
                                         : " (istio-proxy in containers)")
          << ": " << e.sidecar_why << '\n';
    if (!e.called) out << "  (if the webhook were called: " << e.decided << ")\n";
    if (!e.patch_text.empty() && e.called) {
      simdjson::dom::parser pp;
      out << "\nPatch (JSON Patch the webhook answers with, applied to the pod):\n"
          << yaml::to_pretty_json(yaml::from_json(pp.parse(simdjson::padded_string(e.patch_text)).value())) << '\n';
    } else {
      out << "\nNo patch.\n";
    }
  }
};

}  // namespace

namespace {

// Flags that contradict each other or the input; 0 when none do, else the exit code.
int check_options(const options& opt, const config_flags& config, const std::string& pod_number,
                  std::size_t& selected, flag_set& flags, io& streams) {
  if (!flags.positional().empty()) {
    streams.err << "explain: unexpected argument '" << flags.positional().front() << "' (give the pod with -f FILE)\n";
    return 2;
  }
  if (opt.file.empty()) {
    streams.err << "explain: -f FILE is required (-f - reads stdin)\n\n";
    flags.print_help(streams.err);
    return 2;
  }
  if (opt.output != "text" && opt.output != "json") {
    streams.err << "explain: --output takes text or json, not '" << opt.output << "'\n";
    return 2;
  }
  if (opt.labels_given && opt.webhook_config.empty()) {
    streams.err << "explain: --namespace-labels needs --webhook-config (the selectors to match them against)\n";
    return 2;
  }
  int from_stdin = 0;
  for (const std::string* f :
       {&opt.file, &opt.webhook_config, &config.inject_config, &config.mesh_config, &config.values})
    from_stdin += *f == "-";
  if (from_stdin > 1) {
    streams.err << "explain: only one input can be read from stdin (-)\n";
    return 2;
  }
  if (pod_number.empty()) return 0;
  try {
    std::size_t used = 0;
    const long n = std::stol(pod_number, &used);
    if (used != pod_number.size() || n < 1) throw std::invalid_argument("");
    selected = static_cast<std::size_t>(n);
  } catch (const std::exception&) {
    streams.err << "explain: --pod takes a number from 1, not '" << pod_number << "'\n";
    return 2;
  }
  return 0;
}

// Every pod (template) in the file, in order. False: the YAML is invalid (reported).
bool collect_targets(const std::string& input, const std::string& source, std::vector<std::unique_ptr<value>>& docs,
                     std::vector<target_in_file>& targets, std::ostream& err) {
  int document = 0;
  for (const yaml::chunk& c : yaml::split_documents(input)) {
    try {
      const YAML::Node node = yaml::parse_chunk(c);
      if (!node.IsDefined() || node.IsNull()) continue;
      ++document;
      if (!may_hold_pod(node)) continue;
      docs.push_back(std::make_unique<value>(yaml::from_yaml(node, c.first_line, c.body.size())));
      scan_result scan = find_pod_templates(*docs.back());
      for (const auto& note : scan.notes) err << source << ": document " << document << ", " << note << '\n';
      for (auto& t : scan.targets) targets.push_back({document, docs.back().get(), std::move(t)});
    } catch (const yaml::input_error& e) {
      err << source << ':' << e.line << ':' << e.column << ": document " << document + 1 << ": " << e.what() << '\n';
      return false;
    }
  }
  return true;
}

// The pods found against --pod and --output; 0 when they fit, else the exit code.
int check_targets(const options& opt, const std::string& source, const std::vector<target_in_file>& targets,
                  std::size_t selected, std::ostream& err) {
  if (targets.empty()) {
    err << source
        << ": no pod or pod template found (kinds: Pod, Deployment, StatefulSet, DaemonSet, "
           "ReplicaSet, Job, CronJob, ReplicationController, DeploymentConfig, List)\n";
    return 1;
  }
  if (selected > targets.size()) {
    err << "explain: --pod " << selected << ": " << source << " holds " << targets.size()
        << (targets.size() == 1 ? " pod" : " pods") << '\n';
    return 2;
  }
  if (selected == 0 && targets.size() > 1 && opt.output == "json") {
    err << "explain: " << source << " holds " << targets.size() << " pods; choose one with --pod N for JSON output:\n";
    for (std::size_t i = 0; i < targets.size(); ++i)
      err << "  --pod " << i + 1 << "  document " << targets[i].document << ", " << describe_target(targets[i].t)
          << '\n';
    return 2;
  }
  return 0;
}

}  // namespace

int explain(args a, io streams) {
  options opt;
  config_flags config;
  std::string pod_number;
  flag_set flags(usage);
  flags.value({"-f", "--filename"}, &opt.file, "the pod or workload YAML (- for stdin)", "FILE")
      .value({"-n", "--namespace"}, &opt.namespace_flag, "namespace the pod is created in, when the file names none",
             "NS")
      .value({"-o", "--output"}, &opt.output, "text or json", "FORMAT")
      .value({"--pod"}, &pod_number, "which pod (template) of the file, 1-based, when it holds several", "N")
      .value({"--webhook-config"}, &opt.webhook_config,
             "a MutatingWebhookConfiguration: also decide whether the apiserver calls the webhook", "FILE")
      .value({"--namespace-labels"}, &opt.namespace_labels, "the namespace's labels, for --webhook-config", "k=v,...");
  config.add_to(flags);
  config.add_injector_settings_to(flags);
  int code = 0;
  if (!flags.parse(a, streams, code)) return code;
  if (!config.check_injector_settings(flags, "explain", streams.err) || !config.bounds.parse("explain", streams.err))
    return 2;
  opt.labels_given = flags.given("--namespace-labels");
  std::size_t selected = 0;
  if (const int bad = check_options(opt, config, pod_number, selected, flags, streams)) return bad;

  patch::config_sources sources;
  if (!config.read(sources, streams)) return 1;
  if (config.inject_config.empty())
    streams.err << "explain: using the embedded default injection config (--inject-config FILE for yours)\n";
  std::string input, problem;
  if (!read_input(opt.file, streams, input, problem, max_manifest_bytes, manifest_bound) ||
      (!opt.webhook_config.empty() && !read_input(opt.webhook_config, streams, opt.webhook_config_text, problem,
                                                  config.bounds.max_config_bytes, config_bound))) {
    streams.err << problem << '\n';
    return 1;
  }
  const auto snapshot = build_snapshot(sources, streams.err);
  if (!snapshot) return 1;

  std::vector<std::unique_ptr<value>> docs;
  std::vector<target_in_file> targets;
  const std::string source = display_name(opt.file);
  if (!collect_targets(input, source, docs, targets, streams.err)) return 1;
  if (const int bad = check_targets(opt, source, targets, selected, streams.err)) return bad;

  patch::engine engine(snapshot);
  explainer ex{opt, *snapshot, engine, streams.out};
  if (selected > 0) return ex.run(targets[selected - 1], 1, 1, streams.err) ? 0 : 1;
  for (std::size_t i = 0; i < targets.size(); ++i)
    if (!ex.run(targets[i], i + 1, targets.size(), streams.err)) return 1;
  return 0;
}

}  // namespace meshinject::cmd
