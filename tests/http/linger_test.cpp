// Lingering close: after a response that closes the connection (here a 413), the
// server drains what the client still sends, so a client that writes its whole
// body before it reads (Go's and Python's clients do) reads its answer instead of
// a connection reset. Real TLS on loopback; the drain's timers run on a
// manual_clock, so nothing here sleeps: time passes only when a test steps it.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <string>

#include "http/limits.hpp"
#include "tests/http/stepped_reactor.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"

namespace meshinject::http {
namespace {

using namespace std::chrono_literals;
constexpr std::size_t mib = 1024 * 1024;

std::string post_head(std::size_t content_length) {
  return "POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(content_length) + "\r\n\r\n";
}

// Two requests on another connection, answered one after the other: the reactor
// has run everything posted to it before (a deadline check after a clock step),
// and what that queued in turn (a closed connection's cancelled wait, whose
// handler unlinks it, may queue behind the first request's read).
void round_trip(test::http_connection& probe) {
  for (int i = 0; i < 2; ++i) ASSERT_EQ(probe.request("GET", "/").status, 200);
}

TEST(LingeringClose, AClientThatSendsItsWholeBodyBeforeReadingReadsThe413) {
  stepped_reactor server(hour_limits());  // --max-body-bytes 6Mi, the default
  for (const std::size_t body : {7 * mib, 20 * mib}) {
    test::http_connection c(server.port);
    // One write of head and body, then the first read: what Go's client does.
    c.send_raw(post_head(body) + std::string(body, '{'));
    const test::http_response r = c.read_response();
    EXPECT_EQ(r.status, 413) << body;
    EXPECT_TRUE(r.connection_close());
    ::shutdown(c.fd(), SHUT_WR);  // the drain ends when the client closes its side
    EXPECT_TRUE(c.closed_by_peer(event_wait));
  }
  server.stop();
  EXPECT_EQ(server.errors(core::request_error_kind::too_large), 2u);
}

TEST(LingeringClose, AChunkedBodyOverTheLimitSentWholeReadsThe413) {
  stepped_reactor server(hour_limits());
  test::http_connection c(server.port);
  std::string request = "POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n";
  const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
  while (request.size() < 8 * mib) request += chunk;
  c.send_raw(request + "0\r\n\r\n");
  const test::http_response r = c.read_response();
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(r.connection_close());
}

TEST(LingeringClose, TheDrainStopsAtItsByteBound) {
  limits lim = hour_limits();
  lim.max_linger_bytes = 1 * mib;
  stepped_reactor server(lim);
  test::http_connection c(server.port);
  // 64 MiB is far more than loopback's socket buffers hold: once the server stops
  // draining and closes, the client's writes fail.
  c.send_raw(post_head(64 * mib));
  EXPECT_FALSE(c.try_send_raw(std::string(64 * mib, '{'))) << "the server drained past its bound";
  EXPECT_TRUE(test::eventually([&] { return server.open_connections() == 0; }, event_wait));
}

TEST(LingeringClose, EndsAfterTheLingerTimeoutWithoutBytesAndAfterTheLingerTimeInAll) {
  stepped_reactor server(hour_limits());  // linger_timeout 5 s, linger_time 30 s
  test::http_connection probe(server.port);
  round_trip(probe);

  test::http_connection c(server.port);
  c.send_raw(post_head(7 * mib) + std::string(64 * 1024, '{'));
  ASSERT_EQ(c.read_response().status, 413);
  // Every 4 s a little more of the body: within the linger timeout each time, so
  // the drain goes on until the linger time (30 s) has passed in all.
  for (int elapsed = 4; elapsed <= 28; elapsed += 4) {
    c.send_raw(std::string(64 * 1024, '{'));
    round_trip(probe);  // the reactor has drained those bytes (they arrived first)
    server.step(4s);
    round_trip(probe);
    ASSERT_EQ(server.open_connections(), 2) << "closed " << elapsed << " s after the response";
  }
  c.send_raw(std::string(64 * 1024, '{'));
  round_trip(probe);
  server.step(4s);  // 32 s: past the linger time, 4 s after the last bytes
  round_trip(probe);
  EXPECT_EQ(server.open_connections(), 1);

  // Without bytes, the linger timeout alone ends the drain.
  test::http_connection quiet(server.port);
  quiet.send_raw(post_head(7 * mib));
  ASSERT_EQ(quiet.read_response().status, 413);
  round_trip(probe);  // the drain has begun (the 413 is readable a moment before)
  server.step(4s);
  round_trip(probe);
  EXPECT_EQ(server.open_connections(), 2);
  server.step(2s);
  round_trip(probe);
  EXPECT_EQ(server.open_connections(), 1);
}

}  // namespace
}  // namespace meshinject::http
