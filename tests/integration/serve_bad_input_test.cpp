// Bad input over the real server: every kind of malformed, oversized, slow,
// broken or hostile client gets its exact answer (SPEC section 6), while a
// well-behaved client keeps sending AdmissionReviews on a keep-alive connection
// and on fresh ones; not one of those may fail. Then 100,000 bad requests must
// leave the server's memory where it was.
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/support.hpp"

namespace meshinject::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using namespace std::string_literals;

// The sanitizer run (ASan + UBSan) is several times slower, and ASan's
// quarantine keeps freed memory resident on purpose.
bool sanitized() {
  const char* v = std::getenv("MESHINJECT_SANITIZED");
  return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

std::string review_file(const std::string& name) {
  return read_file(source_dir() / "load" / "reviews" / (name + ".json"));
}

std::string raw_request(std::string_view method, std::string_view target, std::string_view body,
                        std::string_view content_type = "application/json", std::string_view extra = {}) {
  std::string r;
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
  if (!content_type.empty()) r.append("Content-Type: ").append(content_type).append("\r\n");
  r.append(extra);
  if (!body.empty() || method == "POST" || method == "PUT")
    r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  r.append("\r\n").append(body);
  return r;
}

std::string post_inject(std::string_view body, std::string_view content_type = "application/json") {
  return raw_request("POST", "/inject", body, content_type);
}

// A minimal review for a pod; `request` is spliced in as raw JSON text so that
// it can be anything at all.
std::string review_with_request(std::string_view request) {
  return std::string(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":)") +
         std::string(request) + "}";
}

constexpr std::string_view small_pod_request =
    R"({"uid":"u-small","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"shop",)"
    R"("object":{"metadata":{"name":"p","annotations":{"note":"NOTE"}},)"
    R"("spec":{"containers":[{"name":"app","image":"busybox"}],"extra":EXTRA}}})";

// small_pod_request with the annotation value and an extra spec field replaced.
std::string small_pod_review(std::string_view note, std::string_view extra = "null") {
  std::string r(small_pod_request);
  r.replace(r.find("NOTE"), 4, note);
  r.replace(r.find("EXTRA"), 5, extra);
  return review_with_request(r);
}

