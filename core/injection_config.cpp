#include "core/injection_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "core/error.hpp"

namespace meshinject::core {
namespace {

source_position mark_of(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return {file, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
}

YAML::Node parse(std::string_view text, const std::string& file) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw config_error({file, e.mark.line + 1, e.mark.column + 1}, "invalid YAML: " + e.msg);
  }
}

// A block scalar (`template: |-`) starts on the line after its indicator; its
// indentation is that of the first non-blank content line.
void locate_block(std::string_view text, int indicator_line, injection_config& cfg) {
  std::size_t pos = 0;
  for (int line = 0; line <= indicator_line && pos != std::string_view::npos; ++line) {
    pos = text.find('\n', pos);
    if (pos != std::string_view::npos) ++pos;
  }
  if (pos == std::string_view::npos) return;
  int line = indicator_line + 2;  // 1-based line of the first content line
  cfg.template_first_line = line;
  while (pos < text.size()) {
    const std::size_t eol = std::min(text.find('\n', pos), text.size());
    const std::string_view l = text.substr(pos, eol - pos);
    const std::size_t indent = l.find_first_not_of(' ');
    if (indent != std::string_view::npos) {
      cfg.template_indent = static_cast<int>(indent);
      return;
    }
    pos = eol + 1;
    ++line;
  }
}

}  // namespace

injection_config load_injection_config(std::string_view yaml_text, const std::string& file_name) {
  injection_config cfg;
  cfg.source = file_name;
  const YAML::Node root = parse(yaml_text, file_name);
  if (!root.IsDefined() || root.IsNull())
    throw config_error({file_name, 1, 1}, "the injection config is empty (it needs at least policy and template)");
  if (!root.IsMap()) throw config_error(mark_of(file_name, root), "the injection config must be a mapping");

  bool have_policy = false, have_template = false;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& value = kv.second;
    if (key == "policy") {
      const std::string text = value.IsScalar() ? value.Scalar() : std::string();
      const auto policy = parse_policy(text);
      if (!policy)
        throw config_error(mark_of(file_name, value),
                           "policy: '" + text + "' is not a valid policy (use enabled or disabled)");
      cfg.rules.policy = *policy;
      have_policy = true;
    } else if (key == "neverInjectSelector") {
      cfg.rules.never_inject = selector_list::compile(value, file_name, "neverInjectSelector");
    } else if (key == "alwaysInjectSelector") {
      cfg.rules.always_inject = selector_list::compile(value, file_name, "alwaysInjectSelector");
    } else if (key == "injectedAnnotations") {
      if (value.IsNull()) continue;
      if (!value.IsMap()) throw config_error(mark_of(file_name, value), "injectedAnnotations must be a mapping");
      for (const auto& a : value) {
        if (!a.second.IsScalar() && !a.second.IsNull())
          throw config_error(mark_of(file_name, a.second),
                             "injectedAnnotations." + a.first.Scalar() + ": the value must be a string");
        cfg.injected_annotations.emplace_back(a.first.Scalar(), a.second.IsNull() ? "" : a.second.Scalar());
      }
    } else if (key == "template") {
      if (!value.IsScalar())
        throw config_error(mark_of(file_name, value), "template must be a string (use `template: |-`)");
      cfg.template_text = value.Scalar();
      const YAML::Mark m = value.Mark();
      const std::size_t line_start = [&] {
        std::size_t p = 0;
        for (int l = 0; l < m.line && p != std::string_view::npos; ++l) {
          p = yaml_text.find('\n', p);
          if (p != std::string_view::npos) ++p;
        }
        return p;
      }();
      const bool block = line_start != std::string_view::npos &&
                         static_cast<std::size_t>(m.column) + line_start < yaml_text.size() &&
                         (yaml_text[line_start + static_cast<std::size_t>(m.column)] == '|' ||
                          yaml_text[line_start + static_cast<std::size_t>(m.column)] == '>');
      cfg.template_is_block = block;
      if (block) {
        locate_block(yaml_text, m.line, cfg);
      } else {
        cfg.template_first_line = m.line + 1;
        cfg.template_indent = m.column;
      }
      have_template = true;
    } else {
      const source_position p = mark_of(file_name, kv.first);
      cfg.warnings.push_back(config_error::format(p, "unknown key '" + key + "' is ignored"));
    }
  }
  if (!have_policy) throw config_error({file_name, 1, 1}, "the injection config has no policy (enabled or disabled)");
  if (!have_template) throw config_error({file_name, 1, 1}, "the injection config has no template");
  std::sort(cfg.injected_annotations.begin(), cfg.injected_annotations.end());
  return cfg;
}

config_node load_values(std::string_view yaml_text, const std::string& file_name) {
  const YAML::Node root = parse(yaml_text, file_name);
  if (!root.IsDefined() || root.IsNull()) return config_node::make_map();
  if (!root.IsMap()) throw config_error(mark_of(file_name, root), "the values file must be a mapping");
  return config_node::from_yaml(root);
}

source_position template_position(const injection_config& cfg, int line, int column) {
  if (cfg.template_first_line == 0) return {cfg.source, line, column};
  if (cfg.template_is_block) return {cfg.source, cfg.template_first_line + line - 1, cfg.template_indent + column};
  return {cfg.source, cfg.template_first_line + line - 1, line == 1 ? cfg.template_indent + column : column};
}

}  // namespace meshinject::core
