#pragma once
// The time a listener measures connection deadlines (handshake, header, idle,
// write, linger) and connection age against. Production reads steady_clock;
// tests pass a manual_clock and step it, so a timeout or the age limit is
// reached by a call, not by waiting.

#include <atomic>
#include <chrono>

namespace meshinject::http {

class clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  virtual time_point now() const noexcept = 0;

 protected:
  ~clock() = default;
};

// std::chrono::steady_clock, the clock every server uses unless told otherwise.
const clock& steady_clock_source() noexcept;

// Time that moves only when advance() is called. Read from a reactor thread
// while a test thread advances it, hence the atomic.
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start = time_point(std::chrono::hours(1))) noexcept
      : ticks_(start.time_since_epoch().count()) {}

  time_point now() const noexcept override { return time_point(duration(ticks_.load(std::memory_order_acquire))); }
  void advance(duration by) noexcept { ticks_.fetch_add(by.count(), std::memory_order_acq_rel); }

 private:
  std::atomic<duration::rep> ticks_;
};

}  // namespace meshinject::http