// `s` with the first `from` replaced by `to`.
std::string replaced(std::string s, std::string_view from, std::string_view to) {
  const std::size_t at = s.find(from);
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

std::size_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

// The JSON error body SPEC section 6 asks for on an undecodable review.
::testing::AssertionResult json_error(const http_response& r) {
  if (r.status != 400) return ::testing::AssertionFailure() << "status " << r.status << ": " << r.body;
  if (r.header("content-type") != "application/json")
    return ::testing::AssertionFailure() << "content type " << r.header("content-type");
  if (!json::accept(r.body)) return ::testing::AssertionFailure() << "not JSON: " << r.body;
  const json j = json::parse(r.body);
  if (!j.contains("error") || !j["error"].is_string() || j["error"].get<std::string>().empty())
    return ::testing::AssertionFailure() << "no error message: " << r.body;
  return ::testing::AssertionSuccess();
}

// Reads from a raw socket until the peer closes (true) or `wait` passes (false);
// whatever arrives is appended to `got`.
bool raw_closed(int fd, std::chrono::milliseconds wait, std::string* got = nullptr) {
  const auto deadline = clock_type::now() + wait;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return false;
    timeval tv{static_cast<long>(left.count() / 1000), static_cast<long>((left.count() % 1000) * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      if (got) got->append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return true;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    return true;  // reset
  }
}

void reset_on_close(int fd) {
  const linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

// The well-behaved client: until stopped, one review on its keep-alive
// connection, then one on a fresh connection, and again. Every answer must be
// 200 with `allowed: true`, the uid echoed and a patch.
class good_client {
 public:
  good_client(std::uint16_t port, client_options options)
      : port_(port), options_(std::move(options)), body_(review_file("orders-pod")),
        uid_(json::parse(body_)["request"]["uid"].get<std::string>()) {
    thread_ = std::thread([this] { run(); });
  }
  ~good_client() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long ok() const { return ok_; }
  long failed() const { return failed_; }
  std::string failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
  }

 private:
  void run() {
    std::unique_ptr<http_connection> kept;
    while (!stop_) {
      try {
        if (!kept) kept = std::make_unique<http_connection>(port_, options_);
        const http_response r = kept->request("POST", "/inject", body_);
        check(r, "keep-alive");
        if (r.connection_close()) kept.reset();
      } catch (const std::exception& e) {
        fail(std::string("keep-alive: ") + e.what());
        kept.reset();
      }
      try {
        check(fetch(port_, "POST", "/inject", body_, options_), "fresh");
      } catch (const std::exception& e) {
        fail(std::string("fresh: ") + e.what());
      }
      // Pacing only: the machine has two cores, and the bad clients need one.
      std::this_thread::sleep_for(5ms);
    }
  }
  void check(const http_response& r, const char* how) {
    std::string why;
    if (r.status != 200) {
      why = "status " + std::to_string(r.status);
    } else {
      const json j = json::parse(r.body, nullptr, false);
      if (j.is_discarded()) why = "not JSON";
      else if (j["response"]["allowed"] != true) why = "not allowed";
      else if (j["response"]["uid"] != uid_) why = "uid not echoed";
      else if (!j["response"].contains("patch")) why = "no patch";
    }
    if (why.empty()) {
      ++ok_;
    } else {
      fail(std::string(how) + ": " + why + ": " + r.body.substr(0, 200));
    }
  }
  void fail(const std::string& why) {
    ++failed_;
    std::lock_guard lock(mutex_);
    if (failures_.size() < 4000) failures_ += why + "\n";
  }

  std::uint16_t port_;
  client_options options_;
  std::string body_, uid_;
  std::atomic<bool> stop_{false};
  std::atomic<long> ok_{0}, failed_{0};
  mutable std::mutex mutex_;
  std::string failures_;
  std::thread thread_;
};

class BadInput : public ::testing::Test {
 protected:
  static constexpr auto header_timeout = 2s;

  static void SetUpTestSuite() {
    if (meshinject_binary().empty()) return;
    dir_ = new temp_dir();
    // The Istio 1.1 example, whose proxy container carries /inject path pairs (checked below).
    server_ = new server_process({"--threads", "2", "--header-timeout", "2s", "--max-body-bytes", "1Mi",
                                  "--drain-seconds", "0", "--self-signed-ca-out", (dir_->path() / "ca.pem").string(),
                                  "--inject-config", istio_1_1_example_config_path().string()},
                                 dir_->path() / "server");
    ready_ = server_->wait_ready();
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr && ready_) {
      // A clean exit, not the SIGKILL of server_process's destructor: under ASan
      // that is when LeakSanitizer looks at the server.
      server_->signal(SIGTERM);
      const auto status = server_->wait_exit(20s);
      EXPECT_EQ(status, 0) << "after SIGTERM\n" << server_->log();
    }
    delete server_;
    delete dir_;
    server_ = nullptr;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (meshinject_binary().empty()) GTEST_SKIP() << "MESHINJECT_BINARY is not set";
    ASSERT_TRUE(ready_) << server_->log();
    good_ = std::make_unique<good_client>(port(), tls());
  }
  void TearDown() override {
    if (!good_) return;
    expect_good_progress("at the end of the test");
    good_->stop();
    EXPECT_EQ(good_->failed(), 0) << good_->failures();
    good_.reset();
    EXPECT_FALSE(server_->wait_exit(0ms).has_value()) << "the server died\n" << server_->log();
    // Every connection a bad client opened has been closed by the server (or
    // with the client); nothing is left behind.
    EXPECT_TRUE(eventually([] { return sample("meshinject_open_connections") == 0; }, 30s))
        << sample("meshinject_open_connections") << " connections still open";
  }

  // The good client made progress after what just happened, and never failed.
  void expect_good_progress(const std::string& when, std::chrono::milliseconds within = 30s) {
    const long before = good_->ok();
    EXPECT_TRUE(eventually([&] { return good_->ok() >= before + 2; }, within))
        << "the good client made no progress " << when << " (" << good_->ok() - before << " in " << within.count()
        << " ms)";
    EXPECT_EQ(good_->failed(), 0) << when << ":\n" << good_->failures();
  }

  static client_options tls() {
    client_options o;
    o.ca_file = (dir_->path() / "ca.pem").string();
    return o;
  }
  static std::uint16_t port() { return server_->port(); }
  static std::string metrics() {
    client_options o;
    o.tls = false;
    return fetch(server_->admin_port(), "GET", "/metrics", {}, o).body;
  }
  static double sample(const std::string& name, const std::string& labels = "") {
    return metric(metrics(), name, labels).value_or(-1);
  }
  // One raw request on a fresh connection and its answer.
  static http_response ask(std::string_view raw) {
    http_connection c(port(), tls());
    c.send_raw(raw);
    return c.read_response();
  }

  static inline temp_dir* dir_ = nullptr;
  static inline server_process* server_ = nullptr;
  static inline bool ready_ = false;
  std::unique_ptr<good_client> good_;
};

// A bad request answered on a keep-alive connection leaves it usable: the next
// request on it is served.
void expect_keeps_connection(http_connection& c, const http_response& r, const std::string& what) {
  EXPECT_FALSE(r.connection_close()) << what;
  const http_response next = c.request("POST", "/inject", review_file("opt-out-pod"));
  EXPECT_EQ(next.status, 200) << what << ": the connection is not usable afterwards";
}

TEST_F(BadInput, EmptyBodyIs400) {
  http_connection c(port(), tls());
  for (const auto& [what, raw] : std::vector<std::pair<std::string, std::string>>{
           {"Content-Length: 0", post_inject("")},
           {"no Content-Length", "POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n"},
           {"no chunks", "POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
           // Empty comes before the type check, as in Istio.
           {"empty and text/plain", post_inject("", "text/plain")},
           {"only whitespace", post_inject(" \r\n\t ")}}) {
    c.send_raw(raw);
    const http_response r = c.read_response();
    EXPECT_TRUE(json_error(r)) << what;
    expect_keeps_connection(c, r, what);
  }
  expect_good_progress("after empty bodies");
}

TEST_F(BadInput, WrongContentTypeIs415) {
  const std::string review = review_file("orders-pod");
  http_connection c(port(), tls());
  for (const std::string type : {"text/plain", "", "application/jsonx", "application/json-patch+json",
                                 "application/x-www-form-urlencoded", "json", "application/json\xff"}) {
    c.send_raw(post_inject(review, type));
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, 415) << "'" << type << "'";
    expect_keeps_connection(c, r, "Content-Type '" + type + "'");
  }
  expect_good_progress("after wrong content types");
}

TEST_F(BadInput, BodyOverTheLimitIs413BeforeItIsSent) {
  // (Waiting for the socket to become readable proves nothing here: TLS 1.3
  // session tickets are there to read from the start. Without an answer the
  // reads below fail when the server gives up on the body at the header timeout.)
  const double too_large = sample("meshinject_http_request_errors_total", "{kind=\"too-large\"}");
  {
    // 100 MiB announced against a 1 MiB limit; 64 KiB sent.
    http_connection c(port(), tls());
    c.send_raw("POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n");
    c.try_send_raw(std::string(64 * 1024, '{'));
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, 413);
    EXPECT_TRUE(r.connection_close());
    EXPECT_TRUE(c.closed_by_peer(30s));
  }
  {
    // With Expect: 100-continue the client gets the 413 instead of a 100.
    http_connection c(port(), tls());
    c.send_raw("POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
               "Content-Length: 2000000\r\n\r\n");
    const http_response r = c.read_head();
    EXPECT_EQ(r.status, 413) << "not 100 Continue for a body that will be refused";
    EXPECT_TRUE(c.closed_by_peer(30s));
  }
  {
    // A chunked body cannot be refused up front: it is read up to the limit,
    // and refused as soon as it passes it (here 1 MiB + 128 KiB are sent).
    http_connection c(port(), tls());
    c.send_raw("POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
    for (int i = 0; i < 18; ++i) ASSERT_TRUE(c.try_send_raw(chunk)) << "chunk " << i;
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, 413);
    EXPECT_TRUE(r.connection_close());
    EXPECT_TRUE(c.closed_by_peer(30s));
  }
  EXPECT_TRUE(eventually(
      [&] { return sample("meshinject_http_request_errors_total", "{kind=\"too-large\"}") == too_large + 3; }, 30s));
  expect_good_progress("after bodies over the limit");
}

