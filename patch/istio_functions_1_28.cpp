// Istio 1.28's function table: Go's builtins, sprig's pure families, Istio's
// own (istio_functions.cpp) over them, and what InjectionFuncmap added since
// 1.2: toLower excludeInterfaces appendMultusNetwork structToJSON protoToJSON
// env omit strdict toJsonMap mergeMaps.

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/config_tree.hpp"
#include "core/mesh_config.hpp"
#include "core/yaml_scalar.hpp"
#include "patch/istio_bindings.hpp"
#include "patch/istio_functions.hpp"
#include "patch/json_access.hpp"
#include "patch/json_text.hpp"
#include "patch/template_data.hpp"

extern char** environ;

namespace meshinject::patch {
namespace {

using core::config_node;
using tmpl::call_context;
using tmpl::kind;
using tmpl::value;

using istio_args::is_nil;
using istio_args::wrong_type;

bool want_string(call_context& cx, const value& v, std::string_view& out) {
  if (v.k == kind::string) {
    out = v.s;
    return true;
  }
  wrong_type(cx, "string", v);
  return false;
}

// A map[string]string argument: its labels (a nil map has none).
bool want_string_map(call_context& cx, const value& v, std::span<const core::label>& out) {
  if (tmpl::is_string_map(v)) {
    out = tmpl::string_map_items(v);
    return true;
  }
  if (is_nil(v)) {
    out = {};
    return true;
  }
  wrong_type(cx, "map[string]string", v);
  return false;
}

// A Go map[string]string assigned label by label: the last of a repeated key wins.
class string_map_builder {
 public:
  string_map_builder(call_context& cx, std::size_t room)
      : labels_(cx.strings().allocate_array<core::label>(room == 0 ? 1 : room)) {}
  void set(std::string_view key, std::string_view v) {
    for (std::size_t k = 0; k < n_; ++k) {
      if (labels_[k].key == key) {
        labels_[k].value = v;
        return;
      }
    }
    labels_[n_++] = core::label{key, v};
  }
  value done() const noexcept { return tmpl::string_map({labels_, n_}, true); }

 private:
  core::label* labels_;
  std::size_t n_ = 0;
};

// ------------------------------------------------------------ JSON writers

void json_of_node(const config_node& n, std::string& out) {
  using K = config_node::kind;
  switch (n.type()) {
    case K::null: out += "null"; return;
    case K::boolean: out += n.as_bool() ? "true" : "false"; return;
    case K::integer: tmpl::append_int(out, n.as_int()); return;
    case K::floating: out += core::format_go_float(n.as_float()); return;
    case K::string: append_json_string(out, n.text(), true); return;
    case K::list: {
      out += '[';
      bool first = true;
      for (const config_node& item : n.items()) {
        if (!first) out += ',';
        first = false;
        json_of_node(item, out);
      }
      out += ']';
      return;
    }
    case K::map: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : n.members()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, key, true);
        out += ':';
        json_of_node(item, out);
      }
      out += '}';
      return;
    }
  }
}

bool zero_scalar(const config_node& n) noexcept {
  using K = config_node::kind;
  switch (n.type()) {
    case K::null: return true;
    case K::boolean: return !n.as_bool();
    case K::integer: return n.as_int() == 0;
    case K::floating: return n.as_float() == 0;
    case K::string: return n.text().empty();
    case K::list: return n.items().empty();
    case K::map: return false;
  }
  return false;
}

bool duration_is(const config_node& n, std::int64_t seconds) noexcept {
  const auto ns = core::parse_go_duration(n.text());
  return ns && *ns == seconds * 1'000'000'000;
}

