// meshinject kube-inject: istioctl kube-inject with the webhook's engine. Each
// document is read as the apiserver reads it; a pod template the webhook would
// inject gets exactly the webhook's JSON Patch; every other document is copied
// through byte for byte.
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <ostream>

#include "cmd/cli.hpp"
#include "cmd/config_flags.hpp"
#include "cmd/flags.hpp"
#include "cmd/json_patch.hpp"
#include "cmd/workloads.hpp"
#include "cmd/yaml_io.hpp"

namespace meshinject::cmd {
namespace {

constexpr char usage[] =
    "usage: meshinject kube-inject -f FILE|- [-o FILE] [--namespace NS] [--revision REV] [config flags]\n"
    "\n"
    "Injects the sidecar into the pods and pod templates of Kubernetes YAML (Pod, Deployment,\n"
    "StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController, DeploymentConfig,\n"
    "and the items of a List), deciding and patching exactly as the webhook does. Other\n"
    "documents, and pods the webhook would skip, are written back unchanged, byte for byte.\n"
    "A pod's namespace is its template's, else its workload's, else --namespace, else empty\n"
    "(as istioctl).";

// "--- {a: 1}": the document starts on the separator line (the last line of the
// separator; directives may precede it).
bool separator_has_content(std::string_view sep) {
  std::string_view last = sep;
  while (!last.empty() && (last.back() == '\n' || last.back() == '\r')) last.remove_suffix(1);
  if (const std::size_t nl = last.rfind('\n'); nl != std::string_view::npos) last = last.substr(nl + 1);
  sep = last;
  std::size_t i = 3;
  while (i < sep.size() && (sep[i] == ' ' || sep[i] == '\t')) ++i;
  return i < sep.size() && sep[i] != '#' && sep[i] != '\r' && sep[i] != '\n';
}

// Comment and blank lines before a document's content, kept when it is rewritten.
std::string_view leading_comments(std::string_view body) {
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    eol = eol == std::string_view::npos ? body.size() : eol + 1;
    const std::string_view line = body.substr(pos, eol - pos);
    const std::size_t first = line.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && line[first] != '#') break;
    pos = eol;
  }
  return body.substr(0, pos);
}

// A closing "..." line, kept when the document is rewritten.
std::string_view closing_marker(std::string_view body) {
  std::size_t end = body.size();
  while (end > 0 && (body[end - 1] == '\n' || body[end - 1] == '\r')) --end;
  const std::size_t nl = body.substr(0, end).rfind('\n');
  const std::size_t start = nl == std::string_view::npos ? 0 : nl + 1;
  const std::string_view last = body.substr(start, end - start);
  if (last.rfind("...", 0) == 0 && (last.size() == 3 || last[3] == ' ' || last[3] == '\t')) return body.substr(start);
  return {};
}

// The position of the pod's annotation the engine's message names
// ("... for annotation KEY: ...", "annotation KEY: ...").
bool annotation_position(const yaml::value& pod, std::string_view message, int& line, int& column) {
  const yaml::value* meta = pod.find("metadata");
  const yaml::value* annotations = meta && meta->is_mapping() ? meta->find("annotations") : nullptr;
  if (!annotations || !annotations->is_mapping()) return false;
  constexpr std::string_view marker = "annotation ";
  for (std::size_t at = message.find(marker); at != std::string_view::npos; at = message.find(marker, at + 1)) {
    std::string_view key = message.substr(at + marker.size());
    key = key.substr(0, key.find_first_of(": "));
    const yaml::value* v = annotations->find(key);
    if (v && v->line > 0) {
      line = v->line;
      column = v->column;
      return true;
    }
  }
  return false;
}