TEST_F(BadInput, WrongMethodIs405) {
  const std::string review = review_file("orders-pod");
  http_connection c(port(), tls());
  for (const std::string method : {"GET", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"}) {
    c.send_raw(raw_request(method, "/inject", method == "GET" || method == "OPTIONS" ? "" : review));
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.header("allow"), "POST") << method;
    expect_keeps_connection(c, r, method);
  }
  {
    const http_response r = c.request("HEAD", "/inject", {}, {});
    EXPECT_EQ(r.status, 405);
    EXPECT_TRUE(r.body.empty());
    expect_keeps_connection(c, r, "HEAD");
  }
  c.send_raw(raw_request("POST", "/health", "x"));
  http_response r = c.read_response();
  EXPECT_EQ(r.status, 405);
  expect_keeps_connection(c, r, "POST /health");
  expect_good_progress("after wrong methods");
}

TEST_F(BadInput, UnknownPathIs404) {
  const std::string review = review_file("orders-pod");
  http_connection c(port(), tls());
  for (const std::string target : {"/", "/nope", "/injectx", "/INJECT", "/inject-other", "/metrics", "/readyz",
                                   "//inject", "*", "/%ff%fe"}) {
    c.send_raw(raw_request("POST", target, review));
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, 404) << target;
    expect_keeps_connection(c, r, target);
  }
  expect_good_progress("after unknown paths");
}

TEST_F(BadInput, TruncatedJsonIs400WithAJsonError) {
  std::string review = review_file("orders-pod");
  while (!review.empty() && std::isspace(static_cast<unsigned char>(review.back()))) review.pop_back();
  http_connection c(port(), tls());
  for (const std::size_t keep : {std::size_t{1}, std::size_t{2}, review.size() / 3, review.size() / 2, review.size() - 1}) {
    c.send_raw(post_inject(review.substr(0, keep)));
    const http_response r = c.read_response();
    EXPECT_TRUE(json_error(r)) << "cut at " << keep;
    expect_keeps_connection(c, r, "cut at " + std::to_string(keep));
  }
  expect_good_progress("after truncated JSON");
}

TEST_F(BadInput, JsonOfTheWrongShapeIs400WithAJsonError) {
  // SPEC: "undecodable review 400 with a JSON error body". (Istio answers 200
  // with allowed: false here; the apiserver treats both as a webhook failure.)
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not an object", "[]"},
      {"a string", "\"AdmissionReview\""},
      {"null", "null"},
      {"no request", R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})"},
      {"request null", review_with_request("null")},
      {"request a list", review_with_request(R"([{"uid":"u"}])")},
      {"request a string", review_with_request(R"("request")")},
      {"request a number", review_with_request("42")},
      {"no uid", review_with_request(R"({"kind":{"kind":"Pod","version":"v1"},"operation":"CREATE","object":{}})")},
      {"uid a number", review_with_request(R"({"uid":7,"operation":"CREATE"})")},
      {"object missing", review_with_request(R"({"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE"})")},
      {"object null", review_with_request(R"({"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":null})")},
      {"object a list", review_with_request(R"({"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":[]})")},
      {"containers an object",
       replaced(small_pod_review("n"), R"([{"name":"app","image":"busybox"}])", R"({"name":"app","image":"busybox"})")},
      {"annotation not a string", replaced(small_pod_review("n"), R"("note":"n")", R"("note":{})")},
      {"wrong apiVersion", R"({"apiVersion":"v1","kind":"AdmissionReview","request":{"uid":"u"}})"},
      {"wrong kind", R"({"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"u"}})"},
  };
  http_connection c(port(), tls());
  for (const auto& [what, body] : cases) {
    c.send_raw(post_inject(body));
    const http_response r = c.read_response();
    EXPECT_TRUE(json_error(r)) << what << ": " << body;
    expect_keeps_connection(c, r, what);
  }
  // The messages say what is wrong.
  auto error_of = [&](const std::string& body) {
    return json::parse(c.request("POST", "/inject", body).body)["error"].get<std::string>();
  };
  EXPECT_NE(error_of(cases[3].second).find("request"), std::string::npos);
  EXPECT_NE(error_of(cases[5].second).find("request"), std::string::npos);
  EXPECT_NE(error_of(cases[10].second).find("object"), std::string::npos);
  expect_good_progress("after JSON of the wrong shape");
}

