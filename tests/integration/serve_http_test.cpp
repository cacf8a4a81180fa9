// `meshinject serve` over real sockets: the HTTP behaviour of SPEC section 6 on the
// TLS port and the admin port, keep-alive, concurrency across reactors, the
// request limits, TLS settings, and the runtime log level. One server (two
// reactors) serves the whole suite; tests that need their own flags are in
// serve_limits_test.cpp.
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <regex>
#include <thread>

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

json pod_of(const std::string& review) { return json::parse(review)["request"]["object"]; }

json named_pod(const std::string& name, json annotations = json::object()) {
  return json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", "shop"}, {"annotations", annotations}}},
              {"spec", {{"containers", json::array({{{"name", "app"}, {"image", "busybox"}}})}}}};
}

// The container named `name` of a pod, or null.
json container(const json& pod, const std::string& name) {
  for (const auto& c : pod["spec"]["containers"])
    if (c.value("name", "") == name) return c;
  return nullptr;
}

class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (meshinject_binary().empty()) return;
    dir_ = new temp_dir();
    // The Istio 1.1 example: these tests check its patches (a proxy container, every
    // /inject path pair as proxy environment, as Istio 1.1 did).
    server_ = new server_process({"--threads", "2", "--header-timeout", "1s", "--max-body-bytes", "1Mi",
                                  "--self-signed-ca-out", (dir_->path() / "ca.pem").string(), "--log-level", "info",
                                  "--inject-config", istio_1_1_example_config_path().string()},
                                 dir_->path() / "server");
    ready_ = server_->wait_ready();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    server_ = nullptr;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (meshinject_binary().empty()) GTEST_SKIP() << "MESHINJECT_BINARY is not set";
    ASSERT_TRUE(ready_) << server_->log();
  }

  static client_options tls() {
    client_options o;
    o.ca_file = (dir_->path() / "ca.pem").string();
    return o;
  }
  static client_options plain() {
    client_options o;
    o.tls = false;
    return o;
  }
  static std::uint16_t port() { return server_->port(); }
  static http_response admin(const std::string& method, const std::string& target) {
    return fetch(server_->admin_port(), method, target, {}, plain());
  }
  static std::string metrics() { return admin("GET", "/metrics").body; }
  static double counter(const std::string& name, const std::string& labels = "") {
    return metric(metrics(), name, labels).value_or(-1);
  }
  // Requests served by each reactor, from /debug/config.
  static std::vector<double> per_reactor(const std::string& field) {
    std::vector<double> out;
    const json config = json::parse(admin("GET", "/debug/config").body);
    for (const auto& r : config["reactors"]) out.push_back(r[field].get<double>());
    return out;
  }
  static http_response inject(const std::string& body, const std::string& target = "/inject") {
    return fetch(port(), "POST", target, body, tls());
  }

  static inline temp_dir* dir_ = nullptr;
  static inline server_process* server_ = nullptr;
  static inline bool ready_ = false;
};

TEST_F(Serve, InjectsAPodAndThePatchApplies) {
  const std::string review = review_file("orders-pod");
  const http_response r = inject(review);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_FALSE(r.connection_close());
  const json answer = json::parse(r.body);
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(answer["kind"], "AdmissionReview");
  EXPECT_EQ(answer["response"]["uid"], json::parse(review)["request"]["uid"]);
  EXPECT_EQ(answer["response"]["allowed"], true);
  EXPECT_EQ(answer["response"]["patchType"], "JSONPatch");
  const json patched = apply_patch(pod_of(review), response_patch(answer));
  EXPECT_FALSE(container(patched, "istio-proxy").is_null()) << patched.dump(2);
}

TEST_F(Serve, AnswersV1beta1InV1beta1) {
  const std::string review = review_file("cart-pod-v1beta1");
  const http_response r = inject(review);
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = json::parse(r.body);
  EXPECT_EQ(answer["apiVersion"], "admission.k8s.io/v1beta1");
  EXPECT_EQ(answer["response"]["uid"], json::parse(review)["request"]["uid"]);
  const json patched = apply_patch(pod_of(review), response_patch(answer));
  EXPECT_FALSE(container(patched, "istio-proxy").is_null());
}

