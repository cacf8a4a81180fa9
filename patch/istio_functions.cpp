// Istio's template functions (pkg/kube/inject's InjectionFuncmap of Istio 1.1/1.2)
// and the YAML writer behind toYaml.

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "core/mesh_config.hpp"
#include "core/yaml_scalar.hpp"
#include "patch/istio_bindings.hpp"
#include "patch/istio_functions.hpp"
#include "patch/json_access.hpp"
#include "patch/json_text.hpp"
#include "patch/template_data.hpp"

namespace meshinject::patch {

namespace istio_args {

using tmpl::call_context;
using tmpl::kind;
using tmpl::value;

value wrong_type(call_context& cx, std::string_view expected, const value& got) {
  std::string& m = cx.scratch(1);
  m = "wrong type for value; expected ";
  m += expected;
  m += "; got ";
  m += tmpl::type_name(got);
  cx.fail(m);
  return value{};
}

bool is_nil(const value& v) noexcept { return v.k == kind::nil || v.k == kind::invalid; }

}  // namespace istio_args

namespace {

using core::config_node;
using tmpl::call_context;
using tmpl::kind;
using tmpl::value;

// ------------------------------------------------------------- YAML writer

void yaml_scalar_string(std::string_view s, std::string& out) {
  // Quote when the plain form would be read back as something else.
  bool plain = !s.empty() && core::resolve_plain_scalar(s).k == core::yaml_scalar::kind::string;
  if (plain) {
    const char c0 = s[0];
    if (std::strchr("-?:,[]{}#&*!|>'\"%@` ", c0) != nullptr) plain = false;
    if (s.back() == ' ' || s.back() == ':') plain = false;
    for (char c : s)
      if (c == '\n' || c == '\t' || c == '\r' || static_cast<unsigned char>(c) < 0x20) plain = false;
    if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) plain = false;
  }
  if (plain) {
    out.append(s);
    return;
  }
  append_json_string(out, s);
}

void yaml_of_node(const config_node& n, std::string& out, int indent);
void yaml_of_json(simdjson::dom::element e, std::string& out, int indent);

void yaml_indent(std::string& out, int indent) { out.append(static_cast<std::size_t>(indent), ' '); }

// Block YAML in go-yaml's layout (sequence items at the parent key's indentation).
void yaml_of_node(const config_node& n, std::string& out, int indent) {
  using K = config_node::kind;
  switch (n.type()) {
    case K::map:
      if (n.members().empty()) {
        out += "{}\n";
        return;
      }
      for (const auto& [k, v] : n.members()) {
        yaml_indent(out, indent);
        yaml_scalar_string(k, out);
        out += ':';
        if ((v.type() == K::map && !v.members().empty())) {
          out += '\n';
          yaml_of_node(v, out, indent + 2);
        } else if (v.type() == K::list && !v.items().empty()) {
          out += '\n';
          yaml_of_node(v, out, indent);
        } else {
          out += ' ';
          yaml_of_node(v, out, indent + 2);
        }
      }
      return;
    case K::list:
      if (n.items().empty()) {
        out += "[]\n";
        return;
      }
      for (const auto& item : n.items()) {
        yaml_indent(out, indent);
        out += "- ";
        if ((item.type() == K::map && !item.members().empty()) || (item.type() == K::list && !item.items().empty())) {
          std::string inner;
          yaml_of_node(item, inner, indent + 2);
          out.append(inner, static_cast<std::size_t>(indent) + 2, std::string::npos);
        } else {
          yaml_of_node(item, out, indent + 2);
        }
      }
      return;
    case K::null: out += "null\n"; return;
    case K::boolean: out += n.as_bool() ? "true\n" : "false\n"; return;
    case K::integer: tmpl::append_int(out, n.as_int());
      out += '\n'; return;
    case K::floating: out += core::format_go_float(n.as_float()) + "\n"; return;
    case K::string: yaml_scalar_string(n.text(), out); out += '\n'; return;
  }
}

void yaml_of_json(simdjson::dom::element e, std::string& out, int indent) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      std::vector<std::pair<std::string_view, simdjson::dom::element>> members;
      for (auto kv : as_object(e)) members.emplace_back(kv.key, kv.value);
      if (members.empty()) {
        out += "{}\n";
        return;
      }
      std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [k, v] : members) {
        yaml_indent(out, indent);
        yaml_scalar_string(k, out);
        out += ':';
        const bool nested_obj = v.is_object() && v.get_object().value_unsafe().size() != 0;
        const bool nested_arr = v.is_array() && v.get_array().value_unsafe().size() != 0;
        if (nested_obj) {
          out += '\n';
          yaml_of_json(v, out, indent + 2);
        } else if (nested_arr) {
          out += '\n';
          yaml_of_json(v, out, indent);
        } else {
          out += ' ';
          yaml_of_json(v, out, indent + 2);
        }
      }
      return;
    }
    case simdjson::dom::element_type::ARRAY: {
      if (e.get_array().value_unsafe().size() == 0) {
        out += "[]\n";
        return;
      }
      for (auto item : as_array(e)) {
        yaml_indent(out, indent);
        out += "- ";
        const bool nested = (item.is_object() && item.get_object().value_unsafe().size() != 0) ||
                            (item.is_array() && item.get_array().value_unsafe().size() != 0);
        if (nested) {
          std::string inner;
          yaml_of_json(item, inner, indent + 2);
          out.append(inner, static_cast<std::size_t>(indent) + 2, std::string::npos);
        } else {
          yaml_of_json(item, out, indent + 2);
        }
      }
      return;
    }
    case simdjson::dom::element_type::STRING: yaml_scalar_string(e.get_string().value_unsafe(), out); out += '\n'; return;
    case simdjson::dom::element_type::BOOL: out += e.get_bool().value_unsafe() ? "true\n" : "false\n"; return;
    case simdjson::dom::element_type::NULL_VALUE: out += "null\n"; return;
    case simdjson::dom::element_type::INT64:
      out += core::format_go_float(static_cast<double>(e.get_int64().value_unsafe())) + "\n";
      return;
    case simdjson::dom::element_type::UINT64:
      out += core::format_go_float(static_cast<double>(e.get_uint64().value_unsafe())) + "\n";
      return;
    case simdjson::dom::element_type::DOUBLE: out += core::format_go_float(e.get_double().value_unsafe()) + "\n"; return;
  }
}