TEST_F(BadInput, VeryDeepNestingIs400AndModerateNestingIsFine) {
  http_connection c(port(), tls());
  const std::vector<std::pair<std::string, std::string>> deep = {
      {"100k brackets", std::string(100'000, '[')},
      {"100k balanced brackets", std::string(100'000, '[') + std::string(100'000, ']')},
      {"50k objects", [] {
         std::string s;
         for (int i = 0; i < 50'000; ++i) s += "{\"a\":";
         s += "1";
         s.append(50'000, '}');
         return s;
       }()},
      {"5000 deep inside a pod", small_pod_review("n", std::string(5000, '[') + std::string(5000, ']'))},
  };
  for (const auto& [what, body] : deep) {
    c.send_raw(post_inject(body));
    const http_response r = c.read_response();
    EXPECT_TRUE(json_error(r)) << what;
    expect_keeps_connection(c, r, what);
  }
  // Nesting an apiserver could send (it has its own depth limit) is not refused.
  const http_response r = c.request("POST", "/inject", small_pod_review("n", std::string(200, '[') + std::string(200, ']')));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["response"]["allowed"], true);
  expect_good_progress("after deep nesting");
}

TEST_F(BadInput, InvalidUtf8Is400WithAValidJsonError) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"0xff in a value", small_pod_review("a\xff" "b")},
      {"lone continuation byte", small_pod_review("a\x80")},
      {"overlong '/'", small_pod_review("\xc0\xaf")},
      {"UTF-16 surrogate as UTF-8", small_pod_review("\xed\xa0\x80")},
      {"truncated sequence", small_pod_review("\xe2\x82")},
      {"beyond U+10FFFF", small_pod_review("\xf4\x90\x80\x80")},
      {"in a key", replaced(small_pod_review("n"), "note", "n\xfe")},
      {"in an ignored field", small_pod_review("n", "\"\xff\"")},
      // Escapes that decode to no valid code point: a lone surrogate.
      {"escaped lone surrogate", small_pod_review("\\ud800")},
      {"escaped lone low surrogate", small_pod_review("\\udc00x")},
  };
  http_connection c(port(), tls());
  for (const auto& [what, body] : cases) {
    c.send_raw(post_inject(body));
    const http_response r = c.read_response();
    // json::accept checks that the error body is valid UTF-8 itself.
    EXPECT_TRUE(json_error(r)) << what;
    expect_keeps_connection(c, r, what);
  }
  // Valid multi-byte text is of course fine.
  http_response r = c.request("POST", "/inject", small_pod_review("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x9a\x80"));
  EXPECT_EQ(r.status, 200) << r.body;
  // Invalid UTF-8 in /inject path values becomes U+FFFD in the patch, as Go's
  // json.Marshal does in Istio: the patch stays valid JSON (the parse checks).
  r = c.request("POST", "/inject/net/%ff%fe/foo/ok", small_pod_review("n"));
  ASSERT_EQ(r.status, 200) << r.body;
  const json patch = response_patch(json::parse(r.body));
  bool found = false;
  for (const auto& op : patch)
    if (op["path"] == "/spec/containers/-")
      for (const auto& e : op["value"]["env"])
        if (e["name"] == "ISTIO_META_NETWORK") found = e["value"] == "\xef\xbf\xbd\xef\xbf\xbd";
  EXPECT_TRUE(found) << patch.dump();
  expect_good_progress("after invalid UTF-8");
}

TEST_F(BadInput, HugeHeadersAre431AndClose) {
  const std::string review = review_file("orders-pod");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"one 40 KiB header", raw_request("POST", "/inject", review, "application/json",
                                        "X-Big: " + std::string(40 * 1024, 'a') + "\r\n")},
      {"a 20 KiB target", raw_request("POST", "/inject?" + std::string(20 * 1024, 'q'), review)},
      {"a 512 KiB header", raw_request("GET", "/health", {}, {}, "X-Big: " + std::string(512 * 1024, 'a') + "\r\n")},
  };
  for (const auto& [what, raw] : cases) {
    http_connection c(port(), tls());
    c.try_send_raw(raw);  // the server may stop reading half-way
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, 431) << what;
    EXPECT_TRUE(r.connection_close()) << what;
    EXPECT_TRUE(c.closed_by_peer(30s)) << what;
  }
  // Just under the limit is served.
  const http_response r =
      ask(raw_request("POST", "/inject", review, "application/json", "X-Big: " + std::string(14 * 1024, 'a') + "\r\n"));
  EXPECT_EQ(r.status, 200);
  expect_good_progress("after huge headers");
}

TEST_F(BadInput, ThousandsOfHeaders) {
  const std::string review = review_file("opt-out-pod");
  auto many = [](int n) {
    std::string h;
    for (int i = 0; i < n; ++i) h += "X:" + std::to_string(i % 10) + "\r\n";
    return h;
  };
  {
    // 2,500 fields fit in the 16 KiB header limit: an ordinary request.
    http_connection c(port(), tls());
    c.send_raw(raw_request("POST", "/inject", review, "application/json", many(2500)));
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, 200) << r.body;
    expect_keeps_connection(c, r, "2,500 header fields");
  }
  {
    http_connection c(port(), tls());
    c.try_send_raw(raw_request("POST", "/inject", review, "application/json", many(20'000)));
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, 431);
    EXPECT_TRUE(c.closed_by_peer(30s));
  }
  expect_good_progress("after thousands of headers");
}

TEST_F(BadInput, MalformedFramingIs400AndCloses) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no colon", "GET /health HTTP/1.1\r\nNo colon here\r\n\r\n"},
      {"bad Content-Length", "POST /inject HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"},
      {"two Content-Lengths", "POST /inject HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
      {"bad chunk size", "POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
      {"not HTTP", "HELLO\r\n\r\n"},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
      {"NUL in the target", "GET /he\0lth HTTP/1.1\r\nHost: x\r\n\r\n"s},
  };
  for (const auto& [what, raw] : cases) {
    http_connection c(port(), tls());
    c.send_raw(raw);
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, 400) << what;
    EXPECT_TRUE(r.connection_close()) << what;
    EXPECT_TRUE(c.closed_by_peer(30s)) << what;
  }
  expect_good_progress("after malformed framing");
}

