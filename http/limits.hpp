#pragma once
// Bounds of the HTTP server. Every one has a flag on `meshinject serve`.

#include <chrono>
#include <cstddef>

namespace meshinject::http {

struct limits {
  // --max-body-bytes. The apiserver's own request limit is 3 MiB; a body announced
  // larger is answered 413 at once, without reading it.
  std::size_t max_body_bytes = 6 * 1024 * 1024;
  // Request line and header fields together; larger is answered 431.
  std::size_t max_header_bytes = 16 * 1024;
  // --header-timeout: from the first byte of a request to the end of its header;
  // it also bounds the TLS handshake, each body read and each response write
  // (restarted at each of those steps).
  std::chrono::milliseconds header_timeout{10'000};
  // --idle-timeout. The apiserver keeps webhook connections idle for up to 90 s;
  // closing sooner would make it pay a TLS handshake on the next pod.
  std::chrono::milliseconds idle_timeout{120'000};
  // --max-connections: per process, split evenly across the reactors (each
  // reactor refuses connections beyond its share).
  std::size_t max_connections = 10'000;
  // --max-connection-age: after this age (jittered by +-10% per connection) the
  // next response carries `Connection: close`. 0: never recycle.
  std::chrono::milliseconds max_connection_age{0};
};

// The share of `max_connections` one of `reactors` reactors may hold (at least 1).
constexpr std::size_t connections_per_reactor(std::size_t max_connections, std::size_t reactors) noexcept {
  if (reactors == 0) reactors = 1;
  const std::size_t share = (max_connections + reactors - 1) / reactors;
  return share == 0 ? 1 : share;
}

}  // namespace meshinject::http
