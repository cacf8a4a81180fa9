#pragma once
// What kube-inject, explain and check-config share: the config flags (istioctl's
// names and serve's), reading files or stdin, and building the same compiled
// snapshot `serve` builds.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cmd/cli.hpp"
#include "cmd/flags.hpp"
#include "core/config_tree.hpp"
#include "patch/injector.hpp"

namespace meshinject::cmd {

// The bounds on what config input and template evaluation may cost, shared by
// serve, kube-inject, explain and check-config: --max-config-bytes,
// --max-config-nodes, --max-config-depth, --max-template-steps, --max-patch-bytes.
// Counts, not time: a loaded machine refuses exactly what an idle one does.
struct bound_flags {
  std::string config_bytes = "4Mi", config_nodes = "100000", config_depth = "512";
  std::string template_steps = std::to_string(tmpl::eval_limits::default_max_steps), patch_bytes = "4Mi";

  // Filled in by parse().
  std::size_t max_config_bytes = core::max_config_file_bytes;
  core::yaml_limits config_limits;
  tmpl::eval_limits template_limits;

  void add_to(flag_set& flags);
  // Checks the values; false after printing why (prefixed by `command`).
  bool parse(std::string_view command, std::ostream& err);
  void apply_to(patch::config_sources& sources) const;
};

// A byte size: a number with an optional unit (Ki, Mi, Gi, KiB, MiB, GiB, K, M, G).
std::optional<std::size_t> parse_byte_size(std::string_view text);

struct config_flags {
  std::string inject_config;  // empty: the embedded default config
  std::string mesh_config;
  std::string values;
  std::string revision;  // empty: the values' `revision` (read() fills it in), else "default"
  bool native_sidecars = true;        // false: ENABLE_NATIVE_SIDECARS=false
  std::string namespace_annotations;  // k=v,...: what the API would show of the namespace
  bound_flags bounds;

  // --inject-config/--injectConfigFile, --mesh-config/--meshConfigFile,
  // --values/--valuesFile. `inject_config_required`: the subcommand has no use for
  // the embedded default (check-config), so the help names none.
  void add_to(flag_set& flags, bool inject_config_required = false);
  // --revision, --native-sidecars and --namespace-annotations, for the subcommands
  // that inject (kube-inject, explain): the injector settings Istio 1.28 takes from
  // its flags, environment and the cluster.
  void add_injector_settings_to(flag_set& flags);
  // Checks what add_injector_settings_to declared; false after printing why.
  bool check_injector_settings(const flag_set& flags, std::string_view command, std::ostream& err) const;

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

// The values' `revision` (the chart's; istiod runs with it as its REVISION), or ""
// when there is none; what --revision falls back to before "default".
std::string values_revision(const std::string& values_text, const std::string& values_name,
                            const core::yaml_limits& limits = {});

// Why `revision` cannot name a revision, or "" when it can. Istio's revisions are
// DNS-1123 labels (they name istiod-<rev> and label values), so a name that is not
// one could never match an `istio.io/rev` selector.
std::string revision_problem(std::string_view revision);

// The proxy's UID and GID as Istio 1.28 takes them from an OpenShift namespace's
// annotations (GetProxyIDs): the last UID of `openshift.io/sa.scc.uid-range`, and
// the last of the first block of `openshift.io/sa.scc.supplemental-groups` (else
// of the UID range). -1 where the annotations give none; `problem` set for a
// malformed list or block.
struct proxy_ids {
  std::int64_t uid = -1, gid = -1;
};
proxy_ids proxy_ids_from_annotations(std::string_view annotations, std::string& problem);

// The help texts shared with serve.
inline constexpr char native_sidecars_help[] =
    "inject istio-proxy as a native sidecar (an init container that keeps running), as Istio 1.28 does "
    "by default; =false: as a container (ENABLE_NATIVE_SIDECARS=false)";
inline constexpr char revision_help[] =
    "revision the injected pods are stamped with (.Revision, the status annotation's revision); "
    "default: the values' `revision`, else \"default\"";

// Reads `path` ("-": the input stream). Returns false with `error` set when the
// path is not a regular file (a FIFO, a device, a directory: never read, never
// waited on) or holds more than `max_bytes` (0: no bound), which the error calls
// `bound` (which flag sets it and why).
bool read_input(const std::string& path, io streams, std::string& text, std::string& error, std::size_t max_bytes,
                std::string_view bound);

// What `-f` (kube-inject, explain) reads at most: a manifest stream of many
// workloads, far past any one config file, yet not "all the memory there is".
inline constexpr std::size_t max_manifest_bytes = std::size_t{64} << 20;
inline constexpr std::string_view manifest_bound = "the bound on -f input";
inline constexpr std::string_view config_bound = "the bound on config files (--max-config-bytes; a ConfigMap holds at most 1 MiB)";

// The name errors use for `path`: "<stdin>" for "-".
std::string display_name(const std::string& path);

// Builds the snapshot, printing a compile error (file:line:column: message) to
// `err` and returning null when it fails.
std::shared_ptr<const patch::snapshot> build_snapshot(const patch::config_sources& sources, std::ostream& err);

// Writes `content` to `path` through a temporary file in the same directory and
// a rename, so `path` is either untouched or complete. Returns false with `error`.
bool write_file_atomically(const std::string& path, std::string_view content, std::string& error);

}  // namespace meshinject::cmd
