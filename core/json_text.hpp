#pragma once
// The project's one string escaper. Every piece of text meshinject writes inside
// quotes (AdmissionReview responses and patches, admin endpoints' JSON, log
// lines, decision and selector messages) goes through `escape_into`, in one of
// four styles, to one of two destinations:
//
//   - a growable std::string (`append_escaped`, `append_json_string`): the request
//     path's patches and responses. Plain runs are found 16 bytes at a time.
//   - a bounded buffer (`escape_bounded`): the logger's fixed line. Output stops
//     cleanly where the room ends: never inside an escape sequence and never
//     inside a UTF-8 sequence, so what was written is always valid text.
//
// Nothing here allocates beyond the destination string's own growth, nothing
// throws (bar std::string's own bad_alloc), and nothing reads the locale.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace meshinject::core {

enum class escape_style : unsigned char {
  // The content of a JSON string (RFC 8259). `"`, `\` and control bytes are
  // escaped (\n \r \t, else \u00XX); invalid UTF-8 becomes the escape \ufffd, so
  // every byte sent is valid JSON whatever the pod carried.
  json,
  // As json, and also <, >, &, U+2028 and U+2029, as Go's encoding/json writes
  // them (Istio's annotations are produced that way and compared byte for byte).
  json_html,
  // Bare text on a log line: only what would break the line is escaped (control
  // bytes and DEL, as in json); quotes and backslashes stay as they are; invalid
  // UTF-8 becomes the raw replacement character U+FFFD.
  log_text,
  // A value quoted for a human in an error or decision message: `"` and `\` are
  // backslashed, control bytes and DEL become \xNN (a reader sees which byte it
  // was); other bytes are passed through untouched.
  human,
};

// Appends the escaped content of `s` (without surrounding quotes).
void append_escaped(std::string& out, std::string_view s, escape_style style);

// JSON shorthands; `html` selects escape_style::json_html.
inline void append_json_escaped(std::string& out, std::string_view s, bool html = false) {
  append_escaped(out, s, html ? escape_style::json_html : escape_style::json);
}
inline void append_json_string(std::string& out, std::string_view s, bool html = false) {
  out += '"';
  append_json_escaped(out, s, html);
  out += '"';
}

// The size append_escaped(out, s, style) would append, without writing it.
std::size_t escaped_size(std::string_view s, escape_style style);

// Appends the JSON string content (escape_style::json) of the text that
// append_escaped(s, inner) makes, in one pass and without making that text:
// JSON text held in a JSON string (Istio's toJSON of the pod's metadata written
// into an env value). `inner` is json or json_html.
void append_escaped_twice(std::string& out, std::string_view s, escape_style inner);

struct bounded_escape_result {
  std::size_t written = 0;  // bytes written to the buffer
  bool complete = false;    // all of `s` was written; false: cut at a clean boundary
};

// Writes the escaped content of `s` into [out, out + capacity), stopping before
// the first escape or UTF-8 sequence that would not fit whole.
bounded_escape_result escape_bounded(char* out, std::size_t capacity, std::string_view s,
                                     escape_style style) noexcept;

// `s` quoted for a human (escape_style::human) between double quotes. When `s` is
// longer than `max_input_bytes` it is cut first, on a UTF-8 boundary, and the
// quote ends in `..."` to show it.
std::string quote_for_humans(std::string_view s, std::size_t max_input_bytes = std::string_view::npos);

// Appends code point `cp` (at most U+10FFFF) as UTF-8.
void append_utf8(std::string& out, std::uint32_t cp);

// Appends an integer in decimal.
void append_int(std::string& out, std::int64_t v);

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF), or 0 if none starts there.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

}  // namespace meshinject::core
