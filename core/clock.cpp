#include "core/clock.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <utility>

namespace meshinject::core {

namespace {

class steady_alarm final : public alarm {
 public:
  explicit steady_alarm(boost::asio::io_context& io) : state_(std::make_shared<state>(io)) {}
  ~steady_alarm() override { cancel(); }

  void arm(duration delay, std::function<void()> wake) override {
    // A wait that has already completed cannot be cancelled; the generation
    // turns its late handler into a no-op.
    const std::uint64_t generation = ++state_->generation;
    state_->timer.expires_after(delay);
    state_->timer.async_wait(
        [s = state_, generation, wake = std::move(wake)](const boost::system::error_code& ec) {
          if (ec || generation != s->generation) return;
          wake();
        });
  }

  void cancel() noexcept override {
    ++state_->generation;
    boost::system::error_code ignored;
    state_->timer.cancel(ignored);
  }

 private:
  struct state {
    explicit state(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    std::uint64_t generation = 0;
  };
  // Shared with the pending handler, so the alarm may go before its handler runs.
  std::shared_ptr<state> state_;
};

class steady_source final : public clock {
 public:
  time_point now() const noexcept override { return std::chrono::steady_clock::now(); }
  std::unique_ptr<alarm> make_alarm(boost::asio::io_context& io) const override {
    return std::make_unique<steady_alarm>(io);
  }
};

}  // namespace

const clock& steady_clock_source() noexcept {
  static const steady_source source;
  return source;
}

// The slot's generation is written only by arm() and cancel(), on the io thread,
// which is also where a posted wake-up reads it: no lock needed for that read.
class manual_clock::manual_alarm final : public alarm {
 public:
  manual_alarm(const manual_clock& owner, std::shared_ptr<slot> s) : owner_(owner), slot_(std::move(s)) {}
  ~manual_alarm() override { cancel(); }

  void arm(duration delay, std::function<void()> wake) override {
    std::lock_guard lock(owner_.mutex_);
    ++slot_->generation;
    slot_->due = owner_.now_ + delay;
    slot_->wake = std::move(wake);
    if (delay <= duration::zero()) post_due(slot_);
  }

  void cancel() noexcept override {
    std::lock_guard lock(owner_.mutex_);
    ++slot_->generation;
    slot_->due.reset();
    slot_->wake = nullptr;
  }

  // Called with the owner's mutex held.
  static void post_due(const std::shared_ptr<slot>& s) {
    s->due.reset();
    boost::asio::post(s->io, [weak = std::weak_ptr<slot>(s), generation = s->generation,
                              wake = std::move(s->wake)] {
      const auto alive = weak.lock();
      if (!alive || alive->generation != generation) return;
      wake();
    });
    s->wake = nullptr;
  }

 private:
  const manual_clock& owner_;
  std::shared_ptr<slot> slot_;
};

manual_clock::~manual_clock() = default;

manual_clock::time_point manual_clock::now() const noexcept {
  std::lock_guard lock(mutex_);
  return now_;
}

std::unique_ptr<alarm> manual_clock::make_alarm(boost::asio::io_context& io) const {
  auto s = std::make_shared<slot>(slot{io, std::nullopt, nullptr, 0});
  std::lock_guard lock(mutex_);
  slots_.push_back(s);
  return std::make_unique<manual_alarm>(*this, std::move(s));
}

void manual_clock::advance(duration by) {
  std::lock_guard lock(mutex_);
  now_ += by;
  std::erase_if(slots_, [](const std::weak_ptr<slot>& w) { return w.expired(); });
  for (const auto& w : slots_)
    if (const auto s = w.lock(); s && s->due && *s->due <= now_) manual_alarm::post_due(s);
}

std::size_t manual_clock::pending_within(duration horizon) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& w : slots_)
    if (const auto s = w.lock(); s && s->due && *s->due <= now_ + horizon) ++n;
  return n;
}

}  // namespace meshinject::core
