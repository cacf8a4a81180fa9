// The config loaders and template compiler. The input is one file of a config set:
// an injection config (the ConfigMap's `config` key) by default; led by a \x01
// byte, a values file (`values`) beside the embedded default config; led by a
// \x02 byte, a mesh config (`mesh`). Every file goes through the default bounds
// (core::yaml_limits, template steps), so no input may run long or grow without
// bound. Loading may only fail with core::config_error; any other exception
// escapes and is reported as a crash. A set that loads is then used once on a
// plain pod, which must not crash either.

#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "patch/injector.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  meshinject::patch::config_sources sources;
  const char* text = reinterpret_cast<const char*>(data);
  if (size > 0 && (text[0] == '\x01' || text[0] == '\x02')) {
    std::string& file = text[0] == '\x01' ? sources.values_text : sources.mesh_text;
    file.assign(text + 1, size - 1);
    if (file.empty()) return 0;  // empty means "none given"
    (text[0] == '\x01' ? sources.values_name : sources.mesh_name) = "fuzz.yaml";
  } else {
    sources.inject_config_text.assign(text, size);
    if (sources.inject_config_text.empty()) return 0;  // empty means "embedded default"
    sources.inject_config_name = "fuzz.yaml";
  }
  std::shared_ptr<const meshinject::patch::snapshot> snap;
  try {
    snap = meshinject::patch::snapshot::build(sources);
  } catch (const meshinject::core::config_error&) {
    return 0;
  }
  static const char review[] =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},)"
      R"("operation":"CREATE","namespace":"ns","object":{"metadata":{"name":"p","labels":{"app":"a"},"annotations":{"x":"y"}},)"
      R"("spec":{"containers":[{"name":"c","ports":[{"containerPort":80}]}]}}}})";
  std::string body(review);
  const std::size_t len = body.size();
  body.resize(len + simdjson::SIMDJSON_PADDING);
  meshinject::patch::engine e(snap, 4);
  e.handle(body.data(), len, body.size());
  return 0;
}
