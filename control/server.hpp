#pragma once
// `meshinject serve`: the control thread and the per-core reactors it runs.
//
// Threads. start() builds everything on the calling thread, which then becomes the
// control thread in run(): it owns the admin port, the file watcher, the signal
// handling, config and certificate reloads, and scrapes. Each reactor runs on its
// own thread (http/reactor.hpp) and answers webhook requests through its own
// admission_route (control/admission.hpp). The control thread reaches a reactor
// only by posting to it (a new snapshot, a new TLS context, drain, stop), and
// reads the reactors' metric blocks with relaxed loads.
//
// Reloads. The watcher reports changes to --inject-config, --mesh-config, --values
// (recompiled into a new patch::snapshot) and --tls-cert, --tls-key, --client-ca
// (a new TLS context), each through a reloadable (control/reloadable.hpp).
// Unchanged bytes are ignored; a failure keeps what is serving, counts, logs the
// error (file:line:column for configs) and shows it on /debug/config. A file that cannot be read (deleted, its directory gone, no
// permission) is such a failure too, counted and logged once until it reads again,
// and retried every second meanwhile.
//
// Shutdown. SIGTERM or SIGINT (or request_shutdown()): /readyz answers 503 at once;
// for the drain period every reactor keeps accepting and serving, with
// `Connection: close` on every response; then the listeners close, idle
// connections are closed, in-flight requests get up to the shutdown grace to
// finish, and run() returns 0. A second signal skips what is left of the drain.

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/config_tree.hpp"
#include "core/watcher.hpp"
#include "http/limits.hpp"
#include "patch/variant_cache.hpp"
#include "template/program.hpp"

namespace meshinject::control {

struct server_options {
  std::string listen = "0.0.0.0:9443";
  std::string admin_listen = "127.0.0.1:15014";
  std::string tls_cert, tls_key;  // both or neither; neither: self-signed
  std::string client_ca;          // require client certificates signed by it
  std::string self_signed_ca_out;  // where to write the self-signed CA (PEM)
  std::string inject_config;      // empty: the embedded default config
  std::string mesh_config;
  std::string values;
  std::string revision;  // --revision, passed to the engine (patch::config_sources::revision)
  bool native_sidecars = true;  // --native-sidecars, passed to the engine likewise
  // --max-config-bytes: what one config, mesh, values, certificate or key file may hold.
  std::size_t max_config_bytes = core::max_config_file_bytes;
  core::yaml_limits config_limits;    // --max-config-nodes, --max-config-depth
  tmpl::eval_limits template_limits;  // --max-template-steps, --max-patch-bytes
  patch::variant_cache_limits variant_cache;  // per reactor; --variant-cache-bytes
  unsigned threads = 0;  // 0: core::usable_cpus()
  http::limits lim;
  std::chrono::milliseconds drain{10'000};
  std::chrono::milliseconds shutdown_grace{5'000};  // after the drain, for in-flight requests
  // PUT /debug/loglevel from a non-loopback client: refused (403) unless set,
  // since the admin port has no authentication (--admin-remote-writes).
  bool admin_remote_writes = false;
  std::string ready_file;  // written once serving: {"webhook_port":..,"admin_port":..}
  bool handle_signals = true;
  core::watcher_options watch{};
};

// Start-up failed; nothing is left running. exit_code: 2 for a bad command line,
// 1 for everything else (config, certificates, ports).
class startup_error : public std::runtime_error {
 public:
  startup_error(const std::string& message, int exit_code) : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

class server {
 public:
  explicit server(server_options options);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Loads config and certificate, binds every socket, starts the reactor threads
  // and the admin port, writes the ready file. Throws startup_error.
  void start();

  // Runs the control thread on the calling thread until shutdown; returns the
  // exit code (0).
  int run();

  // Thread-safe: starts the drain, as SIGTERM does.
  void request_shutdown();

  std::uint16_t webhook_port() const noexcept;
  std::uint16_t admin_port() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace meshinject::control
