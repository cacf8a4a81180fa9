// Faults around hot reload while clients keep sending: the config file deleted,
// a ConfigMap key removed, the config directory removed and recreated, a file the
// server may not read, a certificate that does not match its key, an empty config.
// Each time: every request keeps succeeding with the last good config or
// certificate, the problem is logged and counted once, and fixing the files is
// enough to recover, without a restart.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
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

// A give-up for a loaded machine, not a claim about speed: things normally happen
// within a debounce (how long recovery takes is measured, not asserted).
constexpr auto wait_limit = 30s;

std::string config_with(const std::string& marker) {
  return "policy: enabled\ntemplate: |-\n  containers:\n  - name: istio-proxy\n    image: \"example/proxy:" + marker +
         "\"\n";
}

// The marker of the template that answered, or "" when nothing was injected.
std::string marker_of(const http_response& r) {
  if (r.status != 200) return "";
  const json review = json::parse(r.body, nullptr, false);
  if (!review.is_object() || !review.contains("response") || review.at("response").value("allowed", false) != true)
    return "";
  static const std::regex image("example/proxy:([a-z0-9-]+)");
  const std::string patch = response_patch(review).dump();
  std::smatch m;
  return std::regex_search(patch, m, image) ? m[1].str() : "";
}

// Write-aside-and-rename, so the server never reads a half-written file: every
// failure it counts is the fault under test, not a race with this test's writer.
void put(const fs::path& p, const std::string& text) {
  const fs::path aside = p.parent_path() / ("." + p.filename().string() + ".tmp");
  write_file(aside, text);
  fs::rename(aside, p);
}

// Clients that never pause for a reload: one keep-alive connection, and a new
// connection (a new handshake, so the current certificate) per request. Every
// answer must be 200, allowed, and carry some config's marker.
class traffic {
 public:
  traffic(std::uint16_t port, std::string review) : port_(port), review_(std::move(review)) {
    threads_.emplace_back([this] { keep_alive(); });
    threads_.emplace_back([this] { new_connections(); });
  }
  ~traffic() { stop(); }

  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  std::optional<clock_type::time_point> first_seen(const std::string& marker_or_serial) {
    std::lock_guard lock(mutex_);
    const auto it = first_seen_.find(marker_or_serial);
    return it == first_seen_.end() ? std::nullopt : std::optional(it->second);
  }
  int answered() const { return answered_; }
  int failures() const { return failures_; }
  std::string last_failure() {
    std::lock_guard lock(mutex_);
    return last_failure_;
  }

 private:
  void record(const http_response& r, const std::string& serial) {
    const std::string marker = marker_of(r);
    std::lock_guard lock(mutex_);
    if (marker.empty()) {
      failures_++;
      last_failure_ = std::to_string(r.status) + " " + r.body.substr(0, 300);
      return;
    }
    answered_++;
    first_seen_.emplace(marker, clock_type::now());
    if (!serial.empty()) first_seen_.emplace(serial, clock_type::now());
  }
  void failed(const std::exception& e) {
    std::lock_guard lock(mutex_);
    failures_++;
    last_failure_ = e.what();
  }

  void keep_alive() {
    while (!stop_) {
      try {
        http_connection c(port_);
        while (!stop_) {
          record(c.request("POST", "/inject", review_), "");
          std::this_thread::sleep_for(1ms);  // pacing on two shared cores, not timing
        }
      } catch (const std::exception& e) {
        failed(e);
      }
    }
  }

  void new_connections() {
    while (!stop_) {
      try {
        http_connection c(port_);
        record(c.request("POST", "/inject", review_), c.peer_serial());
      } catch (const std::exception& e) {
        failed(e);
      }
      std::this_thread::sleep_for(3ms);
    }
  }

  const std::uint16_t port_;
  const std::string review_;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0}, failures_{0};
  std::mutex mutex_;
  std::map<std::string, clock_type::time_point> first_seen_;
  std::string last_failure_;
  std::vector<std::thread> threads_;
};

struct log_line {
  std::string level, msg, text;
};

std::vector<log_line> parse_log(const std::string& log) {
  std::vector<log_line> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    out.push_back({j.value("level", ""), j.value("msg", ""), line});
  }
  return out;
}

