#pragma once
// The pure parts of HTTP handling: splitting a target, query values, percent
// decoding, the Content-Type check, and response heads. No I/O here, and nothing
// that allocates once the caller's buffers are warm, so connections and handlers
// can use it on the request path and tests can drive it directly.

#include <cstddef>
#include <string>
#include <string_view>

namespace meshinject::http {

struct target_parts {
  std::string_view path;   // before '?'
  std::string_view query;  // after '?', without it; empty when there is none
};

// "/inject?timeout=10s" -> {"/inject", "timeout=10s"}. The apiserver appends
// `?timeout=...` to every webhook call.
target_parts split_target(std::string_view target) noexcept;

// The origin form ("/inject?x") of a request target. RFC 9112 section 3.2.2: a
// server accepts the absolute form ("https://host/inject?x", what a client
// talking to a proxy sends) and routes it by its path and query; for an
// authority without a path the result has no path (callers route it as "/").
// Other forms are returned as they are.
std::string_view origin_form(std::string_view target) noexcept;

// Whether a request head (request line and header fields, up to the blank line)
// is free of what nginx and Go's net/http refuse and Beast lets through: bytes
// below 0x20 other than HT, CR and LF, DEL, a CR not followed by LF, and obsolete
// line folding (a line that starts with SP or HT, RFC 9112 section 5.2).
bool is_clean_request_head(std::string_view head) noexcept;

// The value of `key` in an `a=1&b=2` query (percent-encoding is not decoded;
// callers use it for plain tokens such as log levels). Empty when absent.
std::string_view query_value(std::string_view query, std::string_view key) noexcept;

// `application/json`, with optional parameters (`; charset=utf-8`), any case,
// optional surrounding whitespace. Anything else (including nothing) is 415.
bool is_json_content_type(std::string_view value) noexcept;

// Percent-decodes `in` as Go's url.PathUnescape does ('+' stays '+'), appending
// to `out`. False, with `out` partly written, on a malformed escape.
bool percent_decode_append(std::string_view in, std::string& out);

// The reason phrase of a status code this server sends ("OK", "Not Found", ...).
std::string_view status_reason(unsigned status) noexcept;

// Appends `HTTP/1.1 <status> <reason>`, Content-Type, Content-Length, `Connection:
// close` when `close`, the `extra` header lines (each ending in CRLF) and the
// blank line. The body follows in the same buffer: one buffer, one TLS record.
void append_response_head(std::string& out, unsigned status, std::string_view content_type,
                          std::size_t content_length, bool close, std::string_view extra = {});

inline constexpr std::string_view json_content_type = "application/json";
inline constexpr std::string_view text_content_type = "text/plain; charset=utf-8";

}  // namespace meshinject::http