// ----------------------------------------------------------------- helpers

using istio_args::is_nil;
using istio_args::wrong_type;

// --------------------------------------------------------------- functions

value fn_annotation(call_context& cx, std::span<value> a) {
  if (a[0].type != &istio::meta_type()) return wrong_type(cx, "v1.ObjectMeta", a[0]);
  if (a[1].k != kind::string) return wrong_type(cx, "string", a[1]);
  const value annotations = cx.field(a[0], "Annotations");
  if (cx.failed() || annotations.k == kind::unknown) return annotations;
  const value found = annotations.type->find(annotations, a[1].s);
  if (found.k != kind::invalid) return found;
  if (a[2].k == kind::string) return a[2];
  std::string& s = cx.scratch(0);
  s.clear();
  tmpl::sprint(a[2], s);
  return cx.text(s);
}

// `annotation .ObjectMeta "key" <constant>`: a lookup of the pod's annotations.
bool plan_annotation(std::span<const tmpl::call_site_arg> args, tmpl::lookup_plan& plan) {
  if (args.size() != 3 || !args[0].root_chain || args[0].root_chain->size() != 1) return false;
  const std::string& meta = (*args[0].root_chain)[0];
  if (meta != "ObjectMeta" && meta != "DeploymentMeta") return false;
  if (!args[1].constant || args[1].constant->k != kind::string || !args[2].constant) return false;
  const value& d = *args[2].constant;
  value number;
  const bool enumeration = d.k == kind::object && d.type->basic(d, number);
  if (d.k != kind::string && d.k != kind::integer && d.k != kind::boolean && !enumeration) return false;
  plan.mode = tmpl::lookup_plan::result::or_default;
  plan.chain = {meta, "Annotations"};
  plan.key = std::string(args[1].constant->s);
  plan.fallback.clear();
  tmpl::print_value(d, plan.fallback);
  return true;
}

value fn_isset(call_context& cx, std::span<value> a) {
  if (!tmpl::is_string_map(a[0])) {
    if (is_nil(a[0])) return value::boolean(false);
    return wrong_type(cx, "map[string]string", a[0]);
  }
  if (a[1].k != kind::string) return wrong_type(cx, "string", a[1]);
  return value::boolean(a[0].type->find(a[0], a[1].s).k != kind::invalid);
}

