#include "http/server.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <malloc.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>
#include <vector>

#include "core/cpu.hpp"
#include "core/decision.hpp"
#include "core/error.hpp"
#include "core/logging.hpp"
#include "core/metrics.hpp"
#include "http/reactor.hpp"
#include "http/routes.hpp"
#include "http/tls.hpp"
#include "patch/injector.hpp"

namespace meshinject::http {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

// A file that could not be read (deleted, its directory gone, permissions).
struct read_error : std::runtime_error {
  read_error(const std::string& path, const std::string& message) : std::runtime_error(message), path(path) {}
  std::string path;
};

std::string read_file(const std::string& path) {
  // A directory opens and reads as nothing; that would be reported as an empty config.
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw read_error(path, "cannot read " + path + ": it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw read_error(path, "cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw read_error(path, "cannot read " + path);
  return std::move(text).str();
}

std::string now_rfc3339() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  const char millis[] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                         static_cast<char>('0' + ms % 10), 'Z', '\0'};
  std::memcpy(buf + n, millis, sizeof millis);
  return buf;
}

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The labels of meshinject_decisions_total, indexed by decision reason code.
const std::array<core::decision_label, core::decision_reason_counters>& decision_labels() {
  static const auto labels = [] {
    std::array<core::decision_label, core::decision_reason_counters> out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
      const auto reason = static_cast<core::decision_reason>(i);
      const bool inject = reason == core::decision_reason::label_opt_in ||
                          reason == core::decision_reason::annotation_opt_in ||
                          reason == core::decision_reason::always_inject_selector ||
                          reason == core::decision_reason::policy_enabled;
      out[i] = {inject ? "inject" : "skip", core::reason_code(reason)};
    }
    return out;
  }();
  return labels;
}
static_assert(core::decision_reason_counters == core::decision_reason_count);

struct reload_error {
  std::string message;
  std::string at;
};

void append_error(std::string& out, const std::optional<reload_error>& e) {
  if (!e) {
    out += "null";
    return;
  }
  out += "{\"message\":";
  append_json_string(out, e->message);
  out += ",\"at\":";
  append_json_string(out, e->at);
  out += '}';
}

}  // namespace

struct server::impl {
  explicit impl(server_options o) : opt(std::move(o)) {}

  server_options opt;
  asio::io_context io{1};
  std::optional<asio::signal_set> signals;
  asio::steady_timer drain_timer{io};
  asio::steady_timer poll_timer{io};
  asio::steady_timer retry_timer{io};
  asio::steady_timer trim_timer{io};
  std::vector<std::unique_ptr<reactor>> reactors;
  std::vector<std::thread> threads;
  std::unique_ptr<admin_listener> admin;
  std::unique_ptr<core::file_watcher> watcher;
  core::control_metrics control;

  std::shared_ptr<const patch::snapshot> config;
  std::shared_ptr<const patch::snapshot> retired_config;  // freed here, not on a reactor
  std::string config_attempt;                             // the bytes last compiled
  std::string config_loaded_at;
  std::optional<reload_error> config_failure;
  // Set from the first failed read of a file until every file reads again: one
  // failure counted and logged per episode, however many retries it takes.
  bool config_unreadable = false;
  bool config_attempt_failed = false;  // config_attempt did not compile

  std::shared_ptr<const tls_context> tls;
  std::shared_ptr<const tls_context> retired_tls;
  std::string tls_attempt;
  std::string tls_loaded_at;
  std::optional<reload_error> tls_failure;
  bool tls_unreadable = false;
  bool tls_attempt_failed = false;  // tls_attempt did not load
  bool self_signed = false;

  listen_address webhook_address, admin_address;
  std::uint16_t webhook_port = 0, admin_port = 0;
  bool started = false;
  bool draining = false;
  bool stopping = false;
  bool stopped = false;
  steady::time_point grace_deadline{};

  // ---- config

  // Reads every config file. Throws read_error; core::config_error for an empty
  // --inject-config (which would otherwise mean "the embedded default").
  patch::config_sources read_sources(std::string& key) const {
    patch::config_sources s;
    if (!opt.inject_config.empty()) {
      s.inject_config_text = read_file(opt.inject_config);
      s.inject_config_name = opt.inject_config;
    }
    if (!opt.mesh_config.empty()) {
      s.mesh_text = read_file(opt.mesh_config);
      s.mesh_name = opt.mesh_config;
    }
    if (!opt.values.empty()) {
      s.values_text = read_file(opt.values);
      s.values_name = opt.values;
    }
    key = s.inject_config_text + '\0' + s.mesh_text + '\0' + s.values_text;
    return s;
  }

