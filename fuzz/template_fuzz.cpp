// The template language alone: bytes as a sidecar template (either delimiter
// style), compiled, then traced, rendered and compiled into a variant for a pod
// that carries the bytes as annotation values too. Only compile_error may be
// thrown; everything after compilation reports errors as values.

#include <cstdint>
#include <string>

#include "core/mesh_config.hpp"
#include "patch/admission.hpp"
#include "patch/sidecar.hpp"
#include "patch/template_program.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace tmpl = meshinject::patch::tmpl;
  static const auto mesh = meshinject::core::default_mesh_config();
  static const auto values = meshinject::core::config_node::make_map();
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::unique_ptr<tmpl::program> prog;
  try {
    prog = std::make_unique<tmpl::program>(text, mesh, values);
  } catch (const tmpl::program::compile_error&) {
    return 0;
  }
  static simdjson::dom::parser parser;
  static const char pod_json[] =
      R"({"metadata":{"name":"p","namespace":"ns","labels":{"app":"a"},"annotations":{"sidecar.istio.io/userVolume":"{\"v\":{\"emptyDir\":{}}}","x":"[1,2]"}},)"
      R"("spec":{"serviceAccountName":"sa","containers":[{"name":"c","ports":[{"containerPort":80,"name":"http"}]}]}})";
  simdjson::dom::element e = parser.parse(pod_json, sizeof pod_json - 1).value();
  meshinject::patch::pod p;
  std::string error;
  meshinject::patch::parse_pod(e, "ns", p, error);
  tmpl::template_data d;
  d.p = &p;
  d.proxy_config = &mesh.proxy_config();
  d.mesh = &mesh.root;
  d.values = &values;
  tmpl::trace_state state;
  if (!prog->trace(d, state)) return 0;
  tmpl::render_result rendered;
  if (!prog->render(d, state.trace, rendered, error)) return 0;
  meshinject::patch::sidecar_variant v;
  meshinject::patch::compile_sidecar(*prog, std::move(rendered), v, error);
  return 0;
}
