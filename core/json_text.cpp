#include "core/json_text.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/byte_words.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace meshinject::core {

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) { return k < s.size() && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xE0 && c1 < 0xA0) return 0;   // overlong
    if (c == 0xED && c1 >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xF0 && c1 < 0x90) return 0;   // overlong
    if (c == 0xF4 && c1 >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Which bytes end a plain run, besides control and non-ASCII bytes (always).
struct special_bytes {
  bool quote_and_backslash;
  bool html;
  bool del;
};

constexpr special_bytes specials_of(escape_style style) noexcept {
  switch (style) {
    case escape_style::json: return {true, false, false};
    case escape_style::json_html: return {true, true, false};
    case escape_style::log_text: return {false, false, true};
    case escape_style::human: return {true, false, true};
  }
  return {true, false, false};
}

// Offset of the first byte in p[0, 16) that is not plain text, or 16. One copy
// per style, so the scan carries no test of which bytes to look for.
template <escape_style Style>
inline unsigned first_special(const char* p) noexcept {
  constexpr special_bytes set = specials_of(Style);
#if defined(__SSE2__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // Signed compare: bytes >= 0x80 are negative, so "< 0x20" also catches them.
  __m128i bad = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
  if constexpr (set.quote_and_backslash)
    bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                         _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
  if constexpr (set.html)
    bad = _mm_or_si128(bad, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')),
                                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))),
                                         _mm_cmpeq_epi8(v, _mm_set1_epi8('&'))));
  if constexpr (set.del) bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)));
  const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(bad));
  return mask == 0 ? 16u : static_cast<unsigned>(__builtin_ctz(mask));
#else
  for (unsigned k = 0; k < 16; ++k) {
    const auto c = static_cast<unsigned char>(p[k]);
    if (c < 0x20 || c >= 0x80 || (set.quote_and_backslash && (c == '"' || c == '\\')) ||
        (set.html && (c == '<' || c == '>' || c == '&')) || (set.del && c == 0x7F))
      return k;
  }
  return 16;
#endif
}

// Whether all of p[0, n) is plain text, for n < 16, read without copying: the
// bytes go into one register as two overlapping loads (they cover every byte
// whatever n is) and the rest of the register holds a plain filler.
template <escape_style Style>
inline bool short_run_is_plain(const char* p, std::size_t n) noexcept {
#if defined(__SSE2__)
  constexpr std::uint64_t filler = 0x6161616161616161ull;  // "aaaaaaaa"
  std::uint64_t first = filler, last = filler;
  if (n >= 8) {
    std::memcpy(&first, p, 8);
    std::memcpy(&last, p + n - 8, 8);
  } else {
    first = core::short_word_at(p, n, filler);
  }
  alignas(16) char block[16];
  std::memcpy(block, &first, 8);
  std::memcpy(block + 8, &last, 8);
  return first_special<Style>(block) == 16;
#else
  for (std::size_t k = 0; k < n; ++k) {
    char block[16];
    std::memset(block, 'a', sizeof block);
    block[0] = p[k];
    if (first_special<Style>(block) != 16) return false;
  }
  return true;
#endif
}

// A length of plain text that starts `s`: all of it when no byte needs escaping
// (the common case: names, images, ports), else at most the run before the first
// byte that does. Reads no byte outside `s` and copies nothing.
template <escape_style Style>
inline std::size_t plain_prefix(std::string_view s) noexcept {
  const char* p = s.data();
  const std::size_t n = s.size();
  if (n < 16) return short_run_is_plain<Style>(p, n) ? n : 0;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const unsigned k = first_special<Style>(p + i);
    if (k != 16) return i + k;
  }
  if (i == n) return n;
  // The last bytes, in one block that ends where `s` ends; its first bytes were
  // already found plain, so a special byte in it lies at or after i.
  const unsigned k = first_special<Style>(p + n - 16);
  return k == 16 ? n : n - 16 + k;
}

// What one special byte (or the UTF-8 sequence it starts) becomes.
struct escape_piece {
  char text[8];
  std::size_t size = 0;
  std::size_t consumed = 1;  // input bytes this piece stands for

  void put(std::string_view s) noexcept {
    std::memcpy(text + size, s.data(), s.size());
    size += s.size();
  }
  void put_hex_byte(unsigned char c) noexcept {
    text[size++] = hex_digits[c >> 4];
    text[size++] = hex_digits[c & 15];
  }
};