// Every LF that does not already follow a CR becomes CRLF.
std::string with_crlf_line_ends(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

class injector {
 public:
  injector(patch::engine& engine, std::string source, std::string fallback_namespace, std::ostream& err)
      : engine_(engine), source_(std::move(source)), fallback_namespace_(std::move(fallback_namespace)), err_(err) {}

  // Returns the output text; errors_ counts what went wrong (then nothing is written).
  std::string run(std::string_view input) {
    std::string out;
    out.reserve(input.size() * 2);
    for (const yaml::chunk& c : yaml::split_documents(input)) {
      const std::string verbatim = c.separator + c.body;
      YAML::Node node;
      try {
        node = yaml::parse_chunk(c);
      } catch (const yaml::input_error& e) {
        error(e.line, e.column, "document " + std::to_string(++document_) + ": " + e.what());
        continue;
      }
      if (!node.IsDefined() || node.IsNull()) {
        out += verbatim;  // comments only, or an empty document
        continue;
      }
      ++document_;
      if (!may_hold_pod(node)) {
        out += verbatim;
        continue;
      }
      yaml::value doc;
      bool changed = false;
      try {
        doc = yaml::from_yaml(node, c.first_line, c.body.size());
        changed = inject_document(doc);
      } catch (const yaml::input_error& e) {
        error(e.line, e.column, "document " + std::to_string(document_) + ": " + e.what());
        continue;
      }
      if (!changed) {
        out += verbatim;
        continue;
      }
      std::string rewritten;
      if (separator_has_content(c.separator)) {
        const std::string_view sep = c.separator;
        const std::size_t last = sep.substr(0, sep.size() - 1).rfind('\n');
        rewritten += last == std::string_view::npos ? std::string() : std::string(sep.substr(0, last + 1));
        rewritten += "---\n";
      } else {
        rewritten += c.separator;
      }
      rewritten += leading_comments(c.body);
      rewritten += yaml::emit(doc);
      rewritten += closing_marker(c.body);
      // A file written on Windows comes back with Windows line ends throughout, not
      // with the injected documents' lines in LF among the copied ones.
      if (verbatim.find("\r\n") != std::string::npos) rewritten = with_crlf_line_ends(rewritten);
      out += rewritten;
    }
    return out;
  }

  int errors() const noexcept { return errors_; }
  int injected() const noexcept { return injected_; }

 private:
  void error(int line, int column, const std::string& message) {
    ++errors_;
    err_ << source_;
    if (line > 0) err_ << ':' << line;
    if (line > 0 && column > 0) err_ << ':' << column;
    err_ << ": " << message << '\n';
  }

  std::string where(const pod_target& t) const {
    return "document " + std::to_string(document_) + ", " + describe_target(t);
  }

  // Injects every pod template of one document; true when any changed.
  bool inject_document(yaml::value& doc) {
    const scan_result scan = find_pod_templates(doc);
    for (const std::string& note : scan.notes) err_ << source_ << ": document " << document_ << ", " << note << '\n';
    bool changed = false;
    for (const pod_target& t : scan.targets) changed = inject_target(doc, t) || changed;
    return changed;
  }

  bool inject_target(yaml::value& doc, const pod_target& t) {
    yaml::value* pod = at_path(doc, t.path);
    const yaml::value* owner = at_path(doc, t.owner_path);
    std::string ns(file_namespace(*pod, *owner));
    if (ns.empty()) ns = fallback_namespace_;

    patch::workload_meta meta;
    std::string problem;
    int line = t.line, column = t.column;
    if (!workload_metadata(*owner, ns, meta, problem, line, column)) {
      error(line, column, where(t) + ": " + problem);
      return false;
    }
    std::string json;
    try {
      json = yaml::to_json(*pod);
    } catch (const std::exception& e) {
      error(t.line, t.column, where(t) + ": " + e.what());
      return false;
    }
    const simdjson::padded_string padded(json);
    simdjson::dom::element object;
    if (const auto e = parser_.parse(padded).get(object); e) {
      error(t.line, t.column, where(t) + ": internal error: " + simdjson::error_message(e));
      return false;
    }
    // Istio 1.28's istioctl reads a bare pod's owner from its owner references, as
    // the webhook does; a workload is the owner of its pod template.
    const bool owner_from_references = t.kind == "Pod" && engine_.current().named_templates();
    const patch::injection_result r = engine_.inject_pod(object, ns, owner_from_references ? nullptr : &meta);
    if (r.has_decision && r.decision.has_warning())
      err_ << source_ << ':' << t.line << ": " << where(t) << ": warning: " << core::ignored_value_warning(r.decision)
           << '\n';
    switch (r.kind) {
      case patch::outcome::injected: {
        const std::string patch_text(r.patch);
        const std::string failure = json_patch::apply(*pod, patch_text);
        if (!failure.empty()) {
          error(t.line, t.column, where(t) + ": internal error: the webhook's patch does not apply: " + failure);
          return false;
        }
        ++injected_;
        return true;
      }
      case patch::outcome::skipped:
        if (r.decision.reason == core::decision_reason::foreign_injection)
          err_ << source_ << ':' << t.line << ": " << where(t)
               << ": warning: " << core::foreign_injection_warning(r.decision) << '\n';
        err_ << source_ << ':' << t.line << ": " << where(t) << ": skipping injection ("
             << core::reason_code(r.decision.reason) << ")\n";
        return false;
      default: {
        const std::string message(r.message);
        annotation_position(*pod, message, line, column);
        error(line, column, where(t) + ": " + message);
        return false;
      }
    }
  }

  patch::engine& engine_;
  std::string source_;
  std::string fallback_namespace_;
  std::ostream& err_;
  simdjson::dom::parser parser_;
  int document_ = 0;
  int errors_ = 0;
  int injected_ = 0;
};

}  // namespace

