// Deployment checks that need the real server, run against $MESHINJECT_BINARY:
//  (a) the ConfigMap's `config` (as rendered by kustomize) passes check-config, and a
//      broken one is rejected with file:line:col;
//  (b) the server exports exactly the metric names in deploy/monitoring/METRICS.txt
//      (which the dashboard and alerts are checked against in manifests_test.cpp),
//      with the histograms the dashboard treats as histograms;
//  (c) `serve` accepts every flag the Deployment passes, with its files laid out the
//      way the kubelet mounts the ConfigMap and the Secret (..data symlink swaps); the
//      probe paths answer on the admin port; /health answers on the TLS port with a
//      certificate for the Service's name from gen-certs.sh; /inject takes a review and
//      answers with the embedded default's proxy (Istio 1.28's shape);
//  (d) hot reload through a kubelet-style ..data swap of the ConfigMap directory;
//  (e) SIGTERM: /readyz fails at once, the process exits 0 after --drain-seconds;
//  (f) the beside-istiod overlay's Deployment serves from Istio 1.28's own ConfigMap
//      keys, mounted where the overlay mounts them, and injects Istio's sidecar.
#include "tests/deploy/deploy_support.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <thread>

extern char** environ;

namespace meshinject::deploytest {
namespace {

using namespace std::chrono_literals;

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// Whether `text` holds "<file>:<line>:<column>".
bool has_position(const std::string& text, const std::string& file) {
  for (size_t at = text.find(file + ":"); at != std::string::npos; at = text.find(file + ":", at + 1)) {
    size_t i = at + file.size() + 1, digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
    if (!digits || i >= text.size() || text[i] != ':') continue;
    ++i;
    if (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) return true;
  }
  return false;
}

// The value of an unlabelled sample (or the sum over its label sets) in Prometheus text.
double counter_value(const std::string& exposition, const std::string& name) {
  double total = 0;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    const char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

fs::path binary() {
  const char* env = std::getenv("MESHINJECT_BINARY");
  return env && *env ? fs::path(env) : fs::path();
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// `curl` status code and body.
struct Http {
  int code = 0;
  std::string body;
};
Http http(const std::string& curl_args) {
  const auto r = run_command("curl -sS --max-time 5 -w '\\n%{http_code}' " + curl_args);
  Http h;
  const auto nl = r.out.rfind('\n');
  if (nl == std::string::npos) return h;
  h.body = r.out.substr(0, nl);
  h.code = std::atoi(r.out.c_str() + nl + 1);
  return h;
}

// Lays out `files` the way the kubelet's atomic writer does:
//   dir/..<stamp>/<key>, dir/..data -> ..<stamp>, dir/<key> -> ..data/<key>
// and, called again, swaps ..data to a new timestamped directory in one rename.
void kubelet_write(const fs::path& dir, const std::map<std::string, std::string>& files) {
  static int generation = 0;
  fs::create_directories(dir);
  const std::string stamp = "..2026_01_01_00_00_0" + std::to_string(++generation) + ".000000001";
  fs::create_directories(dir / stamp);
  for (const auto& [key, text] : files) write_file(dir / stamp / key, text);
  std::string old_target;
  if (fs::is_symlink(dir / "..data")) old_target = fs::read_symlink(dir / "..data").string();
  fs::create_symlink(stamp, dir / "..data_tmp");
  fs::rename(dir / "..data_tmp", dir / "..data");
  for (const auto& [key, text] : files)
    if (!fs::is_symlink(dir / key)) fs::create_symlink(fs::path("..data") / key, dir / key);
  if (!old_target.empty()) fs::remove_all(dir / old_target);
}

// The ConfigMap keys mounted at each directory of the container (mountPath -> key -> text).
using mounted_files = std::map<std::string, std::map<std::string, std::string>>;

class Server {
 public:
  explicit Server(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<std::string> argv_s{binary().string()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Server() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void signal(int sig) { kill(pid_, sig); }
  // Exit status once it exits within `timeout`, or nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

bool wait_for(const std::function<bool()>& ok, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return ok();
}

class Wiring : public ::testing::Test {
 protected:
  void SetUp() override {
    if (binary().empty() || !fs::exists(binary())) GTEST_SKIP() << "MESHINJECT_BINARY is not set to the built binary";
    for (const char* tool : {"kubectl", "openssl", "curl"})
      if (!have_tool(tool)) GTEST_SKIP() << tool << " is not installed";
    base_ = kustomize(deploy_dir() / "base");
    const auto cm = base_.one("ConfigMap");
    config_ = str(cm["data"]["config"]);
    values_ = str(cm["data"]["values"]);
    mesh_ = str(cm["data"]["mesh"]);
    container_ = base_.one("Deployment")["spec"]["template"]["spec"]["containers"][0];
  }
  Manifests base_;
  // The base ConfigMap's keys, mounted at /etc/meshinject/config.
  mounted_files files(const std::string& config) const {
    return {{"/etc/meshinject/config", {{"config", config}, {"values", values_}, {"mesh", mesh_}}}};
  }
  std::string config_, values_, mesh_;
  YAML::Node container_;
};

// ---- (a) check-config --------------------------------------------------------------------------

TEST_F(Wiring, ConfigMapConfigPassesCheckConfig) {
  TempDir tmp;
  write_file(tmp.path() / "config", config_);
  write_file(tmp.path() / "values", values_);
  write_file(tmp.path() / "mesh", mesh_);
  const auto r = run_command(shell_quote(binary().string()) + " check-config " + shell_quote((tmp.path() / "config").string()) +
                             " --mesh-config " + shell_quote((tmp.path() / "mesh").string()) + " --values " +
                             shell_quote((tmp.path() / "values").string()));
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST_F(Wiring, CheckConfigRejectsABrokenConfigWithAPosition) {
  TempDir tmp;
  const fs::path bad = tmp.path() / "config";
  write_file(bad, "policy: enabled\ntemplate: |-\n  containers:\n  - name: [[ annotation .ObjectMeta ]\n");
  const auto r = run_command(shell_quote(binary().string()) + " check-config " + shell_quote(bad.string()));
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_TRUE(has_position(r.out + r.err, bad.string())) << r.out << r.err;
}

// ---- (b), (c), (d), (e): serve with the Deployment's flags ---------------------------------------

// The Deployment's args, with ports moved to free loopback ports and files moved into
// kubelet-style directories under `root`, one for each directory the flags read from.
struct Layout {
  std::vector<std::string> args;
  int port = 0, admin = 0;
  fs::path config_dir, tls_dir, ca;
};

Layout layout_from_deployment(const YAML::Node& container, const fs::path& root, const mounted_files& files,
                              int drain_seconds) {
  Layout l;
  l.port = free_port();
  l.admin = free_port();
  std::map<std::string, fs::path> local;
  for (const auto& [mount, keys] : files) {
    local[mount] = root / ("mount-" + fs::path(mount).filename().string());
    kubelet_write(local[mount], keys);
  }
  if (local.count("/etc/meshinject/config")) l.config_dir = local["/etc/meshinject/config"];
  l.tls_dir = root / "tls";
  const fs::path certs = root / "certs";
  const auto gen = run_command("bash " + shell_quote((deploy_dir() / "gen-certs.sh").string()) + " " + shell_quote(certs.string()));
  if (gen.status != 0) throw std::runtime_error("gen-certs.sh failed: " + gen.err);
  kubelet_write(l.tls_dir, {{"tls.crt", read_file(certs / "tls.crt")}, {"tls.key", read_file(certs / "tls.key")},
                            {"ca.crt", read_file(certs / "ca.crt")}});
  l.ca = certs / "ca.crt";
  std::map<std::string, std::string> env;
  for (const auto& e : container["env"])
    if (e["valueFrom"]["resourceFieldRef"].IsDefined())
      env[str(e["name"])] = std::to_string(static_cast<long>(std::ceil(cpu_cores(str(container["resources"]["limits"]["cpu"])))));
  const auto args = args_of(container);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    for (const auto& [k, v] : env) a = replace_all(a, "$(" + k + ")", v);
    const std::string prev = i > 0 ? args[i - 1] : "";
    if (prev == "--listen") a = "127.0.0.1:" + std::to_string(l.port);
    else if (prev == "--admin-listen") a = "127.0.0.1:" + std::to_string(l.admin);
    else if (prev == "--drain-seconds") a = std::to_string(drain_seconds);
    else if (prev == "--inject-config" || prev == "--mesh-config" || prev == "--values") {
      const std::string dir = fs::path(a).parent_path().string();
      if (!local.count(dir)) throw std::runtime_error(prev + " reads " + a + ", from a directory the test mounts nothing at");
      a = (local[dir] / fs::path(a).filename()).string();
    } else if (prev == "--tls-cert" || prev == "--tls-key" || prev == "--client-ca")
      a = (l.tls_dir / fs::path(a).filename()).string();
    l.args.push_back(a);
  }
  return l;
}

std::string admin_url(const Layout& l, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(l.admin) + path;
}

TEST_F(Wiring, ServeAcceptsTheDeploymentAndAnswersItsProbes) {
  TempDir tmp;
  const auto l = layout_from_deployment(container_, tmp.path(), files(config_), 1);
  Server server(l.args, tmp.path() / "serve.log");
  ASSERT_GT(server.pid(), 0);
  ASSERT_TRUE(wait_for([&] { return http(shell_quote(admin_url(l, "/readyz"))).code == 200; }, 10s))
      << read_file(tmp.path() / "serve.log");
  // The probe paths the Deployment uses, and the other health paths.
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    const std::string path = str(container_[probe]["httpGet"]["path"]);
    EXPECT_EQ(http(shell_quote(admin_url(l, path))).code, 200) << probe << " " << path;
  }
  for (const char* path : {"/health", "/livez", "/readyz"}) EXPECT_EQ(http(shell_quote(admin_url(l, path))).code, 200) << path;
  // The TLS port, reached by the Service's name, verified with gen-certs.sh's CA.
  const std::string host = "meshinject.meshinject-system.svc";
  const std::string tls = "--cacert " + shell_quote(l.ca.string()) + " --resolve " + host + ":" + std::to_string(l.port) +
                          ":127.0.0.1 https://" + host + ":" + std::to_string(l.port);
  EXPECT_EQ(http(tls + "/health").code, 200);
  const std::string review =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},)"
      R"("resource":{"group":"","version":"v1","resource":"pods"},"namespace":"shop","operation":"CREATE",)"
      R"("object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"shop"},"spec":{"containers":[{"name":"app","image":"busybox"}]}}}})";
  write_file(tmp.path() / "review.json", review);
  const auto answer = http("-H 'Content-Type: application/json' --data-binary @" + shell_quote((tmp.path() / "review.json").string()) +
                           " " + tls + str(base_.one("MutatingWebhookConfiguration")["webhooks"][0]["clientConfig"]["service"]["path"]));
  EXPECT_EQ(answer.code, 200) << answer.body;
  EXPECT_NE(answer.body.find("\"uid\":\"u-1\""), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("\"patch\""), std::string::npos) << answer.body;
  // The ConfigMap's config is the embedded default: a proxy today's istiod accepts.
  const std::string patch = base64_decode(str(YAML::Load(answer.body)["response"]["patch"]));
  EXPECT_NE(patch.find("docker.io/istio/proxyv2:1.28.0"), std::string::npos) << patch;
  EXPECT_NE(patch.find(R"("restartPolicy":"Always")"), std::string::npos) << patch;
  EXPECT_NE(patch.find(R"({"name":"CA_ADDR","value":"istiod.istio-system.svc:15012"})"), std::string::npos) << patch;
}

