// meshinject serve: the webhook. Flags to control::server_options, then the server.
#include <charconv>
#include <optional>
#include <ostream>
#include <string>

#include "cmd/cli.hpp"
#include "cmd/config_flags.hpp"
#include "cmd/flags.hpp"
#include "core/logging.hpp"
#include "core/mesh_config.hpp"
#include "control/server.hpp"

namespace meshinject::cmd {
namespace {

constexpr char usage[] =
    "usage: meshinject serve [flags]\n"
    "\n"
    "Serves the mutating admission webhook over HTTPS (POST /inject, /inject/<k>/<v>/...,\n"
    "GET /health) and a plain-HTTP admin port (/health, /livez, /readyz, /metrics,\n"
    "/debug/config, GET|PUT /debug/loglevel?level=debug; PUT from loopback only). Without --tls-cert/--tls-key a\n"
    "self-signed certificate for localhost, 127.0.0.1 and ::1 is made in memory. The config,\n"
    "mesh, values, certificate and key files are watched and reloaded when they change.\n"
    "A config that does not load at start-up does not stop the server: /readyz answers 503\n"
    "with the error and /inject answers 503 until a config loads.\n"
    "SIGTERM: /readyz fails at once, responses carry `Connection: close` for --drain-seconds,\n"
    "then the server stops and exits 0.\n"
    "\n"
    "Durations take Go's syntax (10s, 1m30s, 250ms); a bare number is seconds.";

// Go duration or a bare number of seconds; nullopt for anything else or < 0.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double seconds = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (r.ec == std::errc() && r.ptr == text.data() + text.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000 + 0.5));
  }
  const auto ns = core::parse_go_duration(text);
  if (!ns || *ns < 0) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(*ns));
}

// Bytes: a number with an optional unit (Ki, Mi, Gi; K, M, G; KiB, MiB, GiB; KB, MB, GB).
std::optional<std::size_t> parse_bytes(std::string_view text) {
  std::size_t value = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr == text.data()) return std::nullopt;
  std::string_view unit(r.ptr, static_cast<std::size_t>(text.data() + text.size() - r.ptr));
  std::size_t scale = 1;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "Ki" || unit == "KiB") scale = 1024;
  else if (unit == "Mi" || unit == "MiB") scale = 1024 * 1024;
  else if (unit == "Gi" || unit == "GiB") scale = 1024 * 1024 * 1024;
  else if (unit == "K" || unit == "KB" || unit == "k") scale = 1000;
  else if (unit == "M" || unit == "MB") scale = 1000 * 1000;
  else if (unit == "G" || unit == "GB") scale = 1000 * 1000 * 1000;
  else return std::nullopt;
  if (value > SIZE_MAX / scale) return std::nullopt;
  return value * scale;
}

std::optional<std::size_t> parse_count(std::string_view text, std::size_t max) {
  std::size_t value = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

}  // namespace

