#pragma once
// The admin port's endpoints, answered on the control thread (cold path: they
// allocate, and may throw, which the admin listener answers with a 500):
//   /health, /livez     200 while the process runs
//   /readyz             200 once serving, 503 while starting, draining, or without a
//                       valid config (the body says why)
//   /metrics            Prometheus text: every reactor's block summed, the control block
//   /debug/config       JSON: the serving config and certificate, reload history, reactors
//   /debug/loglevel     GET the level; PUT|POST ?level=debug (or a form body) to change it

#include <memory>
#include <string>
#include <vector>

#include "control/reloadable.hpp"
#include "control/server.hpp"
#include "core/metrics.hpp"
#include "http/reactor.hpp"
#include "http/tls.hpp"
#include "patch/injector.hpp"

namespace meshinject::control {

// What the endpoints read: the server's own state, by reference, on its thread.
struct admin_view {
  const server_options* options = nullptr;
  const reloadable<patch::snapshot>* config = nullptr;
  const reloadable<http::tls_context>* tls = nullptr;
  const std::string* config_loaded_at = nullptr;
  const std::string* tls_loaded_at = nullptr;
  const core::control_metrics* control = nullptr;
  const std::vector<std::unique_ptr<http::reactor>>* reactors = nullptr;
  const bool* started = nullptr;
  const bool* draining = nullptr;
  const bool* self_signed = nullptr;
};

void handle_admin(const admin_view& view, const http::admin_request& rq, http::admin_response& rs);

// The body of /debug/config.
std::string debug_config(const admin_view& view);

}  // namespace meshinject::control
