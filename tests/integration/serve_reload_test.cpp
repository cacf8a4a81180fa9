// Hot reload, as the kubelet does it (a new ..<timestamp> directory, a ..data
// symlink renamed over the old one) while clients keep sending: the config, a
// broken config, certificate rotation, and client certificates.
#include <openssl/ssl.h>

#include <atomic>
#include <map>
#include <mutex>
#include <regex>
#include <set>
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

std::string config_with_image(const std::string& image) {
  return "policy: enabled\ntemplate: |-\n  containers:\n  - name: istio-proxy\n    image: \"" + image + "\"\n";
}

// The sidecar image in an /inject answer, or "" when there is none.
std::string injected_image(const http_response& r) {
  if (r.status != 200) return "";
  const json patch = response_patch(json::parse(r.body));
  const std::string text = patch.dump();
  static const std::regex image("example/proxy:(v[0-9]+)");
  std::smatch m;
  return std::regex_search(text, m, image) ? m[1].str() : "";
}

class Reload : public ::testing::Test {
 protected:
  void SetUp() override {
    if (meshinject_binary().empty()) GTEST_SKIP() << "MESHINJECT_BINARY is not set";
  }
  static std::string get(const server_process& s, const std::string& path) {
    client_options o;
    o.tls = false;
    return fetch(s.admin_port(), "GET", path, {}, o).body;
  }
  temp_dir dir_;
};

TEST_F(Reload, ConfigSwapTakesEffectWithinASecondWithoutAFailedRequest) {
  const fs::path config_dir = dir_.path() / "config";
  kubelet_write(config_dir, {{"config", config_with_image("example/proxy:v1")}, {"mesh", "{}\n"}});
  server_process server({"--threads", "2", "--inject-config", (config_dir / "config").string(), "--mesh-config",
                         (config_dir / "mesh").string(), "--self-signed-ca-out", (dir_.path() / "ca.pem").string()},
                        dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();
  client_options tls;
  tls.ca_file = (dir_.path() / "ca.pem").string();
  const std::string review = read_file(source_dir() / "load" / "reviews" / "orders-pod.json");

  // Clients: two keep-alive connections and a stream of new ones, without pause.
  std::atomic<bool> stop{false};
  std::atomic<int> requests{0}, failures{0};
  std::mutex seen_mutex;
  std::map<std::string, clock_type::time_point> first_seen;  // image -> when first answered
  std::string last_failure;
  auto record = [&](const http_response& r) {
    requests++;
    const std::string image = injected_image(r);
    std::lock_guard lock(seen_mutex);
    if (image.empty()) {
      failures++;
      last_failure = std::to_string(r.status) + " " + r.body.substr(0, 200);
    } else {
      first_seen.emplace(image, clock_type::now());
    }
  };
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t)
    clients.emplace_back([&, t] {
      while (!stop) {
        try {
          std::unique_ptr<http_connection> c = std::make_unique<http_connection>(server.port(), tls);
          for (int i = 0; !stop && (t < 2 || i < 1); ++i) record(c->request("POST", "/inject", review));
        } catch (const std::exception& e) {
          failures++;
          std::lock_guard lock(seen_mutex);
          last_failure = e.what();
        }
      }
    });
  auto seen = [&](const std::string& image) {
    std::lock_guard lock(seen_mutex);
    return first_seen.count(image) ? std::optional(first_seen[image]) : std::nullopt;
  };

  ASSERT_TRUE(eventually([&] { return seen("v1").has_value(); }, 30s));
  std::this_thread::sleep_for(200ms);
  kubelet_write(config_dir, {{"config", config_with_image("example/proxy:v2")}, {"mesh", "{}\n"}});
  // The watcher sees the swap and the control thread reloads: an event, however
  // long a loaded machine takes to get to it.
  ASSERT_TRUE(eventually([&] { return seen("v2").has_value(); }, 30s)) << server.log();
  EXPECT_EQ(metric(get(server, "/metrics"), "meshinject_config_reloads_total"), 1);

  // A broken config: the previous one keeps serving, and the error is reported.
  kubelet_write(config_dir, {{"config", "policy: enabled\ntemplate: |-\n  containers:\n  - name: istio-proxy\n"
                                        "    image: \"{{ .Values.nope \"\n"},
                             {"mesh", "{}\n"}});
  ASSERT_TRUE(eventually(
      [&] { return metric(get(server, "/metrics"), "meshinject_config_reload_failures_total") == 1; }, 30s))
      << server.log();
  const json debug = json::parse(get(server, "/debug/config"));
  const std::string error = debug["last_reload_error"]["message"];
  EXPECT_TRUE(std::regex_search(error, std::regex("config:5:[0-9]+: "))) << error;
  EXPECT_EQ(debug["reload_failures"], 1);
  EXPECT_NE(server.log().find("config:5:"), std::string::npos) << "the log line names file:line:column";
  {
    client_options plain;
    plain.tls = false;
    EXPECT_EQ(fetch(server.admin_port(), "GET", "/readyz", {}, plain).status, 200)
        << "a rejected reload does not make the replica unready";
  }
  std::this_thread::sleep_for(300ms);
  {
    const http_response r = fetch(server.port(), "POST", "/inject", review, tls);
    EXPECT_EQ(injected_image(r), "v2") << "the previous config must keep serving";
  }

  // Fixed again.
  kubelet_write(config_dir, {{"config", config_with_image("example/proxy:v3")}, {"mesh", "{}\n"}});
  EXPECT_TRUE(eventually([&] { return seen("v3").has_value(); }, 30s));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures, 0) << last_failure;
  EXPECT_GT(requests, 50);
  EXPECT_EQ(metric(get(server, "/metrics"), "meshinject_config_reloads_total"), 3);
}