  static std::shared_ptr<const patch::snapshot> compile(const patch::config_sources& s, const std::string& file) {
    if (!file.empty() && s.inject_config_text.find_first_not_of(" \t\r\n") == std::string::npos)
      throw core::config_error({file, 0, 0}, "the injection config is empty");
    return patch::snapshot::build(s);
  }

  void install_config(std::shared_ptr<const patch::snapshot> snap, bool initial) {
    retired_config = std::move(config);
    config = std::move(snap);
    if (!initial)
      for (auto& r : reactors) r->set_snapshot(config);
    control.config_version = config->content_hash().substr(0, 12);
    control.config_source = opt.inject_config.empty() ? "embedded" : opt.inject_config;
    control.config_last_reload_success_timestamp_seconds.set(now_unix());
    config_loaded_at = now_rfc3339();
    for (const auto& w : config->warnings()) core::log_warn("config warning", {{"warning", w}});
  }

  void reload_config() {
    try_reload_config();
    // Derived, not tracked: the files fail to load while they cannot be read or
    // while what they last held did not compile.
    control.config_reload_failing.set(config_unreadable || config_attempt_failed ? 1 : 0);
  }

  void try_reload_config() {
    std::string key;
    patch::config_sources sources;
    try {
      sources = read_sources(key);
    } catch (const read_error& e) {
      if (!config_unreadable) {
        config_unreadable = true;
        control.config_reloads.inc();
        fail_config(e.what(), {e.path, 0, 0});
      } else {
        core::log_debug("config file still unreadable; retrying", {{"error", e.what()}});
      }
      schedule_retry();
      return;
    }
    if (config_unreadable) {
      config_unreadable = false;
      core::log_info("config files readable again", {{"changed", key != config_attempt}});
    }
    if (key == config_attempt) {
      core::log_debug("config files changed on disk, content unchanged");
      return;
    }
    config_attempt = std::move(key);
    control.config_reloads.inc();
    try {
      auto snap = compile(sources, opt.inject_config);
      install_config(std::move(snap), false);
      config_attempt_failed = false;
      core::log_info("config reloaded", {{"version", control.config_version},
                                         {"template_version", config->template_version()},
                                         {"source", control.config_source},
                                         {"warnings", config->warnings().size()}});
    } catch (const core::config_error& e) {
      config_attempt_failed = true;
      fail_config(e.what(), e.where());
    } catch (const std::exception& e) {
      config_attempt_failed = true;
      fail_config(e.what(), {});
    }
  }

  void fail_config(const std::string& message, const core::source_position& where) {
    control.config_reload_failures.inc();
    config_failure = reload_error{message, now_rfc3339()};
    core::log_error("config reload failed; the previous config keeps serving",
                    {{"error", message}, {"file", where.file}, {"line", where.line}, {"column", where.column}});
  }

  // ---- certificates

  tls_material read_tls(std::string& key) const {
    tls_material m;
    m.cert_chain_pem = read_file(opt.tls_cert);
    m.key_pem = read_file(opt.tls_key);
    m.cert_name = opt.tls_cert;
    m.key_name = opt.tls_key;
    if (!opt.client_ca.empty()) {
      m.client_ca_pem = read_file(opt.client_ca);
      m.client_ca_name = opt.client_ca;
    }
    key = m.cert_chain_pem + '\0' + m.key_pem + '\0' + m.client_ca_pem;
    return m;
  }

  void install_tls(std::shared_ptr<const tls_context> ctx, bool initial) {
    retired_tls = std::move(tls);
    tls = std::move(ctx);
    if (!initial)
      for (auto& r : reactors) r->set_tls(tls);
    control.certificate_expiry_timestamp_seconds.set(tls->certificate().not_after_unix);
    tls_loaded_at = now_rfc3339();
  }

  void reload_tls() {
    if (self_signed) return;
    try_reload_tls();
    control.certificate_reload_failing.set(tls_unreadable || tls_attempt_failed ? 1 : 0);
  }

