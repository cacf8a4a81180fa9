#include "patch/json_text.hpp"

#include <charconv>

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
  out.reserve(out.size() + s.size() + 8);
  std::size_t run = 0;  // start of the pending run of bytes that need no escaping
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    // Plain text goes by in blocks of 16; only the bytes that need a look stop it.
    if (i + 16 <= n) {
      const unsigned k = first_special(s.data() + i, html);
      i += k;
      if (k == 16) continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && !(html && (c == '<' || c == '>' || c == '&'))) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const std::size_t len = utf8_sequence_length(s, i);
      if (len != 0) {
        if (html && len == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
            (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
          out.append(s.data() + run, i - run);
          out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
          i += 3;
          run = i;
          continue;
        }
        i += len;
        continue;
      }
      out.append(s.data() + run, i - run);
      out += "\\ufffd";
      ++i;
      run = i;
      continue;
    }
    out.append(s.data() + run, i - run);
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    std::size_t esc_len = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        esc_len = 6;
    }
    out.append(esc, esc_len);
    ++i;
    run = i;
  }
  out.append(s.data() + run, n - run);
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

}  // namespace meshinject::patch
