#include "core/logging.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>

namespace meshinject::core {

namespace {

constexpr std::string_view level_names[] = {"error", "warn", "info", "debug"};

// Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 if the byte at p does not start one.
std::size_t utf8_sequence_length(const unsigned char* p, std::size_t n) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < n && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

enum class escape_mode {
  json,      // inside a JSON string (also used for quoted text values)
  text_msg,  // bare text: only what would break the line is escaped
  text_key,  // bare text key: anything that would confuse a key=value reader becomes '_'
};

// Formats one line into a fixed buffer. Writes stop at `limit` (capacity minus a
// reserve) so the closing of the line always fits; `force` writes into the reserve.
class line_writer {
 public:
  line_writer(char* buf, std::size_t capacity, std::size_t reserve) noexcept
      : buf_(buf), capacity_(capacity), limit_(capacity - reserve) {}

  std::size_t size() const noexcept { return len_; }
  const char* data() const noexcept { return buf_; }
  bool truncated() const noexcept { return truncated_; }
  void rollback(std::size_t mark) noexcept {
    len_ = mark;
    truncated_ = true;
  }

  // All or nothing.
  bool put(std::string_view s) noexcept {
    if (s.size() > limit_ - len_) {
      truncated_ = true;
      return false;
    }
    std::memcpy(buf_ + len_, s.data(), s.size());
    len_ += s.size();
    return true;
  }
  bool put(char c) noexcept { return put(std::string_view(&c, 1)); }

  void force(std::string_view s) noexcept {
    const std::size_t n = std::min(s.size(), capacity_ - len_);
    std::memcpy(buf_ + len_, s.data(), n);
    len_ += n;
  }

  template <typename Int>
  bool put_integer(Int v) noexcept {
    char tmp[24];
    const auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    return put(std::string_view(tmp, static_cast<std::size_t>(r.ptr - tmp)));
  }

  // Writes `s` escaped for `mode`, stopping cleanly (never inside an escape or a
  // UTF-8 sequence) when the budget runs out. Returns false if it was cut.
  bool escaped(std::string_view s, escape_mode mode) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    for (std::size_t i = 0; i < n;) {
      const unsigned char c = p[i];
      std::size_t consumed = 1;
      bool ok;
      if (c >= 0x80) {
        const std::size_t len = utf8_sequence_length(p + i, n - i);
        if (len == 0) {
          ok = put(replacement_character);
        } else {
          ok = put(std::string_view(s.data() + i, len));
          consumed = len;
        }
      } else if (mode == escape_mode::text_key) {
        const bool bad = c <= 0x20 || c == 0x7F || c == '=' || c == '"' || c == '\\';
        ok = put(bad ? '_' : static_cast<char>(c));
      } else if (c == '"' && mode == escape_mode::json) {
        ok = put("\\\"");
      } else if (c == '\\' && mode == escape_mode::json) {
        ok = put("\\\\");
      } else if (c < 0x20 || c == 0x7F) {
        ok = put_control(c);
      } else {
        ok = put(static_cast<char>(c));
      }
      if (!ok) return false;
      i += consumed;
    }
    return true;
  }

 private:
  bool put_control(unsigned char c) noexcept {
    switch (c) {
      case '\n': return put("\\n");
      case '\r': return put("\\r");
      case '\t': return put("\\t");
      case '\b': return put("\\b");
      case '\f': return put("\\f");
      default: {
        constexpr char hex[] = "0123456789abcdef";
        const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
        return put(std::string_view(esc, sizeof esc));
      }
    }
  }

