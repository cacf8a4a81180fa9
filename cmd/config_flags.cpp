#include "cmd/config_flags.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/config_tree.hpp"
#include "core/injection_config.hpp"

namespace meshinject::cmd {

void config_flags::add_to(flag_set& flags, bool inject_config_required) {
  flags.value({"--inject-config", "--injectConfigFile"}, &inject_config,
              inject_config_required
                  ? "injection config: the ConfigMap's `config` key (or the FILE argument; required)"
                  : "injection config: the ConfigMap's `config` key (default: the embedded default config)",
              "FILE");
  flags.value({"--mesh-config", "--meshConfigFile"}, &mesh_config,
              "mesh config: the `mesh` key (default: Istio's built-in mesh defaults)", "FILE");
  flags.value({"--values", "--valuesFile"}, &values, "Helm-style values the template reads as .Values (default: none; with the embedded default config, "
              "its own values)",
              "FILE");
  bounds.add_to(flags);
}

void bound_flags::add_to(flag_set& flags) {
  flags.value({"--max-config-bytes"}, &config_bytes, "larger config, mesh, values (serve: certificate, key) files are refused unread",
              "BYTES")
      .value({"--max-config-nodes"}, &config_nodes,
             "mesh and values documents expanding (YAML aliases) to more values are refused", "N")
      .value({"--max-config-depth"}, &config_depth, "mesh and values documents nesting deeper are refused", "N")
      .value({"--max-template-steps"}, &template_steps,
             "template evaluation steps per pod; a pod past it is refused naming the bound", "N")
      .value({"--max-patch-bytes"}, &patch_bytes,
             "text a template may produce per pod (its rendered patch); a pod past it is refused", "BYTES");
}

std::optional<std::size_t> parse_byte_size(std::string_view text) {
  std::size_t value = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr == text.data()) return std::nullopt;
  const std::string_view unit(r.ptr, static_cast<std::size_t>(text.data() + text.size() - r.ptr));
  std::size_t scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "Ki" || unit == "KiB") scale = std::size_t{1} << 10;
  else if (unit == "Mi" || unit == "MiB") scale = std::size_t{1} << 20;
  else if (unit == "Gi" || unit == "GiB") scale = std::size_t{1} << 30;
  else if (unit == "K" || unit == "KB" || unit == "k") scale = 1000;
  else if (unit == "M" || unit == "MB") scale = 1000 * 1000;
  else if (unit == "G" || unit == "GB") scale = 1000 * 1000 * 1000;
  if (scale == 0 || value > SIZE_MAX / scale) return std::nullopt;
  return value * scale;
}