TEST_F(Reload, CertificateRotationUnderContinuousNewConnections) {
  const auto a = http::make_self_signed();
  const auto b = http::make_self_signed();
  const std::string serial_a = http::describe_certificate(a.cert_chain_pem).serial_hex;
  const std::string serial_b = http::describe_certificate(b.cert_chain_pem).serial_hex;
  ASSERT_NE(serial_a, serial_b);
  const fs::path tls_dir = dir_.path() / "tls";
  kubelet_write(tls_dir, {{"tls.crt", a.cert_chain_pem}, {"tls.key", a.key_pem}});
  write_file(dir_.path() / "bundle.pem", a.ca_pem + b.ca_pem);
  server_process server({"--threads", "2", "--tls-cert", (tls_dir / "tls.crt").string(), "--tls-key",
                         (tls_dir / "tls.key").string()},
                        dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();
  client_options tls;
  tls.ca_file = (dir_.path() / "bundle.pem").string();

  http_connection old_connection(server.port(), tls);  // opened before the rotation
  ASSERT_EQ(old_connection.peer_serial(), serial_a);

  std::atomic<bool> stop{false};
  std::atomic<int> handshakes{0}, failures{0};
  std::mutex m;
  std::map<std::string, clock_type::time_point> first_seen;
  std::string last_failure;
  std::vector<std::thread> clients;
  for (int t = 0; t < 2; ++t)
    clients.emplace_back([&] {
      while (!stop) {
        try {
          http_connection c(server.port(), tls);
          const std::string serial = c.peer_serial();
          if (c.request("GET", "/health", {}, {}).status != 200) throw client_error("not 200");
          handshakes++;
          std::lock_guard lock(m);
          first_seen.emplace(serial, clock_type::now());
        } catch (const std::exception& e) {
          failures++;
          std::lock_guard lock(m);
          last_failure = e.what();
        }
      }
    });
  auto seen = [&](const std::string& serial) {
    std::lock_guard lock(m);
    return first_seen.count(serial) ? std::optional(first_seen[serial]) : std::nullopt;
  };
  ASSERT_TRUE(eventually([&] { return seen(serial_a).has_value(); }, 30s));
  std::this_thread::sleep_for(200ms);
  kubelet_write(tls_dir, {{"tls.crt", b.cert_chain_pem}, {"tls.key", b.key_pem}});
  ASSERT_TRUE(eventually([&] { return seen(serial_b).has_value(); }, 30s)) << server.log();

  // The connection from before the rotation goes on with the old certificate.
  EXPECT_EQ(old_connection.request("GET", "/health", {}, {}).status, 200);
  EXPECT_EQ(old_connection.peer_serial(), serial_a);

  // A certificate with somebody else's key: refused, the current pair keeps serving.
  kubelet_write(tls_dir, {{"tls.crt", a.cert_chain_pem}, {"tls.key", b.key_pem}});
  EXPECT_TRUE(eventually(
      [&] { return metric(get(server, "/metrics"), "meshinject_certificate_reload_failures_total") == 1; }, 30s))
      << server.log();
  const json debug = json::parse(get(server, "/debug/config"));
  EXPECT_EQ(debug["certificate"]["serial"], serial_b);
  EXPECT_NE(debug["certificate"]["last_reload_error"]["message"].get<std::string>().find("does not match"),
            std::string::npos)
      << debug.dump();
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures, 0) << last_failure;
  EXPECT_GT(handshakes, 20);
  {
    http_connection c(server.port(), tls);
    EXPECT_EQ(c.peer_serial(), serial_b);
  }
  const std::string metrics = get(server, "/metrics");
  EXPECT_EQ(metric(metrics, "meshinject_certificate_reloads_total"), 2);
  EXPECT_EQ(metric(metrics, "meshinject_tls_handshake_errors_total"), 0);
}