// The message of /debug/config's last_reload_error, or "" when there is none.
std::string error_message(const json& e) { return e.is_object() ? e.value("message", "") : ""; }

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    if (meshinject_binary().empty()) GTEST_SKIP() << "MESHINJECT_BINARY is not set";
    review_ = read_file(source_dir() / "load" / "reviews" / "orders-pod.json");
    cert_a_ = http::make_self_signed();
    serial_a_ = http::describe_certificate(cert_a_.cert_chain_pem).serial_hex;
  }
  void TearDown() override {
    if (traffic_) {
      traffic_->stop();
      EXPECT_EQ(traffic_->failures(), 0) << "a request failed while the fault was on: " << traffic_->last_failure();
      EXPECT_GT(traffic_->answered(), 20);
    }
    traffic_.reset();
    if (HasFailure() && server_) std::cerr << "--- server log ---\n" << server_->log();
  }

  fs::path dir(const std::string& name) const { return dir_.path() / name; }

  // Plain files in dir("config"): config and mesh.
  void plain_config(const std::string& marker) {
    fs::create_directories(dir("config"));
    put(dir("config") / "config", config_with(marker));
    put(dir("config") / "mesh", "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n");
  }
  // Plain files in dir("tls").
  void plain_tls(const http::self_signed_material& m) {
    fs::create_directories(dir("tls"));
    put(dir("tls") / "tls.crt", m.cert_chain_pem);
    put(dir("tls") / "tls.key", m.key_pem);
  }

  // `binary`: run this instead of $MESHINJECT_BINARY.
  void start(const fs::path& binary = {}) {
    const std::vector<std::string> args{
        "--threads", "2",
        "--inject-config", (dir("config") / "config").string(),
        "--mesh-config", (dir("config") / "mesh").string(),
        "--tls-cert", (dir("tls") / "tls.crt").string(),
        "--tls-key", (dir("tls") / "tls.key").string()};
    if (binary.empty()) {
      server_ = std::make_unique<server_process>(args, dir("server"));
    } else {
      // server_process reads the variable in its constructor; no other thread of
      // this test runs yet (OpenSSL in the clients reads the environment).
      const std::string saved = meshinject_binary().string();
      ::setenv("MESHINJECT_BINARY", binary.c_str(), 1);
      server_ = std::make_unique<server_process>(args, dir("server"));
      ::setenv("MESHINJECT_BINARY", saved.c_str(), 1);
    }
    ASSERT_TRUE(server_->wait_ready()) << server_->log();
    traffic_ = std::make_unique<traffic>(server_->port(), review_);
  }

  std::string admin(const std::string& path) const {
    client_options o;
    o.tls = false;
    return fetch(server_->admin_port(), "GET", path, {}, o).body;
  }
  int admin_status(const std::string& path) const {
    client_options o;
    o.tls = false;
    return fetch(server_->admin_port(), "GET", path, {}, o).status;
  }
  double counter(const std::string& name) const { return metric(admin("/metrics"), name).value_or(-1); }
  json debug() const { return json::parse(admin("/debug/config")); }

  std::string answer_now() const { return marker_of(fetch(server_->port(), "POST", "/inject", review_)); }
  std::string serial_now() const {
    http_connection c(server_->port());
    return c.peer_serial();
  }

  // Log lines at `level` whose message starts with `msg` and that mention `detail`.
  int logged(const std::string& level, const std::string& msg, const std::string& detail) const {
    int n = 0;
    for (const log_line& l : parse_log(server_->log()))
      if (l.level == level && l.msg.rfind(msg, 0) == 0 && l.text.find(detail) != std::string::npos) ++n;
    return n;
  }

  // The fault must be counted, logged, and shown on /debug/config, while the
  // config from before keeps answering and the replica stays ready.
  void expect_config_rejected(int failures, const std::string& serving, const std::string& error) {
    ASSERT_TRUE(eventually([&] { return counter("meshinject_config_reload_failures_total") == failures; }, wait_limit))
        << "failures counted: " << counter("meshinject_config_reload_failures_total");
    json d = debug();
    EXPECT_EQ(d["reload_failures"], failures);
    EXPECT_NE(error_message(d["last_reload_error"]).find(error), std::string::npos) << d.dump();
    EXPECT_GE(logged("error", "config reload failed; the previous config keeps serving", error), 1);
    EXPECT_EQ(answer_now(), serving) << "the last good config must keep serving";
    EXPECT_EQ(admin_status("/readyz"), 200) << "a rejected reload does not make the replica unready";
    EXPECT_EQ(counter("meshinject_config_reload_failing"), 1) << "the alert must see the fault while it lasts";
  }

  // The fixed files are picked up without a restart.
  void expect_config_recovers(const std::string& marker) {
    ASSERT_TRUE(eventually([&] { return traffic_->first_seen(marker).has_value(); }, wait_limit))
        << "the fixed config never served";
    EXPECT_EQ(answer_now(), marker);
    EXPECT_EQ(server_->wait_exit(0ms), std::nullopt) << "the server restarted or died";
    EXPECT_TRUE(eventually([&] { return counter("meshinject_config_reload_failing") == 0; }, wait_limit));
  }

  void expect_certificate_rejected(int failures, const std::string& serving, const std::string& error) {
    ASSERT_TRUE(
        eventually([&] { return counter("meshinject_certificate_reload_failures_total") == failures; }, wait_limit))
        << "failures counted: " << counter("meshinject_certificate_reload_failures_total");
    json c = debug()["certificate"];
    EXPECT_EQ(c["reload_failures"], failures);
    EXPECT_EQ(c["serial"], serving);
    EXPECT_NE(error_message(c["last_reload_error"]).find(error), std::string::npos) << c.dump();
    EXPECT_GE(logged("error", "certificate reload failed; the previous certificate keeps serving", error), 1);
    EXPECT_EQ(serial_now(), serving) << "new connections must keep getting the last good certificate";
    EXPECT_EQ(counter("meshinject_certificate_reload_failing"), 1) << "the alert must see the fault while it lasts";
  }

  void expect_certificate_recovers(const std::string& serial) {
    ASSERT_TRUE(eventually([&] { return traffic_->first_seen(serial).has_value(); }, wait_limit))
        << "the fixed certificate never served";
    EXPECT_EQ(serial_now(), serial);
    EXPECT_EQ(debug()["certificate"]["serial"], serial);
    EXPECT_TRUE(eventually([&] { return counter("meshinject_certificate_reload_failing") == 0; }, wait_limit));
  }

  temp_dir dir_;
  std::string review_;
  http::self_signed_material cert_a_;
  std::string serial_a_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<traffic> traffic_;
};