TEST_F(Wiring, ServerExportsExactlyTheListedMetrics) {
  TempDir tmp;
  const auto l = layout_from_deployment(container_, tmp.path(), files(config_), 1);
  Server server(l.args, tmp.path() / "serve.log");
  ASSERT_TRUE(wait_for([&] { return http(shell_quote(admin_url(l, "/readyz"))).code == 200; }, 10s))
      << read_file(tmp.path() / "serve.log");
  const auto metrics = http(shell_quote(admin_url(l, "/metrics")));
  ASSERT_EQ(metrics.code, 200);
  std::set<std::string> exported, histograms;
  std::istringstream in(metrics.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream fields(line.substr(7));
    std::string name, type;
    fields >> name >> type;
    exported.insert(name);
    if (type == "histogram") histograms.insert(name);
  }
  std::set<std::string> listed;
  std::istringstream list(read_file(deploy_dir() / "monitoring" / "METRICS.txt"));
  while (std::getline(list, line))
    if (!line.empty() && line[0] != '#') listed.insert(line);
  for (const auto& n : listed) EXPECT_TRUE(exported.count(n)) << n << " is in METRICS.txt but not exported";
  for (const auto& n : exported) EXPECT_TRUE(listed.count(n)) << n << " is exported but not in METRICS.txt";
  // manifests_test.cpp treats exactly these as histograms (kHistograms there).
  EXPECT_EQ(histograms, (std::set<std::string>{"sidecar_injection_time_seconds"}));
}

