// Helpers for the deploy/ tests: running commands, temporary directories, rendering
// kustomizations with `kubectl kustomize`, reading the rendered documents, and the
// small pieces of Kubernetes semantics the wiring checks need (label selectors,
// quantities, container args). Header-only: each tests/deploy/*_test.cpp is its own
// program.
#pragma once

#include <yaml-cpp/yaml.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace meshinject::deploytest {

namespace fs = std::filesystem;

// ---- processes and files ---------------------------------------------------------------

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + p.string());
  out << text;
}

// A directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/meshinject-deploy-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct CommandResult {
  int status = -1;  // exit status, or -1 if it did not exit normally
  std::string out;
  std::string err;
};

// Runs `command` with /bin/sh, capturing stdout and stderr separately.
inline CommandResult run_command(const std::string& command) {
  TempDir tmp;
  const fs::path err_file = tmp.path() / "stderr";
  const std::string full = "( " + command + " ) 2>" + shell_quote(err_file.string()) + " </dev/null";
  CommandResult result;
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed for: " + command);
  std::array<char, 8192> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.out.append(buf.data(), n);
  const int raw = pclose(pipe);
  result.status = (raw != -1 && WIFEXITED(raw)) ? WEXITSTATUS(raw) : -1;
  if (fs::exists(err_file)) result.err = read_file(err_file);
  return result;
}

inline bool have_tool(const std::string& name) {
  return run_command("command -v " + shell_quote(name) + " >/dev/null 2>&1").status == 0;
}

inline fs::path source_dir() {
  const char* env = std::getenv("MESHINJECT_SOURCE_DIR");
  if (env && *env) return fs::path(env);
  // Run by hand from the build tree: fall back to the directory this header is in.
  return fs::path(__FILE__).parent_path().parent_path().parent_path();
}

inline fs::path deploy_dir() { return source_dir() / "deploy"; }

// Copies a directory tree, leaving out any path component named in `skip`.
inline void copy_tree(const fs::path& from, const fs::path& to, const std::set<std::string>& skip = {}) {
  fs::create_directories(to);
  for (const auto& entry : fs::directory_iterator(from)) {
    const std::string name = entry.path().filename().string();
    if (skip.count(name)) continue;
    if (entry.is_directory()) copy_tree(entry.path(), to / name, skip);
    else fs::copy_file(entry.path(), to / name, fs::copy_options::overwrite_existing);
  }
}

// ---- base64 -----------------------------------------------------------------------------

inline std::string base64_decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    const int v = value(c);
    if (v < 0) throw std::runtime_error("not base64");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// ---- YAML documents ------------------------------------------------------------------------

inline std::string str(const YAML::Node& n, const std::string& fallback = "") {
  if (!n.IsDefined() || !n.IsScalar()) return fallback;
  return n.as<std::string>();
}

