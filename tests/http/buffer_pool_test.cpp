// Request buffers are borrowed per request from the reactor's pool, not owned per
// connection: a keep-alive connection idle between requests holds none, the pool
// keeps a bounded number of spares, and once it is warm a request allocates no
// new set. The pool alone, then a real reactor over TLS on loopback.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "http/buffer_pool.hpp"
#include "tests/http/stepped_reactor.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"

namespace meshinject::http {
namespace {

constexpr std::size_t kib = 1024;

TEST(BufferPool, ASetGivenBackIsLentAgainWithoutAllocating) {
  buffer_pool pool(64 * kib, 16 * kib, 64 * kib);
  request_buffers first = pool.borrow();
  ASSERT_NE(first.in, nullptr);
  EXPECT_EQ(first.in_capacity, 16 * kib);
  EXPECT_EQ(pool.allocated(), 1u);
  EXPECT_EQ(pool.lent(), 1u);
  const char* memory = first.in.get();
  first.out.assign("HTTP/1.1 200 OK\r\n");
  pool.give_back(std::move(first));
  EXPECT_EQ(pool.lent(), 0u);
  EXPECT_EQ(pool.spare(), 1u);

  const request_buffers again = pool.borrow();
  EXPECT_EQ(again.in.get(), memory);
  EXPECT_TRUE(again.out.empty()) << "the previous response must not leak into the next";
  EXPECT_EQ(pool.allocated(), 1u);
  EXPECT_EQ(pool.spare(), 0u);
}

TEST(BufferPool, KeepsNoMoreSpareBytesThanItsBound) {
  // Room for three sets of 16 KiB: the fourth and fifth given back are freed.
  buffer_pool pool(3 * 16 * kib + 8 * kib, 16 * kib, 64 * kib);
  std::vector<request_buffers> lent;
  for (int i = 0; i < 5; ++i) lent.push_back(pool.borrow());
  EXPECT_EQ(pool.allocated(), 5u);
  for (auto& b : lent) pool.give_back(std::move(b));
  EXPECT_EQ(pool.spare(), 3u);
  EXPECT_LE(pool.spare_bytes(), 3 * 16 * kib + 8 * kib);
  EXPECT_EQ(pool.lent(), 0u);
}

TEST(BufferPool, ASetThatGrewForALargeRequestIsFreedNotKept) {
  buffer_pool pool(1024 * kib, 16 * kib, 64 * kib);
  request_buffers grown = pool.borrow();
  grown.in.reset(new char[128 * kib]);
  grown.in_capacity = 128 * kib;
  pool.give_back(std::move(grown));
  EXPECT_EQ(pool.spare(), 0u);

  request_buffers long_answer = pool.borrow();
  long_answer.out.reserve(96 * kib);
  pool.give_back(std::move(long_answer));
  EXPECT_EQ(pool.spare(), 0u);
}

// Stats read on the reactor's own thread, after everything it was doing when the
// client got its answer: the reactor runs one handler at a time, and the one that
// wrote the response goes on to give the buffers back before it returns.
struct pool_stats {
  std::uint64_t lent = 0, spare = 0, allocated = 0;
};

pool_stats stats_after_current_work(reactor& r) {
  auto done = std::make_shared<std::promise<pool_stats>>();
  std::future<pool_stats> got = done->get_future();
  r.post([&r, done] {
    const buffer_stats& b = r.buffers();
    done->set_value({b.lent_request_buffers.load(), b.spare_request_buffers.load(),
                     b.allocated_request_buffers.load()});
  });
  return got.get();
}

TEST(BufferPool, AConnectionIdleBetweenRequestsHoldsNoRequestBuffer) {
  stepped_reactor server(hour_limits());
  test::http_connection c(server.port);
  for (int i = 0; i < 3; ++i) {
    const test::http_response r = c.request("GET", "/");
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body, "ok\n");
    const pool_stats s = stats_after_current_work(server.server());
    EXPECT_EQ(s.lent, 0u) << "request " << i;
    EXPECT_EQ(s.spare, 1u) << "request " << i;
    EXPECT_EQ(s.allocated, 1u) << "request " << i << ": the connection's next request reuses the set";
  }
}

TEST(BufferPool, ManyConnectionsWithRequestsInFlightEachBorrowAndAllKeepWorking) {
  stepped_reactor server(hour_limits());
  constexpr std::size_t connections = 200;  // more than the pool keeps spare (2 MiB of 16 KiB sets)
  std::vector<std::unique_ptr<test::http_connection>> clients;
  for (std::size_t i = 0; i < connections; ++i) {
    clients.push_back(std::make_unique<test::http_connection>(server.port));
    // Half a head: the request is in progress, so the connection holds a set.
    clients.back()->send_raw("GET /half HTTP/1.1\r\nHost: x\r\n");
  }
  const buffer_stats& b = server.server().buffers();
  ASSERT_TRUE(test::eventually([&] { return b.lent_request_buffers.load() == connections; }, event_wait))
      << "lent: " << b.lent_request_buffers.load();

  for (auto& c : clients) {
    c->send_raw("\r\n");
    const test::http_response r = c->read_response();
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body, "ok\n");
  }
  const pool_stats after = stats_after_current_work(server.server());
  EXPECT_EQ(after.lent, 0u);
  EXPECT_GT(after.spare, 0u);
  EXPECT_LT(after.spare, connections) << "the pool is bounded: sets past it are freed";
  EXPECT_GE(after.allocated, connections);

  // Every connection still answers; one at a time, they share the warm pool's
  // sets and allocate none.
  for (auto& c : clients) {
    const test::http_response r = c->request("GET", "/again");
    ASSERT_EQ(r.status, 200);
  }
  const pool_stats warm = stats_after_current_work(server.server());
  EXPECT_EQ(warm.lent, 0u);
  EXPECT_EQ(warm.allocated, after.allocated);
}

TEST(BufferPool, AHeadOverTheLimitIs431AlsoInABufferThatGrewForAnEarlierRequest) {
  // The first request's head grows its buffer to twice the limit, and the set
  // goes back to the pool; the next connection borrows it and so has room for a
  // whole over-limit head at once (before the pool, a keep-alive connection that
  // had read a large body had too). It must still be refused, not waited on.
  stepped_reactor server(hour_limits());
  const std::string long_line = "GET /?" + std::string(17 * kib, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string long_field = "GET / HTTP/1.1\r\nX-Big: " + std::string(17 * kib, 'a') + "\r\n\r\n";
  for (const std::string& head : {long_line, long_field, long_field}) {
    {
      test::http_connection c(server.port);
      c.send_raw(head);
      const test::http_response r = c.read_response();
      EXPECT_EQ(r.status, 431) << head.substr(0, 20);
      EXPECT_TRUE(r.connection_close());
    }
    // Closed on both sides: the connection gave its set back.
    ASSERT_TRUE(test::eventually([&] { return server.open_connections() == 0; }, event_wait));
  }
  EXPECT_EQ(stats_after_current_work(server.server()).allocated, 1u) << "one set, grown once and reused";
}

}  // namespace
}  // namespace meshinject::http
