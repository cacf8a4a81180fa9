// `meshinject serve` start-up and shutdown: clear failures (exit 2 for flags, 1 for
// config, certificates and ports) with nothing left running, and the SIGTERM drain.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

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

class Lifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    if (meshinject_binary().empty()) GTEST_SKIP() << "MESHINJECT_BINARY is not set";
  }
  command_result serve(std::vector<std::string> args) {
    std::vector<std::string> argv{meshinject_binary().string(), "serve", "--listen", "127.0.0.1:0", "--admin-listen",
                                  "127.0.0.1:0"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 10s);
  }
  client_options tls() const {
    client_options o;
    o.ca_file = (dir_.path() / "ca.pem").string();
    return o;
  }
  static http_response admin(const server_process& s, const std::string& path) {
    client_options o;
    o.tls = false;
    return fetch(s.admin_port(), "GET", path, {}, o);
  }
  temp_dir dir_;
};

TEST_F(Lifecycle, BadFlagsExitTwoWithAMessage) {
  struct {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"--threads", "many"}, "--threads"},
      {{"--header-timeout", "soon"}, "--header-timeout"},
      {{"--max-body-bytes", "lots"}, "--max-body-bytes"},
      {{"--log-level", "loud"}, "--log-level"},
      {{"--tls-cert", "/nonexistent.crt"}, "--tls-key"},
      {{"--listen", "nowhere"}, "listen address"},
      {{"--no-such-flag"}, "unknown flag"},
  };
  for (const auto& c : cases) {
    const auto r = serve(c.args);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << r.output;
  }
}

TEST_F(Lifecycle, BadConfigOrCertificateExitsOneWithThePosition) {
  const fs::path bad = dir_.path() / "config.yaml";
  write_file(bad, "policy: enabled\ntemplate: |-\n  containers:\n  - name: x\n    image: \"{{ .Values.nope \"\n");
  auto r = serve({"--inject-config", bad.string()});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(bad.string() + ":5:[0-9]+: "))) << r.output;

  write_file(bad, "policy: sometimes\n");
  r = serve({"--inject-config", bad.string()});
  EXPECT_EQ(r.status, 1) << r.output;

  r = serve({"--inject-config", (dir_.path() / "missing.yaml").string()});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("missing.yaml"), std::string::npos) << r.output;

  write_file(dir_.path() / "empty.yaml", "");
  r = serve({"--inject-config", (dir_.path() / "empty.yaml").string()});
  EXPECT_EQ(r.status, 1) << r.output;

  write_file(dir_.path() / "cert.pem", "not a certificate");
  write_file(dir_.path() / "key.pem", "not a key");
  r = serve({"--tls-cert", (dir_.path() / "cert.pem").string(), "--tls-key", (dir_.path() / "key.pem").string()});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("cert.pem"), std::string::npos) << r.output;
}

TEST_F(Lifecycle, PortInUseExitsOne) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  std::vector<std::string> argv{meshinject_binary().string(), "serve", "--listen", taken, "--admin-listen",
                                "127.0.0.1:0"};
  auto r = run_command(argv, 10s);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(taken), std::string::npos) << r.output;
  argv = {meshinject_binary().string(), "serve", "--listen", "127.0.0.1:0", "--admin-listen", taken};
  r = run_command(argv, 10s);
  EXPECT_EQ(r.status, 1) << r.output;
  ::close(fd);
}

