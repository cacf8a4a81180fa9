#pragma once
// JSON text helpers for the request path: escaping into a growing buffer.
// Invalid UTF-8 becomes U+FFFD so every byte we send is valid JSON.

#include <cstdint>
#include <string>
#include <string_view>

namespace meshinject::patch {

// Appends the JSON-escaped content of s (without the surrounding quotes).
// html: also escape <, > and & (as Go's encoding/json does), and U+2028/U+2029.
void append_json_escaped(std::string& out, std::string_view s, bool html = false);

inline void append_json_string(std::string& out, std::string_view s, bool html = false) {
  out += '"';
  append_json_escaped(out, s, html);
  out += '"';
}

// Appends an integer in decimal.
void append_int(std::string& out, std::int64_t v);

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

}  // namespace meshinject::patch
