// The selector compiler: bytes as YAML for a list of LabelSelectors. Compiling
// may only throw config_error; a compiled list is evaluated against label sets
// built from the same bytes.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/selector.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return 0;  // not YAML: the config loader reports that before selectors are compiled
  }
  meshinject::core::selector_list list;
  try {
    list = meshinject::core::selector_list::compile(node, "fuzz.yaml", "neverInjectSelector");
  } catch (const meshinject::core::config_error&) {
    return 0;
  }
  std::vector<meshinject::core::label> labels;
  for (std::size_t i = 0; i + 1 < size && labels.size() < 8; i += 2)
    labels.push_back({std::string_view(text).substr(i, 1), std::string_view(text).substr(i + 1, 1)});
  labels.push_back({"app", "web"});
  labels.push_back({"", ""});
  const int first = list.first_match(labels);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const bool m = list.matches(i, labels);
    if (static_cast<int>(i) < first && m) __builtin_trap();  // first_match missed an earlier match
    (void)list.describe(i);
  }
  if (first >= 0 && !list.matches(static_cast<std::size_t>(first), labels)) __builtin_trap();
  return 0;
}
