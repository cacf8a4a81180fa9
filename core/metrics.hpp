#pragma once
// Metrics for a shared-nothing server, rendered in the Prometheus text format.
//
// Ownership. Each reactor owns one `core_metrics` block (a member of the reactor,
// never shared) and is the only thread that writes it; the control thread owns one
// `control_metrics` block. A scrape, on the control thread, reads every block with
// relaxed loads and sums them (`render_prometheus`). Blocks must outlive the
// scrapes that read them: the server keeps its reactors (and so their blocks)
// alive until the admin endpoint has stopped.
//
// Cost. A counter increment is a relaxed load plus a relaxed store to a cache line
// only its own thread writes: no read-modify-write, no lock prefix, no contention.
// That is only correct because each block has a single writer; never write a block
// from two threads. The reader may see a value a few increments old, never a torn
// one, and after the writers have been joined it sees every increment.
//
// Names. The metric names are a contract with the dashboards and alerts in deploy/;
// `exported_metric_names()` lists them so tests can check that nothing refers to a
// metric that does not exist.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace meshinject::core {

// A monotonically increasing count with a single writer.
class counter {
 public:
  void inc() noexcept { add(1); }
  void add(std::uint64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A level with a single writer; blocks of different cores are summed at scrape,
// so a per-core gauge holds that core's share (its open connections, say).
class gauge {
 public:
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// A real-valued gauge (Unix timestamps in seconds) with a single writer.
class real_gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Latency histogram with fixed buckets from 1 µs to 10 s. The bounds include all
// of Prometheus' default buckets (5 ms .. 10 s), which Istio's own
// sidecar_injection_time_seconds uses, so dashboards written for Istio still
// find their `le` values, and add microsecond resolution below them.
// Recording takes integer nanoseconds: no floating point on the request path.
class latency_histogram {
 public:
  static constexpr std::size_t bucket_count = 22;  // finite buckets; one more counts +Inf
  static constexpr std::array<std::uint64_t, bucket_count> upper_bounds_ns = {
      1'000,         2'500,         5'000,        10'000,       25'000,      50'000,
      100'000,       250'000,       500'000,      1'000'000,    2'500'000,   5'000'000,
      10'000'000,    25'000'000,    50'000'000,   100'000'000,  250'000'000, 500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
  // The `le` label of each bound, as Prometheus clients format them.
  static constexpr std::array<std::string_view, bucket_count> upper_bound_labels = {
      "1e-06", "2.5e-06", "5e-06", "1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025",
      "0.0005", "0.001",  "0.0025", "0.005", "0.01",   "0.025", "0.05",   "0.1",
      "0.25",  "0.5",     "1",     "2.5",   "5",       "10"};

  // A duration lands in the first bucket whose bound is >= it (Prometheus' `le`).
  void record(std::uint64_t ns) noexcept {
    std::size_t i = 0;
    for (const std::uint64_t bound : upper_bounds_ns) i += ns > bound;  // branch-free
    buckets_[i].store(buckets_[i].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum_ns_.store(sum_ns_.load(std::memory_order_relaxed) + ns, std::memory_order_relaxed);
  }
  void record(std::chrono::nanoseconds d) noexcept {
    record(d.count() > 0 ? static_cast<std::uint64_t>(d.count()) : 0);
  }

  // Observations in bucket i alone (not cumulative); i == bucket_count is +Inf.
  std::uint64_t bucket(std::size_t i) const noexcept { return buckets_[i].load(std::memory_order_relaxed); }
  std::uint64_t sum_ns() const noexcept { return sum_ns_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<std::uint64_t>, bucket_count + 1> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

// Label values of the labelled families, as enums indexing a block's arrays.
// The names rendered for them are fixed by the renderer (see metrics.cpp), except
// the decision reasons, whose names the caller passes in.

// One counter per decision reason code (core/decision's decision_reason, 0..10).
// Kept apart from that enum so metrics does not depend on the decision; the tests
// check that the two agree.
inline constexpr std::size_t decision_reason_counters = 11;

// no_config: answered 503 because no valid config has loaded since start-up.
enum class admission_failure_reason : std::uint8_t { invalid_annotation, template_error, internal, no_config };
inline constexpr std::size_t admission_failure_reason_count = 4;

enum class passthrough_reason : std::uint8_t { not_a_pod, not_create };
inline constexpr std::size_t passthrough_reason_count = 2;

enum class request_error_kind : std::uint8_t { header_timeout, idle_timeout, too_large, malformed, disconnect };
inline constexpr std::size_t request_error_kind_count = 5;

// The statuses meshinject_http_responses_total counts, in label order.
inline constexpr std::array<unsigned, 8> counted_http_statuses = {200, 400, 404, 405, 413, 415, 500, 503};

// Cache-line size used to keep blocks of different cores apart.
inline constexpr std::size_t metrics_alignment = 64;

// What one reactor counts. Owned by the reactor; written only by its thread.
struct alignas(metrics_alignment) core_metrics {
  // Istio-compatible: every AdmissionReview handled, and how it ended.
  counter injection_requests;
  counter injection_success;
  counter injection_skip;
  counter injection_failure;
  latency_histogram injection_time;  // whole admission handling time

  // Indexed by the decision's reason code (0..10, the order of `decision_label`s
  // handed to render_prometheus).
  std::array<counter, decision_reason_counters> decisions;
  std::array<counter, admission_failure_reason_count> admission_failures;
  std::array<counter, passthrough_reason_count> passthrough;
  std::array<counter, counted_http_statuses.size()> http_responses;  // indexed like counted_http_statuses
  std::array<counter, request_error_kind_count> request_errors;

  gauge open_connections;
  counter connections;           // accepted
  counter connections_rejected;  // closed at once: over the connection limit
  counter connections_evicted;   // idle ones closed to make room for a new one at the limit
  counter tls_handshakes;        // completed
  counter tls_handshake_errors;

  gauge template_variants;  // compiled variants in this core's cache
  gauge template_variant_bytes;
  counter template_variant_hits;
  counter template_variant_compiles;
  counter template_variant_compile_ns;
  counter template_variant_evictions;
  counter template_uncached_renders;

  void count_decision(std::size_t reason) noexcept {
    if (reason < decision_reason_counters) decisions[reason].inc();
  }
  void count_admission_failure(admission_failure_reason r) noexcept {
    admission_failures[static_cast<std::size_t>(r)].inc();
  }
  void count_passthrough(passthrough_reason r) noexcept { passthrough[static_cast<std::size_t>(r)].inc(); }
  void count_request_error(request_error_kind k) noexcept { request_errors[static_cast<std::size_t>(k)].inc(); }
  // Statuses not in counted_http_statuses are not counted.
  void count_http_response(unsigned status) noexcept {
    for (std::size_t i = 0; i < counted_http_statuses.size(); ++i)
      if (counted_http_statuses[i] == status) {
        http_responses[i].inc();
        return;
      }
  }
};

// What the control thread counts. Owned by the control thread. The numeric
// members may be written from other threads too, one writer per member (e.g. the
// signal handling thread flips `ready`); the strings are read and written only on
// the control thread, which is also where scrapes run.
struct alignas(metrics_alignment) control_metrics {
  counter config_reloads;  // attempts
  counter config_reload_failures;
  real_gauge config_last_reload_success_timestamp_seconds;
  gauge config_reload_failing;  // 1 while the files on disk do not load (unreadable or not compiling)
  std::string config_version;  // sha256 prefix of the serving config; empty until one loads
  std::string config_source;   // file path, or "embedded"

  counter certificate_reloads;
  counter certificate_reload_failures;
  real_gauge certificate_expiry_timestamp_seconds;  // NotAfter of the serving certificate
  gauge certificate_reload_failing;  // 1 while the certificate files on disk do not load

  gauge ready;     // 0 or 1
  gauge reactors;  // number of per-core reactors running
};

// Facts about the process, read at scrape time.
struct process_stats {
  double start_time_seconds = 0;  // Unix time
  std::uint64_t resident_memory_bytes = 0;
  std::uint64_t open_fds = 0;
};

// Reads /proc/self/{stat,statm,fd} and /proc/stat; fields it cannot read stay 0.
process_stats read_process_stats() noexcept;

// Labels of one decision reason code: decision "inject" or "skip", and the reason
// ("host-network", "label-opt-in", ...). The caller owns the strings.
struct decision_label {
  std::string_view decision;
  std::string_view reason;
};

// Appends every metric, summed over `cores`, to `out` in the Prometheus text
// exposition format (version 0.0.4). `decision_labels[i]` names reason code i.
// Run on the control thread (it reads control.config_*). Cold path: allocates.
void render_prometheus(std::string& out, std::span<const core_metrics* const> cores, const control_metrics& control,
                       std::span<const decision_label, decision_reason_counters> decision_labels,
                       const process_stats& process);

// The Content-Type of what render_prometheus writes.
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Every metric family render_prometheus writes, in the order it writes them.
std::span<const std::string_view> exported_metric_names() noexcept;

// True if `name` is an exported family or a series of one (a histogram's
// `_bucket`, `_sum` and `_count`), i.e. something a PromQL query may select.
bool is_exported_series(std::string_view name) noexcept;

}  // namespace meshinject::core
