#include "core/metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "core/build_info.hpp"

namespace meshinject::core {

namespace {

constexpr std::string_view injection_requests = "sidecar_injection_requests_total";
constexpr std::string_view injection_success = "sidecar_injection_success_total";
constexpr std::string_view injection_skip = "sidecar_injection_skip_total";
constexpr std::string_view injection_failure = "sidecar_injection_failure_total";
constexpr std::string_view injection_time = "sidecar_injection_time_seconds";
constexpr std::string_view decisions = "meshinject_decisions_total";
constexpr std::string_view admission_failures = "meshinject_admission_failures_total";
constexpr std::string_view admission_passthrough = "meshinject_admission_passthrough_total";
constexpr std::string_view http_responses = "meshinject_http_responses_total";
constexpr std::string_view http_request_errors = "meshinject_http_request_errors_total";
constexpr std::string_view open_connections = "meshinject_open_connections";
constexpr std::string_view connections = "meshinject_connections_total";
constexpr std::string_view connections_rejected = "meshinject_connections_rejected_total";
constexpr std::string_view connections_evicted = "meshinject_connections_evicted_total";
constexpr std::string_view tls_handshakes = "meshinject_tls_handshakes_total";
constexpr std::string_view tls_handshake_errors = "meshinject_tls_handshake_errors_total";
constexpr std::string_view template_variants = "meshinject_template_variants";
constexpr std::string_view template_variant_compiles = "meshinject_template_variant_compiles_total";
constexpr std::string_view template_uncached_renders = "meshinject_template_uncached_renders_total";
constexpr std::string_view template_variant_bytes = "meshinject_template_variant_bytes";
constexpr std::string_view template_variant_hits = "meshinject_template_variant_hits_total";
constexpr std::string_view template_variant_compile_seconds = "meshinject_template_variant_compile_seconds_total";
constexpr std::string_view template_variant_evictions = "meshinject_template_variant_evictions_total";
constexpr std::string_view config_reloads = "meshinject_config_reloads_total";
constexpr std::string_view config_reload_failures = "meshinject_config_reload_failures_total";
constexpr std::string_view config_last_success = "meshinject_config_last_reload_success_timestamp_seconds";
constexpr std::string_view config_info = "meshinject_config_info";
constexpr std::string_view config_failing = "meshinject_config_reload_failing";
constexpr std::string_view certificate_failing = "meshinject_certificate_reload_failing";
constexpr std::string_view certificate_reloads = "meshinject_certificate_reloads_total";
constexpr std::string_view certificate_reload_failures = "meshinject_certificate_reload_failures_total";
constexpr std::string_view certificate_expiry = "meshinject_certificate_expiry_timestamp_seconds";
constexpr std::string_view ready = "meshinject_ready";
constexpr std::string_view reactors = "meshinject_reactors";
constexpr std::string_view build_info = "meshinject_build_info";
constexpr std::string_view process_start_time = "process_start_time_seconds";
constexpr std::string_view process_resident_memory = "process_resident_memory_bytes";
constexpr std::string_view process_open_fds = "process_open_fds";

constexpr std::string_view all_names[] = {
    injection_requests,  injection_success,     injection_skip,        injection_failure,
    injection_time,      decisions,             admission_failures,    admission_passthrough,
    http_responses,      http_request_errors,   open_connections,      connections,
    connections_rejected, connections_evicted, tls_handshakes,       tls_handshake_errors,  template_variants,
    template_variant_compiles, template_uncached_renders, template_variant_bytes, template_variant_hits,
    template_variant_compile_seconds, template_variant_evictions, config_reloads, config_reload_failures,
    config_last_success, config_failing,        config_info,           certificate_reloads,
    certificate_reload_failures, certificate_expiry, certificate_failing, ready,                 reactors,              build_info,
    process_start_time,  process_resident_memory, process_open_fds};

constexpr std::string_view histogram_names[] = {injection_time};

constexpr std::string_view admission_failure_names[] = {"invalid-annotation", "template", "internal",
                                                             "no-config"};
constexpr std::string_view passthrough_names[] = {"not-a-pod", "not-create"};
constexpr std::string_view request_error_names[] = {"header-timeout", "idle-timeout", "too-large", "malformed",
                                                    "disconnect"};
static_assert(std::size(admission_failure_names) == admission_failure_reason_count);
static_assert(std::size(passthrough_names) == passthrough_reason_count);
static_assert(std::size(request_error_names) == request_error_kind_count);

// Writes the exposition format into a string.
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}

  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (const char c : help) {
      if (c == '\\') out_ += "\\\\";
      else if (c == '\n') out_ += "\\n";
      else out_ += c;
    }
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  // `name{k1="v1",k2="v2"} ` — the value follows.
  writer& series(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels = {}) {
    out_ += name;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [key, value] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += key;
        out_ += "=\"";
        for (const char c : value) {
          if (c == '\\') out_ += "\\\\";
          else if (c == '"') out_ += "\\\"";
          else if (c == '\n') out_ += "\\n";
          else out_ += c;
        }
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    return *this;
  }

