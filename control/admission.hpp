#pragma once
// The webhook port's routes on one reactor: `POST /inject[/<k>/<v>...]` (decode
// the AdmissionReview, run the engine, answer with its response), `GET /health`,
// and 404 for the rest. One admission_route per reactor, owned by it and called
// only on its thread: it owns that core's patch::engine (parser, buffers, variant
// cache) and counts into that core's metric block. Once warm, a request allocates
// nothing here.

#include <memory>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "http/handler.hpp"
#include "patch/injector.hpp"

namespace meshinject::control {

class admission_route final : public http::request_handler {
 public:
  admission_route(unsigned reactor_index, std::shared_ptr<const patch::snapshot> config,
                  core::core_metrics& metrics, patch::variant_cache_limits cache_limits = {});

  // On the reactor's thread (posted by the control thread): the next request is
  // served from `config`; the variant cache starts again.
  void set_snapshot(std::shared_ptr<const patch::snapshot> config);

  void handle(const http::request& rq, http::responder& out) noexcept override;
  void on_rejected(const http::request& rq, unsigned status, http::responder& out) noexcept override;

 private:
  void admit(const http::request& rq, http::responder& out) noexcept;
  void count(const patch::injection_result& r) noexcept;
  void log_admission(const patch::injection_result& r, http::clock::duration took) const noexcept;
  void answer(const http::request& rq, http::responder& out, unsigned status, std::string_view body,
              std::string_view extra = {}) noexcept;

  unsigned index_;
  core::core_metrics& metrics_;
  patch::engine engine_;
  std::string env_text_;               // the decoded path; env_ views into it
  std::vector<patch::env_pair> env_;
};

}  // namespace meshinject::control