TEST_F(Faults, ConfigFileDeletedThenWrittenAgain) {
  plain_config("before");
  plain_tls(cert_a_);
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(eventually([&] { return traffic_->first_seen("before").has_value(); }, wait_limit));

  fs::remove(dir("config") / "config");
  expect_config_rejected(1, "before", "No such file");
  // A file that stays missing is one failure, not one per retry: long enough
  // for the server to have retried.
  std::this_thread::sleep_for(1300ms);
  EXPECT_EQ(counter("meshinject_config_reload_failures_total"), 1);
  EXPECT_EQ(logged("error", "config reload failed", "No such file"), 1);
  EXPECT_EQ(answer_now(), "before");

  put(dir("config") / "config", config_with("after"));
  expect_config_recovers("after");
  EXPECT_GE(logged("info", "config files readable again", ""), 1);
  EXPECT_EQ(counter("meshinject_config_reload_failures_total"), 1);
  EXPECT_NE(error_message(debug()["last_reload_error"]).find("No such file"), std::string::npos)
      << "the last error stays visible after recovery";
}

TEST_F(Faults, ConfigMapKeyRemovedThenRestored) {
  // The kubelet's layout: the key vanishes from the new payload, leaving the
  // `config` symlink dangling.
  const fs::path volume = dir("config");
  kubelet_write(volume, {{"config", config_with("before")}, {"mesh", "{}\n"}});
  plain_tls(cert_a_);
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(eventually([&] { return traffic_->first_seen("before").has_value(); }, wait_limit));

  kubelet_write(volume, {{"mesh", "{}\n"}});
  expect_config_rejected(1, "before", "No such file");

  kubelet_write(volume, {{"config", config_with("after")}, {"mesh", "{}\n"}});
  expect_config_recovers("after");
  EXPECT_EQ(counter("meshinject_config_reload_failures_total"), 1);
}

TEST_F(Faults, ConfigDirectoryRemovedAndRecreated) {
  plain_config("before");
  plain_tls(cert_a_);
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(eventually([&] { return traffic_->first_seen("before").has_value(); }, wait_limit));

  // inotify drops the directory's watch with it (IN_DELETE_SELF, IN_IGNORED).
  fs::remove_all(dir("config"));
  expect_config_rejected(1, "before", "No such file");

  fs::create_directories(dir("config"));
  plain_config("after");
  expect_config_recovers("after");
  EXPECT_EQ(counter("meshinject_config_reload_failures_total"), 1)
      << "a directory coming back file by file is still the one failure";
  EXPECT_TRUE(eventually([&] { return logged("info", "file watcher: watching directory", "config") >= 1; },
                         wait_limit))
      << "the new directory is watched again";

  // Watching goes on in the new directory.
  put(dir("config") / "config", config_with("again"));
  expect_config_recovers("again");
  EXPECT_EQ(counter("meshinject_config_reload_failures_total"), 1);
}

