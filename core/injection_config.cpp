#include "core/injection_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "core/config_keys.hpp"
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

// The offset of the start of 0-based `line` in `text` (npos past the end).
std::size_t line_start(std::string_view text, int line) {
  std::size_t p = 0;
  for (int l = 0; l < line && p != std::string_view::npos; ++l) {
    p = text.find('\n', p);
    if (p != std::string_view::npos) ++p;
  }
  return p;
}

// Where a scalar's text starts in the file. A block scalar (`template: |-`) starts
// on the line after its indicator, indented as its first non-blank content line.
text_location locate_scalar(std::string_view text, const YAML::Node& value) {
  const YAML::Mark m = value.Mark();
  text_location where;
  const std::size_t start = line_start(text, m.line);
  const std::size_t at = start == std::string_view::npos ? start : start + static_cast<std::size_t>(m.column);
  where.is_block = at < text.size() && (text[at] == '|' || text[at] == '>');
  if (!where.is_block) {
    where.first_line = m.line + 1;
    where.indent = m.column;
    return where;
  }
  std::size_t pos = line_start(text, m.line + 1);
  int line = m.line + 2;  // 1-based line of the first content line
  where.first_line = line;
  while (pos != std::string_view::npos && pos < text.size()) {
    const std::size_t eol = std::min(text.find('\n', pos), text.size());
    const std::size_t indent = text.substr(pos, eol - pos).find_first_not_of(' ');
    if (indent != std::string_view::npos) {
      where.first_line = line;
      where.indent = static_cast<int>(indent);
      break;
    }
    pos = eol + 1;
    ++line;
  }
  return where;
}

std::vector<std::string> string_list(const YAML::Node& value, const std::string& file, const std::string& what) {
  std::vector<std::string> out;
  if (value.IsNull()) return out;
  if (!value.IsSequence()) throw config_error(mark_of(file, value), what + " must be a list of template names");
  for (const auto& item : value) {
    if (!item.IsScalar() || item.Scalar().empty())
      throw config_error(mark_of(file, item), what + ": every item must be a template name");
    out.push_back(item.Scalar());
  }
  return out;
}

void read_templates(const YAML::Node& value, std::string_view text, const std::string& file, injection_config& cfg) {
  if (value.IsNull()) return;
  if (!value.IsMap()) throw config_error(mark_of(file, value), "templates must be a mapping of name to template text");
  for (const auto& t : value) {
    const std::string name = t.first.Scalar();
    if (!t.second.IsScalar() && !t.second.IsNull())
      throw config_error(mark_of(file, t.second), "templates." + name + " must be a string (use `" + name + ": |`)");
    if (find_template(cfg, name))
      throw config_error(mark_of(file, t.first), "templates." + name + " is defined twice");
    cfg.templates.push_back({name, t.second.IsNull() ? std::string() : t.second.Scalar(), locate_scalar(text, t.second)});
  }
}

void read_aliases(const YAML::Node& value, const std::string& file, injection_config& cfg) {
  if (value.IsNull()) return;
  if (!value.IsMap()) throw config_error(mark_of(file, value), "aliases must be a mapping of name to template names");
  for (const auto& a : value) cfg.aliases.push_back({a.first.Scalar(), string_list(a.second, file, "aliases." + a.first.Scalar())});
}

// Every name the config selects must exist, as Istio would otherwise fail each pod
// that selects it at admission time.
void check_template_names(const YAML::Node& root, const std::string& file, const injection_config& cfg) {
  for (const auto& name : cfg.default_templates)
    if (!find_template(cfg, name))
      throw config_error(mark_of(file, root["defaultTemplates"]),
                         "defaultTemplates: '" + name + "' is not one of the config's templates");
  for (const auto& alias : cfg.aliases)
    for (const auto& name : alias.templates)
      if (!find_template(cfg, name))
        throw config_error(mark_of(file, root["aliases"][alias.name]),
                           "aliases." + alias.name + ": '" + name + "' is not one of the config's templates");
}

injection_policy_mode read_policy(const YAML::Node& value, const std::string& file) {
  const std::string text = value.IsScalar() ? value.Scalar() : std::string();
  const auto policy = parse_policy(text);
  if (!policy)
    throw config_error(mark_of(file, value), "policy: '" + text + "' is not a valid policy (use enabled or disabled)");
  return *policy;
}

