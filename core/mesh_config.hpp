#pragma once
// The mesh config (`mesh` key of Istio's `istio` ConfigMap) as the injection
// template sees it: `.MeshConfig` and `.ProxyConfig` (= its `defaultConfig`).
// Istio reads it into protobuf messages; we keep the YAML tree and describe the
// messages with a small schema, so templates can use Go field names
// (`.ProxyConfig.DrainDuration`), getters (`.GetTracing.GetZipkin.GetAddress`)
// and enum names, and so a wrong type or an unknown enum name fails at load.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_tree.hpp"
#include "core/error.hpp"

namespace meshinject::core {

struct go_message;

struct go_enum_value {
  std::string_view name;
  std::int32_t number;
};

struct go_field {
  enum class kind : std::uint8_t { string, integer, boolean, duration, enumeration, message, list, map, any };
  std::string_view go_name;    // ProxyAdminPort
  std::string_view json_name;  // proxyAdminPort
  kind k;
  const go_message* message = nullptr;    // kind::message, and list items when set
  std::span<const go_enum_value> enums;  // kind::enumeration
};

// Generated Go code has a getter `GetX` for each field X, and templates use
// either name; "Get" alone is a field's name, not a getter's.
constexpr bool is_getter_name(std::string_view name) noexcept { return name.size() > 3 && name.starts_with("Get"); }

struct go_message {
  std::string_view type_name;  // for messages: "ProxyConfig"
  std::span<const go_field> fields;

  // Accepts the Go name, or a getter `GetX` for field X.
  const go_field* find_field(std::string_view go_name) const noexcept;
  const go_field* find_json(std::string_view json_name) const noexcept;
};

const go_message& mesh_config_message() noexcept;
const go_message& proxy_config_message() noexcept;
// google.protobuf.BoolValue: written in YAML as a plain boolean, read by
// templates as a message (`.HoldApplicationUntilProxyStarts.GetValue`).
const go_message& bool_value_message() noexcept;

struct mesh_config {
  config_node root;     // built-in defaults with the file applied over them
  std::string source;   // file name, or "built-in defaults"
  std::vector<std::string> warnings;  // unknown keys, as file:line:column: message

  const config_node& proxy_config() const noexcept;
};

// Go's time.ParseDuration syntax ("45s", "1m0s", "1.5s", "100ms"); nanoseconds.
std::optional<std::int64_t> parse_go_duration(std::string_view text) noexcept;
// Go's time.Duration.String(): 45s, 1m0s, 1.5s, 100ms, 0s.
std::string format_go_duration(std::int64_t nanoseconds);

// Whose built-in defaults a mesh file applies over: Istio 1.1's for configs in
// the single-template shape, Istio 1.28's (istiod.istio-system.svc:15012, status
// port 15020, ...) for the named-templates shape.
enum class mesh_defaults : std::uint8_t { istio_1_1, istio_1_28 };

// Throws config_error (file:line:column) for YAML errors, wrong types, unknown
// enum names and bad durations: the first of them in file order. Unknown keys are
// warnings (mesh_config::warnings).
mesh_config load_mesh_config(std::string_view yaml_text, const std::string& file_name,
                             mesh_defaults release = mesh_defaults::istio_1_1, const yaml_limits& limits = {});
mesh_config default_mesh_config(mesh_defaults release = mesh_defaults::istio_1_1);

// Every error of a mesh config file, in file order (empty: it loads), for
// check-config; unknown keys go to `warnings` when given. Throws only for invalid
// YAML, which hides whatever follows it.
std::vector<config_error> check_mesh_config(std::string_view yaml_text, const std::string& file_name,
                                           std::vector<std::string>* warnings = nullptr,
                                           const yaml_limits& limits = {});

}  // namespace meshinject::core
