// The request-head parser connections read with (http/head_parser.hpp), fed as
// a connection feeds it: the first input byte chooses where the bytes are split
// into two arrivals, the rest is what the client sent. Whatever the bytes:
//   - how they arrive never changes a verdict (status, head length, framing);
//   - a head that is accepted has one framing: never Content-Length together
//     with Transfer-Encoding, a refusal is 400, 431 or 501, and the head is free
//     of what `is_clean_request_head` refuses;
//   - a chunked body stays within the body limit.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/head_parser.hpp"

namespace {

namespace bhttp = boost::beast::http;
using meshinject::http::head_parser;

constexpr std::size_t max_header = 4096;  // small, so the fuzzer reaches the limit
constexpr std::size_t body_limit = 8192;

struct verdict {
  unsigned status = 0;          // 0: accepted (head and, when chunked, body read)
  bool head_refused = false;    // status is the head's refusal (400, 431, 501); the connection closes
  std::size_t head_length = 0;  // bytes of the head the parser consumed
  bool chunked = false;
  bool has_length = false;
  std::uint64_t length = 0;
  std::size_t chunk_bytes = 0;
  bool operator==(const verdict&) const = default;
};

// Reads `bytes` as a connection does, the first `split` bytes arriving first.
verdict read(std::string_view bytes, std::size_t split) {
  verdict v;
  std::string chunks;
  head_parser p(&chunks, body_limit);
  std::size_t consumed = 0;
  boost::system::error_code ec;
  for (std::size_t arrived : {split, bytes.size()}) {
    ec = {};
    meshinject::http::read_head_step(p, bytes.substr(0, arrived), consumed, max_header, ec);
    if (ec != bhttp::error::need_more) break;
  }
  v.head_length = consumed;
  if (ec == bhttp::error::need_more) {
    v.status = 1;  // incomplete: the connection would wait for more
    return v;
  }
  if (ec) {
    // Refused: where in the head Beast stopped depends on how it arrived.
    v.head_length = 0;
    v.head_refused = true;
    v.status = meshinject::http::head_refusal_status(p, ec);
    if (v.status != 400 && v.status != 431 && v.status != 501) std::abort();
    return v;
  }
  if (!meshinject::http::is_clean_request_head(bytes.substr(0, consumed))) std::abort();
  v.chunked = p.chunked();
  if (const auto length = p.content_length()) {
    v.has_length = true;
    v.length = *length;
  }
  if (v.chunked && v.has_length) std::abort();  // two framings at once: a smuggling vector
  if (!v.chunked) return v;
  // The chunked body as a connection walks it, from the end of the head.
  p.eager(true);
  std::size_t at = consumed;
  for (;;) {
    ec = {};
    const std::size_t used = p.put(boost::asio::const_buffer(bytes.data() + at, bytes.size() - at), ec);
    at += used;
    if (ec == bhttp::error::need_more) {
      v.status = 2;
      break;
    }
    if (ec) {
      v.status = ec == bhttp::error::body_limit ? 413 : 400;
      break;
    }
    if (p.is_done() || used == 0) break;
  }
  if (chunks.size() > body_limit) std::abort();
  v.chunk_bytes = chunks.size();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t split = data[0] % bytes.size();
  const verdict whole = read(bytes, bytes.size());
  const verdict in_two = read(bytes, split);
  // Beast finds a malformed line at once when the head arrives whole, but waits
  // for the end of the head (or its limit) when it arrived in pieces: so
  // "incomplete" (1) is no verdict yet, and which refusal (400 or 431) may
  // differ; a refusal closes the connection either way. What must never differ
  // is whether a head is accepted, and then its framing and body.
  if (whole.status == 1 || in_two.status == 1) return 0;
  if (whole.head_refused != in_two.head_refused) std::abort();
  if (!whole.head_refused && !(whole == in_two)) std::abort();
  return 0;
}