TEST_F(Faults, UnreadableConfigFile) {
  if (::geteuid() == 0) {
    // Root reads a mode-000 file anyway (CAP_DAC_OVERRIDE). Run the server
    // without the two capabilities that bypass file permissions, so chmod bites.
    const command_result probe = run_command({"setpriv", "--inh-caps=-dac_override,-dac_read_search",
                                              "--bounding-set=-dac_override,-dac_read_search", "true"});
    if (probe.status != 0)
      GTEST_SKIP() << "running as root and cannot drop CAP_DAC_OVERRIDE with setpriv (" << probe.output
                   << "): chmod 000 would not stop the server from reading";
  }
  plain_config("before");
  plain_tls(cert_a_);
  if (::geteuid() == 0) {
    const fs::path script = dir("meshinject-without-dac-override");
    write_file(script, "#!/bin/sh\nexec setpriv --inh-caps=-dac_override,-dac_read_search "
                       "--bounding-set=-dac_override,-dac_read_search -- '" +
                           fs::absolute(meshinject_binary()).string() + "' \"$@\"\n");
    fs::permissions(script, fs::perms::owner_all);
    ASSERT_NO_FATAL_FAILURE(start(script));
  } else {
    ASSERT_NO_FATAL_FAILURE(start());
  }
  ASSERT_TRUE(eventually([&] { return traffic_->first_seen("before").has_value(); }, wait_limit));

  fs::permissions(dir("config") / "config", fs::perms::none);
  expect_config_rejected(1, "before", "Permission denied");

  // Readable again, same bytes: nothing to reload, but the server says so.
  fs::permissions(dir("config") / "config", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                                fs::perms::others_read);
  EXPECT_TRUE(eventually([&] { return logged("info", "config files readable again", "") >= 1; }, wait_limit));
  EXPECT_EQ(answer_now(), "before");

  fs::permissions(dir("config") / "config", fs::perms::none);
  expect_config_rejected(2, "before", "Permission denied");
  put(dir("config") / "config", config_with("after"));  // a new file, readable
  expect_config_recovers("after");
  EXPECT_EQ(counter("meshinject_config_reload_failures_total"), 2);
}

// Swaps `target` for what `make_aside` creates next to it, in one rename, as a
// ConfigMap update would.
template <typename Make>
void swap_in(const fs::path& target, Make make_aside) {
  const fs::path aside = target.parent_path() / ("." + target.filename().string() + ".swap");
  fs::remove(aside);
  make_aside(aside);
  fs::rename(aside, target);
}

TEST_F(Faults, ConfigPathSwappedForAFifoNeverBlocksReloads) {
  plain_config("before");
  plain_tls(cert_a_);
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(eventually([&] { return traffic_->first_seen("before").has_value(); }, wait_limit));

  // Nobody ever writes to it: a server that opened it for reading would wait for good.
  swap_in(dir("config") / "config", [](const fs::path& p) { ASSERT_EQ(::mkfifo(p.c_str(), 0644), 0); });
  expect_config_rejected(1, "before", "not a regular file");

  put(dir("config") / "config", config_with("after"));
  expect_config_recovers("after");
}

TEST_F(Faults, ConfigPathPointingAtADeviceIsRefused) {
  plain_config("before");
  plain_tls(cert_a_);
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(eventually([&] { return traffic_->first_seen("before").has_value(); }, wait_limit));

  swap_in(dir("config") / "config", [](const fs::path& p) { fs::create_symlink("/dev/zero", p); });
  expect_config_rejected(1, "before", "not a regular file");

  put(dir("config") / "config", config_with("after"));
  expect_config_recovers("after");
}