inline bool is_set(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

using Labels = std::map<std::string, std::string>;

inline Labels labels_of(const YAML::Node& map) {
  Labels out;
  if (!map.IsDefined() || !map.IsMap()) return out;
  for (const auto& kv : map) out[kv.first.as<std::string>()] = str(kv.second);
  return out;
}

// The rendered output of one kustomization: every document, with lookups.
struct Manifests {
  std::vector<YAML::Node> docs;

  std::vector<YAML::Node> all(const std::string& kind) const {
    std::vector<YAML::Node> out;
    for (const auto& d : docs)
      if (str(d["kind"]) == kind) out.push_back(d);
    return out;
  }
  // The one document of a kind (throws if there are none or several).
  YAML::Node one(const std::string& kind) const {
    auto v = all(kind);
    if (v.size() != 1)
      throw std::runtime_error("expected exactly one " + kind + ", found " + std::to_string(v.size()));
    return v.front();
  }
  std::optional<YAML::Node> find(const std::string& kind, const std::string& name) const {
    for (const auto& d : docs)
      if (str(d["kind"]) == kind && str(d["metadata"]["name"]) == name) return d;
    return std::nullopt;
  }
  Manifests clone() const {
    Manifests m;
    for (const auto& d : docs) m.docs.push_back(YAML::Clone(d));
    return m;
  }
};

inline Manifests parse_manifests(const std::string& text) {
  Manifests m;
  for (const auto& d : YAML::LoadAll(text))
    if (d.IsDefined() && d.IsMap()) m.docs.push_back(d);
  return m;
}

// `kubectl kustomize DIR`, parsed. Throws with kubectl's message on failure.
inline Manifests kustomize(const fs::path& dir) {
  const auto r = run_command("kubectl kustomize " + shell_quote(dir.string()));
  if (r.status != 0)
    throw std::runtime_error("kubectl kustomize " + dir.string() + " failed: " + r.err);
  return parse_manifests(r.out);
}

// ---- Kubernetes semantics -------------------------------------------------------------------

// metav1.LabelSelector semantics: matchLabels AND every matchExpression.
inline bool selector_matches(const YAML::Node& selector, const Labels& labels) {
  if (!selector.IsDefined() || selector.IsNull()) return true;
  for (const auto& [k, v] : labels_of(selector["matchLabels"])) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  const YAML::Node exprs = selector["matchExpressions"];
  if (exprs.IsDefined() && exprs.IsSequence()) {
    for (const auto& e : exprs) {
      const std::string key = str(e["key"]), op = str(e["operator"]);
      std::set<std::string> values;
      if (e["values"].IsDefined() && e["values"].IsSequence())
        for (const auto& v : e["values"]) values.insert(str(v));
      auto it = labels.find(key);
      const bool has = it != labels.end();
      if (op == "In") {
        if (!has || !values.count(it->second)) return false;
      } else if (op == "NotIn") {
        if (has && values.count(it->second)) return false;
      } else if (op == "Exists") {
        if (!has) return false;
      } else if (op == "DoesNotExist") {
        if (has) return false;
      } else {
        throw std::runtime_error("unknown selector operator " + op);
      }
    }
  }
  return true;
}

// A CPU quantity in cores: "2", "1500m", "0.5".
inline double cpu_cores(const std::string& q) {
  if (q.empty()) throw std::runtime_error("empty CPU quantity");
  if (q.back() == 'm') return std::stod(q.substr(0, q.size() - 1)) / 1000.0;
  return std::stod(q);
}

// A Go-style duration in seconds: "120s", "2m", "1m30s", "1h", "500ms".
inline double duration_seconds(const std::string& d) {
  double total = 0;
  size_t i = 0;
  if (d.empty()) throw std::runtime_error("empty duration");
  while (i < d.size()) {
    size_t j = i;
    while (j < d.size() && (std::isdigit(static_cast<unsigned char>(d[j])) || d[j] == '.')) ++j;
    if (j == i) throw std::runtime_error("bad duration " + d);
    const double v = std::stod(d.substr(i, j - i));
    size_t k = j;
    while (k < d.size() && std::isalpha(static_cast<unsigned char>(d[k]))) ++k;
    const std::string unit = d.substr(j, k - j);
    if (unit == "h") total += v * 3600;
    else if (unit == "m") total += v * 60;
    else if (unit == "s" || unit.empty()) total += v;
    else if (unit == "ms") total += v / 1000;
    else throw std::runtime_error("bad duration unit in " + d);
    i = k;
  }
  return total;
}

// Container args as strings, with $(VAR) references expanded from the container's
// plain `value` env vars (resourceFieldRef vars are resolved by the caller).
inline std::vector<std::string> args_of(const YAML::Node& container) {
  std::vector<std::string> out;
  for (const char* key : {"command", "args"}) {
    const YAML::Node seq = container[key];
    if (seq.IsDefined() && seq.IsSequence())
      for (const auto& a : seq) out.push_back(str(a));
  }
  return out;
}

// The value of a flag given as `--flag value` or `--flag=value`.
inline std::optional<std::string> flag_value(const std::vector<std::string>& args, const std::string& flag) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind(flag + "=", 0) == 0) return args[i].substr(flag.size() + 1);
  }
  return std::nullopt;
}

// "host:port" or "[v6]:port" -> (host, port).
inline std::pair<std::string, int> split_host_port(const std::string& addr) {
  const auto colon = addr.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("no port in " + addr);
  std::string host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, std::stoi(addr.substr(colon + 1))};
}

// The DNS names a Service answers to from inside the cluster.
inline std::vector<std::string> service_dns_names(const std::string& svc, const std::string& ns,
                                                  const std::string& domain = "cluster.local") {
  return {svc, svc + "." + ns, svc + "." + ns + ".svc", svc + "." + ns + ".svc." + domain};
}

// The DNS SANs of a PEM certificate file, from `openssl x509 -noout -ext subjectAltName`.
inline std::set<std::string> certificate_dns_sans(const fs::path& pem) {
  const auto r = run_command("openssl x509 -noout -ext subjectAltName -in " + shell_quote(pem.string()));
  if (r.status != 0) throw std::runtime_error("openssl could not read " + pem.string() + ": " + r.err);
  std::set<std::string> sans;
  std::string token;
  std::istringstream in(r.out);
  // Output: "X509v3 Subject Alternative Name: \n    DNS:a, DNS:b, IP Address:..."
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream parts(line);
    while (std::getline(parts, token, ',')) {
      const auto start = token.find_first_not_of(" \t");
      if (start == std::string::npos) continue;
      token = token.substr(start);
      if (token.rfind("DNS:", 0) == 0) sans.insert(token.substr(4));
    }
  }
  return sans;
}

}  // namespace meshinject::deploytest
