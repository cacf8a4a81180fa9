#include "control/admission.hpp"

#include <exception>

#include "control/inject_path.hpp"
#include "core/decision.hpp"
#include "core/logging.hpp"
#include "http/routes.hpp"

namespace meshinject::control {

namespace {

// The engine counts its variant cache; this reactor's metric block mirrors those
// counts for the scrape. Both have this thread as their only writer, and the
// engine's counters never go back, so the difference is what is new.
void mirror_variant_cache(const patch::engine_stats& from, core::core_metrics& to) noexcept {
  auto mirror = [](const core::counter& source, core::counter& target) { target.add(source.value() - target.value()); };
  mirror(from.variant_hits, to.template_variant_hits);
  mirror(from.variant_compiles, to.template_variant_compiles);
  mirror(from.variant_compile_ns, to.template_variant_compile_ns);
  mirror(from.variant_evictions, to.template_variant_evictions);
  mirror(from.uncached_renders, to.template_uncached_renders);
  to.template_variants.set(from.cached_variants.value());
  to.template_variant_bytes.set(from.cached_variant_bytes.value());
}

}  // namespace

// The engine parses request bodies in place, past their end.
static_assert(http::body_padding >= simdjson::SIMDJSON_PADDING);

admission_route::admission_route(unsigned reactor_index, std::shared_ptr<const patch::snapshot> config,
                                 core::core_metrics& metrics, patch::variant_cache_limits cache_limits)
    : index_(reactor_index), metrics_(metrics), engine_(std::move(config), cache_limits) {
  env_text_.reserve(1024);
  env_.reserve(16);
}

void admission_route::set_snapshot(std::shared_ptr<const patch::snapshot> config) {
  engine_.set_snapshot(std::move(config));
  metrics_.template_variants.set(0);
  metrics_.template_variant_bytes.set(0);
}

void admission_route::handle(const http::request& rq, http::responder& out) noexcept {
  if (is_inject_path(rq.path)) return admit(rq, out);
  if (rq.path == "/health") {
    if (rq.method == http::method::get || rq.method == http::method::head) {
      out.respond(200, http::text_content_type, "ok\n");
    } else {
      out.respond(405, http::text_content_type, "method not allowed\n", "Allow: GET, HEAD\r\n");
    }
    return;
  }
  out.respond(404, http::text_content_type, "not found\n");
}

// Requests to the injection endpoint that could not be read still count as
// injection requests that failed.
void admission_route::on_rejected(const http::request& rq, unsigned status, http::responder& out) noexcept {
  if (!rq.header_parsed || !is_inject_path(rq.path)) return;
  metrics_.injection_requests.inc();
  metrics_.injection_failure.inc();
  answer(rq, out, status, status == 413 ? "request body too large\n" : "bad request\n");
}

// A transport-level refusal of an admission request, in text, timed like the rest.
void admission_route::answer(const http::request& rq, http::responder& out, unsigned status, std::string_view body,
                             std::string_view extra) noexcept {
  const auto queued = out.respond(status, http::text_content_type, body, extra);
  metrics_.injection_time.record(queued - rq.started);
}

void admission_route::admit(const http::request& rq, http::responder& out) noexcept {
  metrics_.injection_requests.inc();
  if (rq.method != http::method::post) {
    metrics_.injection_failure.inc();
    return answer(rq, out, 405, "method not allowed: use POST\n", "Allow: POST\r\n");
  }
  // An empty body is the engine's 400 (as Istio checks it before the type).
  if (rq.body_size > 0 && !rq.json) {
    metrics_.injection_failure.inc();
    return answer(rq, out, 415, "unsupported content type: want application/json\n");
  }
  if (!parse_inject_env(rq.path, env_text_, env_)) {
    metrics_.injection_failure.inc();
    return answer(rq, out, 400, "invalid percent-encoding in the path\n");
  }
  if (!engine_.current_ptr()) {
    // Started without a valid config: a 503 lets the apiserver apply the webhook's
    // failurePolicy, where allowed:false would refuse the pod outright.
    metrics_.injection_failure.inc();
    metrics_.count_admission_failure(core::admission_failure_reason::no_config);
    return answer(rq, out, 503, "no valid injection config loaded yet (see /readyz and /debug/config on the admin port)\n");
  }
  patch::injection_result r;
  try {
    r = engine_.handle(rq.body, rq.body_size, rq.body_capacity, env_);
  } catch (const std::exception& e) {
    metrics_.injection_failure.inc();
    metrics_.count_admission_failure(core::admission_failure_reason::internal);
    core::log_error("admission failed unexpectedly", {{"reactor", index_}, {"error", e.what()}});
    return answer(rq, out, 500, "internal error\n");
  }
  count(r);
  const auto queued = out.respond(static_cast<unsigned>(r.http_status), http::json_content_type, r.body);
  metrics_.injection_time.record(queued - rq.started);
  if (core::log_enabled(core::log_level::debug)) log_admission(r, queued - rq.started);
}

// The engine's outcome, passthrough reason and decision are enums: each picks
// its counter by index.
void admission_route::count(const patch::injection_result& r) noexcept {
  switch (r.kind) {
    case patch::outcome::injected: metrics_.injection_success.inc(); break;
    case patch::outcome::skipped: metrics_.injection_skip.inc(); break;
    case patch::outcome::passthrough:
      metrics_.injection_skip.inc();
      metrics_.count_passthrough(r.passthrough);
      break;
    case patch::outcome::rejected:
      metrics_.injection_failure.inc();
      metrics_.count_admission_failure(core::admission_failure_reason::invalid_annotation);
      break;
    case patch::outcome::failed:
      metrics_.injection_failure.inc();
      metrics_.count_admission_failure(core::admission_failure_reason::template_error);
      break;
    case patch::outcome::bad_request: metrics_.injection_failure.inc(); break;
  }
  if (r.has_decision) metrics_.count_decision(static_cast<std::size_t>(r.decision.reason));
  mirror_variant_cache(engine_.stats(), metrics_);
}

void admission_route::log_admission(const patch::injection_result& r, http::clock::duration took) const noexcept {
  const std::string_view decision = r.has_decision ? (r.decision.inject ? "inject" : "skip") : "";
  const std::string_view reason =
      r.has_decision ? core::reason_code(r.decision.reason) : patch::passthrough_name(r.passthrough);
  core::log_debug("admission",
                  {{"reactor", index_},
                   {"outcome", patch::outcome_name(r.kind)},
                   {"status", r.http_status},
                   {"namespace", r.namespace_name},
                   {"pod", r.pod_name},
                   {"uid", r.uid},
                   {"decision", decision},
                   {"reason", reason},
                   {"message", r.message},
                   {"micros", static_cast<std::int64_t>(
                                  std::chrono::duration_cast<std::chrono::microseconds>(took).count())}});
}

}  // namespace meshinject::control