TEST_F(Wiring, HotReloadThroughAKubeletSwap) {
  TempDir tmp;
  const auto l = layout_from_deployment(container_, tmp.path(), files(config_), 1);
  Server server(l.args, tmp.path() / "serve.log");
  ASSERT_TRUE(wait_for([&] { return http(shell_quote(admin_url(l, "/readyz"))).code == 200; }, 10s));
  const auto before = http(shell_quote(admin_url(l, "/debug/config"))).body;
  std::string changed = config_;
  changed = replace_all(changed, "policy: enabled", "policy: disabled");
  ASSERT_NE(changed, config_);
  kubelet_write(l.config_dir, files(changed).begin()->second);
  EXPECT_TRUE(wait_for([&] { return http(shell_quote(admin_url(l, "/debug/config"))).body != before; }, 10s))
      << "the config did not reload after a ..data swap";
  // A broken config keeps the previous one and counts a failure.
  kubelet_write(l.config_dir, files("policy: sometimes\n").begin()->second);
  EXPECT_TRUE(wait_for([&] {
    return counter_value(http(shell_quote(admin_url(l, "/metrics"))).body, "meshinject_config_reload_failures_total") >= 1;
  }, 10s));
  EXPECT_EQ(http(shell_quote(admin_url(l, "/readyz"))).code, 200) << "a rejected reload must not make the replica unready";
}

