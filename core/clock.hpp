#pragma once
// The time that code which waits (a debounce, a periodic re-check) measures
// against. Production uses the steady clock and asio timers; tests hand in a
// manual_clock and step it, so "100 ms of quiet have passed" is a call in the
// test, not a sleep that a loaded machine can stretch.
//
// Control-thread code only: alarms are armed and cancelled on their io_context's
// thread. manual_clock::advance may be called from any thread.

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace meshinject::core {

// One pending wake-up at a time, delivered on one io_context.
class alarm {
 public:
  using duration = std::chrono::steady_clock::duration;

  virtual ~alarm() = default;

  // Runs `wake` on the io_context once `delay` has passed on the alarm's clock.
  // Replaces a pending wake-up: only the latest one runs.
  virtual void arm(duration delay, std::function<void()> wake) = 0;

  // The pending wake-up, if any, never runs (even if it is already queued).
  virtual void cancel() noexcept = 0;
};

class clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~clock() = default;
  virtual time_point now() const noexcept = 0;
  virtual std::unique_ptr<alarm> make_alarm(boost::asio::io_context& io) const = 0;
};

// std::chrono::steady_clock with asio's steady_timer: what runs unless a test
// says otherwise.
const clock& steady_clock_source() noexcept;

// Time that moves only when advance() is called; an alarm that comes due is
// posted to its io_context then. Tests use pending_within() to wait until the
// code under test has armed what they are about to step past.
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start = time_point(std::chrono::hours(1))) noexcept : now_(start) {}
  ~manual_clock() override;

  time_point now() const noexcept override;
  std::unique_ptr<alarm> make_alarm(boost::asio::io_context& io) const override;

  // Moves time forward by `by` and posts every alarm that is now due.
  void advance(duration by);

  // How many armed alarms come due within `horizon` from now.
  std::size_t pending_within(duration horizon) const;

 private:
  struct slot {
    boost::asio::io_context& io;
    std::optional<time_point> due;
    std::function<void()> wake;
    std::uint64_t generation = 0;
  };
  class manual_alarm;
  friend class manual_alarm;

  // Guards every slot: alarms are armed on an io thread while a test advances.
  mutable std::mutex mutex_;
  time_point now_;
  mutable std::vector<std::weak_ptr<slot>> slots_;
};

}  // namespace meshinject::core