bool bound_flags::parse(std::string_view command, std::ostream& err) {
  auto count = [](const std::string& text, std::uint64_t& out) {
    const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
    return r.ec == std::errc() && r.ptr == text.data() + text.size() && !text.empty() && out > 0;
  };
  auto bad = [&](std::string_view flag, const std::string& text, std::string_view want) {
    err << command << ": " << flag << " must be " << want << ", not '" << text << "'\n";
    return false;
  };
  const auto bytes = parse_byte_size(config_bytes);
  if (!bytes || *bytes == 0) return bad("--max-config-bytes", config_bytes, "a positive size (4Mi, 1048576)");
  max_config_bytes = *bytes;
  std::uint64_t n = 0;
  if (!count(config_nodes, n)) return bad("--max-config-nodes", config_nodes, "a positive number");
  config_limits.max_nodes = static_cast<std::size_t>(n);
  if (!count(config_depth, n) || n > 100'000) return bad("--max-config-depth", config_depth, "a number from 1 to 100000");
  config_limits.max_depth = static_cast<int>(n);
  if (!count(template_steps, n)) return bad("--max-template-steps", template_steps, "a positive number");
  template_limits.max_steps = n;
  const auto patch = parse_byte_size(patch_bytes);
  if (!patch || *patch == 0) return bad("--max-patch-bytes", patch_bytes, "a positive size (4Mi, 1048576)");
  template_limits.max_output_bytes = *patch;
  return true;
}

void bound_flags::apply_to(patch::config_sources& sources) const {
  sources.config_limits = config_limits;
  sources.template_limits = template_limits;
}

void config_flags::add_injector_settings_to(flag_set& flags) {
  flags.value({"--revision"}, &revision, revision_help, "REV")
      .boolean({"--native-sidecars"}, &native_sidecars, native_sidecars_help)
      .value({"--namespace-annotations"}, &namespace_annotations,
             "the namespace's annotations (no API client here): OpenShift's openshift.io/sa.scc.uid-range and "
             "supplemental-groups give the proxy's UID and GID",
             "k=v,...");
}

bool config_flags::check_injector_settings(const flag_set& flags, std::string_view command, std::ostream& err) const {
  std::string problem;
  if (flags.given("--revision")) problem = revision_problem(revision);
  if (problem.empty()) proxy_ids_from_annotations(namespace_annotations, problem);
  if (problem.empty()) return true;
  err << command << ": " << problem << '\n';
  return false;
}

namespace {

// "<start>/<size>" or "<start>-<end>" (OpenShift's uid.Block), as its last id.
std::optional<std::int64_t> block_end(std::string_view block) {
  auto number = [](std::string_view text, std::int64_t& out) {
    const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
    return r.ec == std::errc() && r.ptr == text.data() + text.size() && out >= 0 && out <= 0xffffffffLL;
  };
  const std::size_t cut = block.find_first_of("/-");
  if (cut == std::string_view::npos) return std::nullopt;
  std::int64_t first = 0, second = 0;
  if (!number(block.substr(0, cut), first) || !number(block.substr(cut + 1), second)) return std::nullopt;
  if (block[cut] == '/') {
    if (second == 0) return std::nullopt;
    return first + second - 1;
  }
  if (second < first) return std::nullopt;
  return second;
}

}  // namespace

proxy_ids proxy_ids_from_annotations(std::string_view annotations, std::string& problem) {
  // A value may hold commas itself (several supplemental-group blocks): a piece
  // without '=' continues the previous value.
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t start = 0;
  while (start < annotations.size()) {
    std::size_t comma = annotations.find(',', start);
    if (comma == std::string_view::npos) comma = annotations.size();
    const std::string_view piece = annotations.substr(start, comma - start);
    const std::size_t eq = piece.find('=');
    if (eq != std::string_view::npos) {
      pairs.emplace_back(std::string(piece.substr(0, eq)), std::string(piece.substr(eq + 1)));
    } else if (!pairs.empty()) {
      pairs.back().second += "," + std::string(piece);
    } else {
      problem = "--namespace-annotations: '" + std::string(piece.substr(0, 80)) + "' is not key=value";
      return {};
    }
    start = comma + 1;
  }
  auto find = [&](std::string_view key) -> const std::string* {
    for (const auto& [k, v] : pairs)
      if (k == key) return &v;
    return nullptr;
  };
  proxy_ids ids;
  auto first_block_end = [&](const std::string& value, std::string_view key) -> std::int64_t {
    const std::string first = value.substr(0, value.find(','));
    if (const auto end = block_end(first)) return *end;
    problem = "--namespace-annotations: " + std::string(key) + " '" + value.substr(0, 80) +
              "' is not a <start>/<size> or <start>-<end> block";
    return -1;
  };
  const std::string* uids = find("openshift.io/sa.scc.uid-range");
  const std::string* groups = find("openshift.io/sa.scc.supplemental-groups");
  if (uids) ids.uid = first_block_end(*uids, "openshift.io/sa.scc.uid-range");
  if (groups) ids.gid = first_block_end(*groups, "openshift.io/sa.scc.supplemental-groups");
  else if (uids) ids.gid = ids.uid;
  if (!problem.empty()) return {};
  return ids;
}

std::string revision_problem(std::string_view revision) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  std::string shown(revision.substr(0, 80));
  if (revision.empty()) return "--revision is empty (leave it out for the values' revision, else \"default\")";
  if (revision.size() > 63) return "--revision '" + shown + "...' is longer than 63 characters (a DNS-1123 label)";
  for (char c : revision)
    if (!alnum(c) && c != '-')
      return "--revision '" + shown + "' is not a DNS-1123 label (lower-case letters, digits and '-')";
  if (!alnum(revision.front()) || !alnum(revision.back()))
    return "--revision '" + shown + "' must start and end with a letter or digit (a DNS-1123 label)";
  return {};
}

std::string display_name(const std::string& path) { return path == "-" ? "<stdin>" : path; }

namespace {

// Reads all of `in`, or fails once it holds more than `max_bytes` (0: no bound), so
// that a config path pointing at /dev/zero or a runaway file ends with an error
// instead of filling memory.
bool read_bounded(std::istream& in, std::size_t max_bytes, std::string& text) {
  text.clear();
  char chunk[64 * 1024];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (max_bytes != 0 && text.size() > max_bytes) return false;
  }
  return true;
}

std::string too_large(const std::string& name, std::size_t max_bytes, std::string_view bound) {
  std::string m = "cannot read " + name + ": larger than ";
  m += max_bytes % (1 << 20) == 0 ? std::to_string(max_bytes >> 20) + " MiB" : std::to_string(max_bytes) + " bytes";
  m += ", ";
  m += bound;
  return m;
}

}  // namespace