  void value(std::uint64_t v) { number(v); }
  void value(std::int64_t v) { number(v); }
  void value(double v) {
    if (std::isnan(v)) {
      out_ += "NaN\n";
    } else if (std::isinf(v)) {
      out_ += v > 0 ? "+Inf\n" : "-Inf\n";
    } else {
      number(v);  // shortest form that reads back as the same double
    }
  }

  void single_counter(std::string_view name, std::string_view help, std::uint64_t v) {
    family(name, "counter", help);
    series(name).value(v);
  }
  void single_gauge(std::string_view name, std::string_view help, std::int64_t v) {
    family(name, "gauge", help);
    series(name).value(v);
  }
  void single_gauge(std::string_view name, std::string_view help, double v) {
    family(name, "gauge", help);
    series(name).value(v);
  }

 private:
  template <typename T>
  void number(T v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    out_ += '\n';
  }

  std::string& out_;
};

// Sum of one member over all cores: a counter or gauge, or element i of an array of them.
template <typename Metric>
auto sum(std::span<const core_metrics* const> cores, Metric core_metrics::*member) {
  decltype(std::declval<const Metric&>().value()) total = 0;
  for (const core_metrics* c : cores) total += (c->*member).value();
  return total;
}

template <typename Metric, std::size_t N>
std::uint64_t sum(std::span<const core_metrics* const> cores, std::array<Metric, N> core_metrics::*member,
                  std::size_t i) {
  std::uint64_t total = 0;
  for (const core_metrics* c : cores) total += (c->*member)[i].value();
  return total;
}

std::optional<std::string> read_small_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// starttime (field 22 of /proc/self/stat, in clock ticks since boot) plus the
// boot time from /proc/stat. It never changes, so it is read once.
double read_start_time() {
  const auto stat = read_small_file("/proc/self/stat");
  const auto system = read_small_file("/proc/stat");
  if (!stat || !system) return 0;
  // The command name (field 2) is in parentheses and may contain anything.
  const std::size_t close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat->substr(close + 1));
  std::string field;
  unsigned long long start_ticks = 0;
  for (int i = 3; i <= 22 && (fields >> field); ++i)
    if (i == 22) std::from_chars(field.data(), field.data() + field.size(), start_ticks);
  const std::size_t at = system->find("\nbtime ");
  if (at == std::string::npos) return 0;
  unsigned long long boot = 0;
  std::from_chars(system->data() + at + 7, system->data() + system->size(), boot);
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  if (boot == 0 || ticks_per_second <= 0) return 0;
  return static_cast<double>(boot) + static_cast<double>(start_ticks) / static_cast<double>(ticks_per_second);
}

}  // namespace

process_stats read_process_stats() noexcept {
  process_stats s;
  try {
    static const double start_time = read_start_time();
    s.start_time_seconds = start_time;

    if (const auto statm = read_small_file("/proc/self/statm")) {
      std::istringstream in(*statm);
      unsigned long long size = 0, resident = 0;
      if (in >> size >> resident) {
        const long page = ::sysconf(_SC_PAGESIZE);
        s.resident_memory_bytes = resident * static_cast<unsigned long long>(page > 0 ? page : 4096);
      }
    }

    if (DIR* dir = ::opendir("/proc/self/fd")) {
      const int own = ::dirfd(dir);
      std::uint64_t n = 0;
      while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.') continue;
        int fd = -1;
        const std::string_view name = e->d_name;
        std::from_chars(name.data(), name.data() + name.size(), fd);
        if (fd != own) ++n;  // the directory being listed is not one of ours
      }
      ::closedir(dir);
      s.open_fds = n;
    }
  } catch (...) {
  }
  return s;
}

