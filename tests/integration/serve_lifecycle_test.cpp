// `meshinject serve` start-up and shutdown: clear failures (exit 2 for flags, 1 for
// ports) with nothing left running; a bad config, certificate or key starts alive
// but not ready; and the SIGTERM drain.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

#include "http/tls.hpp"
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

// A certificate Secret that is broken or not there yet must not crash-loop the
// replicas either: alive, not ready (with the error in /readyz, /debug/config and
// the log), the webhook port closing connections, and ready on the first pair that
// loads.
TEST_F(Lifecycle, ABadCertificateAtStartIsAliveNotReadyUntilFixed) {
  const fs::path tls_dir = dir_.path() / "tls";
  kubelet_write(tls_dir, {{"tls.crt", "not a certificate"}, {"tls.key", "not a key"}});
  server_process server({"--tls-cert", (tls_dir / "tls.crt").string(), "--tls-key", (tls_dir / "tls.key").string()},
                        dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << "a bad certificate must not stop the start\n" << server.log();
  EXPECT_EQ(admin(server, "/livez").status, 200);
  const http_response not_ready = admin(server, "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("no valid certificate loaded"), std::string::npos) << not_ready.body;
  EXPECT_NE(not_ready.body.find("tls.crt"), std::string::npos) << not_ready.body;
  EXPECT_EQ(metric(admin(server, "/metrics").body, "meshinject_ready"), 0);
  const json certificate = json::parse(admin(server, "/debug/config").body)["certificate"];
  EXPECT_EQ(certificate["loaded"], false) << certificate.dump();
  EXPECT_NE(certificate["last_reload_error"].dump().find("tls.crt"), std::string::npos) << certificate.dump();
  EXPECT_NE(server.log().find("tls.crt"), std::string::npos) << server.log();

  const auto pair = http::make_self_signed();
  write_file(dir_.path() / "ca.pem", pair.ca_pem);
  EXPECT_THROW(fetch(server.port(), "GET", "/health", {}, tls()), std::exception)
      << "no certificate: the webhook port must not answer";

  kubelet_write(tls_dir, {{"tls.crt", pair.cert_chain_pem}, {"tls.key", pair.key_pem}});
  ASSERT_TRUE(eventually([&] { return admin(server, "/readyz").status == 200; }, 30s)) << server.log();
  EXPECT_EQ(metric(admin(server, "/metrics").body, "meshinject_ready"), 1);
  EXPECT_EQ(json::parse(admin(server, "/debug/config").body)["certificate"]["loaded"], true);
  const std::string review = read_file(source_dir() / "load" / "reviews" / "orders-pod.json");
  EXPECT_EQ(fetch(server.port(), "POST", "/inject", review, tls()).status, 200);
}

TEST_F(Lifecycle, AMissingCertificateAtStartIsNotReadyUntilItAppears) {
  const fs::path tls_dir = dir_.path() / "tls";
  fs::create_directories(tls_dir);
  server_process server({"--tls-cert", (tls_dir / "tls.crt").string(), "--tls-key", (tls_dir / "tls.key").string()},
                        dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();
  const http_response r = admin(server, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("no valid certificate loaded"), std::string::npos) << r.body;
  const auto pair = http::make_self_signed();
  kubelet_write(tls_dir, {{"tls.crt", pair.cert_chain_pem}, {"tls.key", pair.key_pem}});
  EXPECT_TRUE(eventually([&] { return admin(server, "/readyz").status == 200; }, 30s)) << server.log();
}

// A broken ConfigMap must not crash-loop every new replica: serve starts alive but
// not ready, refuses admission with a 503 (the apiserver's failurePolicy decides),
// and becomes ready once the kubelet swaps in a config that loads.
TEST_F(Lifecycle, ABadConfigAtStartIsAliveNotReadyUntilFixed) {
  const fs::path config_dir = dir_.path() / "config";
  const std::string broken =
      "policy: enabled\ntemplate: |-\n  containers:\n  - name: x\n    image: \"{{ .Values.nope \"\n";
  kubelet_write(config_dir, {{"config", broken}});
  const std::string config = (config_dir / "config").string();
  server_process server({"--inject-config", config, "--self-signed-ca-out", (dir_.path() / "ca.pem").string()},
                        dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << "a bad config must not stop the start\n" << server.log();
  EXPECT_EQ(admin(server, "/livez").status, 200);
  const http_response not_ready = admin(server, "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_TRUE(std::regex_search(not_ready.body, std::regex("no valid config loaded: .*config:5:[0-9]+: ")))
      << not_ready.body;
  EXPECT_EQ(metric(admin(server, "/metrics").body, "meshinject_ready"), 0);
  EXPECT_TRUE(json::parse(admin(server, "/debug/config").body)["content_hash"].is_null());
  EXPECT_NE(server.log().find("config:5:"), std::string::npos) << "the log names file:line:column";

  const std::string review = read_file(source_dir() / "load" / "reviews" / "orders-pod.json");
  http_response refused = fetch(server.port(), "POST", "/inject", review, tls());
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("no valid injection config"), std::string::npos) << refused.body;
  EXPECT_EQ(metric(admin(server, "/metrics").body, "meshinject_admission_failures_total{reason=\"no-config\"}"), 1);

  kubelet_write(config_dir, {{"config", "policy: enabled\ntemplate: |-\n  containers:\n  - name: istio-proxy\n"
                                        "    image: example/proxy:v1\n"}});
  ASSERT_TRUE(eventually([&] { return admin(server, "/readyz").status == 200; }, 30s)) << server.log();
  EXPECT_EQ(metric(admin(server, "/metrics").body, "meshinject_ready"), 1);
  const http_response served = fetch(server.port(), "POST", "/inject", review, tls());
  EXPECT_EQ(served.status, 200) << served.body;
  EXPECT_NE(response_patch(json::parse(served.body)).dump().find("example/proxy:v1"), std::string::npos)
      << served.body;
}

// The warnings check-config prints are logged when serve loads the config.
TEST_F(Lifecycle, ConfigWarningsAreLoggedAtLoad) {
  write_file(dir_.path() / "mesh.yaml", "defaultConfig:\n  discoveryAdress: istiod:15012\n");
  server_process server({"--mesh-config", (dir_.path() / "mesh.yaml").string()}, dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();
  EXPECT_EQ(admin(server, "/readyz").status, 200) << "a warning is not an error";
  EXPECT_TRUE(eventually([&] { return server.log().find("discoveryAdress") != std::string::npos; }, 10s))
      << server.log();
  EXPECT_NE(server.log().find("did you mean 'discoveryAddress'?"), std::string::npos) << server.log();
}

TEST_F(Lifecycle, AMissingOrInvalidConfigAtStartIsNotReadyWithTheReason) {
  const fs::path config_dir = dir_.path() / "config";
  fs::create_directories(config_dir);
  const std::string config = (config_dir / "config").string();
  {
    server_process server({"--inject-config", config}, dir_.path() / "missing");
    ASSERT_TRUE(server.wait_ready()) << server.log();
    const http_response r = admin(server, "/readyz");
    EXPECT_EQ(r.status, 503);
    EXPECT_NE(r.body.find("cannot read " + config), std::string::npos) << r.body;
    // The file appears (a ConfigMap created after the Deployment): ready.
    kubelet_write(config_dir, {{"config", "policy: enabled\ntemplate: |-\n  containers: []\n"}});
    EXPECT_TRUE(eventually([&] { return admin(server, "/readyz").status == 200; }, 30s)) << server.log();
  }
  for (const std::string text : {"policy: sometimes\ntemplate: x\n", ""}) {
    kubelet_write(config_dir, {{"config", text}});
    server_process server({"--inject-config", config}, dir_.path() / ("bad" + std::to_string(text.size())));
    ASSERT_TRUE(server.wait_ready()) << server.log();
    const http_response r = admin(server, "/readyz");
    EXPECT_EQ(r.status, 503) << text;
    EXPECT_NE(r.body.find(text.empty() ? "empty" : "not a valid policy"), std::string::npos) << r.body;
    EXPECT_EQ(admin(server, "/livez").status, 200);
  }
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

// SO_REUSEPORT would let a second serve share the port and half the traffic.
TEST_F(Lifecycle, ASecondServeOnTheSameListenAddressFailsAtStart) {
  server_process first({"--threads", "2"}, dir_.path() / "first");
  ASSERT_TRUE(first.wait_ready()) << first.log();
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());
  const auto second = run_command({meshinject_binary().string(), "serve", "--threads", "2", "--listen", taken,
                                   "--admin-listen", "127.0.0.1:0"},
                                  30s);
  EXPECT_EQ(second.status, 1) << second.output;
  EXPECT_NE(second.output.find("cannot listen on " + taken + ": the port is already in use by another process"),
            std::string::npos)
      << second.output;
  // All interfaces overlap the loopback address the first one holds.
  const auto wildcard = run_command({meshinject_binary().string(), "serve", "--listen",
                                     "0.0.0.0:" + std::to_string(first.port()), "--admin-listen", "127.0.0.1:0"},
                                    30s);
  EXPECT_EQ(wildcard.status, 1) << wildcard.output;
  // The first one still serves.
  client_options plain;
  plain.tls = false;
  EXPECT_EQ(fetch(first.admin_port(), "GET", "/readyz", {}, plain).status, 200);
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

// Issue 16: every request a client sent on a connection the server accepted is
// answered, however the SIGTERM falls among them. Three kinds of clients run at
// once: keep-alive connections sending back to back (reconnecting when told
// `Connection: close`), a new connection per request, and connections that
// finished their handshake before the signal and send their first request only
// once the drain is over (the server cannot tell them from a client about to
// send, so it must wait for them, as Go's Shutdown waits for a new connection's
// first request). Sent and answered are counted per client; nothing is timed.
TEST_F(Lifecycle, SigtermUnderLoadAnswersEveryRequestSent) {
  server_process server({"--threads", "2", "--drain-seconds", "1", "--shutdown-grace", "120s",
                         "--self-signed-ca-out", (dir_.path() / "ca.pem").string()},
                        dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();
  const std::string review = read_file(source_dir() / "load" / "reviews" / "orders-pod.json");
  const std::string request = "POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                              "Content-Length: " + std::to_string(review.size()) + "\r\n\r\n" + review;

  struct tally {
    std::atomic<long> sent{0}, answered{0}, wrong{0};
    std::mutex m;
    std::string last_loss;
  } keep_alive, per_request, fresh;
  // One request on `c`: counted as sent once all its bytes were written.
  auto exchange = [&](http_connection& c, tally& t) -> bool {
    if (!c.try_send_raw(request)) return false;
    t.sent++;
    try {
      const http_response r = c.read_response();
      t.answered++;
      if (r.status != 200 || r.body.find("\"allowed\":true") == std::string::npos) t.wrong++;
      return !r.connection_close();
    } catch (const std::exception& e) {
      std::lock_guard lock(t.m);
      t.last_loss = e.what();
      return false;
    }
  };

  constexpr int fresh_connections = 24;
  std::vector<std::unique_ptr<http_connection>> held;
  for (int i = 0; i < fresh_connections; ++i) held.push_back(std::make_unique<http_connection>(server.port(), tls()));

  std::atomic<bool> refused_seen{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([&] {  // keep-alive, back to back
      for (;;) {
        std::unique_ptr<http_connection> c;
        try {
          c = std::make_unique<http_connection>(server.port(), tls());
        } catch (const client_error&) {
          return;  // refused: the server stopped accepting
        }
        while (exchange(*c, keep_alive)) {
        }
      }
    });
    clients.emplace_back([&] {  // a new connection per request
      for (;;) {
        std::unique_ptr<http_connection> c;
        try {
          c = std::make_unique<http_connection>(server.port(), tls());
        } catch (const client_error&) {
          refused_seen = true;
          return;
        }
        exchange(*c, per_request);
      }
    });
  }
  // Load is flowing: both kinds have been answered (an event, not a duration).
  EXPECT_TRUE(eventually([&] { return keep_alive.answered > 50 && per_request.answered > 50; }, 60s))
      << server.log();
  server.signal(SIGTERM);
  // The drain is over once the server says so (or, were it to skip that, stops).
  EXPECT_TRUE(eventually(
      [&] {
        const std::string log = server.log();
        return log.find("drain over") != std::string::npos || log.find("\"msg\":\"stopped") != std::string::npos;
      },
      60s))
      << server.log();
  for (auto& c : held) exchange(*c, fresh);
  for (auto& t : clients) t.join();

  const auto status = server.wait_exit(180s);
  ASSERT_TRUE(status.has_value()) << server.log();
  EXPECT_EQ(*status, 0) << server.log();
  for (auto* t : {&keep_alive, &per_request, &fresh}) {
    const char* what = t == &keep_alive ? "keep-alive" : t == &per_request ? "connection per request" : "fresh";
    EXPECT_EQ(t->sent.load(), t->answered.load()) << what << ": sent requests left unanswered; last: " << t->last_loss;
    EXPECT_EQ(t->wrong.load(), 0) << what;
  }
  EXPECT_EQ(fresh.sent.load(), fresh_connections) << "a connection accepted before the signal could not send";
  EXPECT_TRUE(refused_seen.load()) << "the clients stopped before the listener closed";
  EXPECT_NE(server.log().find("\"closed_in_flight\":0"), std::string::npos) << server.log();
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