// cleanProxyConfig: fields equal to Istio's DefaultProxyConfig() are dropped to
// keep the pod small; proto3 JSON also leaves out zero values, but not a set
// wrapper (`concurrency: 0` and `holdApplicationUntilProxyStarts: false` are
// Int32Value and BoolValue messages: a pod's proxy.istio.io/config sets them).
bool is_proxy_default(std::string_view key, const config_node& n) noexcept {
  using K = config_node::kind;
  const bool wrapper = key == "concurrency" || key == "holdApplicationUntilProxyStarts";
  if (n.type() != K::map && zero_scalar(n)) return !wrapper || n.is_null();
  if (key == "proxyMetadata") return n.type() == K::map && n.members().empty();
  if (n.type() == K::string) {
    const std::string& s = n.text();
    return (key == "configPath" && s == "./etc/istio/proxy") || (key == "binaryPath" && s == "/usr/local/bin/envoy") ||
           (key == "serviceCluster" && s == "istio-proxy") || (key == "controlPlaneAuthPolicy" && s == "MUTUAL_TLS") ||
           (key == "discoveryAddress" && s == "istiod.istio-system.svc:15012") ||
           (key == "drainDuration" && duration_is(n, 45)) || (key == "terminationDrainDuration" && duration_is(n, 5));
  }
  if (n.type() == K::integer) {
    const std::int64_t i = n.as_int();
    return (key == "proxyAdminPort" && i == 15000) || (key == "statNameLength" && i == 189) ||
           (key == "statusPort" && i == 15020);
  }
  return false;
}

// ---------------------------------------------------------------- functions

