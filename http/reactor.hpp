#pragma once
// The I/O side of `meshinject serve`: per-core reactors serving the webhook over
// TLS, and the plain-HTTP admin listener of the control thread. Beast and the
// socket code live behind these two classes, in one translation unit
// (connection.cpp).
//
// A reactor is one thread's worth of server: an io_context (concurrency hint 1),
// its own SO_REUSEPORT listening socket, its own patch::engine (parser, buffers,
// template variant cache), its own metric block and the TLS context it hands to
// new connections. Nothing in it is touched by another thread except through the
// thread-safe members below, which post to its io_context; its metric block is
// read (never written) by scrapes on the control thread.
//
// A connection lives on the reactor that accepted it. It reads requests into a
// buffer it owns (SIMDJSON_PADDING spare bytes past every body, so the engine
// parses in place), answers each with one contiguous buffer (one TLS record), and
// reuses its buffers: once warm, a request allocates nothing.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/metrics.hpp"
#include "http/limits.hpp"
#include "http/tls.hpp"
#include "patch/injector.hpp"

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

struct reactor_settings {
  unsigned index = 0;
  limits lim;
  std::size_t max_connections = 10'000;  // this reactor's share of --max-connections
};

class reactor {
 public:
  reactor(reactor_settings settings, std::shared_ptr<const patch::snapshot> config,
          std::shared_ptr<const tls_context> tls);
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
  void set_snapshot(std::shared_ptr<const patch::snapshot> config);  // next request uses it
  void set_tls(std::shared_ptr<const tls_context> tls);              // next accepted connection uses it
  void drain();           // from now on every response carries `Connection: close`
  void stop_accepting();  // close the listener and every connection waiting for a request
  void shutdown();        // close every connection; run() returns

  // This reactor's counters, for scrapes (relaxed loads from any thread).
  const core::core_metrics& metrics() const noexcept;
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
