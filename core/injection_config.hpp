#pragma once
// The injection config: the `config` key of the `istio-sidecar-injector`
// ConfigMap (policy, selectors, injected annotations and the template texts), plus
// the optional values file. Loading validates everything that can be validated
// without the template compiler; a config that fails here never replaces the one
// being served.
//
// Two shapes exist. Istio 1.1-1.8 keep one sidecar template under `template`.
// Istio >= 1.9 keep named templates under `templates`, choose among them with
// `defaultTemplates` (or a pod's `inject.istio.io/templates` annotation) and
// `aliases`, and ignore `template` (the chart puts a deliberately undefined
// function there so that an older injector fails loudly).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config_tree.hpp"
#include "core/decision.hpp"
#include "core/error.hpp"

namespace meshinject::core {

enum class config_shape : std::uint8_t {
  single_template,  // Istio 1.1-1.8: `template`
  named_templates,  // Istio >= 1.9: `templates`, `defaultTemplates`, `aliases`
};

// Where a template's text starts in the config file, so that template positions
// can be reported as file positions.
struct text_location {
  int first_line = 0;  // 1-based line of the text's first line; 0: unknown
  int indent = 0;      // columns removed from every line (block scalars)
  bool is_block = false;
};

struct named_template {
  std::string name;
  std::string text;
  text_location where;
};

struct template_alias {
  std::string name;
  std::vector<std::string> templates;  // what the alias stands for, in order
};

struct injection_config {
  config_shape shape = config_shape::single_template;
  injection_rules rules;
  std::vector<std::pair<std::string, std::string>> injected_annotations;  // sorted by key
  std::string template_text;
  // Where the template text starts in the file, so template positions can be
  // reported as file positions: file line = template_first_line + template line - 1,
  // file column = template_indent + template column (for block scalars).
  int template_first_line = 0;
  int template_indent = 0;
  bool template_is_block = false;
  // The named-templates shape (empty in the single-template shape). Templates keep
  // the file's order; every name in default_templates and aliases names one of them.
  std::vector<named_template> templates;
  int templates_line = 0;  // of the `templates` key
  std::vector<std::string> default_templates;
  std::vector<template_alias> aliases;
  std::string source;                  // file name, or "embedded default"
  std::vector<std::string> warnings;   // ignored keys and the like, with positions
};

// Throws config_error with file:line:column: the first error in file order.
injection_config load_injection_config(std::string_view yaml_text, const std::string& file_name);
// Every error of the file, in file order, into `errors` (check-config reports them
// all); throws only when the file is not a YAML mapping at all.
injection_config read_injection_config(std::string_view yaml_text, const std::string& file_name,
                                       std::vector<config_error>& errors);

// The values file (Helm-style values, read by templates as `.Values`). Empty text
// gives an empty mapping.
// Throws config_error when the document passes `limits` (alias expansion, depth).
config_node load_values(std::string_view yaml_text, const std::string& file_name, const yaml_limits& limits = {});
// Top-level keys of a values file that look like typos of the keys Istio's charts
// set (`globl`), as file:line:column: message.
std::vector<std::string> values_warnings(std::string_view yaml_text, const std::string& file_name);

// The values' top-level `revision` string (the chart's; istiod runs as that
// revision), or "" when there is none. `serve --revision` and kube-inject's fall
// back to it before "default".
std::string_view values_revision(const config_node& values) noexcept;

// Maps a (line, column) in the template text to the config file.
source_position template_position(const injection_config& cfg, int line, int column);
source_position template_position(const injection_config& cfg, const named_template& t, int line, int column);

// The named template, or null.
const named_template* find_template(const injection_config& cfg, std::string_view name) noexcept;

// The keys of an `istio-sidecar-injector` (or `istio` mesh) ConfigMap manifest, as
// `kubectl get configmap -o yaml` prints it, so that the CLI reads such a file as
// Istio would read the mounted keys. Positions inside a key are reported against
// `<file> (data.<key>)`, line and column within that key's text.
struct configmap_keys {
  std::string name;  // metadata.name
  std::vector<std::pair<std::string, std::string>> data;  // key, text; in file order
  const std::string* find(std::string_view key) const noexcept;
};
// nullopt when the text is not a ConfigMap manifest (then it is the key's text itself).
// Throws config_error when it is one but `data` is not a mapping of strings.
std::optional<configmap_keys> read_configmap_manifest(std::string_view yaml_text, const std::string& file_name);

}  // namespace meshinject::core
