#pragma once
// Istio 1.28's probe rewrite (webhook.go applyRewrite; app_probe.go
// DumpAppProbers, patchRewriteProbe, mergeOrAppendProbers), a post-step of the
// named-templates path (named_injector.cpp).
//
// The kubelet cannot reach an app's port through the mesh's mutual TLS, so the
// agent probes the app instead: every container but istio-proxy has its HTTP,
// TCP and gRPC probes, and its HTTP and TCP lifecycle hooks, pointed at the
// agent's status port (an httpGet of /app-health/<container>/readyz|livez|startupz
// or /app-lifecycle/<container>/prestopz|poststartz), and the originals are
// handed to the agent in the proxy's ISTIO_KUBE_APP_PROBERS. That text is what
// Go's encoding/json writes for Istio's KubeAppProbers map: keys sorted, fields
// in the order of the Go structs, empty optional fields left out, named ports
// resolved to numbers, HTML characters escaped. Pod data reaches it only through
// the project's escaper.
//
// On re-injection (the pod carried sidecar.istio.io/status) the probers already
// in the proxy's environment win over the new ones for the same URL, as Istio
// merges them; a value there that is not KubeAppProbers JSON is left as it is.
//
// One per core; trees and text live in the caller's arena. No exceptions but
// std::bad_alloc; once warm, no heap.

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/arena.hpp"
#include "core/json_tree.hpp"

namespace meshinject::patch {

inline constexpr std::string_view rewrite_probers_annotation = "sidecar.istio.io/rewriteAppHTTPProbers";
inline constexpr std::string_view status_port_annotation = "status.sidecar.istio.io/port";
inline constexpr std::string_view app_probers_env = "ISTIO_KUBE_APP_PROBERS";

struct probe_rewrite_settings {
  // values.sidecarInjectorWebhook.rewriteAppHTTPProbe; the pod's (merged)
  // sidecar.istio.io/rewriteAppHTTPProbers annotation overrides it when it
  // parses as a Go bool.
  bool enabled_by_values = false;
  // meshConfig.defaultConfig.statusPort: the port probes are pointed at, unless
  // the pod's status.sidecar.istio.io/port names another; a probe already on
  // this port is not handed to the agent again.
  std::int64_t mesh_status_port = 15020;
  // The pod as received carried sidecar.istio.io/status.
  bool previously_injected = false;
};

class app_probe_rewriter {
 public:
  // Rewrites `pod` (the merged pod, after the templates and the user's
  // containers) in place. An error only for out of memory or a probe whose
  // fields do not have their Kubernetes types.
  core::json::error apply(core::json::value& pod, const probe_rewrite_settings& settings, core::arena& a);

 private:
  struct prober {
    std::string_view url;  // the map key: /app-health/<container>/readyz, ...
    core::json::value v;   // {httpGet|tcpSocket|grpc, timeoutSeconds}, or null
  };

  core::json::error collect(const core::json::value& pod, std::int64_t target_port, core::arena& a);
  core::json::error merge_into_env(core::json::value& sidecar, bool previously_injected, core::arena& a);

  std::vector<prober> probers_;
  std::string text_;
  simdjson::dom::parser parser_;  // the env value of an earlier injection
};

}  // namespace meshinject::patch
