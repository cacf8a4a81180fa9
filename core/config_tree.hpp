#pragma once
// An immutable tree of YAML values (mesh config, Helm-style values), typed the way
// go-yaml v2 types them. Templates read it through `.MeshConfig`, `.ProxyConfig`
// and `.Values`; it is built once per config load and shared read-only by every
// core.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace YAML {
class Node;
}

namespace meshinject::core {

namespace yaml {
class node;
}

// Bounds on what one config document may cost once its aliases are expanded. YAML
// aliases share a node, so nine nested aliases of nine items each ("billion
// laughs") parse in microseconds and expand to 9^9 nodes; Go's yaml.v2, which Istio
// reads its config with, stops such documents with "excessive aliasing". A
// ConfigMap holds at most 1 MiB, and Istio 1.28's chart values are 179 values, so
// these leave real configs far below the line.
// Config, mesh and values files larger than this are refused before parsing. A
// ConfigMap holds at most 1 MiB; the bound leaves room for files kept outside one.
inline constexpr std::size_t max_config_file_bytes = std::size_t{4} << 20;

struct yaml_limits {
  std::size_t max_nodes = 100'000;  // after alias expansion
  int max_depth = 512;              // nested mappings and sequences
};

struct yaml_budget;  // what from_yaml has spent of its limits

class config_node {
 public:
  enum class kind : std::uint8_t { null, boolean, integer, floating, string, list, map };

  // Builds from a yaml-cpp node; plain scalars are typed by YAML 1.1 rules, quoted
  // and block scalars are strings. Map keys are kept sorted (Go iterates maps in
  // key order).
  // Throws config_error ("file:line:column: ...") when the document exceeds `limits`.
  static config_node from_yaml(const YAML::Node& node, const std::string& file = {}, const yaml_limits& limits = {});
  // Builds from a node of core/yaml_reader, typed as from_yaml types, without
  // yaml-cpp or exceptions (but std::bad_alloc): for pod data on the request path
  // (a pod's proxy.istio.io/config). The reader bounds the depth it recurses.
  static config_node from_reader(const yaml::node& node);
  static config_node make_string(std::string s);
  static config_node make_map();

  kind type() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == kind::null; }
  bool as_bool() const noexcept { return b_; }
  std::int64_t as_int() const noexcept { return i_; }
  double as_float() const noexcept { return f_; }
  // For strings: the value. For other scalars: the text as written in the file.
  const std::string& text() const noexcept { return text_; }
  const std::vector<config_node>& items() const noexcept { return items_; }
  const std::vector<std::pair<std::string, config_node>>& members() const noexcept { return members_; }
  const config_node* find(std::string_view key) const noexcept;
  int line() const noexcept { return line_; }  // 1-based position in the source, 0 if unknown
  int column() const noexcept { return column_; }

  // Mutation is for building a tree at load (merging defaults); never after it is shared.
  void set_member(std::string key, config_node value);

 private:
  static config_node from_yaml_within(const YAML::Node& node, yaml_budget& budget, int depth);

  kind kind_ = kind::null;
  bool b_ = false;
  std::int64_t i_ = 0;
  double f_ = 0.0;
  std::string text_;
  std::vector<config_node> items_;
  std::vector<std::pair<std::string, config_node>> members_;
  int line_ = 0;
  int column_ = 0;
};

}  // namespace meshinject::core
