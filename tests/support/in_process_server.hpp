#pragma once
// The real server in the test's own process, so a test can watch what its reactor
// thread ("mi-reactor-0") does: allocations, throws. One reactor, ports chosen by
// the kernel, no signal handling, no drain.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

// The server's control plane is moving from http/ to control/; either builds.
#if __has_include("control/server.hpp")
#include "control/server.hpp"
namespace meshinject::test::server_lib {
using namespace meshinject::control;
}
#else
#include "http/server.hpp"
namespace meshinject::test::server_lib {
using namespace meshinject::http;
}
#endif

namespace meshinject::test {

class in_process_server {
 public:
  // `adjust` may change the options before the server starts.
  explicit in_process_server(const std::function<void(server_lib::server_options&)>& adjust = {}) {
    server_lib::server_options o;
    o.listen = "127.0.0.1:0";
    o.admin_listen = "127.0.0.1:0";
    o.threads = 1;
    o.drain = std::chrono::milliseconds(0);
    o.handle_signals = false;
    if (adjust) adjust(o);
    server_ = std::make_unique<server_lib::server>(o);
    server_->start();
    control_ = std::thread([this] { server_->run(); });
  }
  ~in_process_server() {
    server_->request_shutdown();
    control_.join();
  }
  in_process_server(const in_process_server&) = delete;
  in_process_server& operator=(const in_process_server&) = delete;

  std::uint16_t port() const { return server_->webhook_port(); }

 private:
  std::unique_ptr<server_lib::server> server_;
  std::thread control_;
};

}  // namespace meshinject::test
