#pragma once
// Compares core::yaml's tree with yaml-cpp's for the same text: the same shape,
// the same scalar text, the same nulls, and quoted/block scalars where yaml-cpp
// says non-plain ("!"). Header-only so the core tests, which link only the core
// library, can use it as well as the injector's.

#include <yaml-cpp/yaml.h>

#include <string>

#include "core/yaml_reader.hpp"

namespace meshinject::test {

inline std::string yaml_tree_diff(const YAML::Node& want, meshinject::core::yaml::node got, const std::string& path) {
  namespace y = meshinject::core::yaml;
  const auto where = [&](const std::string& what) {
    return path + " (line " + std::to_string(got.pos().line) + "): " + what + "\n";
  };
  if (!got) return where("missing");
  // yaml-cpp reads every empty node as null, tagged or not.
  if (want.IsNull()) return got.is_null() || got.is_empty() ? "" : where("yaml-cpp has null, the reader '" + std::string(got.text()) + "'");
  if (want.IsScalar()) {
    if (!got.is_scalar() || got.is_null()) return where("yaml-cpp has the scalar '" + want.Scalar() + "'");
    if (want.Scalar() != got.text())
      return where("yaml-cpp has '" + want.Scalar() + "', the reader '" + std::string(got.text()) + "'");
    const bool plain = got.style() == y::scalar_style::plain;
    if (got.tag().empty() && (want.Tag() == "!") == plain) return where("the scalar's style differs");
    return "";
  }
  if (want.IsSequence()) {
    if (!got.is_sequence()) return where("yaml-cpp has a sequence");
    if (want.size() != got.size())
      return where("sequence sizes " + std::to_string(want.size()) + " and " + std::to_string(got.size()));
    std::string out;
    std::size_t k = 0;
    for (const y::node item : got.items()) {
      out += yaml_tree_diff(want[k], item, path + "[" + std::to_string(k) + "]");
      ++k;
    }
    return out;
  }
  if (want.IsMap()) {
    if (!got.is_mapping()) return where("yaml-cpp has a mapping");
    if (want.size() != got.size())
      return where("mapping sizes " + std::to_string(want.size()) + " and " + std::to_string(got.size()));
    std::string out;
    auto it = want.begin();
    for (const auto e : got.entries()) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
      out += yaml_tree_diff(it->first, e.key, path + ".<key " + key + ">");
      out += yaml_tree_diff(it->second, e.value, path + "." + key);
      ++it;
    }
    return out;
  }
  return where("yaml-cpp has an undefined node");
}

// "" when both read `text` to the same tree; else what differs, or which one
// refused it and why.
inline std::string yaml_differential(const std::string& text, meshinject::core::yaml::reader& r) {
  YAML::Node want;
  std::string oracle_error;
  try {
    want = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    oracle_error = e.what();
  }
  const bool ok = r.read(text);
  if (!oracle_error.empty() && !ok) return "";
  if (!oracle_error.empty()) return "yaml-cpp refuses it: " + oracle_error + "\n";
  if (!ok)
    return "the reader refuses it: " + std::to_string(r.error().at.line) + ":" + std::to_string(r.error().at.column) +
           ": " + std::string(r.error().message) + "\n";
  return yaml_tree_diff(want, r.root(), "$");
}

}  // namespace meshinject::test