TEST_F(Serve, SkipsAndPassesThroughWithoutAPatch) {
  for (const char* name : {"opt-out-pod", "kube-system-pod", "service-create", "pod-delete"}) {
    const http_response r = inject(review_file(name));
    ASSERT_EQ(r.status, 200) << name << ": " << r.body;
    const json answer = json::parse(r.body);
    EXPECT_EQ(answer["response"]["allowed"], true) << name;
    EXPECT_FALSE(answer["response"].contains("patch")) << name;
    EXPECT_FALSE(answer["response"].contains("patchType")) << name;
  }
}

TEST_F(Serve, RefusesABadAnnotationWithAllowedFalse) {
  const json pod = named_pod("bad", {{"sidecar.istio.io/interceptionMode", "SIDEWAYS"}});
  const http_response r = inject(make_review(pod, "admission.k8s.io/v1", "uid-bad", "shop"));
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = json::parse(r.body);
  EXPECT_EQ(answer["response"]["allowed"], false);
  EXPECT_NE(answer["response"]["status"]["message"].get<std::string>().find("interceptionMode"), std::string::npos)
      << r.body;
}

TEST_F(Serve, TransportErrorsHaveTheirStatusCodes) {
  // 400: empty body, and a body that is not an AdmissionReview (JSON error body).
  http_response r = inject("");
  EXPECT_EQ(r.status, 400) << r.body;
  r = inject("{\"kind\": \"AdmissionReview\", nope");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_TRUE(json::accept(r.body)) << r.body;
  // 404: unknown path, on both ports.
  EXPECT_EQ(fetch(port(), "GET", "/nope", {}, tls()).status, 404);
  EXPECT_EQ(fetch(port(), "POST", "/injectx", review_file("orders-pod"), tls()).status, 404);
  EXPECT_EQ(admin("GET", "/nope").status, 404);
  // 405 with Allow.
  r = fetch(port(), "GET", "/inject", {}, tls());
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "POST");
  EXPECT_EQ(fetch(port(), "POST", "/health", "x", tls()).status, 405);
  EXPECT_EQ(fetch(server_->admin_port(), "POST", "/metrics", "x", plain()).status, 405);
  // 415: not application/json.
  http_connection c(port(), tls());
  r = c.request("POST", "/inject", review_file("orders-pod"), {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 415);
  r = c.request("POST", "/inject", review_file("orders-pod"), {});
  EXPECT_EQ(r.status, 415) << "no Content-Type";
  // ... but parameters and case are fine, and the connection is still usable.
  r = c.request("POST", "/inject", review_file("orders-pod"), {{"Content-Type", "Application/JSON; charset=utf-8"}});
  EXPECT_EQ(r.status, 200);
  // The apiserver's ?timeout= query.
  EXPECT_EQ(inject(review_file("orders-pod"), "/inject?timeout=10s").status, 200);
}

TEST_F(Serve, HealthOnBothPorts) {
  EXPECT_EQ(fetch(port(), "GET", "/health", {}, tls()).status, 200);
  http_connection c(port(), tls());
  const http_response head = c.request("HEAD", "/health", {}, {});
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(c.request("GET", "/health", {}, {}).body, "ok\n") << "HEAD must not leave a body on the wire";
  for (const char* path : {"/health", "/livez", "/readyz"}) EXPECT_EQ(admin("GET", path).status, 200) << path;
}

