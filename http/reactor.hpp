#pragma once
// The I/O side of `meshinject serve`: per-core reactors serving the webhook over
// TLS, and the plain-HTTP admin listener of the control thread. Beast and the
// socket code live behind these two classes, in one translation unit
// (connection.cpp).
//
// A reactor is one thread's worth of server: an io_context (concurrency hint 1),
// its own SO_REUSEPORT listening socket, its own request handler (for the webhook,
// control/'s admission route with its own engine), its own metric block and the
// TLS context it hands to new connections. Nothing in it is touched by another
// thread except through the thread-safe members below, which post to its
// io_context; its metric block is read (never written) by scrapes on the control
// thread. This is transport only: what a request means is the handler's business
// (http/handler.hpp).
//
// A connection lives on the reactor that accepted it. It reads a request into a
// buffer borrowed from the reactor's pool (body_padding spare bytes past every
// body, so the handler parses in place), answers it with one contiguous buffer
// (one TLS record), and gives the buffers back once nothing more waits to be read:
// once the pool is warm, a request allocates nothing.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/metrics.hpp"
#include "http/clock.hpp"
#include "http/handler.hpp"
#include "http/limits.hpp"
#include "http/tls.hpp"

namespace boost::asio {
class io_context;
}

namespace meshinject::http {

// An address to listen on: an IP literal (v4 or v6) and a port (0: any free one).
struct listen_address {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const;  // "127.0.0.1:9443", "[::1]:9443"
};

// "ADDR:PORT", "[V6ADDR]:PORT", ":PORT" (all interfaces), "localhost:PORT".
// Throws std::invalid_argument with a message for anything else.
listen_address parse_listen_address(std::string_view text);

// What a reactor's connections hold, for tests and debugging. Written by the
// reactor's thread alone; read with relaxed loads from any thread.
struct buffer_stats {
  // The most one connection has held at once: its read buffer, its unsent output
  // and a chunked body. A connection reads its next request only once the
  // previous response is written, so a client that pipelines requests and never
  // reads stops being read (TCP then stops the client) instead of being buffered.
  std::atomic<std::uint64_t> peak_connection_bytes{0};
  // The reactor's request buffer pool (http/buffer_pool.hpp): sets lent to
  // connections with a request in progress now, sets spare in the pool, and sets
  // ever allocated (flat once the pool is warm). A connection idle between
  // requests holds none.
  std::atomic<std::uint64_t> lent_request_buffers{0};
  std::atomic<std::uint64_t> spare_request_buffers{0};
  std::atomic<std::uint64_t> allocated_request_buffers{0};
};

struct reactor_settings {
  unsigned index = 0;
  limits lim;
  std::size_t max_connections = 10'000;  // this reactor's share of --max-connections
  // Deadlines and connection age are measured on it; it must outlive the reactor.
  const http::clock* clock = &steady_clock_source();
};

class reactor {
 public:
  // Called once, on the constructing thread, with the reactor's own metric block
  // (which the handler may count into from the reactor's thread).
  using handler_factory = std::function<std::unique_ptr<request_handler>(core::core_metrics&)>;

  reactor(reactor_settings settings, const handler_factory& make_handler, std::shared_ptr<const tls_context> tls);
  ~reactor();
  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  // Start-up, before run(): opens the listening socket with SO_REUSEADDR and
  // SO_REUSEPORT, binds and listens; returns the bound port. Throws
  // std::system_error. Every reactor binds the same address and port; the kernel
  // spreads new connections over them.
  std::uint16_t listen(const listen_address& where);

  // The reactor thread's body. Returns once shutdown() has closed everything.
  void run();

  // Thread-safe: each is posted and runs on the reactor's thread.
  void post(std::function<void()> work);                 // e.g. hand the handler a new config
  void set_tls(std::shared_ptr<const tls_context> tls);  // next accepted connection uses it
  void drain();           // from now on every response carries `Connection: close`
  // Accept what waits in the listener's queue, close the listener, and close the
  // keep-alive connections between requests that have nothing new to read; a
  // connection before its first request is left to answer it.
  void stop_accepting();
  void shutdown();        // close every connection; run() returns
  // Closes the connections whose deadline has passed now, by the settings' clock,
  // instead of at the next periodic sweep: tests step a manual_clock, then call it.
  void check_deadlines();

  // This reactor's counters, for scrapes (relaxed loads from any thread).
  const core::core_metrics& metrics() const noexcept;
  const buffer_stats& buffers() const noexcept;
  unsigned index() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// A request on the admin port, as the control thread's handler sees it.
struct admin_request {
  std::string_view method;  // "GET", "PUT", ...
  std::string_view target;
  std::string_view path;
  std::string_view query;
  std::string_view body;
  // The client connected from a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x):
  // the admin handler lets only such clients change state unless told otherwise.
  bool from_loopback = false;
};

struct admin_response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string extra_headers;  // complete header lines, each ending in CRLF
};

// Plain HTTP/1.1 with keep-alive on the control thread's io_context. The handler
// runs on that thread, once per request. Cold path: the handler may allocate.
class admin_listener {
 public:
  using handler = std::function<void(const admin_request&, admin_response&)>;

  admin_listener(boost::asio::io_context& io, limits lim, handler on_request);
  ~admin_listener();
  admin_listener(const admin_listener&) = delete;
  admin_listener& operator=(const admin_listener&) = delete;

  std::uint16_t listen(const listen_address& where);  // throws std::system_error
  void start();  // begins accepting
  void stop();   // closes the listener and every connection (call on the io_context's thread)

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace meshinject::http
