#include "http/clock.hpp"

namespace meshinject::http {
namespace {

class steady_source final : public clock {
 public:
  time_point now() const noexcept override { return std::chrono::steady_clock::now(); }
};

}  // namespace

const clock& steady_clock_source() noexcept {
  static const steady_source source;
  return source;
}

}  // namespace meshinject::http
