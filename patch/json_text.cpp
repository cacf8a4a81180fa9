#include "patch/json_text.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace meshinject::patch {

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) { return k < s.size() && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xF0 && c1 < 0x90) return 0;
    if (c == 0xF4 && c1 >= 0x90) return 0;
    return 4;
  }
  return 0;
}

namespace {

// Offset (from i) of the first byte in s[i, i+16) that needs a closer look (a
// quote, a backslash, a control or non-ASCII byte, and with `html` <, >, &), or
// 16 when the block is plain text.
inline unsigned first_special(const char* p, bool html) {
#if defined(__SSE2__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // Signed compare: bytes >= 0x80 are negative, so "< 0x20" also catches them.
  __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                          _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                             _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
  if (html)
    bad = _mm_or_si128(bad, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')),
                                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))),
                                         _mm_cmpeq_epi8(v, _mm_set1_epi8('&'))));
  const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(bad));
  return mask == 0 ? 16u : static_cast<unsigned>(__builtin_ctz(mask));
#else
  for (unsigned k = 0; k < 16; ++k) {
    const auto c = static_cast<unsigned char>(p[k]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || (html && (c == '<' || c == '>' || c == '&'))) return k;
  }
  return 16;
#endif
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view s, bool html) {
  static constexpr char hex[] = "0123456789abcdef";
  // Output is staged in a stack buffer and appended in large pieces: JSON text
  // inside a string (an annotation holding JSON) has a quote every few bytes,
  // and appending each piece to the string separately cost more than the scan.
  char buf[1024];
  std::size_t b = 0;
  auto room = [&](std::size_t need) {
    if (b + need > sizeof buf) {
      out.append(buf, b);
      b = 0;
    }
  };
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    if (i + 16 <= n) {
      const unsigned k = first_special(p + i, html);
      room(16);
      std::memcpy(buf + b, p + i, 16);  // all 16 are copied; only the first k count
      b += k;
      i += k;
      if (k == 16) continue;
    } else {
      // The last few bytes: scanned as one padded block (keys and values are
      // short, and a byte-by-byte tail dominated their cost).
      char tail[16];
      std::memset(tail, 'a', sizeof tail);
      const std::size_t r = n - i;
      std::memcpy(tail, p + i, r);
      const unsigned k = std::min<unsigned>(first_special(tail, html), static_cast<unsigned>(r));
      room(16);
      std::memcpy(buf + b, tail, k);
      b += k;
      i += k;
      if (i == n) break;
    }
    const auto c = static_cast<unsigned char>(p[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && !(html && (c == '<' || c == '>' || c == '&'))) {
      room(1);
      buf[b++] = static_cast<char>(c);
      ++i;
      continue;
    }
    room(6);
    if (c >= 0x80) {
      const std::size_t len = utf8_sequence_length(s, i);
      if (len == 0) {
        std::memcpy(buf + b, "\\ufffd", 6);
        b += 6;
        ++i;
      } else if (html && len == 3 && c == 0xE2 && static_cast<unsigned char>(p[i + 1]) == 0x80 &&
                 (static_cast<unsigned char>(p[i + 2]) == 0xA8 || static_cast<unsigned char>(p[i + 2]) == 0xA9)) {
        std::memcpy(buf + b, static_cast<unsigned char>(p[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029", 6);
        b += 6;
        i += 3;
      } else {
        std::memcpy(buf + b, p + i, len);
        b += len;
        i += len;
      }
      continue;
    }
    buf[b++] = '\\';
    switch (c) {
      case '"': buf[b++] = '"'; break;
      case '\\': buf[b++] = '\\'; break;
      case '\n': buf[b++] = 'n'; break;
      case '\r': buf[b++] = 'r'; break;
      case '\t': buf[b++] = 't'; break;
      default:
        buf[b++] = 'u';
        buf[b++] = '0';
        buf[b++] = '0';
        buf[b++] = hex[c >> 4];
        buf[b++] = hex[c & 15];
    }
    ++i;
  }
  out.append(buf, b);
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

}  // namespace meshinject::patch