int serve(args a, io streams) {
  control::server_options o;
  std::string threads, log_level = "info", log_format = "json";
  std::string max_body = "6Mi", header_timeout = "10s", idle_timeout = "120s", max_connections = "10000";
  std::string max_age = "0", drain = "10", grace = "5s", variant_cache_bytes = "4Mi";
  std::string linger_timeout = "5s", linger_time = "30s", max_linger = "0";

  flag_set flags(usage);
  bound_flags bounds;
  flags.value({"--listen"}, &o.listen, "TLS webhook address", "ADDR:PORT")
      .value({"--admin-listen"}, &o.admin_listen, "plain-HTTP admin address (health, metrics, debug)", "ADDR:PORT")
      .value({"--tls-cert"}, &o.tls_cert, "serving certificate chain (PEM); reloaded when it changes", "FILE")
      .value({"--tls-key"}, &o.tls_key, "its private key (PEM)", "FILE")
      .value({"--client-ca"}, &o.client_ca, "require client certificates signed by these CAs (PEM)", "FILE")
      .value({"--self-signed-ca-out"}, &o.self_signed_ca_out,
             "without --tls-cert: write the self-signed certificate's CA here (PEM)", "FILE")
      .value({"--inject-config"}, &o.inject_config,
             "injection config, the ConfigMap's `config` key (default: the embedded config)", "FILE")
      .value({"--mesh-config"}, &o.mesh_config, "mesh config (default: Istio's defaults)", "FILE")
      .value({"--values"}, &o.values, "Helm values the template reads as .Values", "FILE")
      .value({"--revision"}, &o.revision, revision_help, "REV")
      .boolean({"--native-sidecars"}, &o.native_sidecars, native_sidecars_help)
      .value({"--threads"}, &threads, "reactor threads (default: the CPUs this process may use)", "N")
      .value({"--log-level"}, &log_level, "error, warn, info or debug (changeable at run time)", "LEVEL")
      .value({"--log-format"}, &log_format, "json or text", "FORMAT")
      .value({"--max-body-bytes"}, &max_body, "larger request bodies are answered 413 unread", "BYTES")
      .value({"--header-timeout"}, &header_timeout, "time to send a request header (and each body read)", "DURATION")
      .value({"--idle-timeout"}, &idle_timeout, "keep-alive connections idle longer are closed", "DURATION")
      .value({"--max-connections"}, &max_connections, "open connections, split across the reactors", "N")
      .value({"--linger-timeout"}, &linger_timeout,
             "closing after an error, wait this long for more of the client's body", "DURATION")
      .value({"--linger-time"}, &linger_time, "closing after an error, drain the client's body this long in all",
             "DURATION")
      .value({"--max-linger-bytes"}, &max_linger,
             "closing after an error, drain at most this much (0: 4 x --max-body-bytes)", "BYTES")
      .value({"--variant-cache-bytes"}, &variant_cache_bytes,
             "compiled template variants kept per reactor, in estimated heap bytes", "BYTES")
      .value({"--max-connection-age"}, &max_age,
             "answer `Connection: close` once a connection is this old (+-10%); 0: never", "DURATION")
      .value({"--drain-seconds"}, &drain, "on SIGTERM, keep serving with `Connection: close` this long", "DURATION")
      .value({"--shutdown-grace"}, &grace, "after the drain, time for in-flight requests to finish", "DURATION")
      .boolean({"--admin-remote-writes"}, &o.admin_remote_writes,
               "let non-loopback clients PUT /debug/loglevel (the admin port has no authentication)")
      .value({"--ready-file"}, &o.ready_file, "once serving, write the bound ports here as JSON", "FILE");
  bounds.add_to(flags);
  int code = 0;
  if (!flags.parse(a, streams, code)) return code;
  if (!bounds.parse("serve", streams.err)) return 2;
  o.max_config_bytes = bounds.max_config_bytes;
  o.config_limits = bounds.config_limits;
  o.template_limits = bounds.template_limits;
  if (!flags.positional().empty()) {
    streams.err << "serve: unexpected argument '" << flags.positional().front() << "'\n";
    return 2;
  }

  auto usage_error = [&](const std::string& message) {
    streams.err << "serve: " << message << '\n';
    return 2;
  };
  if (flags.given("--revision"))
    if (const std::string problem = revision_problem(o.revision); !problem.empty()) return usage_error(problem);
  const auto level = core::parse_log_level(log_level);
  if (!level) return usage_error("--log-level must be error, warn, info or debug, not '" + log_level + "'");
  const auto format = core::parse_log_format(log_format);
  if (!format) return usage_error("--log-format must be json or text, not '" + log_format + "'");
  if (!threads.empty()) {
    const auto n = parse_count(threads, 1024);
    if (!n) return usage_error("--threads must be a number from 0 (automatic) to 1024, not '" + threads + "'");
    o.threads = static_cast<unsigned>(*n);
  }
  const auto body = parse_bytes(max_body);
  if (!body || *body == 0) return usage_error("--max-body-bytes must be a positive size (6Mi, 1048576), not '" + max_body + "'");
  o.lim.max_body_bytes = *body;
  const auto linger_bytes = parse_bytes(max_linger);
  if (!linger_bytes) return usage_error("--max-linger-bytes must be a size (24Mi, 0), not '" + max_linger + "'");
  o.lim.max_linger_bytes = *linger_bytes;
  const auto cache_bytes = parse_bytes(variant_cache_bytes);
  if (!cache_bytes || *cache_bytes == 0)
    return usage_error("--variant-cache-bytes must be a positive size (4Mi, 1048576), not '" + variant_cache_bytes + "'");
  o.variant_cache.bytes = *cache_bytes;
  const auto connections = parse_count(max_connections, 10'000'000);
  if (!connections || *connections == 0)
    return usage_error("--max-connections must be a positive number, not '" + max_connections + "'");
  o.lim.max_connections = *connections;
  struct duration_flag {
    const char* name;
    const std::string* text;
    std::chrono::milliseconds* target;
    bool positive;
  } durations[] = {
      {"--header-timeout", &header_timeout, &o.lim.header_timeout, true},
      {"--idle-timeout", &idle_timeout, &o.lim.idle_timeout, true},
      {"--linger-timeout", &linger_timeout, &o.lim.linger_timeout, true},
      {"--linger-time", &linger_time, &o.lim.linger_time, true},
      {"--max-connection-age", &max_age, &o.lim.max_connection_age, false},
      {"--drain-seconds", &drain, &o.drain, false},
      {"--shutdown-grace", &grace, &o.shutdown_grace, false},
  };
  for (const auto& d : durations) {
    const auto value = parse_duration(*d.text);
    if (!value || (d.positive && value->count() == 0))
      return usage_error(std::string(d.name) + " must be a duration such as 10s or 1m30s" +
                         (d.positive ? " (above zero)" : "") + ", not '" + *d.text + "'");
    *d.target = *value;
  }

  core::global_logger().set_level(*level);
  core::global_logger().set_format(*format);

  control::server server(std::move(o));
  try {
    server.start();
  } catch (const control::startup_error& e) {
    streams.err << "meshinject serve: " << e.what() << '\n';
    return e.exit_code();
  }
  return server.run();
}

}  // namespace meshinject::cmd
