// Request framing over the real server (TLS on port 0, the test's own client):
// every head that two HTTP implementations could read as two different requests
// is refused, as nginx and Go's net/http refuse it (the stricter of the two where
// they differ), and the connection closes. Each refused request carries a second,
// well-formed request after it: it must never be answered, since a server that
// answered it would have read part of a body as a request (request smuggling).
#include <sys/socket.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/support.hpp"

namespace meshinject::test {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

std::string review_file(const std::string& name) {
  return read_file(source_dir() / "load" / "reviews" / (name + ".json"));
}

// What a smuggler hides in a body: a request of its own.
constexpr std::string_view smuggled = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

class Framing : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (meshinject_binary().empty()) return;
    dir_ = new temp_dir();
    // The drain after a refused body reads up to 8 MiB (by default 4 x the body limit).
    server_ = new server_process({"--threads", "2", "--max-body-bytes", "1Mi", "--max-linger-bytes", "8Mi",
                                  "--drain-seconds", "0",
                                  "--self-signed-ca-out", (dir_->path() / "ca.pem").string()},
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
  void TearDown() override {
    if (!ready_) return;
    // The server is alive and the next good requests are served.
    EXPECT_FALSE(server_->wait_exit(0ms).has_value()) << server_->log();
    EXPECT_EQ(fetch(port(), "GET", "/health", {}, tls()).status, 200);
    const http_response r = fetch(port(), "POST", "/inject", review_file("orders-pod"), tls());
    EXPECT_EQ(r.status, 200) << r.body;
  }

  static client_options tls() {
    client_options o;
    o.ca_file = (dir_->path() / "ca.pem").string();
    return o;
  }
  static std::uint16_t port() { return server_->port(); }

  // Sends `raw` followed by a smuggled request, then half-closes (so the server's
  // lingering close ends at once). The server must answer `status` with
  // `Connection: close` and nothing after it: no second response.
  static void expect_refused(const std::string& what, const std::string& raw, int status) {
    http_connection c(port(), tls());
    c.send_raw(raw + std::string(smuggled));
    ::shutdown(c.fd(), SHUT_WR);
    const http_response r = c.read_response();
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
    EXPECT_TRUE(r.connection_close()) << what;
    EXPECT_THROW(c.read_response(), client_error) << what << ": a second response; the body was read as a request";
  }

  static inline temp_dir* dir_ = nullptr;
  static inline server_process* server_ = nullptr;
  static inline bool ready_ = false;
};

std::string post_head(std::string_view fields) {
  return "POST /inject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + std::string(fields) + "\r\n";
}

TEST_F(Framing, ContentLengthWithTransferEncodingIs400AndCloses) {
  // RFC 9112 6.1 lets a server drop the Content-Length; nginx refuses, and so do we.
  expect_refused("Content-Length first",
                 post_head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n", 400);
  expect_refused("Transfer-Encoding first",
                 post_head("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n") + "0\r\n\r\n", 400);
  expect_refused("an unknown coding first",
                 post_head("Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n") + "abcde", 400);
}

TEST_F(Framing, RepeatedOrListedContentLengthIs400AndCloses) {
  // Go accepts a repeat with the same value; nginx refuses any repeat: the stricter.
  expect_refused("two equal", post_head("Content-Length: 2\r\nContent-Length: 2\r\n") + "{}", 400);
  expect_refused("two different", post_head("Content-Length: 2\r\nContent-Length: 60\r\n") + "{}", 400);
  expect_refused("a list of equal values", post_head("Content-Length: 2, 2\r\n") + "{}", 400);
  expect_refused("a sign", post_head("Content-Length: +2\r\n") + "{}", 400);
  expect_refused("not a number", post_head("Content-Length: 2x\r\n") + "{}", 400);
  expect_refused("empty", post_head("Content-Length: \r\n") + "{}", 400);
  expect_refused("beyond 64 bits", post_head("Content-Length: 99999999999999999999999\r\n") + "{}", 400);
}

TEST_F(Framing, TransferCodingsOtherThanChunkedAre501AndClose) {
  const std::string chunked_body = "2\r\n{}\r\n0\r\n\r\n";
  for (const std::string coding : {"xchunked", "gzip, chunked", "chunked, chunked", "identity", "gzip", "chunked;x=1"})
    expect_refused("Transfer-Encoding: " + coding, post_head("Transfer-Encoding: " + coding + "\r\n") + chunked_body,
                   501);
  // A second Transfer-Encoding field: nginx refuses a duplicate with 400 (Go: 501).
  expect_refused("two fields", post_head("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n") + chunked_body,
                 400);
  // HTTP/1.0 has no chunked coding: Go ignores the field (and reads no body),
  // nginx refuses it.
  expect_refused("in HTTP/1.0",
                 "POST /inject HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
                 "\r\n\r\n" + chunked_body,
                 400);
  // Any case of `chunked` is chunked.
  http_connection c(port(), tls());
  const std::string body = review_file("opt-out-pod");
  c.send_raw(post_head("Transfer-Encoding: Chunked\r\n") + "1\r\n" + body.substr(0, 1) + "\r\n" +
             [&] {
               char size[16];
               std::snprintf(size, sizeof size, "%zx\r\n", body.size() - 1);
               return std::string(size);
             }() +
             body.substr(1) + "\r\n0\r\n\r\n");
  const http_response r = c.read_response();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.connection_close());
}

TEST_F(Framing, MalformedChunkSizesAre400AndClose) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not hex", "zz\r\n{}\r\n0\r\n\r\n"},
      {"0x prefix", "0x2\r\n{}\r\n0\r\n\r\n"},
      {"negative", "-2\r\n{}\r\n0\r\n\r\n"},
      {"a sign", "+2\r\n{}\r\n0\r\n\r\n"},
      {"leading space", " 2\r\n{}\r\n0\r\n\r\n"},
      {"empty size line", "\r\n{}\r\n0\r\n\r\n"},
      {"beyond 64 bits", "1ffffffffffffffff\r\n{}\r\n0\r\n\r\n"},
      {"no CRLF after the data", "2\r\n{}xx0\r\n\r\n"},
      {"bare LF after the size", "2\n{}\r\n0\r\n\r\n"},
      {"a bad extension", "2;\x01\r\n{}\r\n0\r\n\r\n"},
  };
  for (const auto& [what, chunks] : cases)
    expect_refused(what, post_head("Transfer-Encoding: chunked\r\n") + chunks, 400);
  // A chunk that announces more than the body limit is refused before it is read.
  expect_refused("a chunk over the limit", post_head("Transfer-Encoding: chunked\r\n") + "200000\r\n{}", 413);
}