TEST_F(BadInput, SlowlorisClientsAreCutOffAtTheHeaderTimeout) {
  const double timeouts = sample("meshinject_http_request_errors_total", "{kind=\"header-timeout\"}");
  const double handshake_errors = sample("meshinject_tls_handshake_errors_total");
  struct slow {
    std::unique_ptr<http_connection> tls;  // a request that never ends, or
    int fd = -1;                            // a TLS handshake that never ends
    clock_type::time_point started;
    std::atomic<int> trickled{0};
  };
  std::vector<std::unique_ptr<slow>> slows;
  constexpr int in_header = 20, in_body = 20, in_handshake = 10;
  for (int i = 0; i < in_header + in_body; ++i) {
    auto s = std::make_unique<slow>();
    s->tls = std::make_unique<http_connection>(port(), tls());
    s->started = clock_type::now();
    s->tls->send_raw(i < in_header ? std::string("POST /inject HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                                   : replaced(post_inject(std::string(100, ' ')), "Content-Length: 100",
                                              "Content-Length: 100000"));
    slows.push_back(std::move(s));
  }
  for (int i = 0; i < in_handshake; ++i) {
    auto s = std::make_unique<slow>();
    s->fd = connect_tcp(port());
    ASSERT_GE(s->fd, 0);
    s->started = clock_type::now();
    // A handshake record announcing 512 bytes, which then come one at a time.
    ASSERT_EQ(::send(s->fd, "\x16\x03\x01\x02\x00", 5, MSG_NOSIGNAL), 5);
    slows.push_back(std::move(s));
  }
  std::atomic<bool> stop{false};
  std::thread trickler([&] {
    while (!stop) {
      for (auto& s : slows) {
        const bool sent = s->tls ? s->tls->try_send_raw("a") : ::send(s->fd, "\0", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1;
        if (sent) ++s->trickled;
      }
      std::this_thread::sleep_for(100ms);
    }
  });

  // While all of them hang on, the good client is served.
  const auto first_cut = slows.front()->started + header_timeout;
  expect_good_progress("while 50 slowloris clients are connected",
                       std::chrono::duration_cast<std::chrono::milliseconds>(first_cut - clock_type::now() - 100ms));

  // Each is closed after the header timeout although bytes keep coming.
  const auto deadline = clock_type::now() + header_timeout + 30s;  // a give-up
  for (auto& s : slows) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    const bool closed = s->tls ? s->tls->closed_by_peer(left) : raw_closed(s->fd, left);
    const auto lived = clock_type::now() - s->started;
    EXPECT_TRUE(closed) << "a slowloris client is still connected after " << (lived / 1ms) << " ms";
    EXPECT_GE(lived, header_timeout - 100ms) << "closed before the header timeout";
    EXPECT_GE(s->trickled, 5) << "it was not trickling";
  }
  stop = true;
  trickler.join();
  for (auto& s : slows)
    if (s->fd >= 0) ::close(s->fd);
  EXPECT_TRUE(eventually(
      [&] {
        return sample("meshinject_http_request_errors_total", "{kind=\"header-timeout\"}") ==
               timeouts + in_header + in_body + in_handshake;
      },
      2s))
      << sample("meshinject_http_request_errors_total", "{kind=\"header-timeout\"}") - timeouts;
  EXPECT_EQ(sample("meshinject_tls_handshake_errors_total"), handshake_errors + in_handshake);
}

// Not bad input, but what a slow client looks like: a header that arrives in
// pieces is parsed across reads. The server reads one TLS record at a time, so
// each send_raw below is one read; the first piece holds the whole request line,
// which the parser consumes on its own.
TEST_F(BadInput, AHeaderArrivingInPiecesIsServed) {
  const std::string review = review_file("orders-pod");
  const std::string request = post_inject(review);
  const std::size_t head = request.size() - review.size();
  const std::size_t first_line = request.find("\r\n") + 2;
  http_connection c(port(), tls());
  for (const std::size_t split : {first_line, first_line + 3, request.find("Content-Type"), head - 1}) {
    c.send_raw(request.substr(0, split));
    c.send_raw(request.substr(split));
    const http_response r = c.read_response();
    ASSERT_EQ(r.status, 200) << "split at " << split << ": " << r.body;
    EXPECT_EQ(json::parse(r.body)["response"]["allowed"], true);
  }
  // One byte per read.
  for (std::size_t i = 0; i < head; ++i) c.send_raw(request.substr(i, 1));
  c.send_raw(review);
  EXPECT_EQ(c.read_response().status, 200);
  // Behind a pipelined request, whose bytes are already buffered.
  c.send_raw(post_inject(review_file("opt-out-pod")) + request.substr(0, first_line + 5));
  c.send_raw(request.substr(first_line + 5));
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(c.read_response().status, 200);
  expect_good_progress("after headers in pieces");
}

