// The config loader and template compiler: an injection config (the ConfigMap's
// `config` key) as bytes. Loading may only fail with core::config_error; any
// other exception escapes and is reported as a crash. A config that loads is
// then used once on a plain pod, which must not crash either.

#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "patch/injector.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  meshinject::patch::config_sources sources;
  sources.inject_config_text.assign(reinterpret_cast<const char*>(data), size);
  if (sources.inject_config_text.empty()) return 0;  // empty means "embedded default"
  sources.inject_config_name = "fuzz.yaml";
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