int kube_inject(args a, io streams) {
  std::string file, output, namespace_name;
  config_flags config;
  flag_set flags(usage);
  flags.value({"-f", "--filename"}, &file, "input Kubernetes YAML (- for stdin)", "FILE")
      .value({"-o", "--output-file", "--output"}, &output, "write the result here instead of stdout", "FILE")
      .value({"-n", "--namespace"}, &namespace_name, "namespace of pods whose file names none", "NS");
  config.add_to(flags);
  config.add_injector_settings_to(flags);
  int code = 0;
  if (!flags.parse(a, streams, code)) return code;
  if (!flags.positional().empty()) {
    streams.err << "kube-inject: unexpected argument '" << flags.positional().front()
                << "' (give the input with -f FILE)\n";
    return 2;
  }
  if (!config.check_injector_settings(flags, "kube-inject", streams.err) ||
      !config.bounds.parse("kube-inject", streams.err))
    return 2;
  if (file.empty()) {
    streams.err << "kube-inject: -f FILE is required (-f - reads stdin)\n\n";
    flags.print_help(streams.err);
    return 2;
  }
  int from_stdin = 0;
  for (const std::string* f : {&file, &config.inject_config, &config.mesh_config, &config.values})
    from_stdin += *f == "-";
  if (from_stdin > 1) {
    streams.err << "kube-inject: only one input can be read from stdin (-)\n";
    return 2;
  }

  patch::config_sources sources;
  if (!config.read(sources, streams)) return 1;
  std::string input, problem;
  if (!read_input(file, streams, input, problem, max_manifest_bytes, manifest_bound)) {
    streams.err << problem << '\n';
    return 1;
  }
  const auto snapshot = build_snapshot(sources, streams.err);
  if (!snapshot) return 1;
  for (const std::string& w : snapshot->warnings()) streams.err << "warning: " << w << '\n';

  patch::engine engine(snapshot);
  injector inj(engine, display_name(file), namespace_name, streams.err);
  const std::string result = inj.run(input);
  if (inj.errors() > 0) {
    streams.err << "kube-inject: " << inj.errors() << (inj.errors() == 1 ? " error" : " errors")
                << "; nothing written\n";
    return 1;
  }
  if (output.empty() || output == "-") {
    streams.out << result;
    streams.out.flush();
    if (!streams.out) {
      streams.err << "kube-inject: cannot write the output\n";
      return 1;
    }
    return 0;
  }
  if (!write_file_atomically(output, result, problem)) {
    streams.err << problem << '\n';
    return 1;
  }
  return 0;
}

}  // namespace meshinject::cmd
