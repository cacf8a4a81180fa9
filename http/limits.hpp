#pragma once
// Bounds of the HTTP server. Every one has a flag on `meshinject serve`.

#include <chrono>
#include <cstddef>

namespace meshinject::http {

struct limits {
  std::size_t max_body_bytes = 6 * 1024 * 1024;  // the apiserver's own request limit is 3 MiB
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  // The apiserver keeps webhook connections idle for up to 90 s; closing sooner
  // would make it pay a TLS handshake on the next pod.
  std::chrono::milliseconds idle_timeout{120'000};
  std::size_t max_connections = 10'000;
  std::chrono::milliseconds max_connection_age{0};  // 0: never recycle
};

}  // namespace meshinject::http