TEST_F(Lifecycle, SigtermDrainsWithConnectionCloseThenExitsZero) {
  // The drain is long enough that every check below happens inside it, however
  // slowly a loaded machine runs them; the waits are give-ups, not bounds.
  server_process server({"--threads", "2", "--drain-seconds", "10", "--self-signed-ca-out",
                         (dir_.path() / "ca.pem").string()},
                        dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();
  const std::string review = read_file(source_dir() / "load" / "reviews" / "orders-pod.json");
  http_connection before(server.port(), tls());
  http_response r = before.request("POST", "/inject", review);
  ASSERT_EQ(r.status, 200);
  ASSERT_FALSE(r.connection_close());
  ASSERT_EQ(admin(server, "/readyz").status, 200);

  const auto t0 = clock_type::now();
  server.signal(SIGTERM);
  EXPECT_TRUE(eventually([&] { return admin(server, "/readyz").status == 503; }, 8s)) << "/readyz still passes";
  EXPECT_EQ(admin(server, "/livez").status, 200) << "draining is not dead";
  EXPECT_EQ(json::parse(admin(server, "/debug/config").body)["draining"], true);
  EXPECT_EQ(metric(admin(server, "/metrics").body, "meshinject_ready"), 0);

  // An open connection is answered, and told to go away.
  r = before.request("POST", "/inject", review);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.connection_close());
  EXPECT_TRUE(before.closed_by_peer(8s));
  // New connections are still accepted and served, with `Connection: close`.
  std::this_thread::sleep_for(500ms);
  {
    http_connection during(server.port(), tls());
    r = during.request("POST", "/inject", review);
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.connection_close());
    EXPECT_EQ(json::parse(r.body)["response"]["allowed"], true);
  }
  http_connection idle(server.port(), tls());  // keeps quiet: closed when the drain ends

  const auto status = server.wait_exit(60s);
  const auto took = clock_type::now() - t0;
  ASSERT_TRUE(status.has_value()) << "did not exit after the drain\n" << server.log();
  EXPECT_EQ(*status, 0) << server.log();
  EXPECT_GE(took, 9900ms) << "exited before the drain period";
  EXPECT_TRUE(idle.closed_by_peer(30s));
  EXPECT_NE(server.log().find("\"msg\":\"draining"), std::string::npos) << server.log();
}

TEST_F(Lifecycle, DrainZeroStopsPromptly) {
  server_process server({"--drain-seconds", "0"}, dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();
  server.signal(SIGTERM);
  const auto status = server.wait_exit(60s);
  ASSERT_TRUE(status.has_value()) << server.log();
  EXPECT_EQ(*status, 0);
  EXPECT_NE(server.log().find("\"drain_ms\":0"), std::string::npos) << "not a zero drain\n" << server.log();
}

TEST_F(Lifecycle, ASecondSignalSkipsTheRestOfTheDrain) {
  // An hour's drain: exiting at all (within the give-up) means it was cut short.
  server_process server({"--drain-seconds", "3600"}, dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();
  server.signal(SIGTERM);
  ASSERT_TRUE(eventually([&] { return server.log().find("\"msg\":\"draining") != std::string::npos; }, 30s))
      << server.log();
  server.signal(SIGINT);
  const auto status = server.wait_exit(60s);
  ASSERT_TRUE(status.has_value()) << "still draining after the second signal\n" << server.log();
  EXPECT_EQ(*status, 0);
  EXPECT_NE(server.log().find("skipping the rest of the drain"), std::string::npos) << server.log();
}

TEST_F(Lifecycle, ReadyFileAndListeningLog) {
  server_process server({"--threads", "3", "--log-format", "json"}, dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();
  const json ready = json::parse(read_file(dir_.path() / "server" / "ready.json"));
  EXPECT_EQ(ready["webhook_port"], server.port());
  EXPECT_EQ(ready["admin_port"], server.admin_port());
  EXPECT_EQ(ready["threads"], 3);
  EXPECT_EQ(ready["pid"], server.pid());
  const std::string log = server.log();
  std::istringstream lines(log);
  std::string line;
  bool found = false;
  while (std::getline(lines, line)) {
    const json j = json::parse(line);  // every line is one JSON object
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    if (j["msg"] == "listening") {
      found = true;
      EXPECT_EQ(j["webhook_port"], server.port());
      EXPECT_EQ(j["admin_port"], server.admin_port());
      EXPECT_EQ(j["threads"], 3);
    }
  }
  EXPECT_TRUE(found) << log;
  EXPECT_EQ(fetch(server.port(), "GET", "/health").status, 200);
}

}  // namespace
}  // namespace meshinject::test
