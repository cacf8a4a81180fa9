#pragma once
#include <string_view>

namespace meshinject::patch {

// The injection config `serve`, `kube-inject`, `explain` use when no
// --inject-config is given: Istio >= 1.9's shape (`templates`,
// `defaultTemplates`) with one template of meshinject's own, `sidecar`, that
// injects a proxy a current istiod accepts (discovery and certificates from
// istiod on 15012 over the istio-token projected volume, native sidecar by
// default, Istio 1.28's ports and probes).
std::string_view default_injection_config() noexcept;

// The Helm-style values that template reads (`.Values`), used with the
// embedded config unless --values is given.
std::string_view default_values() noexcept;

}  // namespace meshinject::patch