void render_prometheus(std::string& out, std::span<const core_metrics* const> cores, const control_metrics& control,
                       std::span<const decision_label, decision_reason_counters> decision_labels,
                       const process_stats& process) {
  writer w(out);

  w.single_counter(injection_requests, "Requests to /inject, any outcome (= success + skip + failure).",
            sum(cores, &core_metrics::injection_requests));
  w.single_counter(injection_success, "Requests to /inject answered with a sidecar patch.",
            sum(cores, &core_metrics::injection_success));
  w.single_counter(injection_skip, "Requests to /inject allowed without a patch: the decision said skip, or not a Pod CREATE.",
            sum(cores, &core_metrics::injection_skip));
  w.single_counter(injection_failure, "Requests to /inject answered allowed:false (bad annotation, template failure) or with HTTP 400/405/413/415/500.",
            sum(cores, &core_metrics::injection_failure));

  {
    // Buckets are read once each and the count derived from them, so _count and
    // the +Inf bucket agree even while the reactors keep counting.
    std::array<std::uint64_t, latency_histogram::bucket_count + 1> buckets{};
    std::uint64_t sum_ns = 0;
    for (const core_metrics* c : cores) {
      for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += c->injection_time.bucket(i);
      sum_ns += c->injection_time.sum_ns();
    }
    w.family(injection_time, "histogram", "Seconds from the first byte of an /inject request to its response being queued.");
    std::uint64_t cumulative = 0;
    const std::string bucket_name = std::string(injection_time) + "_bucket";
    for (std::size_t i = 0; i < latency_histogram::bucket_count; ++i) {
      cumulative += buckets[i];
      w.series(bucket_name, {{"le", latency_histogram::upper_bound_labels[i]}}).value(cumulative);
    }
    cumulative += buckets[latency_histogram::bucket_count];
    w.series(bucket_name, {{"le", "+Inf"}}).value(cumulative);
    w.series(std::string(injection_time) + "_sum").value(static_cast<double>(sum_ns) / 1e9);
    w.series(std::string(injection_time) + "_count").value(cumulative);
  }

  w.family(decisions, "counter", "Injection decisions by outcome and the rule that decided.");
  for (std::size_t i = 0; i < decision_reason_counters; ++i)
    w.series(decisions, {{"decision", decision_labels[i].decision}, {"reason", decision_labels[i].reason}})
        .value(sum(cores, &core_metrics::decisions, i));

  w.family(admission_failures, "counter", "Admission requests refused (allowed:false) or failed (500; 503 without a config), by cause.");
  for (std::size_t i = 0; i < admission_failure_reason_count; ++i)
    w.series(admission_failures, {{"reason", admission_failure_names[i]}})
        .value(sum(cores, &core_metrics::admission_failures, i));

  w.family(admission_passthrough, "counter", "Admission requests allowed without a patch, by cause.");
  for (std::size_t i = 0; i < passthrough_reason_count; ++i)
    w.series(admission_passthrough, {{"reason", passthrough_names[i]}})
        .value(sum(cores, &core_metrics::passthrough, i));

  w.family(http_responses, "counter", "HTTP responses sent, by status code.");
  for (std::size_t i = 0; i < counted_http_statuses.size(); ++i) {
    char code[8];
    const auto r = std::to_chars(code, code + sizeof code, counted_http_statuses[i]);
    w.series(http_responses, {{"code", std::string_view(code, static_cast<std::size_t>(r.ptr - code))}})
        .value(sum(cores, &core_metrics::http_responses, i));
  }

  w.family(http_request_errors, "counter", "HTTP requests that ended without a response, by kind.");
  for (std::size_t i = 0; i < request_error_kind_count; ++i)
    w.series(http_request_errors, {{"kind", request_error_names[i]}})
        .value(sum(cores, &core_metrics::request_errors, i));

  w.single_gauge(open_connections, "Connections currently open.",
          sum(cores, &core_metrics::open_connections));
  w.single_counter(connections, "Connections accepted.",
            sum(cores, &core_metrics::connections));
  w.single_counter(connections_rejected, "Connections closed at once because the connection limit was reached.",
            sum(cores, &core_metrics::connections_rejected));
  w.single_counter(connections_evicted,
                   "Idle connections (between requests or before the first one) closed to make room for a new "
                   "connection at the connection limit.",
                   sum(cores, &core_metrics::connections_evicted));
  w.single_counter(tls_handshakes, "TLS handshakes completed.",
            sum(cores, &core_metrics::tls_handshakes));
  w.single_counter(tls_handshake_errors, "TLS handshakes that failed.",
            sum(cores, &core_metrics::tls_handshake_errors));

  w.single_gauge(template_variants, "Compiled template variants cached, summed over cores.",
          sum(cores, &core_metrics::template_variants));
  w.single_counter(template_variant_compiles, "Template variants compiled on first use.",
            sum(cores, &core_metrics::template_variant_compiles));
  w.single_counter(template_uncached_renders, "Pods whose patch was rendered per request instead of from a variant.",
            sum(cores, &core_metrics::template_uncached_renders));
  w.single_gauge(template_variant_bytes, "Estimated heap held by cached template variants, summed over cores.",
                 sum(cores, &core_metrics::template_variant_bytes));
  w.single_counter(template_variant_hits, "Pods served from a cached template variant.",
                   sum(cores, &core_metrics::template_variant_hits));
  w.family(template_variant_compile_seconds, "counter", "Time spent compiling template variants on cache misses.");
  w.series(template_variant_compile_seconds)
      .value(static_cast<double>(sum(cores, &core_metrics::template_variant_compile_ns)) / 1e9);
  w.single_counter(template_variant_evictions, "Template variants evicted from a full cache.",
                   sum(cores, &core_metrics::template_variant_evictions));

  w.single_counter(config_reloads, "Injection config reload attempts.", control.config_reloads.value());
  w.single_counter(config_reload_failures, "Injection config reloads that failed; the previous config kept serving.",
            control.config_reload_failures.value());
  w.single_gauge(config_last_success, "Unix time of the last successful config load.",
          control.config_last_reload_success_timestamp_seconds.value());
  w.single_gauge(config_failing,
                 "1 while the injection config files on disk do not load (unreadable or invalid); the previous "
                 "config keeps serving.",
                 control.config_reload_failing.value());
  w.family(config_info, "gauge", "The serving injection config: version (sha256 prefix) and source.");
  if (!control.config_version.empty())
    w.series(config_info, {{"version", control.config_version}, {"source", control.config_source}})
        .value(std::int64_t{1});

  w.single_counter(certificate_reloads, "Serving certificate reload attempts.", control.certificate_reloads.value());
  w.single_counter(certificate_reload_failures, "Serving certificate reloads that failed; the previous one kept serving.",
            control.certificate_reload_failures.value());
  w.single_gauge(certificate_expiry, "Unix time at which the serving certificate expires (NotAfter).",
          control.certificate_expiry_timestamp_seconds.value());
  w.single_gauge(certificate_failing,
                 "1 while the certificate or key files on disk do not load; the previous certificate keeps serving.",
                 control.certificate_reload_failing.value());

  w.single_gauge(ready, "1 when config and certificate are loaded and the server is not draining.",
          control.ready.value());
  w.single_gauge(reactors, "Per-core reactors serving requests.", control.reactors.value());
  w.family(build_info, "gauge", "Build information.");
  w.series(build_info, {{"version", build_version()}, {"commit", build_commit()}, {"commit_time", build_commit_time()}})
      .value(std::int64_t{1});

  w.single_gauge(process_start_time, "Start time of the process since unix epoch in seconds.", process.start_time_seconds);
  w.single_gauge(process_resident_memory, "Resident memory size in bytes.",
          static_cast<std::int64_t>(process.resident_memory_bytes));
  w.single_gauge(process_open_fds, "Number of open file descriptors.", static_cast<std::int64_t>(process.open_fds));
}

std::span<const std::string_view> exported_metric_names() noexcept { return all_names; }

bool is_exported_series(std::string_view name) noexcept {
  for (const std::string_view n : all_names)
    if (n == name) return true;
  for (const std::string_view h : histogram_names) {
    if (!name.starts_with(h)) continue;
    const std::string_view suffix = name.substr(h.size());
    if (suffix == "_bucket" || suffix == "_sum" || suffix == "_count") return true;
  }
  return false;
}

}  // namespace meshinject::core
