#pragma once
#include <string_view>

namespace meshinject::patch {

// The injection config `meshinject serve` uses when no --inject-config is given:
// an Istio-1.1-shaped sidecar (istio-init, istio-proxy, the istio-envoy and
// istio-certs volumes) in the `[[ ]]` template dialect of Istio 1.1 ConfigMaps.
std::string_view default_injection_config() noexcept;

}  // namespace meshinject::patch
