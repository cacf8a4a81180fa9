#include "control/server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <malloc.h>

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

#include "control/admin.hpp"
#include "control/admission.hpp"
#include "control/reloadable.hpp"
#include "core/config_tree.hpp"
#include "core/cpu.hpp"
#include "core/error.hpp"
#include "core/injection_config.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/metrics.hpp"
#include "http/reactor.hpp"
#include "http/routes.hpp"
#include "http/tls.hpp"
#include "patch/injector.hpp"

namespace meshinject::control {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;
using core::append_json_string;
using http::tls_context;

std::string too_large(const std::string& path, std::size_t limit) {
  const std::string size =
      limit % (1 << 20) == 0 ? std::to_string(limit >> 20) + " MiB" : std::to_string(limit) + " bytes";
  return "cannot read " + path + ": larger than " + size +
         ", the bound on config files (--max-config-bytes; a ConfigMap holds at most 1 MiB)";
}

// Reads a mounted config, mesh, values, certificate or key file. Only regular
// files are read, and only up to `limit` (--max-config-bytes): a path swapped for a
// FIFO would block the control thread (and with it every later reload), and one
// pointing at /dev/zero would never end.
std::string read_file(const std::string& path, std::size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw read_error(path, "cannot read " + path + ": " + std::strerror(errno));
  struct fd_closer {
    int fd;
    ~fd_closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw read_error(path, "cannot read " + path + ": " + std::strerror(errno));
  // A directory opens and reads as nothing; that would be reported as an empty config.
  if (S_ISDIR(st.st_mode)) throw read_error(path, "cannot read " + path + ": it is a directory");
  if (!S_ISREG(st.st_mode))
    throw read_error(path, "cannot read " + path + ": not a regular file (a FIFO, socket or device is never read)");
  if (static_cast<std::uint64_t>(st.st_size) > limit) throw read_error(path, too_large(path, limit));
  std::string text;
  char chunk[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw read_error(path, "cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) return text;
    text.append(chunk, static_cast<std::size_t>(n));
    if (text.size() > limit) throw read_error(path, too_large(path, limit));  // grew while being read
  }
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

std::shared_ptr<const patch::snapshot> compile(patch::config_sources s, const std::string& file) {
  if (!file.empty() && s.inject_config_text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw core::config_error({file, 0, 0}, "the injection config is empty");
  // Without --revision, the revision the values name (read again on every reload).
  if (s.revision.empty() && !s.values_text.empty())
    s.revision =
        std::string(core::values_revision(core::load_values(s.values_text, s.values_name, s.config_limits)));
  return patch::snapshot::build(s);
}

}  // namespace

struct server::impl {
  explicit impl(server_options o)
      : opt(std::move(o)),
        config(config_hooks(), {&control.config_reloads, &control.config_reload_failures,
                                &control.config_reload_failing}),
        tls(tls_hooks(), {&control.certificate_reloads, &control.certificate_reload_failures,
                          &control.certificate_reload_failing}) {
    admin_state = {&opt, &config, &tls, &config_loaded_at, &tls_loaded_at, &control, &reactors,
                   &started, &draining, &self_signed};
  }

  server_options opt;
  asio::io_context io{1};
  std::optional<asio::signal_set> signals;
  asio::steady_timer drain_timer{io};
  asio::steady_timer poll_timer{io};
  asio::steady_timer retry_timer{io};
  asio::steady_timer trim_timer{io};
  std::vector<std::unique_ptr<http::reactor>> reactors;
  std::vector<admission_route*> routes;  // routes[i] is owned by reactors[i]
  std::vector<std::thread> threads;
  std::unique_ptr<http::admin_listener> admin;
  std::unique_ptr<core::file_watcher> watcher;
  core::control_metrics control;

  reloadable<patch::snapshot> config;
  std::string config_loaded_at;
  reloadable<tls_context> tls;
  std::string tls_loaded_at;
  bool self_signed = false;
  admin_view admin_state;

  http::listen_address webhook_address, admin_address;
  std::uint16_t webhook_port = 0, admin_port = 0;
  bool started = false;
  bool draining = false;
  bool stopping = false;
  bool stopped = false;
  steady::time_point grace_deadline{};

  // ---- config

  // Reads every config file. Throws read_error; building throws core::config_error
  // for an empty --inject-config (which would otherwise mean "the embedded default").
  staged<patch::snapshot> read_config() const {
    patch::config_sources s;
    s.revision = opt.revision;
    s.native_sidecars = opt.native_sidecars;
    s.config_limits = opt.config_limits;
    s.template_limits = opt.template_limits;
    if (!opt.inject_config.empty()) {
      s.inject_config_text = read_file(opt.inject_config, opt.max_config_bytes);
      s.inject_config_name = opt.inject_config;
    }
    if (!opt.mesh_config.empty()) {
      s.mesh_text = read_file(opt.mesh_config, opt.max_config_bytes);
      s.mesh_name = opt.mesh_config;
    }
    if (!opt.values.empty()) {
      s.values_text = read_file(opt.values, opt.max_config_bytes);
      s.values_name = opt.values;
    }
    std::string bytes = s.inject_config_text + '\0' + s.mesh_text + '\0' + s.values_text;
    return {std::move(bytes), [s = std::move(s), file = opt.inject_config] { return compile(s, file); }};
  }

  reloadable<patch::snapshot>::hooks config_hooks() {
    reloadable<patch::snapshot>::hooks h;
    h.what = "config";
    h.read = [this] { return read_config(); };
    h.installed = [this](const std::shared_ptr<const patch::snapshot>& snap, bool initial) {
      config_installed(snap, initial);
    };
    h.timestamp = now_rfc3339;
    h.log_position = true;
    return h;
  }

  void config_installed(const std::shared_ptr<const patch::snapshot>& snap, bool initial) {
    if (!initial)
      for (std::size_t i = 0; i < reactors.size(); ++i)
        reactors[i]->post([route = routes[i], snap] { route->set_snapshot(snap); });
    // The first valid config after a start without one: ready from now on (when
    // a certificate has loaded too).
    if (started && !draining) control.ready.set(serving_ready() ? 1 : 0);
    control.config_version = snap->content_hash().substr(0, 12);
    control.config_source = opt.inject_config.empty() ? "embedded" : opt.inject_config;
    control.config_last_reload_success_timestamp_seconds.set(now_unix());
    config_loaded_at = now_rfc3339();
    for (const auto& w : snap->warnings()) core::log_warn("config warning", {{"warning", w}});
    if (!initial)
      core::log_info("config reloaded", {{"version", control.config_version},
                                         {"template_version", snap->template_version()},
                                         {"source", control.config_source},
                                         {"warnings", snap->warnings().size()}});
  }

  void reload_config() {
    if (config.reload() == reload_result::unreadable) schedule_retry();
  }

  // ---- certificates

  staged<tls_context> read_tls() const {
    http::tls_material m;
    m.cert_chain_pem = read_file(opt.tls_cert, opt.max_config_bytes);
    m.key_pem = read_file(opt.tls_key, opt.max_config_bytes);
    m.cert_name = opt.tls_cert;
    m.key_name = opt.tls_key;
    if (!opt.client_ca.empty()) {
      m.client_ca_pem = read_file(opt.client_ca, opt.max_config_bytes);
      m.client_ca_name = opt.client_ca;
    }
    std::string bytes = m.cert_chain_pem + '\0' + m.key_pem + '\0' + m.client_ca_pem;
    return {std::move(bytes), [m = std::move(m)] { return tls_context::build(m); }};
  }

  reloadable<tls_context>::hooks tls_hooks() {
    reloadable<tls_context>::hooks h;
    h.what = "certificate";
    h.read = [this] { return read_tls(); };
    h.installed = [this](const std::shared_ptr<const tls_context>& ctx, bool initial) {
      tls_installed(ctx, initial);
    };
    h.timestamp = now_rfc3339;
    return h;
  }

  // Both halves of readiness: a config to answer with and a certificate to answer over.
  bool serving_ready() const { return config.current() != nullptr && tls.current() != nullptr; }

  void tls_installed(const std::shared_ptr<const tls_context>& ctx, bool initial) {
    if (!initial)
      for (auto& r : reactors) r->set_tls(ctx);
    if (started && !draining) control.ready.set(serving_ready() ? 1 : 0);
    control.certificate_expiry_timestamp_seconds.set(ctx->certificate().not_after_unix);
    tls_loaded_at = now_rfc3339();
    if (!initial) {
      const http::certificate_info& c = ctx->certificate();
      core::log_info("certificate reloaded",
                     {{"subject", c.subject}, {"serial", c.serial_hex}, {"not_after", c.not_after}});
    }
  }

  void reload_tls() {
    if (self_signed) return;
    if (tls.reload() == reload_result::unreadable) schedule_retry();
  }

  // The watcher reports a file written again or chmod-ed back, but not every way
  // a file becomes readable again (a parent directory's permissions, an ACL), so
  // an unreadable file is also retried on a timer.
  void schedule_retry() {
    retry_timer.expires_after(std::chrono::seconds(1));
    retry_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      if (config.unreadable()) reload_config();
      if (tls.unreadable()) reload_tls();
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
      webhook_address = http::parse_listen_address(opt.listen);
      admin_address = http::parse_listen_address(opt.admin_listen);
    } catch (const std::invalid_argument& e) {
      throw startup_error(e.what(), 2);
    }
    if (opt.tls_cert.empty() != opt.tls_key.empty())
      throw startup_error("--tls-cert and --tls-key go together", 2);
    load_config();
    load_certificate();
    const unsigned n = opt.threads > 0 ? opt.threads : core::usable_cpus();
    open_sockets(n);
    watch_files();
    if (opt.handle_signals) {
      signals.emplace(io, SIGTERM, SIGINT);
      wait_signal();
    }

    schedule_trim();
    admin->start();
    control.reactors.set(static_cast<std::int64_t>(n));
    for (auto& r : reactors) threads.emplace_back([p = r.get()] { p->run(); });
    started = true;
    control.ready.set(serving_ready() ? 1 : 0);

    if (!opt.ready_file.empty()) write_ready_file(n);
    log_listening(n);
  }

  // A bad or missing config does not stop the start: a crash loop would outlast
  // the fix by the restart back-off, and block every scale-up meanwhile. The
  // server starts not ready (admission requests get a 503, so the apiserver's
  // failurePolicy applies) and the watcher installs the first config that loads.
  void load_config() {
    if (!config.try_load_initial() && config.unreadable()) schedule_retry();
  }

  // A bad or missing certificate or key is treated as a bad config is: alive and
  // not ready, the webhook port closing connections before the handshake, until
  // the watcher sees a pair that loads. (The self-signed certificate cannot be bad.)
  void load_certificate() {
    if (!opt.tls_cert.empty()) {
      if (!tls.try_load_initial() && tls.unreadable()) schedule_retry();
      return;
    }
    try {
      self_signed = true;
      const http::self_signed_material generated = http::make_self_signed();
      if (!opt.self_signed_ca_out.empty()) {
        std::ofstream out(opt.self_signed_ca_out, std::ios::binary | std::ios::trunc);
        out << generated.ca_pem;
        out.close();
        if (!out) throw startup_error("cannot write --self-signed-ca-out " + opt.self_signed_ca_out, 1);
      }
      http::tls_material m;
      m.cert_chain_pem = generated.cert_chain_pem;
      m.key_pem = generated.key_pem;
      m.cert_name = "self-signed certificate";
      m.key_name = "self-signed key";
      if (!opt.client_ca.empty()) {
        m.client_ca_pem = read_file(opt.client_ca, opt.max_config_bytes);
        m.client_ca_name = opt.client_ca;
      }
      tls.set_initial(tls_context::build(m));
    } catch (const startup_error&) {
      throw;
    } catch (const std::exception& e) {
      throw startup_error(std::string("certificate: ") + e.what(), 1);
    }
  }

  // SO_REUSEPORT, which the reactors share the port with, would just as well let a
  // second `serve` on the same --listen bind it and silently take half of the
  // connections, maybe with another config. A bind without SO_REUSEPORT fails while
  // any socket listens on the port (SO_REUSEADDR keeps TIME_WAIT from counting), so
  // this probe makes that a start-up error. A process binding in the microseconds
  // between the probe and reactor 0's bind still slips through.
  void probe_port_is_free(const http::listen_address& where) {
    if (where.port == 0) return;  // the kernel picks a port no one holds
    boost::system::error_code ec;
    const asio::ip::address address = asio::ip::make_address(where.host, ec);
    if (ec) return;  // reactor 0's bind reports it
    const asio::ip::tcp::endpoint endpoint(address, where.port);
    asio::ip::tcp::acceptor probe(io);
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    if (ec == boost::system::errc::address_in_use)
      throw startup_error("cannot listen on " + where.to_string() +
                              ": the port is already in use by another process (another meshinject serve?); "
                              "refusing to share it through SO_REUSEPORT",
                          1);
  }

  // Reactor 0 binds first (port 0 picks a port); the others bind the same port
  // with SO_REUSEPORT.
  void open_sockets(unsigned n) {
    probe_port_is_free(webhook_address);
    try {
      for (unsigned i = 0; i < n; ++i) {
        http::reactor_settings s;
        s.index = i;
        s.lim = opt.lim;
        s.max_connections = http::connections_per_reactor(opt.lim.max_connections, n);
        const auto make_route = [&](core::core_metrics& m) {
          auto route = std::make_unique<admission_route>(i, config.current(), m, opt.variant_cache);
          routes.push_back(route.get());
          return route;
        };
        reactors.push_back(std::make_unique<http::reactor>(s, make_route, tls.current()));
      }
      webhook_port = reactors[0]->listen(webhook_address);
      webhook_address.port = webhook_port;
      for (unsigned i = 1; i < n; ++i) reactors[i]->listen(webhook_address);

      http::limits admin_limits = opt.lim;
      admin_limits.max_body_bytes = 64 * 1024;
      admin_limits.max_connection_age = std::chrono::milliseconds(0);
      admin = std::make_unique<http::admin_listener>(
          io, admin_limits,
          [this](const http::admin_request& rq, http::admin_response& rs) { handle_admin(admin_state, rq, rs); });
      admin_port = admin->listen(admin_address);
      admin_address.port = admin_port;
    } catch (const std::system_error& e) {
      throw startup_error(e.what(), 1);
    }
  }

  void watch_files() {
    std::vector<fs::path> files;
    for (const std::string* f : {&opt.inject_config, &opt.mesh_config, &opt.values, &opt.tls_cert, &opt.tls_key,
                                 &opt.client_ca})
      if (!f->empty()) files.emplace_back(*f);
    if (files.empty()) return;
    watcher = std::make_unique<core::file_watcher>(
        io, files, [this](const std::vector<fs::path>& changed) { on_files_changed(changed); }, opt.watch);
    watcher->start();
  }

  void log_listening(unsigned n) {
    static const http::certificate_info none{};
    const http::certificate_info& cert = tls.current() ? tls->certificate() : none;
    core::log_info("listening", {{"webhook", webhook_address.to_string()},
                                 {"webhook_port", webhook_port},
                                 {"admin", admin_address.to_string()},
                                 {"admin_port", admin_port},
                                 {"threads", n},
                                 {"tls", self_signed ? std::string_view("self-signed") : std::string_view(opt.tls_cert)},
                                 {"client_auth", tls.current() && tls->requires_client_certificate()},
                                 {"certificate_loaded", tls.current() != nullptr},
                                 {"certificate_not_after", cert.not_after},
                                 {"config", control.config_source},
                                 {"config_loaded", config.current() != nullptr},
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
    core::log_info("drain over: not accepting, answering the requests already sent",
                   {{"open_connections", open_connections()},
                    {"grace_ms", static_cast<std::int64_t>(opt.shutdown_grace.count())}});
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
    impl_->routes.clear();
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

}  // namespace meshinject::control
