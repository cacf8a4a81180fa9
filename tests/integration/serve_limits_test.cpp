// `meshinject serve` with flags of its own per test: exact metric counts after a
// known mix of requests, the connection limit, connection age and idle timeout.
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "core/build_info.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/support.hpp"

namespace meshinject::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

std::string review_file(const std::string& name) {
  return read_file(source_dir() / "load" / "reviews" / (name + ".json"));
}

json named_pod(const std::string& name, json annotations = json::object()) {
  return json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", "shop"}, {"annotations", annotations}}},
              {"spec", {{"containers", json::array({{{"name", "app"}, {"image", "busybox"}}})}}}};
}

class Limits : public ::testing::Test {
 protected:
  void SetUp() override {
    if (meshinject_binary().empty()) GTEST_SKIP() << "MESHINJECT_BINARY is not set";
  }
  std::unique_ptr<server_process> start(std::vector<std::string> args) {
    args.insert(args.end(), {"--self-signed-ca-out", (dir_.path() / "ca.pem").string()});
    auto s = std::make_unique<server_process>(args, dir_.path() / "server");
    EXPECT_TRUE(s->wait_ready()) << s->log();
    return s;
  }
  client_options tls() const {
    client_options o;
    o.ca_file = (dir_.path() / "ca.pem").string();
    return o;
  }
  static std::string metrics(const server_process& s) {
    client_options o;
    o.tls = false;
    return fetch(s.admin_port(), "GET", "/metrics", {}, o).body;
  }
  temp_dir dir_;
};

TEST_F(Limits, MetricsCountExactlyWhatWasServed) {
  // The Istio 1.1 example: its decisions and its variant cache are counted below.
  auto server = start({"--threads", "2", "--inject-config", istio_1_1_example_config_path().string()});
  const std::string inject = review_file("orders-pod");
  const std::string opt_out = review_file("opt-out-pod");
  const std::string kube_system = review_file("kube-system-pod");
  const std::string service = review_file("service-create");
  const std::string pod_delete = review_file("pod-delete");
  const std::string bad_annotation =
      make_review(named_pod("bad", {{"sidecar.istio.io/interceptionMode", "SIDEWAYS"}}), "admission.k8s.io/v1", "u", "shop");
  // 20 injected, 5 opt-out, 2 kube-system, 3 not a pod, 2 not a create, 3 bad
  // annotations, 2 undecodable, 1 wrong type, 1 wrong method, and 4 /health.
  std::vector<std::pair<std::string, std::string>> plan;  // method, body
  for (int i = 0; i < 20; ++i) plan.emplace_back("POST", inject);
  for (int i = 0; i < 5; ++i) plan.emplace_back("POST", opt_out);
  for (int i = 0; i < 2; ++i) plan.emplace_back("POST", kube_system);
  for (int i = 0; i < 3; ++i) plan.emplace_back("POST", service);
  for (int i = 0; i < 2; ++i) plan.emplace_back("POST", pod_delete);
  for (int i = 0; i < 3; ++i) plan.emplace_back("POST", bad_annotation);
  for (int i = 0; i < 2; ++i) plan.emplace_back("POST", "{not json");
  int ok = 0;
  // Three connections, so both reactors are likely to take part (the sums must be exact either way).
  for (int conn = 0; conn < 3; ++conn) {
    http_connection c(server->port(), tls());
    for (std::size_t i = static_cast<std::size_t>(conn); i < plan.size(); i += 3)
      ok += c.request(plan[i].first, "/inject", plan[i].second).status == 200;
  }
  {
    http_connection c(server->port(), tls());
    EXPECT_EQ(c.request("POST", "/inject", inject, {{"Content-Type", "text/yaml"}}).status, 415);
    EXPECT_EQ(c.request("PUT", "/inject", inject).status, 405);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(c.request("GET", "/health", {}, {}).status, 200);
  }
  EXPECT_EQ(ok, 35);

  const std::string m = metrics(*server);
  auto v = [&](const std::string& name, const std::string& labels = "") { return metric(m, name, labels).value_or(-1); };
  EXPECT_EQ(v("sidecar_injection_requests_total"), 39);
  EXPECT_EQ(v("sidecar_injection_success_total"), 20);
  EXPECT_EQ(v("sidecar_injection_skip_total"), 12);     // 5 + 2 skipped, 3 + 2 passed through
  EXPECT_EQ(v("sidecar_injection_failure_total"), 7);   // 3 refused, 2 undecodable, 415, 405
  EXPECT_EQ(v("sidecar_injection_time_seconds_count"), 39);
  EXPECT_EQ(v("meshinject_decisions_total", "{decision=\"inject\",reason=\"policy-enabled\"}"), 23);
  EXPECT_EQ(v("meshinject_decisions_total", "{decision=\"skip\",reason=\"annotation-opt-out\"}"), 5);
  EXPECT_EQ(v("meshinject_decisions_total", "{decision=\"skip\",reason=\"ignored-namespace\"}"), 2);
  EXPECT_EQ(v("meshinject_admission_failures_total", "{reason=\"invalid-annotation\"}"), 3);
  EXPECT_EQ(v("meshinject_admission_passthrough_total", "{reason=\"not-a-pod\"}"), 3);
  EXPECT_EQ(v("meshinject_admission_passthrough_total", "{reason=\"not-create\"}"), 2);
  EXPECT_EQ(v("meshinject_http_responses_total", "{code=\"200\"}"), 35 + 4);
  EXPECT_EQ(v("meshinject_http_responses_total", "{code=\"400\"}"), 2);
  EXPECT_EQ(v("meshinject_http_responses_total", "{code=\"405\"}"), 1);
  EXPECT_EQ(v("meshinject_http_responses_total", "{code=\"415\"}"), 1);
  EXPECT_EQ(v("meshinject_connections_total"), 4);
  EXPECT_EQ(v("meshinject_tls_handshakes_total"), 4);
  EXPECT_EQ(v("meshinject_tls_handshake_errors_total"), 0);
  EXPECT_EQ(v("meshinject_template_variant_compiles_total"), v("meshinject_template_variants"));
  EXPECT_GE(v("meshinject_template_variant_compiles_total"), 1);
  EXPECT_EQ(v("meshinject_config_reloads_total"), 0);
  EXPECT_GT(v("meshinject_certificate_expiry_timestamp_seconds"), 1.7e9);
  EXPECT_EQ(v("meshinject_reactors"), 2);
  EXPECT_EQ(v("meshinject_build_info", "{version=\"" + std::string(core::build_version()) + "\",commit=\"" +
                                           std::string(core::build_commit()) + "\",commit_time=\"" +
                                           std::string(core::build_commit_time()) + "\"}"),
            1);
  EXPECT_TRUE(eventually([&] { return metric(metrics(*server), "meshinject_open_connections") == 0; }, 30s));
}