value fn_to_lower(call_context& cx, std::span<value> a) {
  std::string_view s;
  if (!want_string(cx, a[0], s)) return {};
  std::string& out = cx.scratch(0);
  out.assign(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return cx.text(out, a[0].origin);
}

value fn_identity_string(call_context& cx, std::span<value> a) {
  std::string_view s;
  if (!want_string(cx, a[0], s)) return {};
  return a[0];
}

// k8s.io/utils/strings.SplitQualifiedName: "ns/name", else ("", s).
std::pair<std::string_view, std::string_view> split_qualified(std::string_view s) noexcept {
  const std::size_t slash = s.find('/');
  if (slash == std::string_view::npos) return {{}, s};
  const std::size_t second = s.find('/', slash + 1);
  return {s.substr(0, slash), s.substr(slash + 1, second == std::string_view::npos ? second : second - slash - 1)};
}

// Adds Istio's CNI network to a pod's Multus networks annotation: a JSON list
// gains {"name": ..., "namespace": ...}, a comma list gains ", ns/name"; nothing
// changes when the network is there already or the JSON cannot be read.
value fn_append_multus_network(call_context& cx, std::span<value> a) {
  std::string_view existing, network;
  if (!want_string(cx, a[0], existing) || !want_string(cx, a[1], network)) return {};
  if (existing.empty()) return a[1];
  const std::size_t bracket = existing.rfind(']');
  if (bracket != std::string_view::npos) {
    simdjson::dom::element doc;
    simdjson::error_code error = simdjson::SUCCESS;
    if (!cx.parse_json(existing, doc, error) || !doc.is_array()) return a[0];
    const auto [ns, name] = split_qualified(network);
    for (simdjson::dom::element item : as_array(doc)) {
      if (item.is_null()) continue;
      if (!item.is_object()) return a[0];  // not a []map[string]any: Go's Unmarshal fails
      const auto object = as_object(item);
      std::string_view item_name;
      if (object.at_key("name").get_string().get(item_name) != simdjson::SUCCESS || item_name != name) continue;
      auto item_ns = object.at_key("namespace");
      std::string_view ns_text;
      const bool ns_matches = item_ns.error() ? ns.empty()
                              : item_ns.value_unsafe().is_null()
                                  ? ns.empty()
                                  : item_ns.get_string().get(ns_text) == simdjson::SUCCESS && ns_text == ns;
      if (ns_matches) return a[0];
    }
    std::string& out = cx.scratch(0);
    out.assign(existing.substr(0, bracket));
    out += ", {\"name\": \"";
    out.append(name);
    if (!ns.empty()) {
      out += "\", \"namespace\": \"";
      out.append(ns);
    }
    out += "\"}";
    out.append(existing.substr(bracket));
    return cx.text(out, a[0].origin);
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = existing.find(',', start);
    std::string_view item = existing.substr(start, comma == std::string_view::npos ? comma : comma - start);
    while (!item.empty() && std::strchr(" \t\n\r\v\f", item.front())) item.remove_prefix(1);
    while (!item.empty() && std::strchr(" \t\n\r\v\f", item.back())) item.remove_suffix(1);
    if (item == network) return a[0];
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::string& out = cx.scratch(0);
  out.assign(existing);
  out += ", ";
  out.append(network);
  return cx.text(out, a[0].origin);
}

// v1.ContainerPort as encoding/json writes it (name and protocol omitted when empty).
void json_of_port(const container_port& port, std::string& out) {
  out += '{';
  if (!port.name.empty()) {
    out += "\"name\":";
    append_json_string(out, port.name, true);
    out += ',';
  }
  out += "\"containerPort\":";
  tmpl::append_int(out, port.container_port);
  if (!port.protocol.empty()) {
    out += ",\"protocol\":";
    append_json_string(out, port.protocol, true);
  }
  out += '}';
}

// structToJSON: encoding/json's text of any value, "{}" for nil or on failure.
value fn_struct_to_json(call_context& cx, std::span<value> a) {
  const value& v = a[0];
  if (is_nil(v)) return value::string("{}");
  std::string& out = cx.scratch(0);
  out.clear();
  if (is_config_value(v) && !istio::node_of(v)) return value::string("{}");
  if (v.type == &istio::port_type()) {
    json_of_port(*istio::port_of(v), out);
  } else if (!tmpl::marshal_json(cx, v, out)) {
    return value::string("{}");
  }
  return cx.text(out);
}

// protoToJSON: a ProxyConfig's proto JSON without the fields that hold Istio's defaults.
value fn_proto_to_json(call_context& cx, std::span<value> a) {
  const value& v = a[0];
  if (is_nil(v)) return value::string("{}");
  if (!is_config_value(v)) return wrong_type(cx, "proto.Message", v);
  const config_node* n = istio::node_of(v);
  if (!n || n->type() != config_node::kind::map) return value::string("{}");
  const bool proxy_config = tmpl::type_name(v).find("ProxyConfig") != std::string_view::npos;
  std::string& out = cx.scratch(0);
  out = "{";
  bool first = true;
  for (const auto& [key, item] : n->members()) {
    if (proxy_config ? is_proxy_default(key, item) : (item.type() != config_node::kind::map && zero_scalar(item)))
      continue;
    if (!first) out += ',';
    first = false;
    append_json_string(out, key, true);
    out += ':';
    json_of_node(item, out);
  }
  out += '}';
  return cx.text(out);
}

// The injector's environment, read once when the table is first built: `env`
// answers from it, so a variant never depends on when it was rendered.
struct environment {
  std::vector<std::pair<std::string, std::string>> vars;  // sorted by name
  static const environment& snapshot() {
    static const environment e = [] {
      environment r;
      for (char** p = environ; p && *p; ++p) {
        const std::string_view entry(*p);
        const std::size_t eq = entry.find('=');
        if (eq == std::string_view::npos) continue;
        r.vars.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
      }
      std::sort(r.vars.begin(), r.vars.end());
      return r;
    }();
    return e;
  }
  std::string_view find(std::string_view name) const noexcept {
    const auto it = std::lower_bound(vars.begin(), vars.end(), name,
                                     [](const auto& var, std::string_view n) { return var.first < n; });
    return it != vars.end() && it->first == name ? std::string_view(it->second) : std::string_view();
  }
};

// env KEY DEFAULT: the variable, or DEFAULT when unset or empty.
value fn_env(call_context& cx, std::span<value> a) {
  std::string_view key, fallback;
  if (!want_string(cx, a[0], key) || !want_string(cx, a[1], fallback)) return {};
  const std::string_view found = environment::snapshot().find(key);
  return found.empty() ? a[1] : value::string(found);
}

// omit MAP KEY...: a copy of a map[string]string without the keys named.
value fn_omit(call_context& cx, std::span<value> a) {
  std::span<const core::label> items;
  if (!want_string_map(cx, a[0], items)) return {};
  for (const value& k : a.subspan(1)) {
    std::string_view ignored;
    if (!want_string(cx, k, ignored)) return {};
  }
  string_map_builder out(cx, items.size());
  for (const core::label& l : items) {
    bool named = false;
    for (const value& k : a.subspan(1)) named = named || k.s == l.key;
    if (!named) out.set(l.key, l.value);
  }
  return out.done();
}

// strdict k1 v1 ...: sprig's dict, but a map[string]string of strings.
value fn_strdict(call_context& cx, std::span<value> a) {
  for (const value& s : a) {
    std::string_view ignored;
    if (!want_string(cx, s, ignored)) return {};
  }
  string_map_builder out(cx, (a.size() + 1) / 2);
  for (std::size_t k = 0; k < a.size(); k += 2) out.set(a[k].s, k + 1 < a.size() ? a[k + 1].s : std::string_view());
  return out.done();
}

// mergeMaps M...: later maps win; no maps at all give a nil map.
bool merge_maps(call_context& cx, std::span<value> a, value& result) {
  std::size_t room = 0;
  for (const value& m : a) {
    std::span<const core::label> items;
    if (!want_string_map(cx, m, items)) return false;
    room += items.size();
  }
  if (a.empty()) {
    result = value::nil();
    return true;
  }
  string_map_builder out(cx, room);
  for (const value& m : a) {
    std::span<const core::label> items;
    want_string_map(cx, m, items);
    for (const core::label& l : items) out.set(l.key, l.value);
  }
  result = out.done();
  return true;
}

value fn_merge_maps(call_context& cx, std::span<value> a) {
  value result;
  return merge_maps(cx, a, result) ? result : value{};
}

value fn_to_json_map(call_context& cx, std::span<value> a) {
  value merged;
  if (!merge_maps(cx, a, merged)) return {};
  std::string& out = cx.scratch(0);
  out.clear();
  if (is_nil(merged)) return value::string("null");
  if (!tmpl::marshal_json(cx, merged, out)) return value::string("");
  return cx.text(out);
}

tmpl::function_table make_table() {
  tmpl::function_table t = tmpl::builtin_functions();
  tmpl::add_sprig_functions(t);
  add_istio_functions(t);
  t.add({.name = "toLower", .impl = fn_to_lower, .min_args = 1, .max_args = 1});
  t.add({.name = "excludeInterfaces", .impl = fn_identity_string, .min_args = 1, .max_args = 1});
  // Reads a JSON document, which lives in the request: never folded.
  t.add({.name = "appendMultusNetwork", .impl = fn_append_multus_network, .min_args = 2, .max_args = 2, .pure = false});
  t.add({.name = "structToJSON", .impl = fn_struct_to_json, .min_args = 1, .max_args = 1});
  t.add({.name = "protoToJSON", .impl = fn_proto_to_json, .min_args = 1, .max_args = 1});
  t.add({.name = "env", .impl = fn_env, .min_args = 2, .max_args = 2});
  t.add({.name = "omit", .impl = fn_omit, .min_args = 1});
  t.add({.name = "strdict", .impl = fn_strdict});
  t.add({.name = "toJsonMap", .impl = fn_to_json_map});
  t.add({.name = "mergeMaps", .impl = fn_merge_maps});
  environment::snapshot();  // read now, at load, not on a request
  return t;
}

}  // namespace

const tmpl::function_table& istio_functions_1_28() {
  static const tmpl::function_table table = make_table();
  return table;
}

}  // namespace meshinject::patch
