// The webhook's routes on one reactor, without sockets: a recording responder
// stands in for the connection, so each answer and each counter it moves is
// checked directly.
#include "control/admission.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/decision.hpp"
#include "http/routes.hpp"
#include "tests/support/engine_fixture.hpp"
#include "tests/support/support.hpp"

namespace meshinject::control {
namespace {

using namespace std::chrono_literals;

struct recorded {
  unsigned status = 0;
  std::string content_type, body, extra;
};

class recording_responder final : public http::responder {
 public:
  http::clock::time_point respond(unsigned status, std::string_view content_type, std::string_view body,
                                  std::string_view extra) noexcept override {
    answers.push_back({status, std::string(content_type), std::string(body), std::string(extra)});
    return answered_at;
  }

  std::vector<recorded> answers;
  http::clock::time_point answered_at = http::clock::time_point(2h);
};

// A request as a connection hands it over: the body with padding after it.
struct request_builder {
  std::string buffer;
  http::request rq;

  request_builder(http::method m, std::string_view method_text, std::string_view target, std::string_view body = {},
                  bool json = true) {
    buffer.assign(body);
    buffer.resize(body.size() + http::body_padding);
    rq.method = m;
    rq.method_text = method_text;
    rq.target = target;
    const auto parts = http::split_target(target);
    rq.path = parts.path;
    rq.query = parts.query;
    rq.header_parsed = true;
    rq.json = json;
    rq.body = buffer.data();
    rq.body_size = body.size();
    rq.body_capacity = buffer.size();
    rq.started = http::clock::time_point(1h);
  }
};

class AdmissionRoute : public ::testing::Test {
 protected:
  // The Istio 1.1 example: its variants are cached, which the metrics below count.
  AdmissionRoute() : route(0, test::make_snapshot(test::istio_1_1_example_config()), metrics) {}

  const recorded& send(const request_builder& b) {
    route.handle(b.rq, out);
    EXPECT_FALSE(out.answers.empty());
    return out.answers.back();
  }

  std::uint64_t passthrough(core::passthrough_reason r) const {
    return metrics.passthrough[static_cast<std::size_t>(r)].value();
  }

  core::core_metrics metrics;
  admission_route route;
  recording_responder out;
};

TEST_F(AdmissionRoute, HealthAndUnknownPaths) {
  EXPECT_EQ(send({http::method::get, "GET", "/health"}).status, 200u);
  const recorded& post = send({http::method::post, "POST", "/health"});
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.extra, "Allow: GET, HEAD\r\n");
  EXPECT_EQ(send({http::method::get, "GET", "/injector"}).status, 404u);
  EXPECT_EQ(metrics.injection_requests.value(), 0u) << "none of these is an injection request";
}

TEST_F(AdmissionRoute, TransportRefusalsCountAsFailedInjections) {
  const recorded& get = send({http::method::get, "GET", "/inject"});
  EXPECT_EQ(get.status, 405u);
  EXPECT_EQ(get.extra, "Allow: POST\r\n");
  EXPECT_EQ(send({http::method::post, "POST", "/inject", "a=b", false}).status, 415u);
  EXPECT_EQ(send({http::method::post, "POST", "/inject/cluster/%zz", "{}"}).status, 400u);
  EXPECT_EQ(metrics.injection_requests.value(), 3u);
  EXPECT_EQ(metrics.injection_failure.value(), 3u);
  // Each is timed from the request's first byte to its queued answer (1 h).
  std::uint64_t timed = 0;
  for (std::size_t i = 0; i <= core::latency_histogram::bucket_count; ++i) timed += metrics.injection_time.bucket(i);
  EXPECT_EQ(timed, 3u);
  EXPECT_EQ(metrics.injection_time.sum_ns(), 3u * 3'600'000'000'000u);
}

TEST_F(AdmissionRoute, PassthroughReasonsPickTheirCounters) {
  const std::string service = test::make_review({{"metadata", {{"name", "svc"}}}}, "admission.k8s.io/v1", "u1",
                                                "shop", "CREATE", "Service");
  const recorded& a = send({http::method::post, "POST", "/inject?timeout=10s", service});
  EXPECT_EQ(a.status, 200u);
  EXPECT_EQ(a.content_type, "application/json");
  const std::string update = test::make_review(test::base_pod({}), "admission.k8s.io/v1", "u2", "shop", "UPDATE");
  EXPECT_EQ(send({http::method::post, "POST", "/inject", update}).status, 200u);
  EXPECT_EQ(passthrough(core::passthrough_reason::not_a_pod), 1u);
  EXPECT_EQ(passthrough(core::passthrough_reason::not_create), 1u);
  EXPECT_EQ(metrics.injection_skip.value(), 2u);
  EXPECT_EQ(metrics.injection_success.value(), 0u);
}

TEST_F(AdmissionRoute, DecisionsAndInjectionsAreCounted) {
  const std::string pod = test::make_review(test::base_pod({{"metadata", {{"name", "web"}}}}), "admission.k8s.io/v1",
                                            "u3", "shop");
  EXPECT_EQ(send({http::method::post, "POST", "/inject/cluster/c1", pod}).status, 200u);
  EXPECT_EQ(metrics.injection_success.value(), 1u);
  EXPECT_EQ(metrics.template_variant_compiles.value(), 1u);
  EXPECT_EQ(metrics.template_variants.value(), 1);
  EXPECT_EQ(metrics.decisions[static_cast<std::size_t>(core::decision_reason::policy_enabled)].value(), 1u);

  const std::string host = test::make_review(
      test::base_pod({{"metadata", {{"name", "h"}}}, {"spec", {{"hostNetwork", true}}}}), "admission.k8s.io/v1", "u4",
      "shop");
  EXPECT_EQ(send({http::method::post, "POST", "/inject", host}).status, 200u);
  EXPECT_EQ(metrics.injection_skip.value(), 1u);
  EXPECT_EQ(metrics.decisions[static_cast<std::size_t>(core::decision_reason::host_network)].value(), 1u);

  route.set_snapshot(test::make_snapshot(test::istio_1_1_example_config()));
  EXPECT_EQ(metrics.template_variants.value(), 0) << "a new snapshot starts a new variant cache";
}

TEST_F(AdmissionRoute, RejectedRequestsAreAnsweredOnlyOnTheInjectPath) {
  request_builder big{http::method::post, "POST", "/inject"};
  big.rq.body = nullptr;
  big.rq.body_size = big.rq.body_capacity = 0;
  route.on_rejected(big.rq, 413, out);
  ASSERT_EQ(out.answers.size(), 1u);
  EXPECT_EQ(out.answers[0].status, 413u);
  EXPECT_EQ(out.answers[0].body, "request body too large\n");
  EXPECT_EQ(metrics.injection_failure.value(), 1u);

  route.on_rejected(request_builder{http::method::post, "POST", "/other"}.rq, 400, out);
  http::request unread;  // the header could not be read
  route.on_rejected(unread, 431, out);
  EXPECT_EQ(out.answers.size(), 1u) << "the connection words those answers itself";
  EXPECT_EQ(metrics.injection_requests.value(), 1u);
}

}  // namespace
}  // namespace meshinject::control