  void try_reload_tls() {
    std::string key;
    tls_material m;
    try {
      m = read_tls(key);
    } catch (const read_error& e) {
      if (!tls_unreadable) {
        tls_unreadable = true;
        control.certificate_reloads.inc();
        fail_tls(e.what());
      } else {
        core::log_debug("certificate file still unreadable; retrying", {{"error", e.what()}});
      }
      schedule_retry();
      return;
    }
    if (tls_unreadable) {
      tls_unreadable = false;
      core::log_info("certificate files readable again", {{"changed", key != tls_attempt}});
    }
    if (key == tls_attempt) return;
    tls_attempt = std::move(key);
    control.certificate_reloads.inc();
    try {
      install_tls(tls_context::build(m), false);
      tls_attempt_failed = false;
      const certificate_info& c = tls->certificate();
      core::log_info("certificate reloaded",
                     {{"subject", c.subject}, {"serial", c.serial_hex}, {"not_after", c.not_after}});
    } catch (const std::exception& e) {
      tls_attempt_failed = true;
      fail_tls(e.what());
    }
  }

  void fail_tls(const std::string& message) {
    control.certificate_reload_failures.inc();
    tls_failure = reload_error{message, now_rfc3339()};
    core::log_error("certificate reload failed; the previous certificate keeps serving", {{"error", message}});
  }

