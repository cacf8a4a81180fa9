// meshinject check-config: compile an injection config (and its mesh and values
// files) with the compiler `serve` uses, and report every error it can find as
// file:line:column: message.
#include <algorithm>
#include <ostream>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "cmd/cli.hpp"
#include "cmd/config_flags.hpp"
#include "cmd/flags.hpp"
#include "core/config_tree.hpp"
#include "core/error.hpp"
#include "core/injection_config.hpp"
#include "core/mesh_config.hpp"
#include "patch/istio_functions.hpp"

namespace meshinject::cmd {
namespace {

constexpr char usage[] =
    "usage: meshinject check-config FILE|- [--mesh-config FILE] [--values FILE] [--strict]\n"
    "\n"
    "Compiles an injection config (the ConfigMap's `config` key, or the ConfigMap manifest itself)\n"
    "as `serve` would load it. Exit 0 when it loads; warnings (unknown keys and the like) go to\n"
    "stderr as `file:line:column: warning: message`. Exit 1 with one `file:line:column: message`\n"
    "per error otherwise, every error of each file in file order. --strict makes warnings fail too.";

// "f:3:5: unknown key ..." -> "f:3:5: warning: unknown key ...": the severity goes
// after the position, as compilers print it, so editors jump to the line.
std::string as_warning(const std::string& text) {
  static const std::regex position(R"(:[0-9]+(:[0-9]+)?: )");
  std::smatch m;
  if (!std::regex_search(text, m, position)) return "warning: " + text;
  const auto after = static_cast<std::size_t>(m.position(0) + m.length(0));
  return text.substr(0, after) + "warning: " + text.substr(after);
}

void add_unique(std::vector<std::string>& to, const std::vector<std::string>& from) {
  for (const std::string& s : from)
    if (std::find(to.begin(), to.end(), s) == to.end()) to.push_back(s);
}

// Which Istio a config that does not load looks written for, and what of it
// the release meshinject reads it as lacks, so that a user who brought another
// release's ConfigMap knows at once why: the shape (`templates` and
// `defaultTemplates`: 1.9+, read as Istio 1.28 reads it; one `template` with
// `[[ ]]`: 1.1; with `{{ }}`: 1.2-1.8), and each function or data field the
// errors name, with the releases that have it. Nothing for errors of another
// kind (syntax, a bad value): the error says it all.
std::string shape_note(std::string_view text, const std::vector<std::string>& errors) {
  auto has_top_level_key = [&](std::string_view key) {
    for (std::size_t at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1))
      if ((at == 0 || text[at - 1] == '\n') && text.substr(at + key.size(), 1) == ":") return true;
    return false;
  };
  const bool named = has_top_level_key("templates") || has_top_level_key("defaultTemplates");
  std::string note;
  if (named) note = "it looks like an Istio >= 1.9 config (`templates`, `defaultTemplates`), read as Istio 1.28 reads it";
  else if (!has_top_level_key("template")) {
    // Not for a file the reader could not read or that is empty: its error says why.
    for (const std::string& e : errors)
      if (e.find("invalid YAML") != std::string::npos || e.find("is empty") != std::string::npos) return "";
    return "it has neither `template` (Istio 1.1-1.8) nor `templates` (Istio >= 1.9): it does not look like an "
           "injection config of any Istio release";
  }
  else if (text.find("[[") != std::string_view::npos)
    note = "it looks like an Istio 1.1 config (one `template`, `[[ ]]` delimiters), read as Istio 1.1 reads it";
  else
    note = "it looks like an Istio 1.2-1.8 config (one `template`, `{{ }}` delimiters), read as Istio 1.1/1.2 read it";

  // Data fields Istio >= 1.9 gives templates and 1.1/1.2 do not.
  constexpr std::string_view newer_fields[] = {"TypeMeta",  "ProxyImage",       "NativeSidecars",
                                               "Revision",  "ProxyUID",         "ProxyGID",
                                               "CompliancePolicy", "InboundTrafficPolicyMode"};
  static const std::regex function(R"(function \"([^"]+)\" not defined)");
  static const std::regex field(R"(can't evaluate field (\w+))");
  std::vector<std::string> said;
  for (const std::string& e : errors) {
    std::smatch m;
    std::string missing;
    if (std::regex_search(e, m, function)) {
      const std::string name = m[1];
      if (!named && patch::istio_functions_1_28().find(name))
        missing = "`" + name + "` is a function of Istio >= 1.9's injector, which reads it only in the named-templates "
                  "shape (`templates`)";
      else
        missing = "`" + name + "` is not a function Istio " + (named ? "1.28" : "1.1/1.2") +
                  "'s injector has: the file may come from a newer Istio or a customised injector";
    } else if (std::regex_search(e, m, field)) {
      const std::string name = m[1];
      const bool newer = std::find(std::begin(newer_fields), std::end(newer_fields), name) != std::end(newer_fields);
      if (!named && newer)
        missing = "`." + name + "` is data Istio >= 1.9 gives templates, only in the named-templates shape (`templates`)";
      else
        missing = "`" + name + "` is not a field Istio " + (named ? "1.28" : "1.1/1.2") +
                  " gives templates: the file may come from a newer Istio";
    }
    if (!missing.empty() && std::find(said.begin(), said.end(), missing) == said.end()) said.push_back(missing);
  }
  if (said.empty()) return "";  // a plain mistake (syntax, a bad value): the errors say it all
  for (const std::string& m : said) note += "; " + m;
  return note;
}

}  // namespace

