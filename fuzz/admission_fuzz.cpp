// AdmissionReview handling end to end: bytes in, response out. Whatever the
// bytes, the engine must answer (never crash, hang or leak), and every answer
// must be valid JSON whose patch, when present, is valid JSON too.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "patch/injector.hpp"

namespace {

meshinject::patch::engine* engine_ptr = nullptr;
simdjson::dom::parser* checker = nullptr;

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
  return 0;
}
