#pragma once
// What Istio's sidecar template sees: its data (`.`, Istio's
// inject.SidecarTemplateData) and its functions, on top of the template library.
//
// The data reaches templates through bindings (istio_bindings.cpp): `.ObjectMeta`,
// `.DeploymentMeta`, `.Spec` with containers and ports, label and annotation
// maps, `.ProxyConfig`/`.MeshConfig` as protobuf messages (Go field names,
// getters such as `.GetTracing`, durations, enums) and `.Values`. Istio's
// functions (`annotation`, `isset`, `toYaml`, ...) are registered next to Go's
// builtins (istio_functions.cpp).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/config_tree.hpp"
#include "core/mesh_config.hpp"
#include "patch/pod.hpp"
#include "template/functions.hpp"
#include "template/program.hpp"
#include "template/value.hpp"

namespace meshinject::patch {

// `.` of the template. Nothing is owned: the pod and metadata belong to the
// request, the config to the snapshot.
struct template_data {
  const pod* p = nullptr;                     // null while compiling at load
  const workload_meta* deployment = nullptr;  // null: .DeploymentMeta is the pod's metadata
  const core::config_node* proxy_config = nullptr;
  const core::config_node* mesh = nullptr;
  const core::config_node* values = nullptr;

  // Istio 1.28's SidecarTemplateData adds these (the named-templates shape only;
  // a 1.1/1.2 template that names them gets Go's "can't evaluate field").
  bool istio_1_28 = false;
  std::string_view revision;
  bool native_sidecars = true;
  bool has_proxy_ids = false;  // an OpenShift UID range; else .ProxyUID/.ProxyGID are nil
  std::int64_t proxy_uid = 0, proxy_gid = 0;
  std::string_view compliance_policy;
  std::string_view inbound_traffic_policy_mode = "passthrough";
  // Per request: the proxy image (it follows the pod's proxyImageType
  // annotation) and the controller's type (.TypeMeta); .DeploymentMeta then
  // comes from `deployment`, which the engine derives from owner references.
  std::string_view proxy_image;
  std::string_view type_kind, type_api_version;
  // The gateway controller's templates (`waypoint`, `kube-gateway`) read its own
  // data (.ServiceAccount, .DeploymentName, ...): checked for syntax and
  // functions at load, never rendered for a pod.
  bool gateway_controller = false;
};

// The template's `.` for `d`, which must outlive every use of the value.
tmpl::value template_root(const template_data& d) noexcept;

// Go's builtins and Istio's functions.
const tmpl::function_table& istio_functions();

// Compiles an Istio sidecar template; the mesh config and values must outlive
// the program. Throws tmpl::program::compile_error.
std::unique_ptr<tmpl::program> compile_template(std::string text, const core::mesh_config& mesh,
                                                const core::config_node& values);

// Compiles one of Istio 1.28's named templates with its function table; `load`
// holds the snapshot's settings (revision, native sidecars, ...) and must
// outlive the program with what it points to. Throws tmpl::program::compile_error.
std::unique_ptr<tmpl::program> compile_named_template(std::string text, const template_data& load);

// Whether a value is one of Istio's typed values (for the injector's writers).
bool is_config_value(const tmpl::value& v) noexcept;  // .Values/.MeshConfig/.ProxyConfig data

// toYaml's text of a value, in go-yaml's layout.
void write_yaml(const tmpl::value& v, std::string& out);
// toJSON's text of a string map whose items are in key order (the deferred
// form fn_to_json leaves while tracing; see tmpl::value::late_size), and the
// same text as the content of a JSON string, escaped in one pass.
void write_to_json(const tmpl::value& v, std::string& out);
void write_to_json_escaped(const tmpl::value& v, std::string& out);

}  // namespace meshinject::patch
