// The attack suite's wire half (issue 16): hostile clients against the real
// `meshinject serve` over its TLS port. Every row asserts the answer it gets (a
// status, a refused handshake, a closed connection), then that the next good
// review is answered correctly, that the process is alive and, outside
// sanitizer builds, that its resident memory stays below a bound. Rows wait for
// events (a response, a close, a metric), never for a duration. The rows'
// names, what they assert and the bounds they meet are listed in
// docs/operations.md ("Limits and behaviour under attack").

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/support.hpp"

namespace meshinject::test {
namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

// Resident memory a replica may reach under any row (an idle replica holds
// ~20 MiB; the connection flood below holds the most).
constexpr long rss_bound_kib = 256 * 1024;
constexpr int max_connections = 64;

long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(1 << 12, '\n');
  }
  return -1;
}

std::string review_with(const std::string& needle, const std::string& with) {
  std::string text = make_review(json::parse(R"({"metadata":{"name":"web","namespace":"shop","labels":{"app":"web"},
      "annotations":{"note":"n"}},"spec":{"containers":[{"name":"app","image":"app:1","ports":[{"containerPort":8080}]}]}})"),
                                 "admission.k8s.io/v1", "uid-1", "shop");
  if (needle.empty()) return text;
  const std::size_t at = text.find(needle);
  if (at == std::string::npos) ADD_FAILURE() << "no " << needle << " in " << text;
  else text.replace(at, needle.size(), with);
  return text;
}

std::string post(const std::string& body, const std::string& extra_headers = "") {
  return "POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class WireAttack : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (meshinject_binary().empty()) return;
    dir_ = std::make_unique<temp_dir>();
    server_ = std::make_unique<server_process>(
        std::vector<std::string>{"--threads", "2", "--max-connections", std::to_string(max_connections),
                                 "--self-signed-ca-out", (dir_->path() / "ca.pem").string()},
        dir_->path() / "server");
    if (!server_->wait_ready()) {
      ADD_FAILURE() << server_->log();
      server_.reset();
    }
  }
  static void TearDownTestSuite() {
    server_.reset();
    dir_.reset();
  }
  void SetUp() override {
    if (meshinject_binary().empty()) GTEST_SKIP() << "MESHINJECT_BINARY is not set";
    ASSERT_NE(server_, nullptr);
  }

  static client_options tls() {
    client_options o;
    o.ca_file = (dir_->path() / "ca.pem").string();
    return o;
  }
  static std::uint16_t port() { return server_->port(); }
  static double sample(const std::string& name) {
    client_options o;
    o.tls = false;
    return metric(fetch(server_->admin_port(), "GET", "/metrics", {}, o).body, name).value_or(-1);
  }

  // What every row ends with: the next good review is answered, with its own uid
  // and a patch; the process is alive; its memory is bounded.
  static void expect_unharmed(const std::string& row) {
    SCOPED_TRACE(row);
    const std::string good = review_with(R"("uid":"uid-1")", R"("uid":"good-after-row")");
    http_connection c(port(), tls());
    const http_response r = c.request("POST", "/inject", good);
    ASSERT_EQ(r.status, 200) << r.body;
    const json answer = json::parse(r.body);
    EXPECT_EQ(answer["response"]["uid"], "good-after-row");
    EXPECT_EQ(answer["response"]["allowed"], true);
    EXPECT_EQ(answer["response"]["patchType"], "JSONPatch");
    EXPECT_EQ(::kill(server_->pid(), 0), 0) << "the server is gone";
    EXPECT_FALSE(server_->wait_exit(0ms).has_value()) << server_->log();
    if (!sanitized) {
      const long rss = rss_kib(server_->pid());
      EXPECT_GT(rss, 0);
      EXPECT_LT(rss, rss_bound_kib) << "resident memory after the row";
    }
  }

  // /health on a new connection, while a flood may hold every slot: at the limit
  // a new connection takes the place of the one idle longest (docs/operations.md).
  static void expect_answered_during_flood(const std::string& row) {
    SCOPED_TRACE(row);
    EXPECT_EQ(fetch(port(), "GET", "/health", {}, tls()).status, 200);
  }

  static std::unique_ptr<temp_dir> dir_;
  static std::unique_ptr<server_process> server_;
};
std::unique_ptr<temp_dir> WireAttack::dir_;
std::unique_ptr<server_process> WireAttack::server_;

// ------------------------------------------------------ framing and smuggling
//
// Each head is followed by a smuggled `GET /health`: the refusal closes the
// connection, so the smuggled request must never get an answer of its own.