// `isset .ObjectMeta.Annotations "key"`: a lookup. Only the metadata's maps are
// map[string]string values: a .ProxyConfig map (resolved per request in 1.28)
// is a config node, which fn_isset refuses, and the plan must refuse it too.
bool plan_isset(std::span<const tmpl::call_site_arg> args, tmpl::lookup_plan& plan) {
  if (args.size() != 2 || !args[0].root_chain || !args[1].constant || args[1].constant->k != kind::string)
    return false;
  if (args[0].root_chain->empty()) return false;
  const std::string& base = args[0].root_chain->front();
  if (base != "ObjectMeta" && base != "DeploymentMeta") return false;
  plan.mode = tmpl::lookup_plan::result::exists;
  plan.chain = *args[0].root_chain;
  plan.key = std::string(args[1].constant->s);
  return true;
}

value fn_value_or_default(call_context&, std::span<value> a) {
  const bool empty = is_nil(a[0]) || (a[0].k == kind::string && a[0].s.empty());
  return empty ? a[1] : a[0];
}

// encoding/json of a map[string]string: keys sorted, HTML characters escaped.
value fn_to_json(call_context& cx, std::span<value> a) {
  const value& v = a[0];
  if (is_nil(v)) return value::string("{}");
  if (!tmpl::is_string_map(v)) return wrong_type(cx, "map[string]string", v);
  const auto items = tmpl::string_map_items(v);
  if (items.empty()) return value::string("{}");
  const core::label** sorted = cx.strings().allocate_array<const core::label*>(items.size());
  for (std::size_t k = 0; k < items.size(); ++k) sorted[k] = &items[k];
  std::sort(sorted, sorted + items.size(), [](auto* p, auto* q) { return p->key < q->key; });
  core::label* in_order = cx.strings().allocate_array<core::label>(items.size());
  for (std::size_t k = 0; k < items.size(); ++k) in_order[k] = *sorted[k];
  value ordered = tmpl::string_map({in_order, items.size()}, true);
  if (cx.when() == call_context::phase::trace) {
    // The text goes into the patch as a JSON string: the fragment writer makes
    // it there, escaped once for both layers (write_to_json_escaped). Kept
    // here: the items in key order and the text's size, which counts as output.
    std::size_t size = 1 + items.size() * 6;  // {} and each item's "":"" and comma, less one comma
    for (std::size_t k = 0; k < items.size(); ++k)
      size += core::escaped_size(in_order[k].key, core::escape_style::json_html) +
              core::escaped_size(in_order[k].value, core::escape_style::json_html);
    ordered.deferred = write_to_json;
    ordered.late_size = static_cast<std::uint32_t>(std::min<std::size_t>(size, std::numeric_limits<std::uint32_t>::max()));
    return ordered;
  }
  std::string& out = cx.scratch(0);
  out.clear();
  write_to_json(ordered, out);
  return cx.text(out);
}

value fn_from_json(call_context& cx, std::span<value> a) {
  const value& v = a[0];
  if (v.k != kind::string) return wrong_type(cx, "string", v);
  simdjson::dom::element e;
  simdjson::error_code err = simdjson::SUCCESS;
  if (!cx.parse_json(v.s, e, err)) {
    std::string& m = cx.scratch(1);
    m.clear();
    if (v.origin.empty()) {
      m += "fromJSON: the value is not valid JSON";
    } else {
      m += "annotation ";
      m += v.origin;
      m += " is not valid JSON";
    }
    m += " (";
    m += simdjson::error_message(err);
    m += ")";
    cx.fail(m);
    return value{};
  }
  return tmpl::from_json(e, v.origin);
}

value fn_to_yaml(call_context& cx, std::span<value> a) {
  const value& v = a[0];
  const bool data = v.k == kind::json || tmpl::is_string_map(v) || is_config_value(v) || v.k == kind::string ||
                    v.k == kind::integer || v.k == kind::floating || v.k == kind::boolean || is_nil(v);
  if (cx.when() == call_context::phase::trace && data) {
    // Per-request data stays structure until the fragment writer splices it as JSON.
    value out = v;
    out.deferred = write_yaml;
    return out;
  }
  std::string& s = cx.scratch(0);
  s.clear();
  write_yaml(v, s);
  return cx.text(s);
}

