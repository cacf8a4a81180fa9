#include "control/admin.hpp"

#include <array>
#include <optional>
#include <string_view>

#include "core/decision.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "http/routes.hpp"

namespace meshinject::control {
namespace {

using http::admin_request;
using http::admin_response;
using core::append_json_string;

// The labels of meshinject_decisions_total, indexed by decision reason code.
const std::array<core::decision_label, core::decision_reason_counters>& decision_labels() {
  static const auto labels = [] {
    std::array<core::decision_label, core::decision_reason_counters> out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
      const auto reason = static_cast<core::decision_reason>(i);
      const bool inject = reason == core::decision_reason::label_opt_in ||
                          reason == core::decision_reason::annotation_opt_in ||
                          reason == core::decision_reason::always_inject_selector ||
                          reason == core::decision_reason::policy_enabled;
      out[i] = {inject ? "inject" : "skip", core::reason_code(reason)};
    }
    return out;
  }();
  return labels;
}
static_assert(core::decision_reason_counters == core::decision_reason_count);

void append_error(std::string& out, const std::optional<reload_failure>& e) {
  if (!e) {
    out += "null";
    return;
  }
  out += "{\"message\":";
  append_json_string(out, e->message);
  out += ",\"at\":";
  append_json_string(out, e->at);
  out += '}';
}

bool is_get(const admin_request& rq) { return rq.method == "GET" || rq.method == "HEAD"; }

void method_not_allowed(admin_response& rs, std::string_view allow) {
  rs.status = 405;
  rs.body = "method not allowed\n";
  rs.extra_headers = "Allow: " + std::string(allow) + "\r\n";
}

void readyz(const admin_view& view, admin_response& rs) {
  if (*view.draining) {
    rs.status = 503;
    rs.body = "not ready: draining\n";
  } else if (!*view.started) {
    rs.status = 503;
    rs.body = "not ready: starting\n";
  } else if (!view.config->current()) {
    rs.status = 503;
    rs.body = "not ready: no valid config loaded";
    if (const auto& failure = view.config->last_failure()) rs.body += ": " + failure->message;
    rs.body += '\n';
  } else if (!view.tls->current()) {
    rs.status = 503;
    rs.body = "not ready: no valid certificate loaded";
    if (const auto& failure = view.tls->last_failure()) rs.body += ": " + failure->message;
    rs.body += '\n';
  } else {
    rs.body = "ok\n";
  }
}

void metrics(const admin_view& view, admin_response& rs) {
  std::vector<const core::core_metrics*> cores;
  cores.reserve(view.reactors->size());
  for (const auto& r : *view.reactors) cores.push_back(&r->metrics());
  rs.content_type = std::string(core::prometheus_content_type);
  core::render_prometheus(rs.body, cores, *view.control, decision_labels(), core::read_process_stats());
}

void loglevel(const admin_view& view, const admin_request& rq, admin_response& rs) {
  rs.content_type = std::string(http::json_content_type);
  const core::log_level before = core::global_logger().level();
  if (is_get(rq)) {
    rs.body = "{\"level\":\"" + std::string(core::to_string(before)) + "\"}\n";
    return;
  }
  if (rq.method != "PUT" && rq.method != "POST") return method_not_allowed(rs, "GET, HEAD, PUT");
  if (!rq.from_loopback && !view.options->admin_remote_writes) {
    rs.status = 403;
    rs.body =
        "{\"error\":\"the log level can be changed only from loopback (kubectl port-forward, kubectl exec); "
        "serve --admin-remote-writes allows it from anywhere\"}\n";
    return;
  }
  std::string_view wanted = http::query_value(rq.query, "level");
  if (wanted.empty()) wanted = http::query_value(rq.body, "level");
  const auto level = core::parse_log_level(wanted);
  if (!level) {
    rs.status = 400;
    rs.body = "{\"error\":";
    append_json_string(rs.body, "unknown log level '" + std::string(wanted) +
                                    "'; use ?level=error, warn, info or debug");
    rs.body += "}\n";
    return;
  }
  core::global_logger().set_level(*level);
  core::log_info("log level changed", {{"from", core::to_string(before)}, {"to", core::to_string(*level)}});
  rs.body = "{\"level\":\"" + std::string(core::to_string(*level)) + "\",\"previous\":\"" +
            std::string(core::to_string(before)) + "\"}\n";
}

void append_config(std::string& out, const admin_view& view) {
  // Null until a config loads, when serve started without a valid one.
  const patch::snapshot* config = view.config->current().get();
  const server_options& opt = *view.options;
  const core::control_metrics& control = *view.control;
  out += "{\"version\":";
  append_json_string(out, control.config_version);
  out += ",\"template_version\":";
  if (config) append_json_string(out, config->template_version()); else out += "null";
  out += ",\"content_hash\":";
  if (config) append_json_string(out, config->content_hash()); else out += "null";
  out += ",\"sources\":{\"inject_config\":";
  append_json_string(out, opt.inject_config.empty() ? "embedded default" : opt.inject_config);
  out += ",\"mesh_config\":";
  append_json_string(out, opt.mesh_config.empty() ? "built-in defaults" : opt.mesh_config);
  out += ",\"values\":";
  // The embedded config comes with its own values unless --values names a file.
  append_json_string(out, !opt.values.empty() ? opt.values : opt.inject_config.empty() ? "embedded default" : "");
  out += "},\"loaded_at\":";
  append_json_string(out, *view.config_loaded_at);
  out += ",\"warnings\":[";
  bool first = true;
  for (const auto& w : config ? config->warnings() : std::vector<std::string>{}) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, w);
  }
  out += "],\"reloads\":" + std::to_string(control.config_reloads.value());
  out += ",\"reload_failures\":" + std::to_string(control.config_reload_failures.value());
  out += ",\"last_reload_error\":";
  append_error(out, view.config->last_failure());
}

