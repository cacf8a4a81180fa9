// Connection deadlines and age, driven by stepping the reactor's clock: nothing
// here sleeps, and nothing depends on how fast the machine is. Every timeout is
// an hour of real time, so a test that passed because real time ran out would
// instead hang until ctest stops it.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

#include "http/clock.hpp"
#include "tests/http/stepped_reactor.hpp"
#include "tests/support/http_client.hpp"

namespace meshinject::http {
namespace {

using namespace std::chrono_literals;

TEST(Deadlines, IdleConnectionClosesOnceTheClockPassesTheIdleTimeout) {
  stepped_reactor server(hour_limits());
  test::http_connection conn(server.port);
  EXPECT_EQ(conn.request("GET", "/").status, 200);

  server.step(1h - 1s);  // not yet: the connection still serves
  const test::http_response again = conn.request("GET", "/");
  EXPECT_EQ(again.status, 200);
  EXPECT_FALSE(again.connection_close());

  server.step(1h + 1s);  // an hour after the last response
  EXPECT_TRUE(conn.closed_by_peer(event_wait));
  server.stop();
  EXPECT_EQ(server.errors(core::request_error_kind::idle_timeout), 1u);
  EXPECT_EQ(server.errors(core::request_error_kind::header_timeout), 0u);
}

// A complete request and the start of the next in one write (one TLS record):
// once the first is answered, the reactor has read the second's bytes and set its
// header deadline, so stepping the clock after that is ordered after both.
TEST(Deadlines, HalfSentHeaderClosesOnceTheClockPassesTheHeaderTimeout) {
  limits lim = hour_limits();
  lim.header_timeout = 10s;
  stepped_reactor server(lim);
  test::http_connection conn(server.port);
  constexpr std::string_view whole = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  constexpr std::string_view half = "GET / HTTP/1.1\r\nHost: x\r\n";

  conn.send_raw(std::string(whole) + std::string(half));
  EXPECT_EQ(conn.read_response().status, 200);
  server.step(9s);  // within the header timeout: the rest is still read
  conn.send_raw("\r\n");
  EXPECT_EQ(conn.read_response().status, 200);

  conn.send_raw(std::string(whole) + std::string(half));
  EXPECT_EQ(conn.read_response().status, 200);
  server.step(11s);
  EXPECT_TRUE(conn.closed_by_peer(event_wait));
  server.stop();
  EXPECT_EQ(server.errors(core::request_error_kind::header_timeout), 1u);
  EXPECT_EQ(server.errors(core::request_error_kind::idle_timeout), 0u);
}

TEST(Deadlines, ConnectionAgeAddsConnectionCloseOnceTheClockPassesIt) {
  limits lim = hour_limits();
  lim.max_connection_age = 10s;  // jittered by +-10%: between 9 s and 11 s
  stepped_reactor server(lim);
  test::http_connection conn(server.port);
  const test::http_response young = conn.request("GET", "/");
  EXPECT_EQ(young.status, 200);
  EXPECT_FALSE(young.connection_close());

  server.time.advance(8s);
  EXPECT_FALSE(conn.request("GET", "/").connection_close());

  server.time.advance(4s);  // 12 s old
  const test::http_response old = conn.request("GET", "/");
  EXPECT_EQ(old.status, 200);
  EXPECT_TRUE(old.connection_close());
  EXPECT_TRUE(conn.closed_by_peer(event_wait));
}

TEST(Deadlines, ManualClockMovesOnlyWhenAdvanced) {
  manual_clock time;
  const auto start = time.now();
  EXPECT_EQ(time.now(), start);
  time.advance(5s);
  EXPECT_EQ(time.now() - start, 5s);
  EXPECT_GE(steady_clock_source().now().time_since_epoch().count(), 0);
}

}  // namespace
}  // namespace meshinject::http