value fn_indent(call_context& cx, std::span<value> a) {
  if (a[0].k != kind::integer) return wrong_type(cx, "int", a[0]);
  if (a[1].k != kind::string) return wrong_type(cx, "string", a[1]);
  std::string& out = cx.scratch(0);
  out.clear();
  const auto pad = static_cast<std::size_t>(std::max<std::int64_t>(0, std::min<std::int64_t>(a[0].i, 1024)));
  for (char ch : a[1].s) {
    out += ch;
    if (ch == '\n') out.append(pad, ' ');
  }
  return cx.text(out, a[1].origin);
}

value fn_format_duration(call_context& cx, std::span<value> a) {
  if (a[0].type == &istio::duration_type()) {
    if (!a[0].b) return value::string("1s");
    return cx.text(core::format_go_duration(a[0].i));
  }
  if (is_nil(a[0])) return value::string("1s");
  return wrong_type(cx, "*types.Duration", a[0]);
}

value ports(call_context& cx, const value& v, bool skip_proxy) {
  if (v.type != &istio::containers_type()) {
    if (is_nil(v)) return value::string("");
    return wrong_type(cx, "[]v1.Container", v);
  }
  const template_data& d = istio::data_of_containers(v);
  const container* c = istio::containers_of(v);
  std::string& out = cx.scratch(0);
  out.clear();
  for (std::int64_t k = 0; k < v.i; ++k) {
    if (skip_proxy && c[k].name == "istio-proxy") continue;
    for (std::uint32_t p = c[k].ports_begin; p < c[k].ports_end; ++p) {
      if (!out.empty()) out += ',';
      append_int(out, d.p->ports[p].container_port);
    }
  }
  return cx.text(out);
}

value fn_include_inbound_ports(call_context& cx, std::span<value> a) { return ports(cx, a[0], false); }
value fn_application_ports(call_context& cx, std::span<value> a) { return ports(cx, a[0], true); }

std::string_view trim(std::string_view s, std::string_view space) {
  const std::size_t b = s.find_first_not_of(space);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(space) - b + 1);
}

// Adds the port to the comma-separated list unless it is there already.
value fn_exclude_inbound_port(call_context& cx, std::span<value> a) {
  if (a[1].k != kind::string) return wrong_type(cx, "string", a[1]);
  std::string& printed = cx.scratch(1);
  printed.clear();
  tmpl::sprint(a[0], printed);
  const std::string_view port = trim(printed, " \t\n");
  if (port.empty() || port == "0") return a[1];
  const std::string_view list = a[1].s;
  std::string& out = cx.scratch(0);
  out.clear();
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = list.find(',', start);
    const std::string_view raw = list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (raw == port) return a[1];
    const std::string_view item = trim(raw, " \t");
    if (!item.empty()) {
      if (!out.empty()) out += ',';
      out.append(item);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (!out.empty()) out += ',';
  out += port;
  return cx.text(out);
}

value fn_kubevirt_interfaces(call_context&, std::span<value> a) { return a[0]; }

value fn_directory(call_context& cx, std::span<value> a) {
  if (a[0].k != kind::string) return wrong_type(cx, "string", a[0]);
  const std::size_t slash = a[0].s.rfind('/');
  return value::string(slash == std::string_view::npos ? std::string_view() : a[0].s.substr(0, slash + 1));
}

// Istio's contains takes the needle first so it reads well in a pipeline.
value fn_contains(call_context& cx, std::span<value> a) {
  if (a[0].k != kind::string || a[1].k != kind::string) {
    cx.fail("wrong type for value; expected string");
    return value{};
  }
  return value::boolean(a[1].s.find(a[0].s) != std::string_view::npos);
}

}  // namespace