void append_certificate_details(std::string& out, const http::tls_context& tls) {
  const http::certificate_info& c = tls.certificate();
  out += ",\"subject\":";
  append_json_string(out, c.subject);
  out += ",\"serial\":";
  append_json_string(out, c.serial_hex);
  out += ",\"not_after\":";
  append_json_string(out, c.not_after);
  out += ",\"sans\":";
  append_json_string(out, c.sans);
  out += ",\"client_auth\":";
  out += tls.requires_client_certificate() ? "true" : "false";
}

void append_certificate(std::string& out, const admin_view& view) {
  // Null until a certificate loads, when serve started without a valid one.
  const http::tls_context* loaded = view.tls->current().get();
  const core::control_metrics& control = *view.control;
  out += ",\"certificate\":{\"source\":";
  append_json_string(out, *view.self_signed ? "self-signed" : view.options->tls_cert);
  out += ",\"loaded\":";
  out += loaded ? "true" : "false";
  if (loaded) append_certificate_details(out, *loaded);
  out += ",\"loaded_at\":";
  append_json_string(out, *view.tls_loaded_at);
  out += ",\"reloads\":" + std::to_string(control.certificate_reloads.value());
  out += ",\"reload_failures\":" + std::to_string(control.certificate_reload_failures.value());
  out += ",\"last_reload_error\":";
  append_error(out, view.tls->last_failure());
  out += '}';
}

void append_reactors(std::string& out, const admin_view& view) {
  out += ",\"reactors\":[";
  bool first = true;
  for (const auto& r : *view.reactors) {
    const core::core_metrics& m = r->metrics();
    if (!first) out += ',';
    first = false;
    out += "{\"index\":" + std::to_string(r->index()) +
           ",\"requests\":" + std::to_string(m.injection_requests.value()) +
           ",\"connections\":" + std::to_string(m.connections.value()) +
           ",\"open_connections\":" + std::to_string(m.open_connections.value()) +
           ",\"template_variants\":" + std::to_string(m.template_variants.value()) + "}";
  }
  out += ']';
}

}  // namespace

std::string debug_config(const admin_view& view) {
  std::string out;
  append_config(out, view);
  append_certificate(out, view);
  out += ",\"ready\":";
  out += view.control->ready.value() == 1 ? "true" : "false";
  out += ",\"draining\":";
  out += *view.draining ? "true" : "false";
  append_reactors(out, view);
  out += "}\n";
  return out;
}

void handle_admin(const admin_view& view, const admin_request& rq, admin_response& rs) {
  const bool get = is_get(rq);
  if (rq.path == "/health" || rq.path == "/livez") {
    if (!get) return method_not_allowed(rs, "GET, HEAD");
    rs.body = "ok\n";
  } else if (rq.path == "/readyz") {
    if (!get) return method_not_allowed(rs, "GET, HEAD");
    readyz(view, rs);
  } else if (rq.path == "/metrics") {
    if (!get) return method_not_allowed(rs, "GET, HEAD");
    metrics(view, rs);
  } else if (rq.path == "/debug/config") {
    if (!get) return method_not_allowed(rs, "GET, HEAD");
    rs.content_type = std::string(http::json_content_type);
    rs.body = debug_config(view);
  } else if (rq.path == "/debug/loglevel") {
    loglevel(view, rq, rs);
  } else {
    rs.status = 404;
    rs.body = "not found\n";
  }
}

}  // namespace meshinject::control