TEST_F(BadInput, ClientsThatDisconnectMidRequest) {
  const double disconnects = sample("meshinject_http_request_errors_total", "{kind=\"disconnect\"}");
  const double handshake_errors = sample("meshinject_tls_handshake_errors_total");
  const std::string review = review_file("orders-pod");
  const std::string full = post_inject(review);
  const std::string half_header = full.substr(0, full.find("Content-Type") + 5);
  const std::string half_body = full.substr(0, full.size() - review.size() / 2);
  constexpr int n = 10;
  for (int i = 0; i < n; ++i) {
    {
      http_connection c(port(), tls());
      c.send_raw(half_header);
    }
    {
      http_connection c(port(), tls());
      c.send_raw(half_body);
    }
    {
      // The same, with a reset instead of a FIN.
      http_connection c(port(), tls());
      c.send_raw(half_body);
      reset_on_close(c.fd());
    }
    {
      const int fd = connect_tcp(port());
      ASSERT_GE(fd, 0);
      const std::string half_hello = std::string("\x16\x03\x01\x02\x00", 5) + std::string(100, '\x01');
      ASSERT_GT(::send(fd, half_hello.data(), half_hello.size(), MSG_NOSIGNAL), 0);
      ::close(fd);
    }
  }
  // The resets may reach the server before it has read the bytes sent ahead of
  // them; such a client counts as one that left between requests.
  EXPECT_TRUE(eventually(
      [&] { return sample("meshinject_http_request_errors_total", "{kind=\"disconnect\"}") >= disconnects + 2 * n; },
      3s));
  EXPECT_LE(sample("meshinject_http_request_errors_total", "{kind=\"disconnect\"}"), disconnects + 3 * n);
  // The resets can, in principle, overtake the client's Finished as well.
  EXPECT_TRUE(eventually([&] { return sample("meshinject_tls_handshake_errors_total") >= handshake_errors + n; }, 30s));
  EXPECT_LE(sample("meshinject_tls_handshake_errors_total"), handshake_errors + 2 * n);
  expect_good_progress("after clients went away mid-request");
}

TEST_F(BadInput, ClientsThatDisconnectMidResponse) {
  const double disconnects = sample("meshinject_http_request_errors_total", "{kind=\"disconnect\"}");
  const std::string one = post_inject(review_file("orders-pod"));
  // Many pipelined requests, then a close without reading a byte (a reset,
  // since unread data is left behind).
  std::string twenty;
  for (int i = 0; i < 20; ++i) twenty += one;
  for (int i = 0; i < 20; ++i) {
    http_connection c(port(), tls());
    c.send_raw(twenty);
  }
  {
    // A client that stops reading: once its window is full the server cannot
    // finish a response, and stops reading requests; then the sending side
    // stalls too. Writes time out after 300 ms of no progress.
    client_options o = tls();
    o.timeout = 300ms;
    http_connection c(port(), o);
    std::string batch;
    for (int i = 0; i < 16; ++i) batch += one;
    std::size_t sent = 0;
    bool stalled = false;
    while (sent < 64u * 1024 * 1024) {
      if (!c.try_send_raw(batch)) {
        stalled = true;
        break;
      }
      sent += batch.size();
    }
    ASSERT_TRUE(stalled) << "the server kept reading requests it could not answer (" << sent << " bytes)";
    // The server is stuck writing to this client; others are not affected.
    expect_good_progress("while a client does not read its responses");
  }
  EXPECT_TRUE(eventually(
      [&] { return sample("meshinject_http_request_errors_total", "{kind=\"disconnect\"}") >= disconnects + 1; }, 30s));
  expect_good_progress("after clients went away mid-response");
}

TEST_F(BadInput, TlsGarbageIsRefused) {
  const double handshake_errors = sample("meshinject_tls_handshake_errors_total");
  std::mt19937 prng(20240531);
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    std::string junk(1 + prng() % 4096, '\0');
    for (char& ch : junk) ch = static_cast<char>(prng());
    if (i % 2 == 0) {
      junk[0] = '\x16';  // a handshake record of random content
      junk.insert(1, "\x03\x01\x00\x40", 4);
      junk.resize(std::max<std::size_t>(junk.size(), 5 + 0x40));
    } else {
      junk[0] = '\x42';  // not a record at all
    }
    const int fd = connect_tcp(port());
    ASSERT_GE(fd, 0);
    ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    std::string got;
    EXPECT_TRUE(raw_closed(fd, 5s, &got)) << "garbage " << i << " left the connection open";
    EXPECT_EQ(got.find("HTTP/"), std::string::npos);
    ::close(fd);
    ++refused;
  }
  {
    // Garbage after a good handshake: a record that fails to decrypt.
    http_connection c(port(), tls());
    ASSERT_EQ(c.request("GET", "/health", {}, {}).status, 200);
    std::string record("\x17\x03\x03\x00\x20", 5);
    for (int i = 0; i < 0x20; ++i) record += static_cast<char>(prng());
    ASSERT_GT(::send(c.fd(), record.data(), record.size(), MSG_NOSIGNAL), 0);
    EXPECT_TRUE(c.closed_by_peer(30s));
  }
  EXPECT_TRUE(
      eventually([&] { return sample("meshinject_tls_handshake_errors_total") == handshake_errors + refused; }, 30s));
  expect_good_progress("after TLS garbage");
}

