#pragma once
// Istio 1.28's steps around the strategic merge (pkg/kube/inject: RunTemplate in
// inject.go, reapplyOverwrittenContainers and adjustInitContainerUser in
// webhook.go), on core::json trees:
//
// 1. apply_template(), once per rendered template, in order: the render is
//    merged into the template pod (what the templates injected) and into the
//    pod. With native sidecars, a user's `istio-proxy` in `containers` first
//    moves to the end of `initContainers` when the templates put the proxy
//    there, so the user's customisation meets the injected proxy.
// 2. reapply_overwritten_containers(), once: the merge let the template win
//    where both set a field; for every container the templates injected and the
//    user also declared (in the pod, or in the `proxy.istio.io/overrides`
//    annotation of an earlier injection), the user's container is merged back
//    over the result, and remembered in that annotation on first injection. A
//    name listed in the pod's `sidecar.istio.io/status` (a re-injection) is left
//    to the new template. Then the init container's `-u <uid>` and, for
//    istio-validation, its user/group follow a runAsUser/runAsGroup the user set
//    on istio-proxy (0 in TPROXY mode, where the proxy runs as root).
//
// Inputs are pods as JSON trees in the shape Istio's typed round trip gives
// them: the user's container is used as the overlay with `image: auto` removed
// and with the members Go's encoding of a corev1.Container would omit (null,
// "", false, [] and {}) left out, so `args: []` does not clear the template's
// args. The `proxy.istio.io/overrides` text is the same JSON by meaning as
// Istio's, not byte for byte (Istio writes `"resources":{}` and Go's field order).
//
// One instance per core (it owns a JSON parser for the annotations and a text
// buffer); trees and messages live in the caller's arena. No exceptions; once
// warm, no heap.

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/arena.hpp"
#include "core/json_tree.hpp"
#include "patch/strategic_merge.hpp"

namespace meshinject::patch {

inline constexpr std::string_view proxy_container_name = "istio-proxy";
inline constexpr std::string_view overrides_annotation = "proxy.istio.io/overrides";
inline constexpr std::string_view status_annotation = "sidecar.istio.io/status";
inline constexpr std::string_view native_sidecar_annotation = "sidecar.istio.io/nativeSidecar";
inline constexpr std::string_view interception_mode_annotation = "sidecar.istio.io/interceptionMode";

struct reapply_options {
  // The mesh's ProxyConfig interceptionMode is TPROXY (the pod's
  // sidecar.istio.io/interceptionMode annotation is read from the pod).
  bool tproxy_interception = false;
};

// What apply_template may do with a render.
enum class render_use : std::uint8_t {
  // template_pod and pod get their own copies of everything they take.
  copy,
  // The render is this request's own tree, not read again afterwards and not
  // changed while the pod is used (named_injector.cpp). The pod links its arrays
  // and objects (smp::patch_use::link); template_pod takes only what Istio's
  // later steps read of it, the item names of spec.containers, initContainers,
  // volumes and imagePullSecrets, with the directives that decide them
  // (template_pod_lists), so injecting costs one copy less.
  link,
};

// The spec lists whose item names are all that is read of a template pod
// (reapply_overwritten_containers; the sidecar.istio.io/status annotation).
inline constexpr std::string_view template_pod_lists[] = {"containers", "initContainers", "volumes",
                                                          "imagePullSecrets"};

class pod_overlay {
 public:
  // Merges `rendered` (one template's output, an object) into `template_pod`
  // and then into `pod` (both objects; start template_pod as {}). `native`:
  // the injector's native-sidecar setting, which the pod's
  // sidecar.istio.io/nativeSidecar annotation ("true"/"false") overrides.
  // `use`: see render_use.
  core::json::error apply_template(core::json::value& pod, core::json::value& template_pod,
                                   const core::json::value& rendered, bool native, core::arena& a,
                                   render_use use = render_use::copy) noexcept;

  // Step 2 above. `original_pod` is the pod as the request carried it.
  core::json::error reapply_overwritten_containers(core::json::value& final_pod, const core::json::value& original_pod,
                                                   const core::json::value& template_pod, const reapply_options& options,
                                                   core::arena& a) noexcept;

 private:
  simdjson::dom::parser parser_;
  std::string text_;
};

// Moves the first container named `name` from pod.spec.<from> to the end of
// pod.spec.<to> (Istio's moveContainer). Returns false when there is none.
bool move_container(core::json::value& pod, std::string_view name, std::string_view from, std::string_view to,
                    core::arena& a, core::json::error& err) noexcept;

// The first container named `name` in pod.spec.containers, else in
// pod.spec.initContainers (Istio's FindContainerFromPod); nullptr if none.
const core::json::value* find_container_in_pod(const core::json::value& pod, std::string_view name) noexcept;

// Istio's adjustInitContainerUser (part of reapply_overwritten_containers).
core::json::error adjust_init_container_user(core::json::value& final_pod, const core::json::value& original_pod,
                                             const reapply_options& options, core::arena& a) noexcept;

}  // namespace meshinject::patch