TEST_F(Framing, FoldingBareCrAndControlBytesInTheHeadAre400AndClose) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"obs-fold with SP", post_head("Content-Length: 2\r\nX-Folded: a\r\n b\r\n") + "{}"},
      {"obs-fold with HT", post_head("Content-Length: 2\r\nX-Folded: a\r\n\tb\r\n") + "{}"},
      {"a folded Content-Length", post_head("X-A: a\r\n Content-Length: 2\r\n") + "{}"},
      {"bare CR in a value", post_head("Content-Length: 2\r\nX-A: a\rb\r\n") + "{}"},
      {"bare CR ending a line", post_head("Content-Length: 2\r\nX-A: a\r") + "{}"},
      {"NUL in a value", post_head("Content-Length: 2\r\nX-A: a\0b\r\n"s) + "{}"},
      {"NUL in a name", post_head("Content-Length: 2\r\nX-\0A: b\r\n"s) + "{}"},
      {"a control byte", post_head("Content-Length: 2\r\nX-A: a\x1b[0m\r\n") + "{}"},
      {"DEL", post_head("Content-Length: 2\r\nX-A: a\x7f\r\n") + "{}"},
      {"space before the colon", post_head("Content-Length : 2\r\n") + "{}"},
      {"no colon", post_head("Content-Length: 2\r\nX-A\r\n") + "{}"},
      {"NUL in the target", "GET /he\0alth HTTP/1.1\r\nHost: x\r\n\r\n"s},
      {"a space in the target", "GET /he alth HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"no version", "GET /health\r\nHost: x\r\n\r\n"},
      {"an unknown version", "GET /health HTTP/1.2x\r\nHost: x\r\n\r\n"},
  };
  for (const auto& [what, raw] : cases) expect_refused(what, raw, 400);
}

