#include "core/config_tree.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/yaml_reader.hpp"
#include "core/yaml_scalar.hpp"

namespace meshinject::core {

namespace {

// A plain scalar typed by YAML 1.1, as both readers (yaml-cpp's and ours) type it.
void type_plain_scalar(const std::string& text, config_node::kind& k, bool& b, std::int64_t& i, double& f) {
  const yaml_scalar s = resolve_plain_scalar(text);
  switch (s.k) {
    case yaml_scalar::kind::null: k = config_node::kind::null; break;
    case yaml_scalar::kind::boolean: k = config_node::kind::boolean; b = s.b; break;
    case yaml_scalar::kind::integer: k = config_node::kind::integer; i = s.i; break;
    case yaml_scalar::kind::floating: k = config_node::kind::floating; f = s.f; break;
    case yaml_scalar::kind::string: k = config_node::kind::string; break;
  }
}

}  // namespace

struct yaml_budget {
  const std::string& file;
  const yaml_limits& limits;
  std::size_t nodes = 0;
};

config_node config_node::from_yaml(const YAML::Node& node, const std::string& file, const yaml_limits& limits) {
  yaml_budget budget{file, limits};
  return from_yaml_within(node, budget, 0);
}

config_node config_node::from_yaml_within(const YAML::Node& node, yaml_budget& budget, int depth) {
  config_node out;
  if (!node.IsDefined()) return out;
  const YAML::Mark mark = node.Mark();
  out.line_ = mark.line >= 0 ? mark.line + 1 : 0;
  out.column_ = mark.column >= 0 ? mark.column + 1 : 0;
  if (++budget.nodes > budget.limits.max_nodes)
    throw config_error({budget.file, out.line_, out.column_},
                       "the document expands to more than " + std::to_string(budget.limits.max_nodes) +
                           " values (YAML aliases are expanded where they are used; Istio's YAML reader refuses "
                           "such excessive aliasing too)");
  if (depth > budget.limits.max_depth)
    throw config_error({budget.file, out.line_, out.column_},
                       "the document nests deeper than " + std::to_string(budget.limits.max_depth) + " levels");
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.kind_ = kind::null;
      break;
    case YAML::NodeType::Scalar: {
      out.text_ = node.Scalar();
      if (node.Tag() == "!") {  // quoted or block scalar: always a string
        out.kind_ = kind::string;
        break;
      }
      type_plain_scalar(out.text_, out.kind_, out.b_, out.i_, out.f_);
      break;
    }
    case YAML::NodeType::Sequence:
      out.kind_ = kind::list;
      for (const auto& item : node) out.items_.push_back(from_yaml_within(item, budget, depth + 1));
      break;
    case YAML::NodeType::Map:
      out.kind_ = kind::map;
      for (const auto& kv : node) {
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
        out.set_member(std::move(key), from_yaml_within(kv.second, budget, depth + 1));
      }
      break;
  }
  return out;
}

config_node config_node::from_reader(const yaml::node& node) {
  config_node out;
  if (!node) return out;
  const yaml::position at = node.pos();
  out.line_ = static_cast<int>(at.line);
  out.column_ = static_cast<int>(at.column);
  if (node.is_null()) return out;
  if (node.is_sequence()) {
    out.kind_ = kind::list;
    out.items_.reserve(node.size());
    for (const yaml::node item : node.items()) out.items_.push_back(from_reader(item));
    return out;
  }
  if (node.is_mapping()) {
    out.kind_ = kind::map;
    for (const yaml::node::entry e : node.entries()) out.set_member(std::string(e.key.text()), from_reader(e.value));
    return out;
  }
  out.text_ = node.text();
  out.kind_ = kind::string;
  if (node.style() != yaml::scalar_style::plain) return out;  // quoted or block: always a string
  type_plain_scalar(out.text_, out.kind_, out.b_, out.i_, out.f_);
  return out;
}

config_node config_node::make_string(std::string s) {
  config_node out;
  out.kind_ = kind::string;
  out.text_ = std::move(s);
  return out;
}

config_node config_node::make_map() {
  config_node out;
  out.kind_ = kind::map;
  return out;
}

const config_node* config_node::find(std::string_view key) const noexcept {
  auto it = std::lower_bound(members_.begin(), members_.end(), key,
                             [](const auto& m, std::string_view k) { return m.first < k; });
  if (it == members_.end() || it->first != key) return nullptr;
  return &it->second;
}

void config_node::set_member(std::string key, config_node value) {
  if (kind_ != kind::map) {
    kind_ = kind::map;
    members_.clear();
  }
  auto it = std::lower_bound(members_.begin(), members_.end(), key,
                             [](const auto& m, const std::string& k) { return m.first < k; });
  if (it != members_.end() && it->first == key)
    it->second = std::move(value);  // a later duplicate key wins, as in go-yaml
  else
    members_.emplace(it, std::move(key), std::move(value));
}

}  // namespace meshinject::core
