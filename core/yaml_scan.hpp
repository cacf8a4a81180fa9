#pragma once
// The YAML reader's two hottest scans over a line, eight bytes at a time. They
// live in a header of their own so that tests can hold them against the rules
// they replace, byte by byte, on any bytes (tests/core/yaml_scan_test.cpp).
//
// Both look for the few bytes that can end what they scan and skip the rest a
// word at a time. The masks from core/byte_words.hpp may mark a byte above a
// real match; only the lowest mark is trusted, and the byte it names is then
// judged by the byte rule itself, so a false or uninteresting mark costs one
// step, never a wrong answer.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/byte_words.hpp"

namespace meshinject::core::yaml::scan {

inline bool blank(char c) noexcept { return c == ' ' || c == '\t'; }
inline bool blank_or_break(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Where the run of a plain scalar that starts at `p` ends: at the first blank
// or line break, or `:` followed by one (or by the end); s.size() if none.
inline std::size_t plain_run_end(std::string_view s, std::size_t p) noexcept {
  const std::size_t n = s.size();
  for (;;) {
    while (p + 8 <= n) {
      const std::uint64_t w = word_at(s.data() + p);
      // Space, tab, CR and LF are all below 0x21; so are the other control
      // bytes, which the byte rule below then steps over.
      const std::uint64_t m = bytes_below(w, 0x21) | bytes_equal(w, ':');
      if (m != 0) {
        p += static_cast<std::size_t>(std::countr_zero(m)) / 8;
        break;
      }
      p += 8;
    }
    if (p >= n) return n;
    const char c = s[p];
    if (blank_or_break(c)) return p;
    if (c == ':' && (p + 1 >= n || blank_or_break(s[p + 1]))) return p;
    ++p;
  }
}

// Whether the rest of a line from `p` (a plain scalar's start) holds `:`
// followed by a blank, a line break or the end, before the line ends and
// before a comment (` #`) starts.
inline bool plain_line_is_key(std::string_view s, std::size_t p) noexcept {
  const std::size_t n = s.size();
  const std::size_t from = p;
  for (;;) {
    while (p + 8 <= n) {
      const std::uint64_t w = word_at(s.data() + p);
      // A comment is found by its `#`, the byte after the blank that the rule
      // looks at: no other stop lies between the two.
      const std::uint64_t m = bytes_equal(w, ':') | bytes_equal(w, '\n') | bytes_equal(w, '\r') | bytes_equal(w, '#');
      if (m != 0) {
        p += static_cast<std::size_t>(std::countr_zero(m)) / 8;
        break;
      }
      p += 8;
    }
    if (p >= n) return false;
    const char c = s[p];
    if (c == ':') {
      if (p + 1 >= n || blank_or_break(s[p + 1])) return true;
    } else if (c == '\n' || c == '\r') {
      return false;
    } else if (c == '#' && p > from && blank(s[p - 1])) {
      return false;
    }
    ++p;
  }
}

}  // namespace meshinject::core::yaml::scan