// A review for `uid`, its body sent only half: the connection has a request in
// progress until finish_review sends the rest.
std::string uid_review(const std::string& uid) {
  return make_review(named_pod("half-sent"), "admission.k8s.io/v1", uid, "shop");
}

std::unique_ptr<http_connection> half_sent_review(std::uint16_t port, const client_options& o, const std::string& uid) {
  const std::string body = uid_review(uid);
  auto c = std::make_unique<http_connection>(port, o);
  c->send_raw("POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, body.size() / 2));
  return c;
}

// Sends the rest and returns the answered uid (or what went wrong).
std::string finish_review(http_connection& c, const std::string& uid) {
  const std::string body = uid_review(uid);
  c.send_raw(body.substr(body.size() / 2));
  const http_response r = c.read_response();
  if (r.status != 200) return "status " + std::to_string(r.status) + ": " + r.body;
  return json::parse(r.body)["response"]["uid"].get<std::string>();
}

TEST_F(Limits, ConnectionsOverTheLimitWithRequestsInProgressAreRefusedAndCounted) {
  auto server = start({"--threads", "1", "--max-connections", "3"});
  std::vector<std::unique_ptr<http_connection>> busy;
  for (int i = 0; i < 3; ++i) busy.push_back(half_sent_review(server->port(), tls(), "busy-" + std::to_string(i)));
  EXPECT_TRUE(eventually([&] { return metric(metrics(*server), "meshinject_open_connections") == 3; }, 30s));
  // Every slot has a request in progress, none may be evicted: the fourth is
  // accepted and closed at once (the handshake, or with TLS 1.3 the first
  // request, fails).
  EXPECT_ANY_THROW({
    http_connection extra(server->port(), tls());
    (void)extra.request("GET", "/health", {}, {});
  });
  EXPECT_EQ(metric(metrics(*server), "meshinject_connections_rejected_total"), 1);
  EXPECT_EQ(metric(metrics(*server), "meshinject_connections_evicted_total"), 0);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(finish_review(*busy[static_cast<std::size_t>(i)], "busy-" + std::to_string(i)),
              "busy-" + std::to_string(i))
        << "a request in progress was lost";
  // Now they are idle between requests: a new connection takes the place of the
  // one idle longest (the first) instead of being refused.
  http_connection again(server->port(), tls());
  EXPECT_EQ(again.request("GET", "/health", {}, {}).status, 200);
  EXPECT_TRUE(busy[0]->closed_by_peer(30s)) << "the connection idle longest was not the one evicted";
  EXPECT_EQ(metric(metrics(*server), "meshinject_connections_evicted_total"), 1);
  EXPECT_EQ(metric(metrics(*server), "meshinject_connections_rejected_total"), 1);
  for (std::size_t i = 1; i < 3; ++i)
    EXPECT_EQ(busy[i]->request("GET", "/health", {}, {}).status, 200) << "a newer idle connection was evicted";
}

TEST_F(Limits, AtTheLimitIdleConnectionsMakeRoomAndRequestsInProgressAreKept) {
  auto server = start({"--threads", "1", "--max-connections", "4"});
  // Oldest first: a plain TCP connection that never starts its handshake, a TLS
  // one that never sends a request, then two with a body half sent.
  const int silent_tcp = connect_tcp(server->port());
  ASSERT_GE(silent_tcp, 0);
  EXPECT_TRUE(eventually([&] { return metric(metrics(*server), "meshinject_open_connections") == 1; }, 30s));
  http_connection silent_tls(server->port(), tls());
  EXPECT_TRUE(eventually([&] { return metric(metrics(*server), "meshinject_tls_handshakes_total") == 1; }, 30s));
  auto busy_a = half_sent_review(server->port(), tls(), "busy-a");
  auto busy_b = half_sent_review(server->port(), tls(), "busy-b");
  EXPECT_TRUE(eventually([&] { return metric(metrics(*server), "meshinject_open_connections") == 4; }, 30s));

  // A good review and /health on new connections are answered: each takes the
  // place of an idle one, the oldest first.
  const std::string good = review_file("orders-pod");
  http_connection review(server->port(), tls());
  const http_response answer = review.request("POST", "/inject", good);
  EXPECT_EQ(answer.status, 200) << answer.body;
  char byte = 0;
  EXPECT_TRUE(eventually([&] { return ::recv(silent_tcp, &byte, 1, MSG_DONTWAIT) == 0; }, 30s))
      << "the silent TCP connection (idle longest) was not evicted";
  http_connection health(server->port(), tls());
  EXPECT_EQ(health.request("GET", "/health", {}, {}).status, 200);
  EXPECT_TRUE(silent_tls.closed_by_peer(30s)) << "the silent TLS connection was not evicted";
  EXPECT_EQ(metric(metrics(*server), "meshinject_connections_evicted_total"), 2);
  EXPECT_EQ(metric(metrics(*server), "meshinject_connections_rejected_total"), 0);

  // The requests in progress were never candidates.
  EXPECT_EQ(finish_review(*busy_a, "busy-a"), "busy-a");
  EXPECT_EQ(finish_review(*busy_b, "busy-b"), "busy-b");
  ::close(silent_tcp);
}

TEST_F(Limits, OldConnectionsAreAskedToClose) {
  auto server = start({"--max-connection-age", "1s"});
  http_connection c(server->port(), tls());
  const auto t0 = clock_type::now();
  bool closed = false;
  while (clock_type::now() - t0 < 60s) {  // a give-up, not a bound: the age is 1 s
    const http_response r = c.request("POST", "/inject", review_file("opt-out-pod"));
    ASSERT_EQ(r.status, 200);
    if (r.connection_close()) {
      closed = true;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  const auto age = clock_type::now() - t0;
  ASSERT_TRUE(closed) << "no `Connection: close` after 60 s with --max-connection-age 1s";
  EXPECT_GE(age, 850ms);  // 1 s - 10% jitter, minus the handshake before t0
  EXPECT_TRUE(c.closed_by_peer(30s));
}

TEST_F(Limits, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  auto server = start({"--idle-timeout", "1s", "--header-timeout", "5s"});
  http_connection c(server->port(), tls());
  ASSERT_EQ(c.request("GET", "/health", {}, {}).status, 200);
  const auto t0 = clock_type::now();
  EXPECT_TRUE(c.closed_by_peer(30s));
  const auto idle = clock_type::now() - t0;
  EXPECT_GE(idle, 900ms);
  // Closed for being idle, not by the (longer) header timeout.
  EXPECT_EQ(metric(metrics(*server), "meshinject_http_request_errors_total", "{kind=\"idle-timeout\"}"), 1);
}

// A reactor never waits on a stalled peer. With a header timeout far longer than
// the test, the good request can only be answered while all 200 stalled
// connections are still open: nothing has timed out, so nothing was waited for.
TEST_F(Limits, StalledConnectionsDoNotDelayOthers) {
  auto server = start({"--threads", "2", "--header-timeout", "1h"});
  std::vector<std::unique_ptr<http_connection>> partial;  // TLS done, header never finished
  std::vector<int> raw;                                    // TLS never finished
  for (int i = 0; i < 100; ++i) {
    partial.push_back(std::make_unique<http_connection>(server->port(), tls()));
    partial.back()->send_raw("POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: appl");
    const int fd = connect_tcp(server->port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::send(fd, "\x16\x03\x01", 3, MSG_NOSIGNAL), 3);  // the start of a ClientHello, then nothing
    raw.push_back(fd);
  }
  http_connection good(server->port(), tls());
  EXPECT_EQ(good.request("POST", "/inject", review_file("orders-pod")).status, 200);
  const std::string m = metrics(*server);
  EXPECT_EQ(metric(m, "meshinject_http_request_errors_total", "{kind=\"header-timeout\"}"), 0);
  EXPECT_GE(metric(m, "meshinject_open_connections"), 201);
  for (const int fd : raw) ::close(fd);
}

// Istio 1.1's production template serves each count of user volumes from a variant of its own.
std::string review_with_user_volumes(int volumes) {
  json review = json::parse(review_file("orders-pod"));
  json declared = json::object();
  for (int i = 0; i < volumes; ++i)
    declared["extra-" + std::to_string(i)] = {{"secret", {{"secretName", "extra-" + std::to_string(i)}}}};
  review["request"]["object"]["metadata"]["annotations"]["sidecar.istio.io/userVolume"] = declared.dump();
  return review.dump();
}

TEST_F(Limits, TheVariantCacheKeepsToItsByteBound) {
  auto server = start({"--threads", "1", "--variant-cache-bytes", "12Ki", "--inject-config",
                       istio_1_1_example_config_path().string()});
  constexpr int shapes = 16;
  http_connection c(server->port(), tls());
  for (int n = 0; n < shapes; ++n) {
    const http_response r = c.request("POST", "/inject", review_with_user_volumes(n));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(response_patch(json::parse(r.body)).empty()) << n;
  }
  const std::string m = metrics(*server);
  auto v = [&](const std::string& name) { return metric(m, name).value_or(-1); };
  EXPECT_EQ(v("meshinject_template_variant_compiles_total"), shapes);
  EXPECT_GT(v("meshinject_template_variant_bytes"), 0);
  EXPECT_LE(v("meshinject_template_variant_bytes"), 12 * 1024);
  EXPECT_LT(v("meshinject_template_variants"), shapes);
  EXPECT_EQ(v("meshinject_template_variant_evictions_total"), shapes - v("meshinject_template_variants"));
}

TEST_F(Limits, AVariantCacheBoundThatIsNoSizeIsAUsageError) {
  for (const char* bad : {"0", "lots", "-4Ki"}) {
    const auto r = run_command({meshinject_binary().string(), "serve", "--listen", "127.0.0.1:0", "--admin-listen",
                                "127.0.0.1:0", "--variant-cache-bytes", bad});
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_NE(r.output.find("--variant-cache-bytes must be a positive size"), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace meshinject::test