  char* buf_;
  std::size_t capacity_;
  std::size_t limit_;
  std::size_t len_ = 0;
  bool truncated_ = false;
};

// A text value is quoted (JSON-style) when writing it bare would be ambiguous.
bool needs_quotes(std::string_view v) noexcept {
  if (v.empty()) return true;
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

// "2026-11-27T16:47:30.123456Z"
void put_timestamp(line_writer& w) noexcept {
  using namespace std::chrono;
  const auto now = time_point_cast<microseconds>(system_clock::now());
  const auto day = floor<days>(now);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> tod{now - day};

  char tmp[32];
  char* p = tmp;
  auto digits = [&p](unsigned v, int width) {
    for (int k = width - 1; k >= 0; --k) {
      p[k] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  digits(static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
  *p++ = '-';
  digits(static_cast<unsigned>(ymd.month()), 2);
  *p++ = '-';
  digits(static_cast<unsigned>(ymd.day()), 2);
  *p++ = 'T';
  digits(static_cast<unsigned>(tod.hours().count()), 2);
  *p++ = ':';
  digits(static_cast<unsigned>(tod.minutes().count()), 2);
  *p++ = ':';
  digits(static_cast<unsigned>(tod.seconds().count()), 2);
  *p++ = '.';
  digits(static_cast<unsigned>(tod.subseconds().count()), 6);
  *p++ = 'Z';
  w.put(std::string_view(tmp, static_cast<std::size_t>(p - tmp)));
}

void format_json(line_writer& w, log_level level, std::string_view msg, log_fields fields) noexcept {
  w.put("{\"ts\":\"");
  put_timestamp(w);
  w.put("\",\"level\":\"");
  w.put(to_string(level));
  w.put("\",\"msg\":\"");
  const bool msg_whole = w.escaped(msg, escape_mode::json);
  w.force("\"");
  if (msg_whole) {
    for (const log_field& f : fields) {
      const std::size_t mark = w.size();
      if (!(w.put(",\"") && w.escaped(f.key, escape_mode::json) && w.put("\":"))) {
        w.rollback(mark);
        break;
      }
      if (f.kind == log_field::value_kind::string) {
        if (!w.put('"')) {
          w.rollback(mark);
          break;
        }
        const bool whole = w.escaped(f.str, escape_mode::json);
        w.force("\"");
        if (!whole) break;
        continue;
      }
      bool ok = false;
      switch (f.kind) {
        case log_field::value_kind::signed_integer: ok = w.put_integer(f.i); break;
        case log_field::value_kind::unsigned_integer: ok = w.put_integer(f.u); break;
        case log_field::value_kind::boolean: ok = w.put(f.b ? "true" : "false"); break;
        case log_field::value_kind::string: break;
      }
      if (!ok) {
        w.rollback(mark);
        break;
      }
    }
  }
  if (w.truncated()) w.force(",\"truncated\":true");
  w.force("}\n");
}

void format_text(line_writer& w, log_level level, std::string_view msg, log_fields fields) noexcept {
  put_timestamp(w);
  w.put(' ');
  w.put(to_string(level));
  w.put(' ');
  if (w.escaped(msg, escape_mode::text_msg)) {
    for (const log_field& f : fields) {
      const std::size_t mark = w.size();
      if (!(w.put(' ') && w.escaped(f.key, escape_mode::text_key) && w.put('='))) {
        w.rollback(mark);
        break;
      }
      bool ok = false;
      switch (f.kind) {
        case log_field::value_kind::string:
          // A value cut short is kept (closed if quoted); truncated() ends the loop.
          if (!needs_quotes(f.str)) {
            w.escaped(f.str, escape_mode::text_msg);
            ok = true;
          } else if (w.put('"')) {
            w.escaped(f.str, escape_mode::json);
            w.force("\"");
            ok = true;
          }
          break;
        case log_field::value_kind::signed_integer: ok = w.put_integer(f.i); break;
        case log_field::value_kind::unsigned_integer: ok = w.put_integer(f.u); break;
        case log_field::value_kind::boolean: ok = w.put(f.b ? "true" : "false"); break;
      }
      if (!ok) {
        w.rollback(mark);
        break;
      }
      if (w.truncated()) break;
    }
  }
  if (w.truncated()) w.force(" truncated=true");
  w.force("\n");
}

// Enough for the closing of a cut JSON line: `"` + `,"truncated":true` + `}\n`.
constexpr std::size_t line_reserve = 32;

thread_local char line_buffer[logger::max_line_bytes];

}  // namespace

std::optional<log_level> parse_log_level(std::string_view name) noexcept {
  for (std::size_t i = 0; i < std::size(level_names); ++i)
    if (name == level_names[i]) return static_cast<log_level>(i);
  if (name == "warning") return log_level::warn;
  return std::nullopt;
}

std::string_view to_string(log_level level) noexcept {
  const auto i = static_cast<std::size_t>(level);
  return i < std::size(level_names) ? level_names[i] : "unknown";
}

std::optional<log_format> parse_log_format(std::string_view name) noexcept {
  if (name == "json") return log_format::json;
  if (name == "text") return log_format::text;
  return std::nullopt;
}

std::string_view to_string(log_format format) noexcept {
  return format == log_format::json ? "json" : "text";
}

void logger::set_level(log_level level) noexcept { level_.store(static_cast<int>(level), std::memory_order_relaxed); }
log_level logger::level() const noexcept { return static_cast<log_level>(level_.load(std::memory_order_relaxed)); }

void logger::set_format(log_format format) noexcept {
  format_.store(static_cast<int>(format), std::memory_order_relaxed);
}
log_format logger::format() const noexcept {
  return static_cast<log_format>(format_.load(std::memory_order_relaxed));
}

void logger::set_fd(int fd) noexcept { fd_.store(fd, std::memory_order_relaxed); }
int logger::fd() const noexcept { return fd_.load(std::memory_order_relaxed); }

std::uint64_t logger::dropped_lines() const noexcept { return dropped_.load(std::memory_order_relaxed); }

void logger::log(log_level level, std::string_view msg, log_fields fields) noexcept {
  if (!enabled(level)) return;
  line_writer w(line_buffer, max_line_bytes, line_reserve);
  if (format() == log_format::json)
    format_json(w, level, msg, fields);
  else
    format_text(w, level, msg, fields);

  // Callers may log between a failing call and reading errno.
  const int saved_errno = errno;
  const int out = fd();
  const char* p = w.data();
  std::size_t left = w.size();
  while (left > 0) {
    const ssize_t n = ::write(out, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      dropped_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  errno = saved_errno;
}

namespace {
constinit logger process_logger;
}  // namespace

logger& global_logger() noexcept { return process_logger; }

}  // namespace meshinject::core
