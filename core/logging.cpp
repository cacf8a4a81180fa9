#include "core/logging.hpp"

#include "core/json_text.hpp"

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

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

// A bare text key: anything that would confuse a key=value reader becomes '_'.
constexpr bool is_bad_text_key_byte(unsigned char c) noexcept {
  return c <= 0x20 || c == 0x7F || c == '=' || c == '"' || c == '\\';
}

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

  // Writes `s` escaped in `style`, stopping cleanly (never inside an escape or a
  // UTF-8 sequence) when the budget runs out. Returns false if it was cut.
  bool escaped(std::string_view s, escape_style style) noexcept {
    const bounded_escape_result r = escape_bounded(buf_ + len_, limit_ - len_, s, style);
    len_ += r.written;
    if (!r.complete) truncated_ = true;
    return r.complete;
  }

  // A key on a text line, where '=', quotes and blanks would mislead a reader.
  bool text_key(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      const std::size_t len = c >= 0x80 ? utf8_sequence_length(s, i) : 1;
      bool ok;
      if (c >= 0x80)
        ok = len == 0 ? put(replacement_character) : put(s.substr(i, len));
      else
        ok = put(is_bad_text_key_byte(c) ? '_' : static_cast<char>(c));
      if (!ok) return false;
      i += len == 0 ? 1 : len;
    }
    return true;
  }

 private:
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
  const bool msg_whole = w.escaped(msg, escape_style::json);
  w.force("\"");
  if (msg_whole) {
    for (const log_field& f : fields) {
      const std::size_t mark = w.size();
      if (!(w.put(",\"") && w.escaped(f.key, escape_style::json) && w.put("\":"))) {
        w.rollback(mark);
        break;
      }
      if (f.kind == log_field::value_kind::string) {
        if (!w.put('"')) {
          w.rollback(mark);
          break;
        }
        const bool whole = w.escaped(f.str, escape_style::json);
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
  if (w.escaped(msg, escape_style::log_text)) {
    for (const log_field& f : fields) {
      const std::size_t mark = w.size();
      if (!(w.put(' ') && w.text_key(f.key) && w.put('='))) {
        w.rollback(mark);
        break;
      }
      bool ok = false;
      switch (f.kind) {
        case log_field::value_kind::string:
          // A value cut short is kept (closed if quoted); truncated() ends the loop.
          if (!needs_quotes(f.str)) {
            w.escaped(f.str, escape_style::log_text);
            ok = true;
          } else if (w.put('"')) {
            w.escaped(f.str, escape_style::json);
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
  // On the caller's stack: a page is small next to any thread's stack, and it
  // keeps each line private to its call without per-thread storage.
  char line[max_line_bytes];
  line_writer w(line, max_line_bytes, line_reserve);
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