void add_istio_functions(tmpl::function_table& t) {
  using e = tmpl::function_entry;
  t.add({.name = "annotation", .impl = fn_annotation, .min_args = 3, .max_args = 3, .specialize = plan_annotation});
  t.add({.name = "isset", .impl = fn_isset, .min_args = 2, .max_args = 2, .specialize = plan_isset});
  t.add({.name = "valueOrDefault", .impl = fn_value_or_default, .min_args = 2, .max_args = 2});
  t.add({.name = "toJSON", .impl = fn_to_json, .min_args = 1, .max_args = 1});
  // Its documents live in the request: never folded at load.
  t.add({.name = "fromJSON", .impl = fn_from_json, .min_args = 1, .max_args = 1, .pure = false});
  t.add({.name = "toYaml", .impl = fn_to_yaml, .min_args = 1, .max_args = 1, .result = e::shape::structure});
  t.add({.name = "indent", .impl = fn_indent, .min_args = 2, .max_args = 2, .result = e::shape::keeps_structure});
  t.add({.name = "formatDuration", .impl = fn_format_duration, .min_args = 1, .max_args = 1});
  t.add({.name = "includeInboundPorts", .impl = fn_include_inbound_ports, .min_args = 1, .max_args = 1});
  t.add({.name = "excludeInboundPort", .impl = fn_exclude_inbound_port, .min_args = 2, .max_args = 2});
  t.add({.name = "applicationPorts", .impl = fn_application_ports, .min_args = 1, .max_args = 1});
  t.add({.name = "kubevirtInterfaces", .impl = fn_kubevirt_interfaces, .min_args = 1, .max_args = 1});
  t.add({.name = "directory", .impl = fn_directory, .min_args = 1, .max_args = 1});
  t.add({.name = "contains", .impl = fn_contains, .min_args = 2, .max_args = 2});
}

namespace {

// Istio 1.1/1.2 had no sprig: Go's builtins and Istio's own, with `toJson`
// as another name for Istio's toJSON (meshinject's 1.1 behaviour).
tmpl::function_table make_table() {
  tmpl::function_table t = tmpl::builtin_functions();
  add_istio_functions(t);
  t.add({.name = "toJson", .impl = fn_to_json, .min_args = 1, .max_args = 1});
  return t;
}

}  // namespace

void write_to_json(const value& v, std::string& out) {
  const auto items = tmpl::string_map_items(v);
  out += '{';
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k) out += ',';
    append_json_string(out, items[k].key, true);
    out += ':';
    append_json_string(out, items[k].value, true);
  }
  out += '}';
}

void write_to_json_escaped(const value& v, std::string& out) {
  const auto items = tmpl::string_map_items(v);
  out += '{';
  for (std::size_t k = 0; k < items.size(); ++k) {
    out += k ? ",\\\"" : "\\\"";
    core::append_escaped_twice(out, items[k].key, core::escape_style::json_html);
    out += "\\\":\\\"";
    core::append_escaped_twice(out, items[k].value, core::escape_style::json_html);
    out += "\\\"";
  }
  out += '}';
}

void write_yaml(const value& v, std::string& out) {
  if (is_config_value(v)) {
    if (istio::node_of(v)) yaml_of_node(*istio::node_of(v), out, 0);
    else out += "null\n";
    return;
  }
  if (tmpl::is_string_map(v)) {
    const auto items = tmpl::string_map_items(v);
    if (items.empty()) {
      out += "{}\n";
      return;
    }
    std::vector<const core::label*> sorted;
    for (const core::label& l : items) sorted.push_back(&l);
    std::sort(sorted.begin(), sorted.end(), [](auto* p, auto* q) { return p->key < q->key; });
    for (const auto* l : sorted) {
      yaml_scalar_string(l->key, out);
      out += ": ";
      yaml_scalar_string(l->value, out);
      out += '\n';
    }
    return;
  }
  switch (v.k) {
    case kind::json: yaml_of_json(v.j, out, 0); break;
    case kind::string: yaml_scalar_string(v.s, out); out += '\n'; break;
    case kind::integer: tmpl::append_int(out, v.i); out += '\n'; break;
    case kind::floating: tmpl::append_float(out, v.f); out += '\n'; break;
    case kind::boolean: out += v.b ? "true\n" : "false\n"; break;
    case kind::nil:
    case kind::invalid: out += "null\n"; break;
    default: tmpl::print_value(v, out); out += '\n'; break;
  }
}

const tmpl::function_table& istio_functions() {
  static const tmpl::function_table table = make_table();
  return table;
}

}  // namespace meshinject::patch