  // The watcher reports a file written again or chmod-ed back, but not every way
  // a file becomes readable again (a parent directory's permissions, an ACL), so
  // an unreadable file is also retried on a timer.
  void schedule_retry() {
    retry_timer.expires_after(std::chrono::seconds(1));
    retry_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      if (config_unreadable) reload_config();
      if (tls_unreadable) reload_tls();
    });
  }

  void on_files_changed(const std::vector<fs::path>& changed) {
    bool config_changed = false, tls_changed = false;
    for (const auto& p : changed) {
      const std::string s = p.string();
      if (s == opt.inject_config || s == opt.mesh_config || s == opt.values) config_changed = true;
      if (s == opt.tls_cert || s == opt.tls_key || s == opt.client_ca) tls_changed = true;
    }
    if (config_changed) reload_config();
    if (tls_changed) reload_tls();
  }

  // ---- start-up

  void start() {
    // Blocks of 16 KB and more (TLS record buffers, read buffers) come from mmap
    // and go back to the kernel when freed. Warm connections allocate nothing, so
    // this costs only the lean ones (see http/connection.cpp), and it keeps the
    // memory of a connection flood from staying resident after it is gone.
    ::mallopt(M_MMAP_THRESHOLD, 16 * 1024);
    ::signal(SIGPIPE, SIG_IGN);  // a peer that went away is an error code, not a signal
    try {
      webhook_address = parse_listen_address(opt.listen);
      admin_address = parse_listen_address(opt.admin_listen);
    } catch (const std::invalid_argument& e) {
      throw startup_error(e.what(), 2);
    }
    if (opt.tls_cert.empty() != opt.tls_key.empty())
      throw startup_error("--tls-cert and --tls-key go together", 2);

    // Config.
    try {
      patch::config_sources sources = read_sources(config_attempt);
      install_config(compile(sources, opt.inject_config), true);
    } catch (const read_error& e) {
      throw startup_error(e.what(), 1);
    } catch (const std::exception& e) {
      throw startup_error(std::string("config: ") + e.what(), 1);
    }

    // Certificate.
    try {
      if (opt.tls_cert.empty()) {
        self_signed = true;
        const self_signed_material generated = make_self_signed();
        if (!opt.self_signed_ca_out.empty()) {
          std::ofstream out(opt.self_signed_ca_out, std::ios::binary | std::ios::trunc);
          out << generated.ca_pem;
          out.close();
          if (!out) throw startup_error("cannot write --self-signed-ca-out " + opt.self_signed_ca_out, 1);
        }
        tls_material m;
        m.cert_chain_pem = generated.cert_chain_pem;
        m.key_pem = generated.key_pem;
        m.cert_name = "self-signed certificate";
        m.key_name = "self-signed key";
        if (!opt.client_ca.empty()) {
          m.client_ca_pem = read_file(opt.client_ca);
          m.client_ca_name = opt.client_ca;
        }
        install_tls(tls_context::build(m), true);
      } else {
        install_tls(tls_context::build(read_tls(tls_attempt)), true);
      }
    } catch (const startup_error&) {
      throw;
    } catch (const std::exception& e) {
      throw startup_error(std::string("certificate: ") + e.what(), 1);
    }

    // Reactors and sockets. Reactor 0 binds first (port 0 picks a port); the
    // others bind the same port with SO_REUSEPORT.
    const unsigned n = opt.threads > 0 ? opt.threads : core::usable_cpus();
    try {
      for (unsigned i = 0; i < n; ++i) {
        reactor_settings s;
        s.index = i;
        s.lim = opt.lim;
        s.max_connections = connections_per_reactor(opt.lim.max_connections, n);
        reactors.push_back(std::make_unique<reactor>(s, config, tls));
      }
      webhook_port = reactors[0]->listen(webhook_address);
      webhook_address.port = webhook_port;
      for (unsigned i = 1; i < n; ++i) reactors[i]->listen(webhook_address);

      limits admin_limits = opt.lim;
      admin_limits.max_body_bytes = 64 * 1024;
      admin_limits.max_connection_age = std::chrono::milliseconds(0);
      admin = std::make_unique<admin_listener>(
          io, admin_limits, [this](const admin_request& rq, admin_response& rs) { handle_admin(rq, rs); });
      admin_port = admin->listen(admin_address);
      admin_address.port = admin_port;
    } catch (const std::system_error& e) {
      throw startup_error(e.what(), 1);
    }

    // Watching, signals.
    std::vector<fs::path> files;
    for (const std::string* f : {&opt.inject_config, &opt.mesh_config, &opt.values, &opt.tls_cert, &opt.tls_key,
                                 &opt.client_ca})
      if (!f->empty()) files.emplace_back(*f);
    if (!files.empty()) {
      watcher = std::make_unique<core::file_watcher>(
          io, files, [this](const std::vector<fs::path>& changed) { on_files_changed(changed); }, opt.watch);
      watcher->start();
    }
    if (opt.handle_signals) {
      signals.emplace(io, SIGTERM, SIGINT);
      wait_signal();
    }

    schedule_trim();
    admin->start();
    control.reactors.set(static_cast<std::int64_t>(n));
    for (auto& r : reactors) threads.emplace_back([p = r.get()] { p->run(); });
    started = true;
    control.ready.set(1);

    if (!opt.ready_file.empty()) write_ready_file(n);
    const certificate_info& cert = tls->certificate();
    core::log_info("listening", {{"webhook", webhook_address.to_string()},
                                 {"webhook_port", webhook_port},
                                 {"admin", admin_address.to_string()},
                                 {"admin_port", admin_port},
                                 {"threads", n},
                                 {"tls", self_signed ? std::string_view("self-signed") : std::string_view(opt.tls_cert)},
                                 {"client_auth", tls->requires_client_certificate()},
                                 {"certificate_not_after", cert.not_after},
                                 {"config", control.config_source},
                                 {"version", control.config_version}});
  }

  void write_ready_file(unsigned n) {
    std::string text = "{\"webhook_port\":" + std::to_string(webhook_port) +
                       ",\"admin_port\":" + std::to_string(admin_port) + ",\"pid\":" + std::to_string(::getpid()) +
                       ",\"threads\":" + std::to_string(n) + ",\"webhook\":";
    append_json_string(text, webhook_address.to_string());
    text += ",\"admin\":";
    append_json_string(text, admin_address.to_string());
    text += "}\n";
    const std::string tmp = opt.ready_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out) {
        core::log_error("cannot write --ready-file", {{"path", opt.ready_file}});
        return;
      }
    }
    std::error_code ec;
    fs::rename(tmp, opt.ready_file, ec);
    if (ec) core::log_error("cannot write --ready-file", {{"path", opt.ready_file}, {"error", ec.message()}});
  }

  void wait_signal() {
    signals->async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      begin_drain(signo == SIGINT ? "SIGINT" : "SIGTERM");
      if (!stopped) wait_signal();
    });
  }

  // ---- shutdown

  void begin_drain(std::string_view why) {
    if (draining) {
      if (!stopping) {
        core::log_info("second shutdown request: skipping the rest of the drain", {{"signal", why}});
        drain_timer.cancel();
        end_drain();
      }
      return;
    }
    draining = true;
    control.ready.set(0);
    core::log_info("draining: not ready, answering with Connection: close",
                   {{"signal", why}, {"drain_ms", static_cast<std::int64_t>(opt.drain.count())}});
    for (auto& r : reactors) r->drain();
    drain_timer.expires_after(opt.drain);
    drain_timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) end_drain();
    });
  }

  void end_drain() {
    if (stopping) return;
    stopping = true;
    for (auto& r : reactors) r->stop_accepting();
    grace_deadline = steady::now() + opt.shutdown_grace;
    poll_connections();
  }

  // A burst of connections (a thousand TLS handshakes at once) leaves tens of MB
  // free inside the reactors' malloc arenas, which glibc keeps mapped. Every few
  // seconds the control thread hands whole free pages back to the kernel: a walk
  // of the free lists under each arena's lock, well under a millisecond, which a
  // reactor only waits for if it allocates at that moment (warm, it does not).
  void schedule_trim() {
    trim_timer.expires_after(std::chrono::seconds(5));
    trim_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped) return;
      ::malloc_trim(0);
      schedule_trim();
    });
  }

  std::int64_t open_connections() const {
    std::int64_t n = 0;
    for (const auto& r : reactors) n += r->metrics().open_connections.value();
    return n;
  }

  void poll_connections() {
    const std::int64_t open = open_connections();
    if (open <= 0 || steady::now() >= grace_deadline) return stop_everything(open);
    poll_timer.expires_after(std::chrono::milliseconds(20));
    poll_timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) poll_connections();
    });
  }

  void stop_everything(std::int64_t still_open) {
    if (stopped) return;
    stopped = true;
    for (auto& r : reactors) r->shutdown();
    for (auto& t : threads) t.join();
    threads.clear();
    if (admin) admin->stop();
    if (watcher) watcher->stop();
    if (signals) {
      boost::system::error_code ec;
      signals->cancel(ec);
    }
    drain_timer.cancel();
    poll_timer.cancel();
    retry_timer.cancel();
    trim_timer.cancel();
    core::log_info("stopped", {{"closed_in_flight", still_open}});
  }

  // ---- admin port

  void handle_admin(const admin_request& rq, admin_response& rs) {
    const bool get = rq.method == "GET" || rq.method == "HEAD";
    auto method_not_allowed = [&](std::string_view allow) {
      rs.status = 405;
      rs.body = "method not allowed\n";
      rs.extra_headers = "Allow: " + std::string(allow) + "\r\n";
    };
    if (rq.path == "/health" || rq.path == "/livez") {
      if (!get) return method_not_allowed("GET, HEAD");
      rs.body = "ok\n";
      return;
    }
    if (rq.path == "/readyz") {
      if (!get) return method_not_allowed("GET, HEAD");
      if (draining) {
        rs.status = 503;
        rs.body = "not ready: draining\n";
      } else if (!started) {
        rs.status = 503;
        rs.body = "not ready: starting\n";
      } else {
        rs.body = "ok\n";
      }
      return;
    }
    if (rq.path == "/metrics") {
      if (!get) return method_not_allowed("GET, HEAD");
      std::vector<const core::core_metrics*> cores;
      cores.reserve(reactors.size());
      for (const auto& r : reactors) cores.push_back(&r->metrics());
      rs.content_type = std::string(core::prometheus_content_type);
      core::render_prometheus(rs.body, cores, control, decision_labels(), core::read_process_stats());
      return;
    }
    if (rq.path == "/debug/config") {
      if (!get) return method_not_allowed("GET, HEAD");
      rs.content_type = std::string(json_content_type);
      rs.body = debug_config();
      return;
    }
    if (rq.path == "/debug/loglevel") {
      rs.content_type = std::string(json_content_type);
      const core::log_level before = core::global_logger().level();
      if (get) {
        rs.body = "{\"level\":\"" + std::string(core::to_string(before)) + "\"}\n";
        return;
      }
      if (rq.method != "PUT" && rq.method != "POST") return method_not_allowed("GET, HEAD, PUT");
      std::string_view wanted = query_value(rq.query, "level");
      if (wanted.empty()) wanted = query_value(rq.body, "level");
      const auto level = core::parse_log_level(wanted);
      if (!level) {
        rs.status = 400;
        rs.body = "{\"error\":";
        append_json_string(rs.body, "unknown log level '" + std::string(wanted) +
                                        "'; use ?level=error, warn, info or debug");
        rs.body += "}\n";
        return;
      }
      core::global_logger().set_level(*level);
      core::log_info("log level changed", {{"from", core::to_string(before)}, {"to", core::to_string(*level)}});
      rs.body = "{\"level\":\"" + std::string(core::to_string(*level)) + "\",\"previous\":\"" +
                std::string(core::to_string(before)) + "\"}\n";
      return;
    }
    rs.status = 404;
    rs.body = "not found\n";
  }

  std::string debug_config() const {
    std::string out = "{\"version\":";
    append_json_string(out, control.config_version);
    out += ",\"template_version\":";
    append_json_string(out, config->template_version());
    out += ",\"content_hash\":";
    append_json_string(out, config->content_hash());
    out += ",\"sources\":{\"inject_config\":";
    append_json_string(out, opt.inject_config.empty() ? "embedded default" : opt.inject_config);
    out += ",\"mesh_config\":";
    append_json_string(out, opt.mesh_config.empty() ? "built-in defaults" : opt.mesh_config);
    out += ",\"values\":";
    append_json_string(out, opt.values);
    out += "},\"loaded_at\":";
    append_json_string(out, config_loaded_at);
    out += ",\"warnings\":[";
    bool first = true;
    for (const auto& w : config->warnings()) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, w);
    }
    out += "],\"reloads\":" + std::to_string(control.config_reloads.value());
    out += ",\"reload_failures\":" + std::to_string(control.config_reload_failures.value());
    out += ",\"last_reload_error\":";
    append_error(out, config_failure);

    const certificate_info& c = tls->certificate();
    out += ",\"certificate\":{\"source\":";
    append_json_string(out, self_signed ? "self-signed" : opt.tls_cert);
    out += ",\"subject\":";
    append_json_string(out, c.subject);
    out += ",\"serial\":";
    append_json_string(out, c.serial_hex);
    out += ",\"not_after\":";
    append_json_string(out, c.not_after);
    out += ",\"sans\":";
    append_json_string(out, c.sans);
    out += ",\"client_auth\":";
    out += tls->requires_client_certificate() ? "true" : "false";
    out += ",\"loaded_at\":";
    append_json_string(out, tls_loaded_at);
    out += ",\"reloads\":" + std::to_string(control.certificate_reloads.value());
    out += ",\"reload_failures\":" + std::to_string(control.certificate_reload_failures.value());
    out += ",\"last_reload_error\":";
    append_error(out, tls_failure);
    out += "},\"ready\":";
    out += control.ready.value() == 1 ? "true" : "false";
    out += ",\"draining\":";
    out += draining ? "true" : "false";
    out += ",\"reactors\":[";
    first = true;
    for (const auto& r : reactors) {
      const core::core_metrics& m = r->metrics();
      if (!first) out += ',';
      first = false;
      out += "{\"index\":" + std::to_string(r->index()) +
             ",\"requests\":" + std::to_string(m.injection_requests.value()) +
             ",\"connections\":" + std::to_string(m.connections.value()) +
             ",\"open_connections\":" + std::to_string(m.open_connections.value()) +
             ",\"template_variants\":" + std::to_string(m.template_variants.value()) + "}";
    }
    out += "]}\n";
    return out;
  }
};

server::server(server_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

server::~server() {
  // Never leave reactor threads running behind a server that failed half-way.
  if (impl_ && !impl_->threads.empty()) {
    for (auto& r : impl_->reactors) r->shutdown();
    for (auto& t : impl_->threads) t.join();
  }
}

void server::start() {
  try {
    impl_->start();
  } catch (...) {
    // Nothing may stay half-started: reactors never ran, sockets close with them.
    impl_->reactors.clear();
    impl_->admin.reset();
    impl_->watcher.reset();
    throw;
  }
}

int server::run() {
  for (;;) {
    try {
      impl_->io.run();
      break;
    } catch (const std::exception& e) {
      core::log_error("control thread: unexpected exception", {{"error", e.what()}});
    }
  }
  if (!impl_->stopped) impl_->stop_everything(impl_->open_connections());
  return 0;
}

void server::request_shutdown() {
  asio::post(impl_->io, [i = impl_.get()] { i->begin_drain("request"); });
}

std::uint16_t server::webhook_port() const noexcept { return impl_->webhook_port; }
std::uint16_t server::admin_port() const noexcept { return impl_->admin_port; }

}  // namespace meshinject::http
