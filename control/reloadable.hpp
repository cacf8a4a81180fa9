#pragma once
// One value the server serves from files that may change under it: the compiled
// config, the TLS context. Each reload reads the files, compares their bytes with
// those last tried, and only when they differ builds (parses, validates) a new
// value and swaps it in. A failure keeps the value that is serving.
//
// The failure state is derived, not tracked apart: the files fail to load while
// they cannot be read or while the bytes they last held did not build. A file
// that cannot be read is one failure, counted and logged once however many
// retries it takes until it reads again.
//
// Control thread only (cold path): loaders may allocate and throw.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/logging.hpp"
#include "core/metrics.hpp"

namespace meshinject::control {

// A file that could not be read (deleted, its directory gone, permissions).
struct read_error : std::runtime_error {
  read_error(std::string file, const std::string& message) : std::runtime_error(message), path(std::move(file)) {}
  std::string path;
};

// What one read produced: the bytes that say whether anything changed, and how
// to build a value from them.
template <class T>
struct staged {
  std::string bytes;
  std::function<std::shared_ptr<const T>()> build;  // throws core::config_error, std::exception
};

// The counters a reloadable keeps up to date.
struct reload_counters {
  core::counter* attempts = nullptr;
  core::counter* failures = nullptr;
  core::gauge* failing = nullptr;
};

struct reload_failure {
  std::string message;
  std::string at;  // RFC 3339, when it failed
};

enum class reload_result : std::uint8_t { installed, unchanged, failed, unreadable };

template <class T>
class reloadable {
 public:
  struct hooks {
    std::string what;  // "config", "certificate": in log messages
    std::function<staged<T>()> read;  // throws read_error
    // Called with every value swapped in, initial load included, after the swap.
    std::function<void(const std::shared_ptr<const T>& now_serving, bool initial)> installed;
    std::function<std::string()> timestamp;  // for reload_failure::at
    bool log_position = false;  // failures log the file, line and column of a config error
  };

  reloadable(hooks h, reload_counters counters) : hooks_(std::move(h)), counters_(counters) {}

  // Start-up: reads and builds, or throws (read_error, or what build throws).
  void load_initial() {
    staged<T> s = hooks_.read();
    attempt_ = std::move(s.bytes);
    swap_in(s.build(), true);
  }

  // Start-up that survives bad files: reads and builds, or records the failure as
  // a reload would (counted, logged, failing) and returns false, leaving no value.
  // A later reload() installs the first value that builds.
  bool try_load_initial() {
    const std::string text = "no valid " + hooks_.what + " at start-up; not ready until the files load";
    try {
      staged<T> s = hooks_.read();
      attempt_ = std::move(s.bytes);
      try {
        swap_in(s.build(), true);
        return true;
      } catch (const core::config_error& e) {
        attempt_failed_ = true;
        fail(e.what(), e.where(), text);
      } catch (const std::exception& e) {
        attempt_failed_ = true;
        fail(e.what(), {}, text);
      }
    } catch (const read_error& e) {
      unreadable_ = true;
      fail(e.what(), {e.path, 0, 0}, text);
    }
    if (counters_.failing) counters_.failing->set(1);
    return false;
  }

  // Start-up with a value that has no files behind it (a self-signed certificate).
  void set_initial(std::shared_ptr<const T> value) { swap_in(std::move(value), true); }

  // Reads the files again; on `unreadable` the caller retries later.
  reload_result reload() {
    const reload_result r = try_reload();
    if (counters_.failing) counters_.failing->set(failing() ? 1 : 0);
    return r;
  }

  const std::shared_ptr<const T>& current() const noexcept { return current_; }
  const T& operator*() const noexcept { return *current_; }
  const T* operator->() const noexcept { return current_.get(); }
  // How many values have been swapped in, the first one included.
  std::uint64_t generation() const noexcept { return generation_; }
  bool unreadable() const noexcept { return unreadable_; }
  bool failing() const noexcept { return unreadable_ || attempt_failed_; }
  const std::optional<reload_failure>& last_failure() const noexcept { return last_failure_; }

 private:
  reload_result try_reload() {
    staged<T> s;
    try {
      s = hooks_.read();
    } catch (const read_error& e) {
      if (unreadable_) {
        core::log_debug(hooks_.what + " file still unreadable; retrying", {{"error", e.what()}});
        return reload_result::unreadable;
      }
      unreadable_ = true;
      count(counters_.attempts);
      fail(e.what(), {e.path, 0, 0});
      return reload_result::unreadable;
    }
    if (unreadable_) {
      unreadable_ = false;
      core::log_info(hooks_.what + " files readable again", {{"changed", s.bytes != attempt_}});
    }
    if (s.bytes == attempt_) {
      core::log_debug(hooks_.what + " files changed on disk, content unchanged");
      return reload_result::unchanged;
    }
    attempt_ = std::move(s.bytes);
    count(counters_.attempts);
    return build_and_swap(s);
  }

  reload_result build_and_swap(staged<T>& s) {
    std::shared_ptr<const T> value;
    try {
      value = s.build();
    } catch (const core::config_error& e) {
      attempt_failed_ = true;
      fail(e.what(), e.where());
      return reload_result::failed;
    } catch (const std::exception& e) {
      attempt_failed_ = true;
      fail(e.what(), {});
      return reload_result::failed;
    }
    attempt_failed_ = false;
    swap_in(std::move(value), false);
    return reload_result::installed;
  }

  void swap_in(std::shared_ptr<const T> value, bool initial) {
    // The value being replaced may still be referenced by a reactor until it has
    // taken the new one; keeping it here means the last reference is usually
    // dropped on this thread, not on a reactor.
    retired_ = std::move(current_);
    current_ = std::move(value);
    ++generation_;
    if (hooks_.installed) hooks_.installed(current_, initial);
  }

  void fail(const std::string& message, const core::source_position& where, std::string text = {}) {
    count(counters_.failures);
    last_failure_ = reload_failure{message, hooks_.timestamp ? hooks_.timestamp() : std::string()};
    if (text.empty())
      text = current_ ? hooks_.what + " reload failed; the previous " + hooks_.what + " keeps serving"
                      : hooks_.what + " reload failed; still no valid " + hooks_.what + ", not ready";
    if (hooks_.log_position) {
      core::log_error(text, {{"error", message}, {"file", where.file}, {"line", where.line}, {"column", where.column}});
    } else {
      core::log_error(text, {{"error", message}});
    }
  }

  static void count(core::counter* c) noexcept {
    if (c) c->inc();
  }

  hooks hooks_;
  reload_counters counters_;
  std::shared_ptr<const T> current_;
  std::shared_ptr<const T> retired_;
  std::string attempt_;  // the bytes last tried
  bool unreadable_ = false;
  bool attempt_failed_ = false;  // attempt_ did not build
  std::uint64_t generation_ = 0;
  std::optional<reload_failure> last_failure_;
};

}  // namespace meshinject::control
