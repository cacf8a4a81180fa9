// AdmissionReview handling end to end: bytes in, response out. Whatever the
// bytes, the engine must answer (never crash, hang or leak), and every answer
// must be valid JSON whose patch, when present, is valid JSON too.
//
// And the review's two readings against each other: what the whole DOM reading
// accepts, the reading of only what is read (the engine's) accepts with the
// same envelope and pod. The one allowed difference goes the other way: the
// engine may accept a review malformed only inside values it skips
// (docs/admission-parsing.md).

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "patch/admission.hpp"
#include "patch/injector.hpp"

namespace {

meshinject::patch::engine* engine_ptr = nullptr;
simdjson::dom::parser* checker = nullptr;

namespace mp = meshinject::patch;

// What a reading took, as text: two readings agree when these agree.
std::string summary(const mp::review& r, const mp::pod& p) {
  std::string s;
  for (std::string_view part : {r.uid, r.kind_group, r.kind_version, r.kind, r.sub_resource, r.operation,
                                r.namespace_name, r.name, p.name, p.generate_name, p.namespace_name,
                                p.service_account_name, p.service_account}) {
    s += part;
    s += '|';
  }
  s += r.dry_run ? "dry|" : "|";
  s += r.is_pod_create ? "create|" : "|";
  s += p.host_network ? "host|" : "|";
  for (const auto& l : p.labels) (s += l.key) += '=', (s += l.value) += ',';
  for (const auto& l : p.annotations) (s += l.key) += '=', (s += l.value) += ',';
  for (const auto& c : p.containers) (s += c.name) += ':', (s += c.image) += ',';
  for (const auto& c : p.init_containers) (s += c.name) += ':', (s += c.image) += ',';
  for (const auto& port : p.ports) s += std::to_string(port.container_port) + ',';
  for (std::string_view v : p.volume_names) (s += v) += ',';
  return s;
}

void compare_readings(const std::string& body, std::size_t size) {
  static simdjson::dom::parser whole_parser, read_parser;
  static mp::review_scratch scratch;
  mp::review whole_review, read_review;
  mp::pod whole_pod, read_pod;
  std::string error;
  const bool whole_ok = mp::parse_review(whole_parser, body.data(), size, body.size(), whole_review, whole_pod, error);
  const bool read_ok =
      mp::parse_review(read_parser, scratch, body.data(), size, body.size(), read_review, read_pod, error);
  if (!whole_ok) return;  // the engine may answer it if only a skipped value is malformed
  if (!read_ok) std::abort();  // refused what the whole reading accepts
  if (summary(whole_review, whole_pod) != summary(read_review, read_pod)) std::abort();
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  meshinject::patch::config_sources sources;  // the embedded default config
  if (const char* dir = std::getenv("MESHINJECT_CONFORMANCE_DIR")) {
    const std::filesystem::path root(dir);
    if (std::filesystem::exists(root / "istio-1.1" / "injector-config.yaml")) {
      sources.inject_config_text = read(root / "istio-1.1" / "injector-config.yaml");
      sources.mesh_text = read(root / "istio-1.1" / "mesh.yaml");
    }
  }
  static meshinject::patch::engine e(meshinject::patch::snapshot::build(sources), 64);
  static simdjson::dom::parser p;
  engine_ptr = &e;
  checker = &p;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  body.resize(size + simdjson::SIMDJSON_PADDING);
  const auto r = engine_ptr->handle(body.data(), size, body.size());
  simdjson::dom::element doc;
  if (checker->parse(r.body.data(), r.body.size()).get(doc)) std::abort();  // the answer is not JSON
  if (r.kind == meshinject::patch::outcome::injected && checker->parse(r.patch.data(), r.patch.size()).get(doc))
    std::abort();  // the patch is not JSON
  if (r.http_status != 200 && r.http_status != 400) std::abort();
  compare_readings(body, size);
  return 0;
}