TEST_F(BadInput, PlainHttpOnTheTlsPortIsClosed) {
  const double handshake_errors = sample("meshinject_tls_handshake_errors_total");
  for (const std::string& req : {std::string("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                                post_inject(review_file("orders-pod")), std::string("GET / HTTP/1.0\r\n\r\n")}) {
    const int fd = connect_tcp(port());
    ASSERT_GE(fd, 0);
    ASSERT_GT(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), 0);
    std::string got;
    EXPECT_TRUE(raw_closed(fd, 5s, &got)) << "a plain HTTP client was left hanging";
    EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << "plain HTTP was served on the TLS port";
    ::close(fd);
  }
  EXPECT_TRUE(eventually([&] { return sample("meshinject_tls_handshake_errors_total") == handshake_errors + 3; }, 30s));
  expect_good_progress("after plain HTTP on the TLS port");
}

TEST_F(BadInput, OldTlsVersionsAreRefused) {
  for (const int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    client_options o = tls();
    o.min_version = o.max_version = version;
    o.cipher_list = "DEFAULT@SECLEVEL=0";
    try {
      http_connection c(port(), o);
      ADD_FAILURE() << "TLS version " << std::hex << version << " was accepted: " << c.tls_version();
    } catch (const client_error& e) {
      // The server's protocol_version alert, so the client did offer it.
      EXPECT_NE(std::string(e.what()).find("protocol version"), std::string::npos) << e.what();
    }
  }
  // The same client settings with TLS 1.2 work: the refusal is the version's.
  client_options o = tls();
  o.min_version = o.max_version = TLS1_2_VERSION;
  o.cipher_list = "DEFAULT@SECLEVEL=0";
  http_connection c(port(), o);
  EXPECT_EQ(c.tls_version(), "TLSv1.2");
  EXPECT_EQ(c.request("GET", "/health", {}, {}).status, 200);
  expect_good_progress("after old TLS versions");
}

// 100,000 bad requests of the kinds above (20,000 under the sanitizers), on
// keep-alive connections the server keeps and on connections it closes, from
// several clients at once; afterwards the server's RSS is where it was and the
// counters add up exactly.
TEST_F(BadInput, AHundredThousandBadRequestsLeakNothing) {
  struct kind {
    std::string raw;
    int status;
    bool injection_failure;  // counted in sidecar_injection_failure_total
  };
  const std::string review = review_file("orders-pod");
  const std::vector<kind> kept = {
      {post_inject(review.substr(0, 300)), 400, true},
      {post_inject(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})"), 400, true},
      {post_inject(review_with_request("[1,2]")), 400, true},
      {post_inject(review_with_request(R"({"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE"})")), 400, true},
      {post_inject(small_pod_review("a\xff")), 400, true},
      {post_inject(std::string(3000, '[')), 400, true},
      {post_inject(""), 400, true},
      {post_inject("{}", "text/plain"), 415, true},
      {raw_request("PUT", "/inject", "{}"), 405, true},
      {raw_request("GET", "/nope", {}, {}), 404, false},
  };
  // One per connection, at its end: the server answers and closes.
  const std::vector<kind> closing = {
      {"POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n" +
           std::string(1000, ' '),
       413, true},
      {"GET /health HTTP/1.1\r\nNo colon here\r\n\r\n", 400, false},
      {"GET /health HTTP/1.1\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n", 431, false},
  };
  const std::string garbage = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";  // plain HTTP on the TLS port

  struct totals {
    std::atomic<long> requests{0}, wrong{0}, garbage{0}, injection_failures{0};
    std::array<std::atomic<long>, 600> by_status{};
    std::mutex mutex;
    std::string first_wrong;
  };
  constexpr int batch = 64, batches_per_connection = 8, workers = 4;
  auto flood = [&](long target, totals& t) {
    auto worker = [&](unsigned seed) {
      std::mt19937 prng(seed);
      auto wrong = [&](const std::string& why) {
        ++t.wrong;
        std::lock_guard lock(t.mutex);
        if (t.first_wrong.empty()) t.first_wrong = why;
      };
      auto count = [&](const kind& k) {
        ++t.requests;
        ++t.by_status[static_cast<std::size_t>(k.status)];
        if (k.injection_failure) ++t.injection_failures;
      };
      std::vector<const kind*> sent;
      while (t.requests < target && t.wrong < 100) {
        try {
          http_connection c(port(), tls());
          for (int b = 0; b < batches_per_connection; ++b) {
            std::string wire;
            sent.clear();
            for (int i = 0; i < batch; ++i) {
              sent.push_back(&kept[prng() % kept.size()]);
              wire += sent.back()->raw;
            }
            c.send_raw(wire);
            for (const kind* k : sent) {
              const http_response r = c.read_response();
              count(*k);
              if (r.status != k->status || r.connection_close())
                wrong("got " + std::to_string(r.status) + (r.connection_close() ? " (close)" : "") + " for " +
                      k->raw.substr(0, 80));
            }
          }
          const kind& last = closing[prng() % closing.size()];
          c.try_send_raw(last.raw);
          const http_response r = c.read_response();
          count(last);
          if (r.status != last.status || !r.connection_close())
            wrong("got " + std::to_string(r.status) + " for " + last.raw.substr(0, 80));
          if (!c.closed_by_peer(30s)) wrong("not closed after " + last.raw.substr(0, 80));
        } catch (const std::exception& e) {
          wrong(std::string("connection failed: ") + e.what());
        }
        const int fd = connect_tcp(port());
        if (fd < 0) {
          wrong("cannot connect");
          continue;
        }
        ::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL);
        if (!raw_closed(fd, 30s)) wrong("plain HTTP left open");
        ::close(fd);
        ++t.requests;
        ++t.garbage;
      }
    };
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) threads.emplace_back(worker, static_cast<unsigned>(w * 7919 + target));
    for (auto& th : threads) th.join();
  };

  const bool asan = sanitized();
  const long total = asan ? 20'000 : 100'000;
  {
    totals warm;
    flood(total / 10, warm);
    ASSERT_EQ(warm.wrong, 0) << warm.first_wrong;
  }
  const std::string m0 = metrics();
  const std::size_t rss_before = rss_kib(server_->pid());
  ASSERT_GT(rss_before, 0u);
  const auto t0 = clock_type::now();
  totals t;
  flood(total, t);
  const auto took = clock_type::now() - t0;
  const std::size_t rss_after = rss_kib(server_->pid());
  EXPECT_EQ(t.wrong, 0) << t.first_wrong;
  EXPECT_GE(t.requests, total);
  // ASan keeps up to 256 MiB of freed memory in quarantine (resident, on
  // purpose), and every closed connection frees its buffers and TLS state into
  // it: about 25 MiB for 20,000 requests. There the bound only catches a
  // runaway; LeakSanitizer at the server's exit (TearDownTestSuite) catches leaks.
  const std::size_t bound_kib = asan ? 128 * 1024 : 4 * 1024;
  EXPECT_LT(rss_after, rss_before + bound_kib) << "RSS grew by " << (static_cast<long>(rss_after) - static_cast<long>(rss_before))
                                               << " KiB";
  std::printf("[          ] %ld bad requests in %lld ms; server RSS %zu KiB before, %zu KiB after (%+ld KiB)\n",
              t.requests.load(), static_cast<long long>(took / 1ms), rss_before, rss_after,
              static_cast<long>(rss_after) - static_cast<long>(rss_before));

  // The counters add up: every answer by its code, the refused handshakes, and
  // the failed AdmissionReviews (the good client's only succeed).
  const std::string m1 = metrics();
  auto delta = [&](const std::string& name, const std::string& labels = "") {
    return metric(m1, name, labels).value_or(-1) - metric(m0, name, labels).value_or(-1);
  };
  for (const int code : {400, 404, 405, 413, 415})
    EXPECT_EQ(delta("meshinject_http_responses_total", "{code=\"" + std::to_string(code) + "\"}"),
              static_cast<double>(t.by_status[static_cast<std::size_t>(code)]))
        << code;
  EXPECT_EQ(delta("meshinject_http_request_errors_total", "{kind=\"too-large\"}"),
            static_cast<double>(t.by_status[413] + t.by_status[431]));
  EXPECT_EQ(delta("meshinject_tls_handshake_errors_total"), static_cast<double>(t.garbage));
  EXPECT_EQ(delta("sidecar_injection_failure_total"), static_cast<double>(t.injection_failures));
  EXPECT_GT(delta("sidecar_injection_success_total"), 0) << "the good client";
}

