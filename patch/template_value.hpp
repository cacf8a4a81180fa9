#pragma once
// Values a template computes with. A value is a small copyable struct; strings
// are views into the config (immutable, shared), the request's document, or the
// per-request arena. Nothing here allocates.

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/labels.hpp"

namespace meshinject::core {
class config_node;
struct go_message;
}  // namespace meshinject::core

namespace meshinject::patch {
struct container;
struct container_port;
}  // namespace meshinject::patch

namespace meshinject::patch::tmpl {

struct template_data;

enum class vkind : std::uint8_t {
  invalid,      // Go's "<no value>": a missing key of an interface map
  nil,
  boolean,
  integer,
  floating,
  string,
  duration,     // b: set (a nil *Duration is false and formats as 1s); i: nanoseconds
  enumeration,  // s: name, i: number
  data,         // the root `.`
  meta,         // i == 0: .ObjectMeta, i == 1: .DeploymentMeta
  spec,         // .Spec
  containers,   // p: first container, i: count
  container,    // p
  ports,        // p: first port, i: count
  port,         // p
  string_map,   // p: first label, i: count, b: the map exists
  cfg,          // p: config_node (nullptr = nil message), aux: go_message schema or nullptr
  json,         // j: element (object or array)
  unknown,      // pod-dependent value while compiling a variant
};

struct value {
  vkind k = vkind::invalid;
  bool b = false;
  bool yaml = false;           // produced by toYaml of pod data: spliced as structure
  std::int64_t i = 0;
  double f = 0;
  std::string_view s;
  const void* p = nullptr;
  const void* aux = nullptr;
  simdjson::dom::element j;
  std::string_view origin;     // the annotation a string came from, for error messages

  static value nil() { value v; v.k = vkind::nil; return v; }
  static value boolean(bool x) { value v; v.k = vkind::boolean; v.b = x; return v; }
  static value integer(std::int64_t x) { value v; v.k = vkind::integer; v.i = x; return v; }
  static value floating(double x) { value v; v.k = vkind::floating; v.f = x; return v; }
  static value string(std::string_view x, std::string_view origin = {}) {
    value v; v.k = vkind::string; v.s = x; v.origin = origin; return v;
  }
  static value unknown() { value v; v.k = vkind::unknown; return v; }

  const core::label* labels() const noexcept { return static_cast<const core::label*>(p); }
  const core::config_node* node() const noexcept { return static_cast<const core::config_node*>(p); }
  const core::go_message* schema() const noexcept { return static_cast<const core::go_message*>(aux); }
};

// Go template truth: false, 0, nil, empty string/map/list are false.
bool truth(const value& v) noexcept;

// Appends the value as Go's fmt.Sprint prints it inside a template action
// ("<no value>" for a missing interface-map key, maps as map[k:v], ...).
void print_value(const value& v, std::string& out);

// Name of the value's type in error messages ("string", "map[string]string", ...).
std::string_view type_name(const value& v) noexcept;

}  // namespace meshinject::patch::tmpl