// Issue 16: a certificate/key pair that does not match, an expired certificate
// and a key file caught mid-write are each refused on reload: the pair that
// works keeps serving new handshakes, the log says why, and
// meshinject_certificate_reload_failing is 1 until a good pair arrives.
TEST_F(Reload, ABadCertificateReloadKeepsTheWorkingPairAndSetsTheFailingGauge) {
  const auto a = http::make_self_signed();
  const auto b = http::make_self_signed();
  const auto expired = http::make_self_signed(-std::chrono::hours(48));
  const std::string serial_a = http::describe_certificate(a.cert_chain_pem).serial_hex;
  const std::string serial_b = http::describe_certificate(b.cert_chain_pem).serial_hex;
  const fs::path tls_dir = dir_.path() / "tls";
  kubelet_write(tls_dir, {{"tls.crt", a.cert_chain_pem}, {"tls.key", a.key_pem}});
  write_file(dir_.path() / "bundle.pem", a.ca_pem + b.ca_pem + expired.ca_pem);
  server_process server({"--tls-cert", (tls_dir / "tls.crt").string(), "--tls-key", (tls_dir / "tls.key").string()},
                        dir_.path() / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();
  client_options tls;
  tls.ca_file = (dir_.path() / "bundle.pem").string();
  auto failing = [&] { return metric(get(server, "/metrics"), "meshinject_certificate_reload_failing"); };
  auto last_error = [&] {
    const json c = json::parse(get(server, "/debug/config"))["certificate"];
    return c["last_reload_error"].is_object() ? c["last_reload_error"]["message"].get<std::string>() : std::string();
  };
  auto serving = [&] {
    http_connection c(server.port(), tls);
    EXPECT_EQ(c.request("GET", "/health", {}, {}).status, 200);
    return c.peer_serial();
  };
  EXPECT_EQ(failing(), 0);
  ASSERT_EQ(serving(), serial_a);

  struct row {
    const char* what;
    std::map<std::string, std::string> files;
    const char* message;  // in the reload error
  };
  const std::string half_key = b.key_pem.substr(0, b.key_pem.size() / 2);
  const row rows[] = {
      {"a key that does not match", {{"tls.crt", b.cert_chain_pem}, {"tls.key", a.key_pem}}, "does not match"},
      {"an expired certificate", {{"tls.crt", expired.cert_chain_pem}, {"tls.key", expired.key_pem}}, "has expired"},
      {"a key file mid-write", {{"tls.crt", b.cert_chain_pem}, {"tls.key", half_key}}, "cannot read a PEM private key"},
  };
  int failures = 0;
  for (const row& r : rows) {
    SCOPED_TRACE(r.what);
    kubelet_write(tls_dir, r.files);
    ++failures;
    ASSERT_TRUE(eventually(
        [&] { return metric(get(server, "/metrics"), "meshinject_certificate_reload_failures_total") == failures; },
        30s))
        << server.log();
    EXPECT_NE(last_error().find(r.message), std::string::npos) << last_error();
    EXPECT_EQ(failing(), 1);
    EXPECT_EQ(serving(), serial_a) << "the working pair must keep serving";
  }
  EXPECT_NE(server.log().find("certificate reload failed; the previous certificate keeps serving"), std::string::npos)
      << server.log();
  // The good pair: installed, and the gauge goes back to 0.
  kubelet_write(tls_dir, {{"tls.crt", b.cert_chain_pem}, {"tls.key", b.key_pem}});
  ASSERT_TRUE(eventually([&] { return serving() == serial_b; }, 30s)) << server.log();
  EXPECT_EQ(failing(), 0);
}

TEST_F(Reload, ClientCertificatesAreRequiredWithAClientCa) {
  const fs::path d = dir_.path();
  auto openssl = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run_command(argv);
    ASSERT_EQ(r.status, 0) << r.output;
  };
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
           "/CN=test client CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign", "-keyout", (d / "ca.key").string(), "-out", (d / "client-ca.pem").string()});
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
           "/CN=kube-apiserver", "-addext", "extendedKeyUsage=clientAuth", "-CA", (d / "client-ca.pem").string(),
           "-CAkey", (d / "ca.key").string(), "-keyout", (d / "client.key").string(), "-out",
           (d / "client.pem").string()});
  server_process server({"--client-ca", (d / "client-ca.pem").string(), "--self-signed-ca-out",
                         (d / "server-ca.pem").string()},
                        d / "server");
  ASSERT_TRUE(server.wait_ready()) << server.log();

  client_options without;
  without.ca_file = (d / "server-ca.pem").string();
  // TLS 1.3 completes the client's side of the handshake before the server checks
  // the certificate: the refusal shows on the first read.
  EXPECT_ANY_THROW({
    http_connection c(server.port(), without);
    (void)c.request("GET", "/health", {}, {});
  });
  client_options tls12 = without;
  tls12.max_version = TLS1_2_VERSION;
  EXPECT_THROW(http_connection(server.port(), tls12), client_error);

  client_options with = without;
  with.cert_file = (d / "client.pem").string();
  with.key_file = (d / "client.key").string();
  http_connection c(server.port(), with);
  EXPECT_EQ(c.request("POST", "/inject", read_file(source_dir() / "load" / "reviews" / "orders-pod.json")).status, 200);
  EXPECT_GE(metric(get(server, "/metrics"), "meshinject_tls_handshake_errors_total").value_or(0), 2);
  EXPECT_EQ(json::parse(get(server, "/debug/config"))["certificate"]["client_auth"], true);
}

}  // namespace
}  // namespace meshinject::test