// --client-ca: a client without a certificate, or with one from another CA, is
// refused; one with a certificate from the client CA is served.
TEST(BadInputClientCa, ClientsWithoutACertificateAreRefused) {
  if (meshinject_binary().empty()) GTEST_SKIP() << "MESHINJECT_BINARY is not set";
  temp_dir dir;
  const fs::path d = dir.path();
  auto openssl = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run_command(argv);
    ASSERT_EQ(r.status, 0) << r.output;
  };
  auto make_ca = [&](const std::string& name) {
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
             "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
             "-keyout", (d / (name + ".key")).string(), "-out", (d / (name + ".pem")).string()});
  };
  auto make_client = [&](const std::string& ca, const std::string& name) {
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
             "/CN=" + name, "-addext", "extendedKeyUsage=clientAuth", "-CA", (d / (ca + ".pem")).string(), "-CAkey",
             (d / (ca + ".key")).string(), "-keyout", (d / (name + ".key")).string(), "-out",
             (d / (name + ".pem")).string()});
  };
  make_ca("client-ca");
  make_ca("other-ca");
  make_client("client-ca", "apiserver");
  make_client("other-ca", "stranger");
  if (HasFatalFailure()) return;
  server_process server({"--threads", "2", "--client-ca", (d / "client-ca.pem").string(), "--drain-seconds", "0",
                         "--self-signed-ca-out", (d / "server-ca.pem").string()},
                        d / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();

  client_options with;
  with.ca_file = (d / "server-ca.pem").string();
  with.cert_file = (d / "apiserver.pem").string();
  with.key_file = (d / "apiserver.key").string();
  good_client good(server.port(), with);

  client_options without;
  without.ca_file = with.ca_file;
  client_options stranger = with;
  stranger.cert_file = (d / "stranger.pem").string();
  stranger.key_file = (d / "stranger.key").string();
  for (const auto& [what, options] : {std::pair{"no certificate", without}, std::pair{"another CA", stranger}}) {
    // With TLS 1.3 the client's side of the handshake completes before the server
    // checks the certificate: the refusal shows on the first read.
    EXPECT_THROW(
        {
          http_connection c(server.port(), options);
          (void)c.request("POST", "/inject", review_file("orders-pod"));
        },
        client_error)
        << what << ", TLS 1.3";
    client_options tls12 = options;
    tls12.max_version = TLS1_2_VERSION;
    EXPECT_THROW(http_connection(server.port(), tls12), client_error) << what << ", TLS 1.2";
  }
  http_connection c(server.port(), with);
  EXPECT_EQ(c.request("POST", "/inject", review_file("orders-pod")).status, 200);

  const long before = good.ok();
  EXPECT_TRUE(eventually([&] { return good.ok() >= before + 2; }, 30s));
  good.stop();
  EXPECT_EQ(good.failed(), 0) << good.failures();
  client_options plain;
  plain.tls = false;
  EXPECT_EQ(metric(fetch(server.admin_port(), "GET", "/metrics", {}, plain).body, "meshinject_tls_handshake_errors_total"),
            4);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(20s), 0) << server.log();
}

}  // namespace
}  // namespace meshinject::test