TEST_F(WireAttack, FramingAndSmugglingAreRefusedAndClosed) {
  const std::string smuggled = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
  const std::string body = review_with("", "");
  struct row {
    const char* name;
    std::string bytes;
    int status;
  };
  const std::string h = "POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
  const row rows[] = {
      {"Content-Length with Transfer-Encoding", h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"Transfer-Encoding with Content-Length", h + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
      {"two different Content-Length", h + "Content-Length: 2\r\nContent-Length: 20\r\n\r\n{}", 400},
      {"a Content-Length list", h + "Content-Length: 2, 2\r\n\r\n{}", 400},
      {"xchunked", h + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501},
      {"gzip, chunked", h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"chunked in HTTP/1.0", "POST /inject HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"a chunk size that is not hex", h + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400},
      {"a chunk of a terabyte", h + "Transfer-Encoding: chunked\r\n\r\nffffffffff\r\n{}\r\n0\r\n\r\n", 413},
      {"obsolete line folding", h + "X-A: a\r\n folded\r\nContent-Length: 2\r\n\r\n{}", 400},
      {"a bare CR", h + "X-A: a\rb\r\nContent-Length: 2\r\n\r\n{}", 400},
      {"a NUL in a header", h + std::string("X-A: a\0b\r\n", 10) + "Content-Length: 2\r\n\r\n{}", 400},
      {"a 20 KiB request line", "GET /" + std::string(20 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 431},
      {"a 20 KiB header section", h + "X-Long: " + std::string(20 * 1024, 'b') + "\r\n\r\n", 431},
      {"a body past --max-body", h + "Content-Length: 104857600\r\n\r\n", 413},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.name);
    http_connection c(port(), tls());
    c.send_raw(r.bytes + smuggled);
    const http_response answer = c.read_response();
    EXPECT_EQ(answer.status, r.status) << answer.body;
    EXPECT_TRUE(answer.connection_close());
    EXPECT_TRUE(c.closed_by_peer(30s)) << "the connection stayed open after a refusal";
    expect_unharmed(r.name);
  }
  // Pipelined good requests are still answered in order.
  http_connection c(port(), tls());
  c.send_raw(post(review_with(R"("uid":"uid-1")", R"("uid":"first")")) +
             post(review_with(R"("uid":"uid-1")", R"("uid":"second")")));
  EXPECT_EQ(json::parse(c.read_response().body)["response"]["uid"], "first");
  EXPECT_EQ(json::parse(c.read_response().body)["response"]["uid"], "second");
}

// ------------------------------------------------------------ JSON ambiguity

TEST_F(WireAttack, JsonAmbiguityIsReadAsTheApiserverReadsIt) {
  struct row {
    const char* name;
    std::string body;
    int status;
    std::function<void(const json&)> check;
  };
  const row rows[] = {
      {"a repeated uid answers the last", review_with(R"("uid":"uid-1")", R"("uid":"first","uid":"last")"), 200,
       [](const json& a) { EXPECT_EQ(a["response"]["uid"], "last"); }},
      {"repeated annotations objects decide on the last",
       review_with(R"("annotations":{)", R"("annotations":{"sidecar.istio.io/inject":"false"},"annotations":{)"), 200,
       [](const json& a) { EXPECT_EQ(a["response"]["patchType"], "JSONPatch") << a.dump(); }},
      {"a repeated annotation decides on the last",
       review_with(R"("note":"n")", R"("sidecar.istio.io/inject":"true","sidecar.istio.io/inject":"false")"), 200,
       [](const json& a) {
         EXPECT_EQ(a["response"]["allowed"], true);
         EXPECT_FALSE(a["response"].contains("patch")) << a.dump();
       }},
      {"a lone surrogate", review_with(R"("note":"n")", R"("note":"\ud800")"), 400,
       [](const json& a) { EXPECT_NE(a["error"].get<std::string>().find("surrogate"), std::string::npos) << a; }},
      {"a NUL in a key", review_with(R"("note":"n")", R"("no\u0000te":"n")"), 400,
       [](const json& a) { EXPECT_NE(a["error"].get<std::string>().find("NUL"), std::string::npos) << a; }},
      {"a port past int32", review_with(R"("containerPort":8080)", R"("containerPort":4294967296)"), 400,
       [](const json& a) { EXPECT_NE(a["error"].get<std::string>().find("out of range"), std::string::npos) << a; }},
      {"a number past double", review_with(R"("containerPort":8080)", R"("containerPort":1e999)"), 400,
       [](const json& a) { EXPECT_NE(a["error"].get<std::string>().find("number"), std::string::npos) << a; }},
      {"deep nesting", review_with(R"("note":"n")", R"("note":"n","x":)" + std::string(5000, '[') + std::string(5000, ']')),
       400, [](const json& a) { EXPECT_TRUE(a.contains("error")); }},
  };
  for (const row& r : rows) {
    SCOPED_TRACE(r.name);
    http_connection c(port(), tls());
    const http_response answer = c.request("POST", "/inject", r.body);
    EXPECT_EQ(answer.status, r.status) << answer.body;
    const json parsed = json::parse(answer.body, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << answer.body;
    r.check(parsed);
    expect_unharmed(r.name);
  }
}

// -------------------------------------------------------------- slow clients

TEST_F(WireAttack, HeadsThatNeverEndDoNotHoldUpOthers) {
  // Connections that started a request and stalled (as a client sending one byte
  // a second would): the others are answered while they wait.
  std::vector<std::unique_ptr<http_connection>> stalled;
  for (int i = 0; i < 16; ++i) {
    stalled.push_back(std::make_unique<http_connection>(port(), tls()));
    stalled.back()->send_raw(i % 2 ? "POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Le"
                                   : post(review_with("", "")).substr(0, 200));
  }
  for (int i = 0; i < 3; ++i) {
    const http_response health = fetch(port(), "GET", "/health", {}, tls());
    EXPECT_EQ(health.status, 200);
    expect_unharmed("stalled heads and bodies");
  }
}

// --------------------------------------------------------- connection floods

TEST_F(WireAttack, AnIdleConnectionFloodPastTheLimitMakesRoomForGoodClients) {
  const double evicted_before = sample("meshinject_connections_evicted_total");
  const double rejected_before = sample("meshinject_connections_rejected_total");
  // Plain TCP connections that never start their handshake, past the limit.
  std::vector<int> flood;
  for (int i = 0; i < max_connections + 32; ++i) {
    const int fd = connect_tcp(port());
    if (fd >= 0) flood.push_back(fd);
  }
  EXPECT_TRUE(eventually([&] { return sample("meshinject_connections_evicted_total") > evicted_before; }, 30s))
      << "nothing was evicted past --max-connections";
  // The flood is still open: /health and a good review are answered all the same.
  expect_answered_during_flood("idle TCP flood");
  expect_unharmed("idle TCP flood");
  EXPECT_EQ(sample("meshinject_connections_rejected_total"), rejected_before) << "a connection was refused";
  for (int fd : flood) ::close(fd);
  expect_unharmed("after the idle TCP flood");
}

TEST_F(WireAttack, ATlsHandshakeFloodDoesNotLockOutGoodClients) {
  const double evicted_before = sample("meshinject_connections_evicted_total");
  // Half the flood stops inside its handshake (a TLS record header announcing a
  // ClientHello that never comes), half finishes it and never sends a request.
  std::vector<int> stalled;
  std::vector<std::unique_ptr<http_connection>> silent;
  const char partial_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
  for (int i = 0; i < max_connections / 2 + 16; ++i) {
    const int fd = connect_tcp(port());
    if (fd < 0) continue;
    stalled.push_back(fd);
    (void)::send(fd, partial_hello, sizeof partial_hello, MSG_NOSIGNAL);
  }
  for (int i = 0; i < max_connections / 2 + 16; ++i) {
    try {
      silent.push_back(std::make_unique<http_connection>(port(), tls()));
    } catch (const client_error&) {
      // Evicted mid-handshake by the next one of the flood: part of the row.
    }
  }
  EXPECT_TRUE(eventually([&] { return sample("meshinject_connections_evicted_total") > evicted_before; }, 30s))
      << "nothing was evicted past --max-connections";
  expect_answered_during_flood("TLS handshake flood");
  expect_unharmed("TLS handshake flood");
  for (int fd : stalled) ::close(fd);
}

// ------------------------------------------------------------- slow readers

TEST_F(WireAttack, AClientThatDoesNotReadItsAnswersDoesNotHoldUpOthers) {
  // Pipelined reviews whose answers are never read, as from a client reading a
  // byte a second: the server stops reading from it once its answers fill the
  // socket (back-pressure), the others are answered, and a write that makes no
  // progress for --header-timeout closes it.
  const double disconnects_before = sample(R"(meshinject_http_request_errors_total{kind="disconnect"})");
  http_connection slow(port(), tls());
  const int small = 4096;  // the server's writes block sooner
  ::setsockopt(slow.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::string batch;
  for (int i = 0; i < 50; ++i) batch += post(review_with("", ""));
  // From a thread: it sends until its writes block past the client's timeout or
  // the server closes, whatever the socket buffers' sizes.
  std::thread sender([&] {
    while (slow.try_send_raw(batch)) {
    }
  });
  for (int i = 0; i < 3; ++i) {
    expect_answered_during_flood("slow reader");
    expect_unharmed("slow reader");
  }
  EXPECT_TRUE(eventually(
      [&] { return sample(R"(meshinject_http_request_errors_total{kind="disconnect"})") > disconnects_before; }, 60s))
      << "the write timeout did not close a client that stopped reading";
  sender.join();
  EXPECT_TRUE(slow.closed_by_peer(60s));
}

// ----------------------------------------------------------------------- TLS

TEST_F(WireAttack, OldTlsIsRefused) {
  for (const int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    client_options o = tls();
    o.min_version = o.max_version = version;
    o.cipher_list = "DEFAULT@SECLEVEL=0";
    EXPECT_THROW(http_connection(port(), o), client_error) << std::hex << version;
  }
  expect_unharmed("TLS 1.0 and 1.1");
}

TEST_F(WireAttack, ClientRenegotiationIsRefusedAndNothingIsCompressed) {
  // A raw OpenSSL client: TLS 1.2 (1.3 has no renegotiation), then a
  // renegotiation request on the established connection.
  const int fd = connect_tcp(port());
  ASSERT_GE(fd, 0);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  ASSERT_EQ(SSL_connect(ssl), 1);
  EXPECT_EQ(SSL_get_current_compression(ssl), nullptr) << "the session is compressed";
  EXPECT_STREQ(SSL_get_version(ssl), "TLSv1.2");
  // The server refuses (a no_renegotiation alert): the client's new handshake
  // fails. The receive timeout is a give-up should the server stay silent.
  timeval give_up{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &give_up, sizeof give_up);
  const bool renegotiated = SSL_renegotiate(ssl) == 1 && SSL_do_handshake(ssl) == 1;
  EXPECT_FALSE(renegotiated) << "a client-initiated renegotiation completed";
  ERR_clear_error();
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  expect_unharmed("renegotiation");
}

TEST_F(WireAttack, PlainHttpAndGarbageOnTheTlsPortAreClosed) {
  for (const std::string& bytes : {std::string("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), std::string(4096, '\x16'),
                                  std::string("\x16\x03\x01\xff\xff", 5) + std::string(100, 'A')}) {
    const int fd = connect_tcp(port());
    ASSERT_GE(fd, 0);
    ASSERT_GT(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), 0);
    timeval give_up{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &give_up, sizeof give_up);
    char buf[4096];
    std::string got;
    for (;;) {  // until the server closes (or the give-up)
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos);
    ::close(fd);
    expect_unharmed("not TLS on the TLS port");
  }
}

// ------------------------------------------------------------------- signals

// Its own server: SIGTERM ends it. Clients keep sending on keep-alive and
// one-shot connections; every request whose bytes were written is answered.
TEST(WireAttackSignals, SigtermUnderLoadLeavesNoSentRequestUnanswered) {
  if (meshinject_binary().empty()) GTEST_SKIP() << "MESHINJECT_BINARY is not set";
  temp_dir dir;
  server_process server({"--threads", "2", "--drain-seconds", "1", "--shutdown-grace", "120s",
                         "--self-signed-ca-out", (dir.path() / "ca.pem").string()},
                        dir.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();
  client_options o;
  o.ca_file = (dir.path() / "ca.pem").string();
  const std::string request = post(review_with("", ""));
  std::atomic<long> sent{0}, answered{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i)
    clients.emplace_back([&, keep_alive = i % 2 == 0] {
      for (;;) {
        std::unique_ptr<http_connection> c;
        try {
          c = std::make_unique<http_connection>(server.port(), o);
        } catch (const client_error&) {
          return;  // refused: the server stopped accepting
        }
        do {
          if (!c->try_send_raw(request)) break;
          sent++;
          try {
            const http_response r = c->read_response();
            if (r.status == 200) answered++;
            if (r.connection_close()) break;
          } catch (const client_error&) {
            break;
          }
        } while (keep_alive);
      }
    });
  // Threads end when the listener refuses them, so the signal is sent whatever happens.
  EXPECT_TRUE(eventually([&] { return answered > 100; }, 60s)) << server.log();
  server.signal(SIGTERM);
  for (auto& t : clients) t.join();
  const auto status = server.wait_exit(180s);
  ASSERT_TRUE(status.has_value()) << server.log();
  EXPECT_EQ(*status, 0) << server.log();
  EXPECT_EQ(sent.load(), answered.load()) << "requests sent but never answered";
}

}  // namespace
}  // namespace meshinject::test