bool read_input(const std::string& path, io streams, std::string& text, std::string& error, std::size_t max_bytes,
                std::string_view bound) {
  if (path == "-") {
    if (read_bounded(streams.in, max_bytes, text)) return true;
    error = too_large("<stdin>", max_bytes, bound);
    return false;
  }
  // Non-blocking, so that opening a FIFO without a writer returns at once; only a
  // regular file is read, so a FIFO, a device (/dev/zero) or a socket is refused
  // before anything is read from it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  struct fd_closer {
    int fd;
    ~fd_closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    error = "cannot read " + path + ": it is a directory";
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "cannot read " + path + ": not a regular file (a FIFO, socket or device is never read; pipe it to `-` instead)";
    return false;
  }
  if (max_bytes != 0 && static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    error = too_large(path, max_bytes, bound);
    return false;
  }
  text.clear();
  char chunk[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read " + path + ": " + std::strerror(errno);
      return false;
    }
    if (n == 0) return true;
    text.append(chunk, static_cast<std::size_t>(n));
    if (max_bytes != 0 && text.size() > max_bytes) {  // grew while being read
      error = too_large(path, max_bytes, bound);
      return false;
    }
  }
}

bool config_flags::read(patch::config_sources& out, io streams) const {
  std::string error;
  out.revision = revision;
  out.native_sidecars = native_sidecars;
  const proxy_ids ids = proxy_ids_from_annotations(namespace_annotations, error);
  if (!error.empty()) {
    streams.err << error << '\n';
    return false;
  }
  out.proxy_uid = ids.uid;
  out.proxy_gid = ids.gid;
  bounds.apply_to(out);
  auto load = [&](const std::string& path, std::string& text, std::string& name) {
    if (path.empty()) return true;
    if (!read_input(path, streams, text, error, bounds.max_config_bytes, config_bound)) {
      streams.err << error << '\n';
      return false;
    }
    name = display_name(path);
    return true;
  };
  if (!load(inject_config, out.inject_config_text, out.inject_config_name)) return false;
  if (!inject_config.empty() && out.inject_config_text.empty()) {
    // An empty file is not "use the default": say so instead of injecting something else.
    streams.err << display_name(inject_config) << ": the injection config is empty\n";
    return false;
  }
  if (!load(mesh_config, out.mesh_text, out.mesh_name) || !load(values, out.values_text, out.values_name) ||
      !unwrap_configmaps(out, streams.err))
    return false;
  if (out.revision.empty()) out.revision = values_revision(out.values_text, out.values_name, bounds.config_limits);
  return true;
}

std::string values_revision(const std::string& values_text, const std::string& values_name,
                            const core::yaml_limits& limits) {
  if (values_text.empty()) return {};
  try {
    return std::string(core::values_revision(core::load_values(values_text, values_name, limits)));
  } catch (const core::config_error&) {
    // Building the snapshot reports the broken values file with its position.
  }
  return {};
}

namespace {

// Replaces `text`/`name` by the manifest's `key`. `fallback` (may be null) receives
// a second key when it is present and the caller has no text of its own for it.
bool unwrap_one(std::string& text, std::string& name, std::string_view key, std::string* fallback_text,
                std::string* fallback_name, std::string_view fallback_key, std::ostream& err) {
  if (text.empty()) return true;
  std::optional<core::configmap_keys> manifest;
  try {
    manifest = core::read_configmap_manifest(text, name);
  } catch (const core::config_error& e) {
    err << e.what() << '\n';
    return false;
  }
  if (!manifest) return true;
  const std::string* wanted = manifest->find(key);
  if (!wanted) {
    err << name << ": a ConfigMap manifest" << (manifest->name.empty() ? "" : " (" + manifest->name + ")")
        << " without data." << key << '\n';
    return false;
  }
  const std::string file = name;
  if (fallback_text && fallback_text->empty())
    if (const std::string* extra = manifest->find(fallback_key)) {
      *fallback_text = *extra;
      *fallback_name = file + " (data." + std::string(fallback_key) + ")";
    }
  text = *wanted;
  name = file + " (data." + std::string(key) + ")";
  return true;
}

}  // namespace

bool unwrap_configmaps(patch::config_sources& sources, std::ostream& err) {
  return unwrap_one(sources.inject_config_text, sources.inject_config_name, "config", &sources.values_text,
                    &sources.values_name, "values", err) &&
         unwrap_one(sources.mesh_text, sources.mesh_name, "mesh", nullptr, nullptr, {}, err);
}

std::shared_ptr<const patch::snapshot> build_snapshot(const patch::config_sources& sources, std::ostream& err) {
  try {
    return patch::snapshot::build(sources);
  } catch (const core::config_error& e) {
    err << e.what() << '\n';
  } catch (const std::exception& e) {
    err << (sources.inject_config_text.empty() ? std::string("embedded default") : sources.inject_config_name) << ": "
        << e.what() << '\n';
  }
  return nullptr;
}

bool write_file_atomically(const std::string& path, std::string_view content, std::string& error) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string tmpl = (dir / ("." + target.filename().string() + ".meshinject-XXXXXX")).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  // mkstemp makes the file 0600; give it what a plain create would.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat st {};
  const mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : (0666 & ~mask);
  ::fchmod(fd, mode);
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "cannot write " + path + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmpl.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmpl.c_str(), path.c_str()) != 0) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    ::unlink(tmpl.c_str());
    return false;
  }
  return true;
}

}  // namespace meshinject::cmd