void read_injected_annotations(const YAML::Node& value, const std::string& file, injection_config& cfg) {
  if (value.IsNull()) return;
  if (!value.IsMap()) throw config_error(mark_of(file, value), "injectedAnnotations must be a mapping");
  for (const auto& a : value) {
    if (!a.second.IsScalar() && !a.second.IsNull())
      throw config_error(mark_of(file, a.second), "injectedAnnotations." + a.first.Scalar() + ": the value must be a string");
    cfg.injected_annotations.emplace_back(a.first.Scalar(), a.second.IsNull() ? "" : a.second.Scalar());
  }
}

}  // namespace

namespace {

constexpr std::string_view config_keys[] = {"policy",   "neverInjectSelector", "alwaysInjectSelector",
                                            "injectedAnnotations", "template", "templates",
                                            "defaultTemplates", "aliases"};

// One top-level key of the config into `cfg`; throws config_error for a bad value.
void read_key(const std::string& key, const YAML::Node& key_node, const YAML::Node& value, std::string_view yaml_text,
              const std::string& file_name, injection_config& cfg, bool& have_policy, bool& have_template) {
  if (key == "policy") {
    have_policy = true;
    cfg.rules.policy = read_policy(value, file_name);
  } else if (key == "neverInjectSelector") {
    cfg.rules.never_inject = selector_list::compile(value, file_name, "neverInjectSelector");
  } else if (key == "alwaysInjectSelector") {
    cfg.rules.always_inject = selector_list::compile(value, file_name, "alwaysInjectSelector");
  } else if (key == "injectedAnnotations") {
    read_injected_annotations(value, file_name, cfg);
  } else if (key == "template") {
    have_template = true;
    if (!value.IsScalar() && !value.IsNull())
      throw config_error(mark_of(file_name, value), "template must be a string (use `template: |-`)");
    cfg.template_text = value.IsNull() ? std::string() : value.Scalar();
    const text_location where = locate_scalar(yaml_text, value);
    cfg.template_first_line = where.first_line;
    cfg.template_indent = where.indent;
    cfg.template_is_block = where.is_block;
  } else if (key == "templates") {
    cfg.shape = config_shape::named_templates;
    cfg.templates_line = mark_of(file_name, key_node).line;
    read_templates(value, yaml_text, file_name, cfg);
  } else if (key == "defaultTemplates") {
    cfg.default_templates = string_list(value, file_name, "defaultTemplates");
  } else if (key == "aliases") {
    read_aliases(value, file_name, cfg);
  } else {
    cfg.warnings.push_back(config_error::format(mark_of(file_name, key_node), unknown_key_message("", key, config_keys)));
  }
}

}  // namespace

injection_config read_injection_config(std::string_view yaml_text, const std::string& file_name,
                                       std::vector<config_error>& errors) {
  injection_config cfg;
  cfg.source = file_name;
  const YAML::Node root = parse(yaml_text, file_name);
  if (!root.IsDefined() || root.IsNull())
    throw config_error({file_name, 1, 1}, "the injection config is empty (it needs at least policy and template)");
  if (!root.IsMap()) throw config_error(mark_of(file_name, root), "the injection config must be a mapping");

  // Each key on its own, so that one bad value does not hide the next.
  bool have_policy = false, have_template = false;
  for (const auto& kv : root) {
    try {
      read_key(kv.first.Scalar(), kv.first, kv.second, yaml_text, file_name, cfg, have_policy, have_template);
    } catch (const config_error& e) {
      errors.push_back(e);
    }
  }
  if (!have_policy) errors.emplace_back(source_position{file_name, 1, 1}, "the injection config has no policy (enabled or disabled)");
  if (cfg.shape == config_shape::single_template) {
    if (!have_template) errors.emplace_back(source_position{file_name, 1, 1}, "the injection config has no template (nor templates)");
    if (!cfg.default_templates.empty() || !cfg.aliases.empty())
      errors.emplace_back(source_position{file_name, 1, 1}, "defaultTemplates and aliases need templates (Istio >= 1.9's shape)");
  } else {
    // Istio >= 1.9 ignores `template` once `templates` is present, and the pods of
    // such a config are decided by today's rules.
    cfg.rules.dialect = decision_dialect::istio_1_28;
    cfg.template_text.clear();
    cfg.template_first_line = 0;
    try {
      check_template_names(root, file_name, cfg);
    } catch (const config_error& e) {
      errors.push_back(e);
    }
  }
  sort_in_file_order(errors);
  std::sort(cfg.injected_annotations.begin(), cfg.injected_annotations.end());
  return cfg;
}

