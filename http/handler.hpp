#pragma once
// What the transport hands to the code that answers a request, and what it asks
// of that code. A reactor owns one handler and calls it on its own thread, one
// request at a time; nothing here is shared between reactors. On the request
// path: handlers answer every input with a value (noexcept) and, once their
// buffers are warm, allocate nothing.

#include <cstddef>
#include <string_view>

#include "http/clock.hpp"

namespace meshinject::http {

enum class method : unsigned char { get, head, post, put, other };

// Spare bytes a connection keeps readable past every request body, so that a
// JSON parser (simdjson, which wants SIMDJSON_PADDING) parses it in place.
inline constexpr std::size_t body_padding = 64;

// One request, as views into the connection's buffers; valid during the call.
struct request {
  http::method method = http::method::other;
  std::string_view method_text;  // as sent ("GET", "PATCH", ...)
  std::string_view target;       // "/inject/net/n1?timeout=10s"
  std::string_view path;         // the target before '?'
  std::string_view query;        // after '?', without it
  bool header_parsed = false;    // false when a request is rejected before its header was read
  bool json = false;             // Content-Type is application/json
  // The body, with `body_capacity - body_size` bytes after it (at least
  // body_padding), so a JSON parser can read it in place.
  const char* body = nullptr;
  std::size_t body_size = 0;
  std::size_t body_capacity = 0;
  clock::time_point started{};  // first byte of the request
};

// The connection the request came on. respond() once per request.
class responder {
 public:
  // Queues the status line, headers (Content-Type, Content-Length, `Connection:
  // close` when the connection will close, then `extra`: complete header lines
  // each ending in CRLF) and the body as one buffer. Returns when it was queued.
  virtual clock::time_point respond(unsigned status, std::string_view content_type, std::string_view body,
                                    std::string_view extra = {}) noexcept = 0;

 protected:
  ~responder() = default;
};

class request_handler {
 public:
  virtual ~request_handler() = default;

  // A complete request. Must call out.respond() (the connection answers 500 if not).
  virtual void handle(const request& rq, responder& out) noexcept = 0;

  // A request the connection answers itself because it cannot be read (413, 431,
  // 400 before routing). The handler may answer instead, to count it or to word
  // the body; it need not. `rq` has no body; its target is set only when
  // rq.header_parsed.
  virtual void on_rejected(const request& /*rq*/, unsigned /*status*/, responder& /*out*/) noexcept {}
};

}  // namespace meshinject::http