TEST_F(Wiring, SigtermDrainsThenExitsZero) {
  TempDir tmp;
  // Long enough for the checks inside the drain to happen inside it on a loaded
  // machine; the waits below are give-ups, not bounds.
  const int drain = 10;
  const auto l = layout_from_deployment(container_, tmp.path(), files(config_), drain);
  Server server(l.args, tmp.path() / "serve.log");
  ASSERT_TRUE(wait_for([&] { return http(shell_quote(admin_url(l, "/readyz"))).code == 200; }, 10s));
  const auto start = std::chrono::steady_clock::now();
  server.signal(SIGTERM);
  EXPECT_TRUE(wait_for([&] { return http(shell_quote(admin_url(l, "/readyz"))).code != 200; }, 8s))
      << "/readyz still passes after SIGTERM";
  EXPECT_EQ(http(shell_quote(admin_url(l, "/livez"))).code, 200) << "draining is not dead";
  const auto status = server.wait_exit(std::chrono::seconds(drain + 60));
  ASSERT_TRUE(status) << "did not exit within --drain-seconds + 60 s";
  EXPECT_EQ(*status, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(drain) - 200ms) << "exited before draining";
  // The Deployment leaves room for it.
  const int grace = base_.one("Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"].as<int>(30);
  EXPECT_GT(grace, std::stoi(flag_value(args_of(container_), "--drain-seconds").value_or("10")));
}