int check_config(args a, io streams) {
  config_flags config;
  flag_set flags(usage);
  config.add_to(flags, /*inject_config_required=*/true);
  bool strict = false;
  flags.boolean({"--strict"}, &strict, "treat warnings as errors (exit 1), for CI gates");
  int code = 0;
  if (!flags.parse(a, streams, code)) return code;
  const auto& positional = flags.positional();
  if (positional.size() > 1 || (positional.size() == 1 && !config.inject_config.empty())) {
    streams.err << "check-config: give one injection config file\n";
    return 2;
  }
  if (!config.bounds.parse("check-config", streams.err)) return 2;
  if (positional.size() == 1) config.inject_config = positional.front();
  if (config.inject_config.empty()) {
    streams.err << "check-config: FILE is required (- reads stdin)\n\n";
    flags.print_help(streams.err);
    return 2;
  }
  int from_stdin = 0;
  for (const std::string* f : {&config.inject_config, &config.mesh_config, &config.values}) from_stdin += *f == "-";
  if (from_stdin > 1) {
    streams.err << "check-config: only one input can be read from stdin (-)\n";
    return 2;
  }

  patch::config_sources sources;
  config.bounds.apply_to(sources);
  std::string problem;
  auto read = [&](const std::string& path, std::string& text, std::string& name) {
    if (path.empty()) return true;
    name = display_name(path);
    if (read_input(path, streams, text, problem, config.bounds.max_config_bytes, config_bound)) return true;
    streams.err << problem << '\n';
    return false;
  };
  if (!read(config.inject_config, sources.inject_config_text, sources.inject_config_name) ||
      !read(config.mesh_config, sources.mesh_text, sources.mesh_name) ||
      !read(config.values, sources.values_text, sources.values_name) || !unwrap_configmaps(sources, streams.err))
    return 1;

  // Each file on its own first, so an error in one does not hide another's.
  std::vector<std::string> errors, warnings;
  auto attempt = [&](auto&& load) {
    try {
      load();
    } catch (const core::config_error& e) {
      errors.emplace_back(e.what());
    } catch (const std::exception& e) {
      errors.emplace_back(e.what());
    }
  };
  auto keep = [&](const std::vector<core::config_error>& found) {
    for (const auto& e : found) errors.emplace_back(e.what());
  };
  attempt([&] {
    std::vector<core::config_error> found;
    const core::injection_config cfg =
        core::read_injection_config(sources.inject_config_text, sources.inject_config_name, found);
    keep(found);
    add_unique(warnings, cfg.warnings);
  });
  if (!sources.mesh_text.empty() || !config.mesh_config.empty())
    attempt([&] {
      keep(core::check_mesh_config(sources.mesh_text, sources.mesh_name, &warnings, config.bounds.config_limits));
    });
  if (!sources.values_text.empty())
    attempt([&] {
      core::load_values(sources.values_text, sources.values_name, config.bounds.config_limits);
      add_unique(warnings, core::values_warnings(sources.values_text, sources.values_name));
    });
  // Then the whole snapshot, template included, exactly as serve builds it.
  std::shared_ptr<const patch::snapshot> snapshot;
  if (errors.empty()) {
    if (sources.inject_config_text.empty()) {
      // An empty file must not fall back to the embedded default.
      errors.push_back(sources.inject_config_name + ":1:1: the injection config is empty");
    } else {
      attempt([&] { snapshot = patch::snapshot::build(sources); });
    }
  }
  if (snapshot) add_unique(warnings, snapshot->warnings());
  for (const std::string& w : warnings) streams.err << as_warning(w) << '\n';
  if (!errors.empty()) {
    for (const std::string& e : errors) streams.err << e << '\n';
    if (const std::string note = shape_note(sources.inject_config_text, errors); !note.empty())
      streams.err << "note: " << sources.inject_config_name << ": " << note << '\n';
    return 1;
  }
  if (strict && !warnings.empty()) {
    streams.err << "check-config: " << warnings.size() << (warnings.size() == 1 ? " warning" : " warnings")
                << ", and --strict makes warnings fail\n";
    return 1;
  }
  const core::injection_config& c = snapshot->config();
  streams.out << sources.inject_config_name << ": ok (policy " << core::policy_name(c.rules.policy) << ", "
              << c.rules.never_inject.size() << " neverInjectSelector, " << c.rules.always_inject.size()
              << " alwaysInjectSelector, template version " << snapshot->template_version().substr(0, 12) << ")\n";
  return 0;
}

}  // namespace meshinject::cmd