TEST_F(Serve, AdminEndpoints) {
  const http_response m = admin("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(metric(m.body, "meshinject_reactors").has_value());
  EXPECT_EQ(metric(m.body, "meshinject_reactors"), 2);
  EXPECT_EQ(metric(m.body, "meshinject_ready"), 1);
  const http_response d = admin("GET", "/debug/config");
  ASSERT_EQ(d.status, 200);
  const json config = json::parse(d.body);
  EXPECT_EQ(config["sources"]["inject_config"], istio_1_1_example_config_path().string());
  EXPECT_EQ(config["version"].get<std::string>().size(), 12u);
  EXPECT_FALSE(config["template_version"].get<std::string>().empty());
  EXPECT_FALSE(config["loaded_at"].get<std::string>().empty());
  EXPECT_TRUE(config["last_reload_error"].is_null());
  EXPECT_EQ(config["certificate"]["source"], "self-signed");
  EXPECT_EQ(config["reactors"].size(), 2u);
}

TEST_F(Serve, ManyRequestsOnOneKeepAliveConnection) {
  const double connections_before = per_reactor("connections")[0] + per_reactor("connections")[1];
  const std::vector<std::string> reviews = {review_file("orders-pod"), review_file("cart-pod-v1beta1"),
                                            review_file("many-env-pod"), review_file("opt-out-pod"),
                                            review_file("service-create")};
  http_connection c(port(), tls());
  for (int i = 0; i < 300; ++i) {
    const http_response r = c.request("POST", "/inject", reviews[i % reviews.size()]);
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.body;
    ASSERT_FALSE(r.connection_close()) << "request " << i;
    ASSERT_EQ(json::parse(r.body)["response"]["allowed"], true);
  }
  const auto after = per_reactor("connections");
  EXPECT_EQ(after[0] + after[1], connections_before + 1) << "all 300 requests must have used one connection";
}

TEST_F(Serve, PipelinedRequestsAreAnsweredInOrder) {
  const std::string body = review_file("opt-out-pod");
  std::string two;
  for (int i = 0; i < 2; ++i)
    two += "POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  two += "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  http_connection c(port(), tls());
  c.send_raw(two);
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(c.read_response().body, "ok\n");
}

TEST_F(Serve, ManyConcurrentConnectionsAcrossBothReactors) {
  const auto before = per_reactor("requests");
  constexpr int clients = 64, each = 10;
  const std::string body = review_file("orders-pod");
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&] {
      try {
        http_connection c(port(), tls());
        for (int i = 0; i < each; ++i) (c.request("POST", "/inject", body).status == 200 ? ok : failed)++;
      } catch (const std::exception&) {
        failed++;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, clients * each);
  EXPECT_EQ(failed, 0);
  const auto after = per_reactor("requests");
  ASSERT_EQ(after.size(), 2u);
  // SO_REUSEPORT spreads 64 connections over both reactors (all on one: p = 2^-63).
  EXPECT_GT(after[0] - before[0], 0);
  EXPECT_GT(after[1] - before[1], 0);
  EXPECT_EQ((after[0] - before[0]) + (after[1] - before[1]), clients * each);
}

TEST_F(Serve, InjectPathParametersBecomeProxyEnvironment) {
  const std::string review = review_file("orders-pod");
  const http_response r = inject(review, "/inject/cluster/c1/net/n%2D1/foo.bar/a--slash--b/odd");
  ASSERT_EQ(r.status, 200) << r.body;
  const json patched = apply_patch(pod_of(review), response_patch(json::parse(r.body)));
  const json proxy = container(patched, "istio-proxy");
  ASSERT_FALSE(proxy.is_null());
  std::map<std::string, std::string> env;
  for (const auto& e : proxy["env"]) env[e["name"]] = e.value("value", "");
  EXPECT_EQ(env["ISTIO_META_CLUSTER_ID"], "c1");
  EXPECT_EQ(env["ISTIO_META_NETWORK"], "n-1");
  EXPECT_EQ(env["FOO.BAR"], "a/b");
  EXPECT_EQ(env.count("ODD"), 0u) << "a trailing key without a value is ignored";
  EXPECT_EQ(inject(review, "/inject/cluster/%zz").status, 400);
}

TEST_F(Serve, ChunkedRequestBody) {
  const std::string body = review_file("orders-pod");
  std::string req = "POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t at = 0; at < body.size(); at += 1000) {
    const std::string piece = body.substr(at, 1000);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    req += size + piece + "\r\n";
  }
  req += "0\r\n\r\n";
  http_connection c(port(), tls());
  c.send_raw(req);
  const http_response r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["response"].contains("patch"));
  EXPECT_EQ(c.request("GET", "/health", {}, {}).status, 200) << "the connection goes on after a chunked request";
}

