#pragma once
// The injection config: the `config` key of the `istio-sidecar-injector`
// ConfigMap (policy, selectors, injected annotations and the sidecar template
// text), plus the optional values file. Loading validates everything that can be
// validated without the template compiler; a config that fails here never
// replaces the one being served.

#include <string>
#include <utility>
#include <vector>

#include "core/config_tree.hpp"
#include "core/decision.hpp"
#include "core/error.hpp"

namespace meshinject::core {

struct injection_config {
  injection_rules rules;
  std::vector<std::pair<std::string, std::string>> injected_annotations;  // sorted by key
  std::string template_text;
  // Where the template text starts in the file, so template positions can be
  // reported as file positions: file line = template_first_line + template line - 1,
  // file column = template_indent + template column (for block scalars).
  int template_first_line = 0;
  int template_indent = 0;
  bool template_is_block = false;
  std::string source;                  // file name, or "embedded default"
  std::vector<std::string> warnings;   // ignored keys and the like, with positions
};

// Throws config_error with file:line:column.
injection_config load_injection_config(std::string_view yaml_text, const std::string& file_name);

// The values file (Helm-style values, read by templates as `.Values`). Empty text
// gives an empty mapping.
config_node load_values(std::string_view yaml_text, const std::string& file_name);

// Maps a (line, column) in the template text to the config file.
source_position template_position(const injection_config& cfg, int line, int column);

}  // namespace meshinject::core