// ---- (f) beside istiod ---------------------------------------------------------------------------

std::optional<fs::path> istio_1_28_rendered() {
  const char* env = std::getenv("MESHINJECT_CONFORMANCE_DIR");
  const fs::path dir = (env && *env ? fs::path(env) : source_dir() / ".." / "shared" / "conformance") / "istio-1.28" / "rendered";
  if (!fs::exists(dir / "config.yaml") || !fs::exists(dir / "values.json")) return std::nullopt;
  return dir;
}

TEST_F(Wiring, BesideIstiodServesIstiosOwnConfigMaps) {
  const auto rendered = istio_1_28_rendered();
  if (!rendered) GTEST_SKIP() << "conformance data not found (MESHINJECT_CONFORMANCE_DIR): no Istio 1.28 ConfigMap to mount";
  const Manifests m = kustomize(deploy_dir() / "overlays" / "beside-istiod");
  const YAML::Node container = m.one("Deployment")["spec"]["template"]["spec"]["containers"][0];
  // Where the overlay mounts Istio's ConfigMaps, and what each one's keys hold: the
  // istio-sidecar-injector ConfigMap as Istio 1.28's chart renders it, and a mesh
  // config in the shape of the `istio` ConfigMap's `mesh` key.
  std::map<std::string, std::string> mount_of;
  for (const auto& vm : container["volumeMounts"]) mount_of[str(vm["name"])] = str(vm["mountPath"]);
  std::map<std::string, std::string> config_map_of;
  for (const auto& v : m.one("Deployment")["spec"]["template"]["spec"]["volumes"])
    if (is_set(v["configMap"])) config_map_of[str(v["configMap"]["name"])] = mount_of[str(v["name"])];
  ASSERT_TRUE(config_map_of.count("istio-sidecar-injector") && config_map_of.count("istio"));
  const mounted_files istio = {
      {config_map_of["istio-sidecar-injector"],
       {{"config", read_file(*rendered / "config.yaml")}, {"values", read_file(*rendered / "values.json")}}},
      {config_map_of["istio"], {{"mesh", mesh_}}}};

  TempDir tmp;
  const auto l = layout_from_deployment(container, tmp.path(), istio, 1);
  Server server(l.args, tmp.path() / "serve.log");
  ASSERT_GT(server.pid(), 0);
  ASSERT_TRUE(wait_for([&] { return http(shell_quote(admin_url(l, "/readyz"))).code == 200; }, 10s))
      << read_file(tmp.path() / "serve.log");
  const std::string host = "meshinject.meshinject-system.svc";  // the name gen-certs.sh's certificate carries
  const std::string tls = "--cacert " + shell_quote(l.ca.string()) + " --resolve " + host + ":" + std::to_string(l.port) +
                          ":127.0.0.1 https://" + host + ":" + std::to_string(l.port);
  const std::string review =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},)"
      R"("resource":{"group":"","version":"v1","resource":"pods"},"namespace":"shop","operation":"CREATE",)"
      R"("object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"shop"},"spec":{"containers":[{"name":"app","image":"busybox"}]}}}})";
  write_file(tmp.path() / "review.json", review);
  const auto answer = http("-H 'Content-Type: application/json' --data-binary @" + shell_quote((tmp.path() / "review.json").string()) +
                           " " + tls + "/inject");
  ASSERT_EQ(answer.code, 200) << answer.body;
  const YAML::Node response = YAML::Load(answer.body)["response"];
  ASSERT_TRUE(is_set(response["patch"])) << answer.body;
  // Istio 1.28's own sidecar template: its development image, its native sidecar.
  const std::string patch = base64_decode(str(response["patch"]));
  EXPECT_NE(patch.find("gcr.io/istio-testing/proxyv2:latest"), std::string::npos) << patch;
  EXPECT_NE(patch.find(R"("restartPolicy":"Always")"), std::string::npos) << patch;
  EXPECT_NE(patch.find("istiod.istio-system.svc:15012"), std::string::npos) << patch;
}

}  // namespace
}  // namespace meshinject::deploytest