injection_config load_injection_config(std::string_view yaml_text, const std::string& file_name) {
  std::vector<config_error> errors;
  injection_config cfg = read_injection_config(yaml_text, file_name, errors);
  throw_first(errors);
  return cfg;
}

config_node load_values(std::string_view yaml_text, const std::string& file_name, const yaml_limits& limits) {
  const YAML::Node root = parse(yaml_text, file_name);
  if (!root.IsDefined() || root.IsNull()) return config_node::make_map();
  if (!root.IsMap()) throw config_error(mark_of(file_name, root), "the values file must be a mapping");
  return config_node::from_yaml(root, file_name, limits);
}

std::string_view values_revision(const config_node& values) noexcept {
  const config_node* revision = values.find("revision");
  if (revision && revision->type() == config_node::kind::string) return revision->text();
  return {};
}

std::vector<std::string> values_warnings(std::string_view yaml_text, const std::string& file_name) {
  // The top-level keys Istio's charts give the injector (1.1 to 1.28). Values are
  // free-form, so only a near miss of one of them is worth a word.
  static constexpr std::string_view known[] = {
      "global",   "sidecarInjectorWebhook", "istio_cni", "pilot",         "gateways",
      "revision", "meshConfig",             "base",      "revisionTags",  "defaultRevision",
      "ownerName", "istiodRemote",          "telemetry", "experimental",  "compatibilityVersion",
      "profile",  "ztunnel",                "platform"};
  std::vector<std::string> out;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception&) {
    return out;  // load_values reports it
  }
  if (!root.IsMap()) return out;
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) continue;
    const std::string& key = kv.first.Scalar();
    if (std::find(std::begin(known), std::end(known), key) != std::end(known)) continue;
    if (const std::string_view meant = closest_key(key, known); !meant.empty())
      out.push_back(config_error::format(mark_of(file_name, kv.first),
                                         "values: top-level key '" + key + "' is not one Istio's charts set (did you mean '" +
                                             std::string(meant) + "'?)"));
  }
  return out;
}

source_position template_position(const injection_config& cfg, int line, int column) {
  if (cfg.template_first_line == 0) return {cfg.source, line, column};
  if (cfg.template_is_block) return {cfg.source, cfg.template_first_line + line - 1, cfg.template_indent + column};
  return {cfg.source, cfg.template_first_line + line - 1, line == 1 ? cfg.template_indent + column : column};
}

source_position template_position(const injection_config& cfg, const named_template& t, int line, int column) {
  const text_location& w = t.where;
  if (w.first_line == 0) return {cfg.source, line, column};
  if (w.is_block) return {cfg.source, w.first_line + line - 1, w.indent + column};
  return {cfg.source, w.first_line + line - 1, line == 1 ? w.indent + column : column};
}

const named_template* find_template(const injection_config& cfg, std::string_view name) noexcept {
  for (const auto& t : cfg.templates)
    if (t.name == name) return &t;
  return nullptr;
}

const std::string* configmap_keys::find(std::string_view key) const noexcept {
  for (const auto& [k, text] : data)
    if (k == key) return &text;
  return nullptr;
}

std::optional<configmap_keys> read_configmap_manifest(std::string_view yaml_text, const std::string& file_name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception&) {
    return std::nullopt;  // not YAML at all: the caller's own parse reports it
  }
  if (!root.IsMap() || !root["kind"] || !root["kind"].IsScalar() || root["kind"].Scalar() != "ConfigMap" ||
      !root["apiVersion"])
    return std::nullopt;
  configmap_keys keys;
  if (const YAML::Node name = root["metadata"]["name"]; name && name.IsScalar()) keys.name = name.Scalar();
  const YAML::Node data = root["data"];
  if (!data || data.IsNull()) return keys;
  if (!data.IsMap()) throw config_error(mark_of(file_name, data), "ConfigMap data must be a mapping of key to text");
  for (const auto& kv : data) {
    if (!kv.second.IsScalar() && !kv.second.IsNull())
      throw config_error(mark_of(file_name, kv.second), "ConfigMap data." + kv.first.Scalar() + " must be a string");
    keys.data.emplace_back(kv.first.Scalar(), kv.second.IsNull() ? std::string() : kv.second.Scalar());
  }
  return keys;
}

}  // namespace meshinject::core