TEST_F(Faults, OversizedAndAliasBombFilesAreRefusedWhileTheOldConfigServes) {
  plain_config("before");
  plain_tls(cert_a_);
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(eventually([&] { return traffic_->first_seen("before").has_value(); }, wait_limit));

  put(dir("config") / "mesh", "# " + std::string(5u << 20, 'x') + "\n");
  expect_config_rejected(1, "before", "larger than 4 MiB");

  // Nine nested aliases of nine items: 9^9 values once expanded.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) bomb += (j ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  put(dir("config") / "mesh", bomb);
  expect_config_rejected(2, "before", "expands to more than 100000 values");

  plain_config("after");
  expect_config_recovers("after");
  EXPECT_EQ(counter("meshinject_config_reload_failures_total"), 2);
}

TEST_F(Faults, EmptyConfigKeepsTheLastGoodOne) {
  // An empty ConfigMap key is a mistake, not "inject nothing" and not "use the
  // embedded default": check-config rejects it, so a reload does too.
  const fs::path volume = dir("config");
  kubelet_write(volume, {{"config", config_with("before")}, {"mesh", "{}\n"}});
  plain_tls(cert_a_);
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(eventually([&] { return traffic_->first_seen("before").has_value(); }, wait_limit));

  kubelet_write(volume, {{"config", ""}, {"mesh", "{}\n"}});
  expect_config_rejected(1, "before", "empty");

  kubelet_write(volume, {{"config", "  \n\t\n"}, {"mesh", "{}\n"}});
  expect_config_rejected(2, "before", "empty");

  kubelet_write(volume, {{"config", "# config: moved to the new chart\n\n# policy: enabled\n"}, {"mesh", "{}\n"}});
  expect_config_rejected(3, "before", "empty");

  kubelet_write(volume, {{"config", config_with("after")}, {"mesh", "{}\n"}});
  expect_config_recovers("after");
  EXPECT_EQ(counter("meshinject_config_reload_failures_total"), 3);
  EXPECT_EQ(counter("meshinject_config_reloads_total"), 4);
}

TEST_F(Faults, CertificateReplacedWithoutItsKey) {
  // Plain files, written one at a time as a careless rotation does: the new
  // certificate lands while the old key is still there.
  plain_config("config");
  plain_tls(cert_a_);
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(eventually([&] { return traffic_->first_seen(serial_a_).has_value(); }, wait_limit));
  const auto b = http::make_self_signed();
  const std::string serial_b = http::describe_certificate(b.cert_chain_pem).serial_hex;

  put(dir("tls") / "tls.crt", b.cert_chain_pem);
  expect_certificate_rejected(1, serial_a_, "does not match");

  put(dir("tls") / "tls.key", b.key_pem);
  expect_certificate_recovers(serial_b);
  EXPECT_EQ(counter("meshinject_certificate_reload_failures_total"), 1);

  // The key file gone: one failure while it stays gone; the same key back is no
  // reload at all.
  fs::remove(dir("tls") / "tls.key");
  expect_certificate_rejected(2, serial_b, "No such file");
  put(dir("tls") / "tls.key", b.key_pem);
  EXPECT_TRUE(eventually([&] { return logged("info", "certificate files readable again", "") >= 1; }, wait_limit));
  EXPECT_EQ(serial_now(), serial_b);
  EXPECT_EQ(counter("meshinject_certificate_reload_failures_total"), 2);
  EXPECT_EQ(counter("meshinject_certificate_reloads_total"), 3);
  EXPECT_EQ(metric(admin("/metrics"), "meshinject_tls_handshake_errors_total"), 0);
}

TEST_F(Faults, SecretSwappedToAMismatchedPair) {
  // The kubelet's layout: both keys change at once, to a pair that does not match.
  plain_config("config");
  const fs::path volume = dir("tls");
  kubelet_write(volume, {{"tls.crt", cert_a_.cert_chain_pem}, {"tls.key", cert_a_.key_pem}});
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(eventually([&] { return traffic_->first_seen(serial_a_).has_value(); }, wait_limit));
  const auto b = http::make_self_signed();
  const auto c = http::make_self_signed();
  const std::string serial_c = http::describe_certificate(c.cert_chain_pem).serial_hex;

  kubelet_write(volume, {{"tls.crt", b.cert_chain_pem}, {"tls.key", c.key_pem}});
  expect_certificate_rejected(1, serial_a_, "does not match");

  kubelet_write(volume, {{"tls.crt", c.cert_chain_pem}, {"tls.key", c.key_pem}});
  expect_certificate_recovers(serial_c);
  EXPECT_EQ(counter("meshinject_certificate_reload_failures_total"), 1);
  EXPECT_EQ(counter("meshinject_certificate_reloads_total"), 2);
}

}  // namespace
}  // namespace meshinject::test
