#pragma once
// What kube-inject, explain and check-config share: the config flags (istioctl's
// names and serve's), reading files or stdin, and building the same compiled
// snapshot `serve` builds.

#include <iosfwd>
#include <memory>
#include <string>

#include "cmd/cli.hpp"
#include "cmd/flags.hpp"
#include "patch/injector.hpp"

namespace meshinject::cmd {

struct config_flags {
  std::string inject_config;  // empty: the embedded default config
  std::string mesh_config;
  std::string values;
  std::string revision;  // empty: the values' `revision`, else "default"

  // --inject-config/--injectConfigFile, --mesh-config/--meshConfigFile,
  // --values/--valuesFile. `inject_config_required`: the subcommand has no use for
  // the embedded default (check-config), so the help names none.
  void add_to(flag_set& flags, bool inject_config_required = false);
  // --revision, for the subcommands that inject (kube-inject, explain).
  void add_revision_to(flag_set& flags);

  // Reads the files into `out`. Returns false after printing why to `err`.
  // ConfigMap manifests are unwrapped (see unwrap_configmaps).
  bool read(patch::config_sources& out, io streams) const;
};

// A file given as a ConfigMap manifest (`kubectl get cm istio-sidecar-injector -o
// yaml`) stands for the keys Istio mounts: the injection config file for its
// `data.config` (and, unless a values file is given, `data.values`), the mesh file
// for `data.mesh`. The names become "<file> (data.<key>)", so that positions point
// into the key. Returns false after printing why to `err` (a manifest without the
// key, or with `data` that is not text).
bool unwrap_configmaps(patch::config_sources& sources, std::ostream& err);

// Why `revision` cannot name a revision, or "" when it can. Istio's revisions are
// DNS-1123 labels (they name istiod-<rev> and label values), so a name that is not
// one could never match an `istio.io/rev` selector.
std::string revision_problem(std::string_view revision);

// The help text of --revision, shared with serve.
inline constexpr char revision_help[] =
    "revision the injected pods are stamped with (.Revision, the status annotation's revision); "
    "default: the values' `revision`, else \"default\"";

// Reads `path` ("-": the input stream). Returns false with `error` set, also when
// the input holds more than `max_bytes` (0: no bound; config files pass
// core::max_config_file_bytes).
bool read_input(const std::string& path, io streams, std::string& text, std::string& error, std::size_t max_bytes = 0);

// The name errors use for `path`: "<stdin>" for "-".
std::string display_name(const std::string& path);

// Builds the snapshot, printing a compile error (file:line:column: message) to
// `err` and returning null when it fails.
std::shared_ptr<const patch::snapshot> build_snapshot(const patch::config_sources& sources, std::ostream& err);

// Writes `content` to `path` through a temporary file in the same directory and
// a rename, so `path` is either untouched or complete. Returns false with `error`.
bool write_file_atomically(const std::string& path, std::string_view content, std::string& error);

}  // namespace meshinject::cmd