escape_piece escape_one(std::string_view s, std::size_t i, escape_style style) noexcept {
  escape_piece e;
  const auto c = static_cast<unsigned char>(s[i]);
  if (c >= 0x80) {
    const std::size_t len = utf8_sequence_length(s, i);
    if (style == escape_style::human) {
      // Passed through as it came; a whole sequence at once keeps a bounded cut
      // from splitting it.
      e.consumed = len == 0 ? 1 : len;
      e.put(s.substr(i, e.consumed));
    } else if (len == 0) {
      e.put(style == escape_style::log_text ? std::string_view("\xEF\xBF\xBD") : std::string_view("\\ufffd"));
    } else if (style == escape_style::json_html && len == 3 && c == 0xE2 &&
               static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
      e.put(static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
      e.consumed = 3;
    } else {
      e.put(s.substr(i, len));
      e.consumed = len;
    }
    return e;
  }
  if (c == '"' || c == '\\') {
    e.text[e.size++] = '\\';
    e.text[e.size++] = static_cast<char>(c);
    return e;
  }
  if (style == escape_style::human) {  // control bytes and DEL
    e.put("\\x");
    e.put_hex_byte(c);
    return e;
  }
  switch (c) {
    case '\n': e.put("\\n"); break;
    case '\r': e.put("\\r"); break;
    case '\t': e.put("\\t"); break;
    default:  // other control bytes, DEL in log text, and <, >, & in json_html
      e.put("\\u00");
      e.put_hex_byte(c);
  }
  return e;
}

// The two destinations. `plain_block(p, k)` may read 16 bytes at p (the scan
// already did) and keeps the first k; `plain` keeps what fits; `piece` is all or
// nothing. Each returns false when the destination is full.
class string_sink {
 public:
  explicit string_sink(std::string& out) noexcept : out_(out) {}
  string_sink(const string_sink&) = delete;
  string_sink& operator=(const string_sink&) = delete;

  void flush() {
    out_.append(buf_, used_);
    used_ = 0;
  }

  bool plain_block(const char* p, std::size_t k) {
    // A fixed 16-byte copy is cheaper than a variable one of k bytes.
    make_room(16);
    std::memcpy(buf_ + used_, p, 16);
    used_ += k;
    return true;
  }
  bool plain(const char* p, std::size_t k) { return piece(p, k); }
  bool piece(const char* p, std::size_t k) {
    make_room(k);
    std::memcpy(buf_ + used_, p, k);
    used_ += k;
    return true;
  }

 private:
  // Output is staged on the stack and appended in large pieces: JSON text inside
  // a string (an annotation holding JSON) has a quote every few bytes, and
  // appending each piece to the string separately cost more than the scan.
  void make_room(std::size_t need) {
    if (used_ + need > sizeof buf_) {
      out_.append(buf_, used_);
      used_ = 0;
    }
  }

  std::string& out_;
  char buf_[1024];
  std::size_t used_ = 0;
};

class buffer_sink {
 public:
  buffer_sink(char* out, std::size_t capacity) noexcept : out_(out), capacity_(capacity) {}

  std::size_t size() const noexcept { return used_; }
  bool plain_block(const char* p, std::size_t k) noexcept { return plain(p, k); }
  bool plain(const char* p, std::size_t k) noexcept {
    // Plain bytes are ASCII: any prefix is a clean cut.
    const std::size_t fit = std::min(k, capacity_ - used_);
    std::memcpy(out_ + used_, p, fit);
    used_ += fit;
    return fit == k;
  }
  bool piece(const char* p, std::size_t k) noexcept {
    if (k > capacity_ - used_) return false;
    std::memcpy(out_ + used_, p, k);
    used_ += k;
    return true;
  }

 private:
  char* out_;
  std::size_t capacity_;
  std::size_t used_ = 0;
};

// The length of the UTF-8 sequence at s[i] that `Style` copies as it is, or 0
// when it is escaped instead (ill-formed, or U+2028/U+2029 under json_html).
template <escape_style Style>
[[gnu::always_inline]] inline std::size_t copied_utf8_length(std::string_view s, std::size_t i) noexcept {
  const std::size_t len = utf8_sequence_length(s, i);
  const bool line_separator = Style == escape_style::json_html && len == 3 &&
                              static_cast<unsigned char>(s[i]) == 0xE2 &&
                              static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                              (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8;
  return line_separator ? 0 : len;
}

// Inlined into each caller, so the sink's position stays in a register rather
// than being stored and reloaded through a reference at every piece.
template <escape_style Style, typename Sink>
[[gnu::always_inline]] inline bool escape_into(Sink& sink, std::string_view s, std::size_t i = 0) {
  const char* p = s.data();
  const std::size_t n = s.size();
  while (i < n) {
    if (i + 16 <= n) {
      const unsigned k = first_special<Style>(p + i);
      if (!sink.plain_block(p + i, k)) return false;
      i += k;
      if (k == 16) continue;
    } else {
      // The last few bytes, scanned as one padded block: keys and values are
      // short, and a byte-by-byte tail dominated their cost.
      char tail[16];
      std::memset(tail, 'a', sizeof tail);
      const std::size_t left = n - i;
      std::memcpy(tail, p + i, left);
      const std::size_t k = std::min<std::size_t>(first_special<Style>(tail), left);
      if (!sink.plain(tail, k)) return false;
      i += k;
      if (i == n) break;
    }
    if (p[i] == '"' || p[i] == '\\') {  // the common case in JSON held in a string
      const char pair[2] = {'\\', p[i]};
      if (!sink.piece(pair, 2)) return false;
      ++i;
      continue;
    }
    if (static_cast<unsigned char>(p[i]) >= 0x80) {  // well-formed UTF-8 is copied as it is
      const std::size_t len = copied_utf8_length<Style>(s, i);
      if (len != 0) {
        if (!sink.piece(p + i, len)) return false;
        i += len;
        continue;
      }
    }
    const escape_piece e = escape_one(s, i, Style);
    if (!sink.piece(e.text, e.size)) return false;
    i += e.consumed;
  }
  return true;
}

// The sink is made here, next to the loop, so that it lives in registers.
// Text with nothing to escape is appended as it is, in one piece, without the
// sink's staging; the rest is escaped from its first special byte on.
template <escape_style Style>
void append_in_style(std::string& out, std::string_view s) {
  const std::size_t plain = plain_prefix<Style>(s);
  out.append(s.data(), plain);
  if (plain == s.size()) return;
  string_sink sink(out);
  escape_into<Style>(sink, s, plain);
  sink.flush();
}

// Counts what would be written.
class size_sink {
 public:
  std::size_t size() const noexcept { return used_; }
  bool plain_block(const char*, std::size_t k) noexcept { return plain(nullptr, k); }
  bool plain(const char*, std::size_t k) noexcept {
    used_ += k;
    return true;
  }
  bool piece(const char*, std::size_t k) noexcept { return plain(nullptr, k); }

 private:
  std::size_t used_ = 0;
};

template <escape_style Style>
std::size_t size_in_style(std::string_view s) {
  const std::size_t plain = plain_prefix<Style>(s);
  if (plain == s.size()) return plain;
  size_sink sink;
  escape_into<Style>(sink, s, plain);
  return plain + sink.size();
}

#if defined(__SSE2__)
// JSON's sizes counted 16 bytes at a time: a block of ASCII without control
// bytes grows by one byte per quote or backslash and five per <, > or & (html);
// a block with another special byte is counted up to it, and that byte (or its
// UTF-8 sequence) as escape_into writes it.
template <escape_style Style>
std::size_t json_size_in_style(std::string_view s) {
  static_assert(Style == escape_style::json || Style == escape_style::json_html);
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t size = 0, i = 0;
  // Each byte's growth (1 for a quote or backslash, 5 for <, > or &), summed
  // by _mm_sad_epu8 (the build's baseline has no popcount instruction).
  const __m128i index = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  auto growth = [](__m128i grow) {
    const __m128i sums = _mm_sad_epu8(grow, _mm_setzero_si128());
    return static_cast<std::size_t>(_mm_cvtsi128_si32(sums)) + static_cast<std::size_t>(_mm_extract_epi16(sums, 4));
  };
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const auto other = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20))));
    __m128i grow = _mm_and_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))), _mm_set1_epi8(1));
    if constexpr (Style == escape_style::json_html)
      grow = _mm_or_si128(grow, _mm_and_si128(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')),
                                                                        _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))),
                                                           _mm_cmpeq_epi8(v, _mm_set1_epi8('&'))),
                                              _mm_set1_epi8(5)));
    if (other == 0) {
      size += 16 + growth(grow);
      i += 16;
      continue;
    }
    const unsigned k = static_cast<unsigned>(__builtin_ctz(other));
    size += k + growth(_mm_and_si128(grow, _mm_cmplt_epi8(index, _mm_set1_epi8(static_cast<char>(k)))));
    i += k;
    if (static_cast<unsigned char>(p[i]) >= 0x80) {
      const std::size_t len = copied_utf8_length<Style>(s, i);
      if (len != 0) {
        size += len;
        i += len;
        continue;
      }
    }
    const escape_piece e = escape_one(s, i, Style);
    size += e.size;
    i += e.consumed;
  }
  if (i == n) return size;
  size_sink sink;
  escape_into<Style>(sink, s, i);
  return size + sink.size();
}
#endif