TEST_F(Framing, OverlongRequestLinesHeaderSectionsAndTooManyFieldsAre431AndClose) {
  // The header limit (16 KiB, --max-header-bytes' default) bounds the request
  // line, the header section and so the number of fields, as in Go (nginx answers
  // 414 for a request line and 400 for a header).
  std::string many;
  for (int i = 0; many.size() < 20 * 1024; ++i) many += "X:" + std::to_string(i % 10) + "\r\n";
  for (const auto& [what, raw] : std::vector<std::pair<std::string, std::string>>{
           {"request line", "GET /health?" + std::string(17 * 1024, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n"},
           {"one field", "GET /health HTTP/1.1\r\nX-Big: " + std::string(17 * 1024, 'a') + "\r\n\r\n"},
           {"many fields", "GET /health HTTP/1.1\r\n" + many + "\r\n"},
       })
    expect_refused(what, raw, 431);
}

TEST_F(Framing, AbsoluteFormTargetsAreRoutedByTheirPath) {
  http_connection c(port(), tls());
  http_response r = c.request("POST", "https://meshinject.istio-system.svc:443/inject?timeout=10s",
                              review_file("orders-pod"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["response"].contains("patch"));
  r = c.request("GET", "http://localhost/health", {}, {});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(c.request("GET", "HTTPS://localhost/nope", {}, {}).status, 404);
  EXPECT_FALSE(c.request("GET", "/health", {}, {}).connection_close()) << "the connection goes on";
}

// Python's http.client, like Go's, writes the whole body before it reads: with
// the server's lingering close it reads its 413 instead of a connection reset.
TEST_F(Framing, PythonSendingA7MiBBodyBeforeReadingGetsItsStatus) {
  if (run_command({"python3", "-c", "import http.client, ssl"}).status != 0) GTEST_SKIP() << "no python3";
  const std::string script =
      "import http.client, ssl, sys\n"
      "ctx = ssl.create_default_context(cafile=sys.argv[2])\n"
      "c = http.client.HTTPSConnection('localhost', int(sys.argv[1]), context=ctx, timeout=60)\n"
      "c.request('POST', '/inject', body=b'{' * (7 * 1024 * 1024), headers={'Content-Type': 'application/json'})\n"
      "r = c.getresponse()\n"
      "print(r.status, r.getheader('Connection'), end='')\n";
  const auto out = run_command({"python3", "-c", script, std::to_string(port()), (dir_->path() / "ca.pem").string()},
                               120s);
  EXPECT_EQ(out.status, 0) << out.output;
  EXPECT_EQ(out.output, "413 close");
}

TEST_F(Framing, PipelinedRequestsAndExpectContinueStillWork) {
  const std::string body = review_file("opt-out-pod");
  std::string three;
  for (int i = 0; i < 2; ++i) three += post_head("Content-Length: " + std::to_string(body.size()) + "\r\n") + body;
  three += smuggled;
  http_connection c(port(), tls());
  c.send_raw(three);
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(c.read_response().body, "ok\n");

  c.send_raw(post_head("Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"));
  ASSERT_TRUE(c.readable(30s)) << "no 100 Continue";
  EXPECT_EQ(c.read_head().status, 100);
  c.send_raw(body);
  EXPECT_EQ(c.read_response().status, 200);
}

}  // namespace
}  // namespace meshinject::test
