#pragma once
// The Kubernetes types a sidecar template renders into, as far as typing its YAML
// needs them. Istio decoded the rendered YAML into these Go structs, which gave
// each scalar the type of its field: `- 1337` under `args` is the string "1337",
// `port` under `httpGet` is int-or-string, quantities are strings. We type the
// same way, from this table.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace meshinject::patch::k8s {

enum class field_type : std::uint8_t {
  string,
  integer,
  boolean,
  quantity,       // resource.Quantity: written as a string
  int_or_string,  // intstr.IntOrString
  object,
  list,
  map,            // map[string]<elem>
  any,            // not modelled: YAML types pass through
};

struct type_node;

struct field_desc {
  std::string_view name;
  const type_node* type;
};

struct type_node {
  field_type t;
  std::string_view name;                 // "Container", for messages
  std::span<const field_desc> fields;    // object
  const type_node* elem = nullptr;       // list, map

  // Exact match first, then case-insensitive (Go's encoding/json does both).
  const field_desc* find(std::string_view key) const noexcept;
};

const type_node& sidecar_spec() noexcept;  // the template's top level
const type_node& pod() noexcept;           // an Istio >= 1.9 template's top level (a Pod)
const type_node& container() noexcept;
const type_node& volume() noexcept;
const type_node& volume_mount() noexcept;
const type_node& local_object_reference() noexcept;
const type_node& env_var() noexcept;
const type_node& string_type() noexcept;

// Every type above as a small number, so that a compiled variant names a type
// in 4 bytes rather than 8 (sidecar.hpp's segment). The table is built on first
// use (thread-safe) and never changes; schema_at() then only indexes it.
inline constexpr std::uint32_t no_schema = UINT32_MAX;
std::uint32_t schema_index(const type_node& t) noexcept;  // no_schema: not reachable from the roots above
const type_node& schema_at(std::uint32_t index) noexcept;

// resource.Quantity syntax: "100m", "2", "1.5Gi", "1e3".
bool is_quantity(std::string_view s) noexcept;

// resource.Quantity's canonical text, as the API server and Istio's typed
// decode write it ("2000m" -> "2", "1024Mi" -> "1Gi", "0.5" -> "500m"); false
// when `s` is not a quantity with an SI suffix (exponent forms are left alone).
bool canonical_quantity(std::string_view s, std::string& out);
// The CPU amount of a quantity in millicores, rounded up; nullopt when invalid.
bool quantity_millis(std::string_view s, std::int64_t& millis) noexcept;

}  // namespace meshinject::patch::k8s