// Escapes again, as JSON, what the inner escape writes. The inner style's plain
// bytes are plain ASCII to JSON too (json and json_html find a superset of
// JSON's special bytes), so they pass straight on; its pieces are escape
// sequences (ASCII, where only the backslash and the quote are special to JSON)
// or well-formed UTF-8 sequences, which JSON keeps as they are.
class reescape_sink {
 public:
  explicit reescape_sink(string_sink& out) noexcept : out_(out) {}
  bool plain_block(const char* p, std::size_t k) { return out_.plain_block(p, k); }
  bool plain(const char* p, std::size_t k) { return out_.plain(p, k); }
  bool piece(const char* p, std::size_t k) {
    char twice[16];
    std::size_t n = 0;
    for (std::size_t i = 0; i < k; ++i) {
      if (p[i] == '"' || p[i] == '\\') twice[n++] = '\\';
      twice[n++] = p[i];
    }
    return out_.piece(twice, n);
  }

 private:
  string_sink& out_;
};

template <escape_style Inner>
void append_twice_in_style(std::string& out, std::string_view s) {
  const std::size_t plain = plain_prefix<Inner>(s);
  out.append(s.data(), plain);
  if (plain == s.size()) return;
  string_sink sink(out);
  reescape_sink twice(sink);
  escape_into<Inner>(twice, s, plain);
  sink.flush();
}