TEST_F(Serve, BodyOverTheLimitIsRefusedBeforeItIsSent) {
  const double too_large_before = counter("meshinject_http_request_errors_total", "{kind=\"too-large\"}");
  http_connection c(port(), tls());
  // 100 MiB announced; the limit is 1 MiB. Only the header and 64 KiB are sent.
  c.send_raw("POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n");
  c.try_send_raw(std::string(64 * 1024, ' '));
  ASSERT_TRUE(c.readable(30s)) << "no answer while the body is still to come";
  const http_response r = c.read_response();
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(r.connection_close());
  EXPECT_TRUE(c.closed_by_peer(30s)) << "the server must close the connection";
  EXPECT_EQ(counter("meshinject_http_request_errors_total", "{kind=\"too-large\"}"), too_large_before + 1);

  // curl, an independent client, with a 2 MiB body (it sends Expect: 100-continue).
  const fs::path big = dir_->path() / "big.json";
  write_file(big, std::string(2 * 1024 * 1024, ' '));
  const auto out = run_command({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--cacert",
                                (dir_->path() / "ca.pem").string(), "-H", "Content-Type: application/json",
                                "--data-binary", "@" + big.string(),
                                "https://localhost:" + std::to_string(port()) + "/inject"});
  EXPECT_EQ(out.output, "413") << out.output;
}

TEST_F(Serve, ExpectContinueAndALargeBodyThenSmallOnesAgain) {
  // A valid review padded to 900 KiB (JSON allows trailing whitespace): the buffer
  // grows for it and shrinks back afterwards; the client waits for 100 Continue.
  std::string body = review_file("orders-pod");
  body.append(900 * 1024 - body.size(), ' ');
  http_connection c(port(), tls());
  c.send_raw("POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  ASSERT_TRUE(c.readable(30s)) << "no 100 Continue";
  EXPECT_EQ(c.read_head().status, 100);
  c.send_raw(body);
  http_response r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["response"].contains("patch"));
  for (int i = 0; i < 20; ++i) {
    r = c.request("POST", "/inject", review_file("opt-out-pod"));
    ASSERT_EQ(r.status, 200);
  }
}

TEST_F(Serve, MalformedRequestsAre400AndOversizedHeaders431) {
  {
    http_connection c(port(), tls());
    c.send_raw("GET /health HTTP/1.1\r\nNo colon here\r\n\r\n");
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, 400);
    EXPECT_TRUE(r.connection_close());
    EXPECT_TRUE(c.closed_by_peer(30s));
  }
  {
    http_connection c(port(), tls());
    c.send_raw("GET /health HTTP/1.1\r\nX-Big: " + std::string(40 * 1024, 'a') + "\r\n\r\n");
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, 431);
    EXPECT_TRUE(c.closed_by_peer(30s));
  }
  {
    // Not TLS at all on the TLS port: a handshake error, counted.
    const double errors = counter("meshinject_tls_handshake_errors_total");
    const int fd = connect_tcp(port());
    ASSERT_GE(fd, 0);
    const std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_GT(::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL), 0);
    char buf[256];
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
    ::close(fd);
    EXPECT_TRUE(eventually([&] { return counter("meshinject_tls_handshake_errors_total") >= errors + 1; }, 30s));
  }
}

