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
  // --max-connections: per process, split evenly across the reactors. At its
  // share a reactor makes room by closing its connection idle longest (no request
  // in progress); it refuses the new one only when none is idle.
  std::size_t max_connections = 10'000;
  // --max-connection-age: after this age (jittered by +-10% per connection) the
  // next response carries `Connection: close`. 0: never recycle.
  std::chrono::milliseconds max_connection_age{0};
  // Lingering close, as nginx's: after a response that closes the connection
  // (a 413 or 400 among them) the server half-closes and reads and drops what the
  // client still sends, so the client reads the response instead of a reset. A
  // client such as Go's or Python's sends its whole body before it reads.
  // --linger-timeout: the longest wait for the client's next bytes
  // (nginx's lingering_timeout).
  std::chrono::milliseconds linger_timeout{5'000};
  // --linger-time: the longest drain in all (nginx's lingering_time).
  std::chrono::milliseconds linger_time{30'000};
  // --max-linger-bytes: the most a drain reads, as bytes on the wire (TLS
  // records); past it the connection is closed. 0: four times max_body_bytes, so
  // that a body a few times over the limit is still read to its end.
  std::size_t max_linger_bytes = 0;
};

// The byte bound of one lingering close.
constexpr std::size_t linger_byte_bound(const limits& lim) noexcept {
  return lim.max_linger_bytes != 0 ? lim.max_linger_bytes : 4 * lim.max_body_bytes;
}

// The share of `max_connections` one of `reactors` reactors may hold (at least 1).
constexpr std::size_t connections_per_reactor(std::size_t max_connections, std::size_t reactors) noexcept {
  if (reactors == 0) reactors = 1;
  const std::size_t share = (max_connections + reactors - 1) / reactors;
  return share == 0 ? 1 : share;
}

}  // namespace meshinject::http
