#include "tests/support/support.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "core/yaml_scalar.hpp"

namespace meshinject::test {

std::optional<std::filesystem::path> conformance_dir() {
  const char* env = std::getenv("MESHINJECT_CONFORMANCE_DIR");
  std::filesystem::path p = env && *env ? env : (source_dir() / ".." / "shared" / "conformance");
  std::error_code ec;
  if (!std::filesystem::is_directory(p, ec)) return std::nullopt;
  return std::filesystem::canonical(p, ec);
}

std::filesystem::path source_dir() {
  const char* env = std::getenv("MESHINJECT_SOURCE_DIR");
  if (env && *env) return env;
  return std::filesystem::current_path();
}

std::filesystem::path istio_1_1_example_config_path() {
  return source_dir() / "docs" / "examples" / "istio-1.1-injector-config.yaml";
}

std::string istio_1_1_example_config() { return read_file(istio_1_1_example_config_path()); }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::filesystem::path& p, std::string_view content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

namespace {

json node_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& item : n) a.push_back(node_to_json(item));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = node_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar: {
      if (n.Tag() == "!") return n.Scalar();
      const auto r = core::resolve_plain_scalar(n.Scalar());
      switch (r.k) {
        case core::yaml_scalar::kind::null: return nullptr;
        case core::yaml_scalar::kind::boolean: return r.b;
        case core::yaml_scalar::kind::integer: return r.i;
        case core::yaml_scalar::kind::floating: return r.f;
        case core::yaml_scalar::kind::string: return n.Scalar();
      }
    }
  }
  return nullptr;
}

bool is_empty_object(const json& j) { return j.is_object() && j.empty(); }

}  // namespace

json yaml_to_json(std::string_view yaml) { return node_to_json(YAML::Load(std::string(yaml))); }

json apply_patch(const json& doc, const json& patch) { return doc.patch(patch); }

std::string semantic_diff(const json& a, const json& b, const std::string& path) {
  if (a.is_object() && b.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      const std::string p = path + "/" + it.key();
      if (!b.contains(it.key())) {
        if (is_empty_object(it.value())) continue;
        return p + " (missing on the right)";
      }
      const std::string d = semantic_diff(it.value(), b.at(it.key()), p);
      if (!d.empty()) return d;
    }
    for (auto it = b.begin(); it != b.end(); ++it)
      if (!a.contains(it.key()) && !is_empty_object(it.value())) return path + "/" + it.key() + " (missing on the left)";
    return "";
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size())
      return path + " (array sizes " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + ")";
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string d = semantic_diff(a[i], b[i], path + "/" + std::to_string(i));
      if (!d.empty()) return d;
    }
    return "";
  }
  if (a.is_string() && b.is_string() && a != b) {
    // Strings that hold JSON (the status annotation, the app probers) compare parsed.
    const json pa = json::parse(a.get<std::string>(), nullptr, false);
    const json pb = json::parse(b.get<std::string>(), nullptr, false);
    if (!pa.is_discarded() && !pb.is_discarded() && (pa.is_object() || pa.is_array()))
      return semantic_diff(pa, pb, path + "(json)");
  }
  if (a.is_number() && b.is_number() && a.get<double>() == b.get<double>()) return "";
  if (a != b) return path + " (" + a.dump() + " vs " + b.dump() + ")";
  return "";
}

std::string make_review(const json& pod, std::string_view version, std::string_view uid,
                        std::string_view namespace_name, std::string_view operation, std::string_view kind) {
  json review = {{"apiVersion", version},
                 {"kind", "AdmissionReview"},
                 {"request",
                  {{"uid", uid},
                   {"kind", {{"group", ""}, {"version", "v1"}, {"kind", kind}}},
                   {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
                   {"namespace", namespace_name},
                   {"operation", operation},
                   {"object", pod}}}};
  return review.dump();
}

std::string base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
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
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) throw std::runtime_error("bad base64");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

json response_patch(const json& review_response) {
  const json& r = review_response.at("response");
  if (!r.contains("patch")) return json();
  return json::parse(base64_decode(r.at("patch").get<std::string>()));
}

temp_dir::temp_dir() {
  std::random_device rd;
  const auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto p = base / ("meshinject-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> split_yaml_documents(const std::string& text) {
  std::vector<std::string> docs(1);
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (line.rfind("---", 0) == 0 && line.find_first_not_of(" \t\r", 3) == std::string::npos) docs.emplace_back();
    else docs.back() += line + "\n";
    start = end + 1;
  }
  return docs;
}

void pods_of(const json& obj, std::vector<json>& out) {
  if (!obj.is_object()) return;
  const std::string kind = obj.value("kind", "");
  if (kind == "List") {
    for (const json& item : obj.value("items", json::array())) pods_of(item, out);
  } else if (kind == "Pod") {
    out.push_back(obj);
  } else if (kind == "CronJob") {
    out.push_back(obj["spec"]["jobTemplate"]["spec"]["template"]);
  } else if (obj.contains("spec") && obj["spec"].is_object() && obj["spec"].contains("template")) {
    out.push_back(obj["spec"]["template"]);
  }
}

void pods_in_yaml_file(const std::filesystem::path& file, std::vector<json>& out) {
  for (const std::string& doc : split_yaml_documents(read_file(file))) {
    json obj;
    try {
      obj = yaml_to_json(doc);
    } catch (const std::exception&) {
      continue;
    }
    pods_of(obj, out);
  }
}

json with_metadata(json pod) {
  if (!pod.is_object()) pod = json::object();
  if (!pod.contains("metadata") || !pod["metadata"].is_object()) pod["metadata"] = json::object();
  if (!pod.contains("spec") || !pod["spec"].is_object()) pod["spec"] = json::object();
  return pod;
}

}  // namespace meshinject::test