// That they do not delay other requests: Limits.StalledConnectionsDoNotDelayOthers.
TEST_F(Serve, StalledConnectionsAreClosedAfterTheHeaderTimeout) {
  const double timeouts_before = counter("meshinject_http_request_errors_total", "{kind=\"header-timeout\"}");
  std::vector<std::unique_ptr<http_connection>> partial;  // TLS done, header never finished
  std::vector<int> raw;                                    // TLS never finished
  for (int i = 0; i < 100; ++i) {
    partial.push_back(std::make_unique<http_connection>(port(), tls()));
    partial.back()->send_raw("POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: appl");
    const int fd = connect_tcp(port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::send(fd, "\x16\x03\x01", 3, MSG_NOSIGNAL), 3);  // the start of a ClientHello, then nothing
    raw.push_back(fd);
  }
  EXPECT_EQ(inject(review_file("orders-pod")).status, 200);

  // All of them are closed once the header timeout (1 s) has passed.
  for (auto& c : partial) EXPECT_TRUE(c->closed_by_peer(30s));
  for (const int fd : raw) {
    char buf[64];
    timeval tv{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    EXPECT_LE(::recv(fd, buf, sizeof buf, 0), 0) << "still open";
    ::close(fd);
  }
  EXPECT_GE(counter("meshinject_http_request_errors_total", "{kind=\"header-timeout\"}"), timeouts_before + 200);
}

TEST_F(Serve, TlsVersionsAndAlpn) {
  {
    http_connection c(port(), tls());
    EXPECT_EQ(c.tls_version(), "TLSv1.3");
    EXPECT_EQ(c.alpn(), "http/1.1");
  }
  {
    client_options o = tls();
    o.max_version = TLS1_2_VERSION;
    http_connection c(port(), o);
    EXPECT_EQ(c.tls_version(), "TLSv1.2");
    EXPECT_EQ(c.request("GET", "/health", {}, {}).status, 200);
  }
  {
    client_options o = tls();
    o.alpn = {"h2"};  // no http/1.1 on offer: the handshake goes on without ALPN
    http_connection c(port(), o);
    EXPECT_EQ(c.alpn(), "");
    EXPECT_EQ(c.request("GET", "/health", {}, {}).status, 200);
  }
  {
    client_options o = tls();
    o.min_version = TLS1_1_VERSION;
    o.max_version = TLS1_1_VERSION;
    o.cipher_list = "DEFAULT@SECLEVEL=0";
    EXPECT_THROW(http_connection(port(), o), client_error) << "TLS 1.1 must be refused";
  }
}

TEST_F(Serve, LogLevelChangesAtRunTime) {
  auto log_has = [&](const std::string& pod) {
    const std::string log = server_->log();
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line))
      if (line.find("\"msg\":\"admission\"") != std::string::npos && line.find(pod) != std::string::npos &&
          line.find("\"reason\":\"policy-enabled\"") != std::string::npos &&
          line.find("\"namespace\":\"shop\"") != std::string::npos &&
          line.find("\"uid\":\"u") != std::string::npos)  // docs/operations.md, section 5 step 3
        return true;
    return false;
  };
  ASSERT_EQ(inject(make_review(named_pod("before-debug-7f3a"), "admission.k8s.io/v1", "u1", "shop")).status, 200);
  EXPECT_EQ(json::parse(admin("GET", "/debug/loglevel").body)["level"], "info");
  http_response r = fetch(server_->admin_port(), "PUT", "/debug/loglevel?level=debug", {}, plain());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["level"], "debug");
  EXPECT_EQ(json::parse(admin("GET", "/debug/loglevel").body)["level"], "debug");
  ASSERT_EQ(inject(make_review(named_pod("after-debug-9c1e"), "admission.k8s.io/v1", "u2", "shop")).status, 200);
  EXPECT_TRUE(eventually([&] { return log_has("after-debug-9c1e"); }, 30s)) << server_->log();
  EXPECT_FALSE(log_has("before-debug-7f3a")) << "decision lines appeared at info level";
  r = fetch(server_->admin_port(), "PUT", "/debug/loglevel?level=chatty", {}, plain());
  EXPECT_EQ(r.status, 400);
  r = fetch(server_->admin_port(), "PUT", "/debug/loglevel?level=info", {}, plain());
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(inject(make_review(named_pod("info-again-51d0"), "admission.k8s.io/v1", "u3", "shop")).status, 200);
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(log_has("info-again-51d0"));
}

TEST_F(Serve, CurlTrustsTheSelfSignedCa) {
  const std::string base = "https://localhost:" + std::to_string(port());
  const std::string ca = (dir_->path() / "ca.pem").string();
  auto out = run_command({"curl", "-sS", "--max-time", "10", "--cacert", ca, base + "/health"});
  EXPECT_EQ(out.status, 0) << out.output;
  EXPECT_EQ(out.output, "ok\n");
  out = run_command({"curl", "-sS", "--max-time", "10", "--cacert", ca, "-H", "Content-Type: application/json",
                     "--data-binary", "@" + (source_dir() / "load" / "reviews" / "orders-pod.json").string(),
                     base + "/inject"});
  ASSERT_EQ(out.status, 0) << out.output;
  EXPECT_EQ(json::parse(out.output)["response"]["allowed"], true);
  out = run_command({"curl", "-sS", "--max-time", "10", "--cacert", ca,
                     "https://127.0.0.1:" + std::to_string(port()) + "/health"});
  EXPECT_EQ(out.status, 0) << "the certificate names 127.0.0.1 too: " << out.output;
}

}  // namespace
}  // namespace meshinject::test
