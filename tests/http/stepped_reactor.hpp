#pragma once
// A reactor on loopback with TLS, a trivial handler and a manual_clock: tests step
// the clock and then ask the reactor to check its deadlines, so every timeout is
// reached by a call, never by waiting. Timeouts the test does not step through
// are left as set; with an hour for each, a test that passed because real time ran
// out would instead hang until ctest stops it.

#include <gtest/gtest.h>
#include <pthread.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/metrics.hpp"
#include "http/clock.hpp"
#include "http/handler.hpp"
#include "http/limits.hpp"
#include "http/reactor.hpp"
#include "http/tls.hpp"

namespace meshinject::http {

// Waiting for an event, not bounding it: the real limit is ctest's timeout.
inline constexpr std::chrono::milliseconds event_wait = std::chrono::minutes(10);

class ok_handler final : public request_handler {
 public:
  void handle(const request&, responder& out) noexcept override { out.respond(200, "text/plain", "ok\n"); }
};

// Header and idle timeouts of an hour: nothing times out unless the test steps there.
inline limits hour_limits() {
  limits lim;
  lim.header_timeout = std::chrono::hours(1);
  lim.idle_timeout = std::chrono::hours(1);
  return lim;
}

class stepped_reactor {
 public:
  // `stack_bytes`: the reactor thread's stack, when a test wants recursion that
  // grows with input to overflow early (0: the default, 8 MiB on Linux).
  explicit stepped_reactor(limits lim, std::size_t stack_bytes = 0) {
    reactor_settings s;
    s.lim = lim;
    s.clock = &time;
    const self_signed_material generated = make_self_signed();
    tls_material m;
    m.cert_chain_pem = generated.cert_chain_pem;
    m.key_pem = generated.key_pem;
    server_ = std::make_unique<reactor>(
        s, [](core::core_metrics&) { return std::make_unique<ok_handler>(); }, tls_context::build(m));
    port = server_->listen({"127.0.0.1", 0});
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (stack_bytes != 0) pthread_attr_setstacksize(&attr, stack_bytes);
    const int started = pthread_create(
        &thread_, &attr,
        [](void* self) -> void* {
          static_cast<stepped_reactor*>(self)->server_->run();
          return nullptr;
        },
        this);
    pthread_attr_destroy(&attr);
    running_ = started == 0;
    if (!running_) ADD_FAILURE() << "cannot start the reactor thread";
  }
  ~stepped_reactor() { stop(); }
  stepped_reactor(const stepped_reactor&) = delete;
  stepped_reactor& operator=(const stepped_reactor&) = delete;

  // Stops the reactor and joins its thread: its counters are then final.
  void stop() {
    if (!running_) return;
    running_ = false;
    server_->shutdown();
    pthread_join(thread_, nullptr);
  }

  void step(clock::duration by) {
    time.advance(by);
    server_->check_deadlines();
  }

  std::uint64_t errors(core::request_error_kind kind) const {
    return server_->metrics().request_errors[static_cast<std::size_t>(kind)].value();
  }
  std::int64_t open_connections() const { return server_->metrics().open_connections.value(); }
  const reactor& server() const { return *server_; }
  reactor& server() { return *server_; }  // to post work to its thread

  manual_clock time;
  std::uint16_t port = 0;

 private:
  std::unique_ptr<reactor> server_;
  pthread_t thread_{};
  bool running_ = false;
};

}  // namespace meshinject::http
