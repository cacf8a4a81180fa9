#pragma once
#include <string_view>

namespace meshinject::patch {

// The injection config `meshinject serve` uses when no --inject-config is given:
// an Istio-1.1-shaped sidecar (istio-init, istio-proxy, the istio-envoy and
// istio-certs volumes) in the `[[ ]]` template dialect of Istio 1.1 ConfigMaps.
std::string_view default_injection_config() noexcept;

// The built-in config in today's shape (Istio >= 1.9: `templates`,
// `defaultTemplates`), a sidecar a current istiod accepts (discovery and
// certificates from istiod on 15012 over the istio-token projected volume,
// native sidecar), and the Helm-style values its template reads.
std::string_view default_injection_config_today() noexcept;
std::string_view default_values_today() noexcept;

}  // namespace meshinject::patch