template <escape_style Style>
bounded_escape_result bounded_in_style(char* out, std::size_t capacity, std::string_view s) noexcept {
  buffer_sink sink(out, capacity);
  const bool complete = escape_into<Style>(sink, s);
  return {sink.size(), complete};
}

}  // namespace

void append_escaped(std::string& out, std::string_view s, escape_style style) {
  switch (style) {
    case escape_style::json: return append_in_style<escape_style::json>(out, s);
    case escape_style::json_html: return append_in_style<escape_style::json_html>(out, s);
    case escape_style::log_text: return append_in_style<escape_style::log_text>(out, s);
    case escape_style::human: return append_in_style<escape_style::human>(out, s);
  }
}

std::size_t escaped_size(std::string_view s, escape_style style) {
  switch (style) {
#if defined(__SSE2__)
    case escape_style::json: return json_size_in_style<escape_style::json>(s);
    case escape_style::json_html: return json_size_in_style<escape_style::json_html>(s);
#else
    case escape_style::json: return size_in_style<escape_style::json>(s);
    case escape_style::json_html: return size_in_style<escape_style::json_html>(s);
#endif
    case escape_style::log_text: return size_in_style<escape_style::log_text>(s);
    case escape_style::human: return size_in_style<escape_style::human>(s);
  }
  return 0;
}

void append_escaped_twice(std::string& out, std::string_view s, escape_style inner) {
  if (inner == escape_style::json_html) return append_twice_in_style<escape_style::json_html>(out, s);
  return append_twice_in_style<escape_style::json>(out, s);
}

bounded_escape_result escape_bounded(char* out, std::size_t capacity, std::string_view s,
                                     escape_style style) noexcept {
  switch (style) {
    case escape_style::json: return bounded_in_style<escape_style::json>(out, capacity, s);
    case escape_style::json_html: return bounded_in_style<escape_style::json_html>(out, capacity, s);
    case escape_style::log_text: return bounded_in_style<escape_style::log_text>(out, capacity, s);
    case escape_style::human: return bounded_in_style<escape_style::human>(out, capacity, s);
  }
  return {};
}

std::string quote_for_humans(std::string_view s, std::size_t max_input_bytes) {
  const bool cut = s.size() > max_input_bytes;
  if (cut) {
    std::size_t end = max_input_bytes;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    s = s.substr(0, end);
  }
  std::string out = "\"";
  append_escaped(out, s, escape_style::human);
  out += cut ? "...\"" : "\"";
  return out;
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace meshinject::core
