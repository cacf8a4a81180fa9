// A client that pipelines requests and does not read the responses cannot make
// the server buffer without limit: a connection reads its next request only once
// the previous response is written, so when the client's receive window is full
// the server stops reading it, and TCP stops the client. Real TLS on loopback;
// the reactor's buffer_stats say what one connection ever held.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/http/stepped_reactor.hpp"
#include "tests/support/http_client.hpp"

namespace meshinject::http {
namespace {

constexpr std::size_t kib = 1024;

TEST(Backpressure, AClientThatPipelinesAndNeverReadsIsNotBufferedWithoutLimit) {
  // A 256 KiB stack: a connection that answered pipelined requests by recursion,
  // without going back to the event loop, would overflow it within a few
  // thousand requests here (and within ~50,000 on a default 8 MiB stack).
  stepped_reactor server(hour_limits(), 256 * kib);
  // The client gives up a write that makes no progress for 2 s: that is how it
  // sees that the server stopped reading it. (A server that read on would take
  // everything, and the write would succeed.)
  test::client_options o;
  o.timeout = std::chrono::seconds(2);
  test::http_connection c(server.port, o);
  constexpr std::string_view one = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  // 24 MiB of requests, whose responses (~60 MiB) are far more than loopback's
  // socket buffers in both directions hold.
  std::string pipelined;
  while (pipelined.size() < 24 * kib * kib) pipelined += one;

  EXPECT_FALSE(c.try_send_raw(pipelined)) << "the server read every pipelined request without the client reading";
  // What the connection held: its 16 KiB read buffer and one response, never
  // the megabytes the client pushed.
  const std::uint64_t peak = server.server().buffers().peak_connection_bytes.load();
  RecordProperty("peak_connection_bytes", std::to_string(peak));
  EXPECT_LE(peak, 64 * kib);
  EXPECT_GT(peak, 0u);

  // The responses it did write come in order; the client reads the first
  // thousand (the stall came after megabytes of them).
  for (int i = 0; i < 1000; ++i) {
    const test::http_response r = c.read_response();
    ASSERT_EQ(r.status, 200) << "response " << i;
    ASSERT_EQ(r.body, "ok\n") << "response " << i;
  }
}

}  // namespace
}  // namespace meshinject::http
