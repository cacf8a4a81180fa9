#pragma once
// Structured logging: one line per call, as a JSON object or as text, written to a
// file descriptor (stderr by default) with a single write(2).
//
//   JSON: {"ts":"2026-11-27T16:47:30.123456Z","level":"info","msg":"config reloaded","version":"3f2a"}
//   text: 2026-11-27T16:47:30.123456Z info config reloaded version=3f2a
//
// Cost model. `enabled(level)` is one relaxed atomic load, so a disabled debug line
// on the request path costs a compare and a branch; the convenience functions check
// it before doing anything else. An enabled line is formatted into a buffer on the
// caller's stack (no heap) and written with one write(2), so lines from different threads
// never interleave. Lines are capped at PIPE_BUF bytes because a container's stderr
// is usually a pipe, where only writes up to PIPE_BUF are atomic; a longer line is
// cut at a character boundary and marked (`"truncated":true` / `truncated=true`).
//
// Fields are views: a `log_field` borrows its key and string value for the duration
// of the call and nothing is retained afterwards.

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <type_traits>

namespace meshinject::core {

// Ordered from most to least severe; a logger at level L prints every level <= L.
enum class log_level : int { error = 0, warn = 1, info = 2, debug = 3 };

enum class log_format : int { json, text };

// "error", "warn", "info", "debug" (also accepts "warning"); nullopt otherwise.
std::optional<log_level> parse_log_level(std::string_view name) noexcept;
std::string_view to_string(log_level level) noexcept;

// "json" or "text"; nullopt otherwise.
std::optional<log_format> parse_log_format(std::string_view name) noexcept;
std::string_view to_string(log_format format) noexcept;

// One key/value pair of a log line. Build it in place in the call's initializer
// list: {{"path", p}, {"bytes", n}, {"ok", true}}.
struct log_field {
  enum class value_kind : unsigned char { string, signed_integer, unsigned_integer, boolean };

  constexpr log_field(std::string_view k, std::string_view v) noexcept
      : key(k), kind(value_kind::string), str(v) {}
  // Without this a string literal would convert to bool, a better match than the
  // user-defined conversion to string_view.
  constexpr log_field(std::string_view k, const char* v) noexcept
      : key(k), kind(value_kind::string), str(v != nullptr ? std::string_view(v) : std::string_view()) {}
  constexpr log_field(std::string_view k, bool v) noexcept : key(k), kind(value_kind::boolean), b(v) {}
  template <typename T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_signed_v<T>)
  constexpr log_field(std::string_view k, T v) noexcept
      : key(k), kind(value_kind::signed_integer), i(static_cast<std::int64_t>(v)) {}
  template <typename T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_unsigned_v<T>)
  constexpr log_field(std::string_view k, T v) noexcept
      : key(k), kind(value_kind::unsigned_integer), u(static_cast<std::uint64_t>(v)) {}

  std::string_view key;
  value_kind kind;
  union {
    std::string_view str;
    std::int64_t i;
    std::uint64_t u;
    bool b;
  };
};

using log_fields = std::initializer_list<log_field>;

// A sink with a level and a format. The process uses one, `global_logger()`; tests
// make their own with a pipe as the fd. Every member is safe to call from any
// thread at any time: level, format and fd are atomics, and formatting uses only
// the caller's stack. The logger does not own the fd and never closes it.
class logger {
 public:
  constexpr explicit logger(log_format format = log_format::json, log_level level = log_level::info,
                            int fd = 2) noexcept
      : level_(static_cast<int>(level)), format_(static_cast<int>(format)), fd_(fd) {}

  // Hot path: one relaxed load.
  bool enabled(log_level level) const noexcept {
    return static_cast<int>(level) <= level_.load(std::memory_order_relaxed);
  }

  // Changed at run time by the admin endpoint; takes effect on the next line.
  void set_level(log_level level) noexcept;
  log_level level() const noexcept;

  // Chosen at start-up (`--log-format`); changing it later is allowed but a
  // concurrent line may still come out in the old format.
  void set_format(log_format format) noexcept;
  log_format format() const noexcept;

  void set_fd(int fd) noexcept;
  int fd() const noexcept;

  // Formats and writes one line if `level` is enabled. Never throws; if the write
  // fails the line is dropped and counted.
  void log(log_level level, std::string_view msg, log_fields fields = {}) noexcept;

  void error(std::string_view msg, log_fields fields = {}) noexcept { log(log_level::error, msg, fields); }
  void warn(std::string_view msg, log_fields fields = {}) noexcept { log(log_level::warn, msg, fields); }
  void info(std::string_view msg, log_fields fields = {}) noexcept { log(log_level::info, msg, fields); }
  void debug(std::string_view msg, log_fields fields = {}) noexcept { log(log_level::debug, msg, fields); }

  // Lines lost because write(2) failed (closed stderr, full non-blocking pipe).
  std::uint64_t dropped_lines() const noexcept;

  // The longest line written, newline included.
  static constexpr std::size_t max_line_bytes = 4096;

 private:
  std::atomic<int> level_;
  std::atomic<int> format_;
  std::atomic<int> fd_;
  std::atomic<std::uint64_t> dropped_{0};
};

// The process-wide logger: JSON, info, stderr until `serve` configures it.
// Constant-initialised, so it is usable from any static initialiser and costs no
// initialisation guard per call.
logger& global_logger() noexcept;

// Shorthands for the global logger.
inline bool log_enabled(log_level level) noexcept { return global_logger().enabled(level); }
inline void log_error(std::string_view msg, log_fields fields = {}) noexcept { global_logger().error(msg, fields); }
inline void log_warn(std::string_view msg, log_fields fields = {}) noexcept { global_logger().warn(msg, fields); }
inline void log_info(std::string_view msg, log_fields fields = {}) noexcept { global_logger().info(msg, fields); }
inline void log_debug(std::string_view msg, log_fields fields = {}) noexcept { global_logger().debug(msg, fields); }

}  // namespace meshinject::core
