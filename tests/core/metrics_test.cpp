#include "core/metrics.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/build_info.hpp"
#include "core/decision.hpp"

namespace {

using namespace meshinject::core;

// The reason codes of the decision, in code order (the decision module owns them;
// this is the table the server hands to render_prometheus).
constexpr std::array<decision_label, decision_reason_counters> reasons = {{
    {"skip", "host-network"},
    {"skip", "ignored-namespace"},
    {"inject", "label-opt-in"},
    {"skip", "label-opt-out"},
    {"inject", "annotation-opt-in"},
    {"skip", "annotation-opt-out"},
    {"skip", "never-inject-selector"},
    {"inject", "always-inject-selector"},
    {"inject", "policy-enabled"},
    {"skip", "policy-disabled"},
    {"skip", "foreign-injection"},
}};

std::string render(std::span<const core_metrics* const> cores, const control_metrics& control,
                   const process_stats& process = {}) {
  std::string out;
  render_prometheus(out, cores, control, reasons, process);
  return out;
}

// ---------------------------------------------------------------------------
// A checker for the text exposition format (0.0.4), strict about what we emit.

struct sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct exposition {
  std::map<std::string, std::string> types;  // family -> type
  std::vector<std::string> family_order;
  std::vector<sample> samples;
  std::vector<std::string> errors;

  const sample* find(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return &s;
    return nullptr;
  }
  double value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    const sample* s = find(name, labels);
    return s ? s->value : -1;
  }
};

bool parse_value(const std::string& text, double& out) {
  if (text == "+Inf") return out = HUGE_VAL, true;
  if (text == "-Inf") return out = -HUGE_VAL, true;
  if (text == "NaN") return out = std::nan(""), true;
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

bool is_name(std::string_view s, bool colon) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}
bool is_metric_name(std::string_view s) { return is_name(s, true); }
bool is_label_name(std::string_view s) { return is_name(s, false); }
bool is_integer(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  if (s.empty()) return false;
  for (const char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

exposition parse_exposition(const std::string& text) {
  exposition e;
  auto error = [&](std::size_t line_no, const std::string& line, const std::string& what) {
    e.errors.push_back("line " + std::to_string(line_no) + ": " + what + ": " + line);
  };
  if (!text.empty() && text.back() != '\n') e.errors.push_back("does not end with a newline");

  std::set<std::string> helps;
  std::set<std::string> seen_series;
  std::set<std::string> closed_families;  // families whose samples have ended
  std::string current_family;

  std::istringstream in(text);
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) {
      error(line_no, line, "empty line");
      continue;
    }
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, keyword, name;
      words >> hash >> keyword >> name;
      if (keyword != "HELP" && keyword != "TYPE") continue;  // a plain comment
      if (!is_metric_name(name)) error(line_no, line, "bad metric name");
      std::string rest;
      std::getline(words, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      if (keyword == "HELP") {
        if (!helps.insert(name).second) error(line_no, line, "second HELP");
        for (std::size_t i = 0; i < rest.size(); ++i)
          if (rest[i] == '\\' && (i + 1 == rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n')))
            error(line_no, line, "bad escape in HELP");
          else if (rest[i] == '\\')
            ++i;
      } else {
        static const std::set<std::string> types = {"counter", "gauge", "histogram", "summary", "untyped"};
        if (!types.count(rest)) error(line_no, line, "unknown type");
        if (e.types.count(name)) error(line_no, line, "second TYPE");
        if (closed_families.count(name) || current_family == name) error(line_no, line, "TYPE after samples");
        e.types[name] = rest;
        e.family_order.push_back(name);
      }
      continue;
    }

    sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!is_metric_name(s.name)) error(line_no, line, "bad metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) {
          error(line_no, line, "label without '='");
          break;
        }
        const std::string key = line.substr(i, eq - i);
        if (!is_label_name(key)) error(line_no, line, "bad label name '" + key + "'");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') {
          error(line_no, line, "unquoted label value");
          break;
        }
        ++i;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) break;
            const char n = line[i++];
            if (n == '\\') value += '\\';
            else if (n == '"') value += '"';
            else if (n == 'n') value += '\n';
            else error(line_no, line, "bad escape in label value");
          } else {
            value += c;
          }
        }
        if (!closed) {
          error(line_no, line, "unterminated label value");
          break;
        }
        if (s.labels.count(key)) error(line_no, line, "duplicate label");
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size() || line[i] != '}') {
        error(line_no, line, "missing '}'");
        continue;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      error(line_no, line, "missing value");
      continue;
    }
    std::istringstream rest(line.substr(i + 1));
    std::string value_text, timestamp, extra;
    rest >> value_text >> timestamp >> extra;
    if (!parse_value(value_text, s.value)) error(line_no, line, "bad value");
    if (!timestamp.empty() && !is_integer(timestamp))
      error(line_no, line, "bad timestamp");
    if (!extra.empty()) error(line_no, line, "trailing text");

    // Which family does the sample belong to?
    std::string family = s.name;
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (s.name.size() > suffix.size() && s.name.ends_with(suffix)) {
        const std::string base = s.name.substr(0, s.name.size() - suffix.size());
        if (e.types.count(base) && (e.types[base] == "histogram" || e.types[base] == "summary")) family = base;
      }
    }
    if (!e.types.count(family)) error(line_no, line, "sample without TYPE");
    if (family != current_family) {
      if (closed_families.count(family)) error(line_no, line, "family split in two");
      if (!current_family.empty()) closed_families.insert(current_family);
      current_family = family;
    }
    if (e.types[family] == "histogram" && s.name == family + "_bucket" && !s.labels.count("le"))
      error(line_no, line, "bucket without le");
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "\x01" + k + "=" + v;
    if (!seen_series.insert(key).second) error(line_no, line, "duplicate series");
    if (e.types[family] == "counter" && !(s.value >= 0)) error(line_no, line, "negative counter");
    e.samples.push_back(std::move(s));
  }

  // Histograms: le ascending, cumulative counts, +Inf last and equal to _count.
  for (const auto& [family, type] : e.types) {
    if (type != "histogram") continue;
    double last_le = -HUGE_VAL, last_count = 0;
    bool saw_inf = false;
    for (const auto& s : e.samples) {
      if (s.name != family + "_bucket") continue;
      double le = 0;
      if (!parse_value(s.labels.at("le"), le)) e.errors.push_back(family + ": bad le " + s.labels.at("le"));
      if (le <= last_le) e.errors.push_back(family + ": le not ascending at " + s.labels.at("le"));
      if (s.value < last_count) e.errors.push_back(family + ": bucket counts not cumulative");
      last_le = le;
      last_count = s.value;
      saw_inf = std::isinf(le);
    }
    if (!saw_inf) e.errors.push_back(family + ": last bucket is not +Inf");
    const sample* count = e.find(family + "_count");
    if (!count || count->value != last_count) e.errors.push_back(family + ": _count differs from +Inf bucket");
    if (!e.find(family + "_sum")) e.errors.push_back(family + ": no _sum");
  }
  return e;
}

std::string errors_of(const exposition& e) {
  std::string out;
  for (const auto& err : e.errors) out += err + "\n";
  return out;
}

// ---------------------------------------------------------------------------

TEST(metrics, renders_exact_text_summed_over_blocks) {
  core_metrics a, b, c;

  a.injection_requests.add(5);
  a.injection_success.add(3);
  a.injection_skip.inc();
  a.injection_failure.inc();
  a.injection_time.record(1'000);  // exactly 1 µs: le="1e-06"
  a.injection_time.record(1'500);
  a.injection_time.record(std::chrono::nanoseconds(2'500));
  a.count_decision(0);
  a.count_decision(2);
  a.count_decision(2);
  a.count_admission_failure(admission_failure_reason::invalid_annotation);
  a.count_passthrough(passthrough_reason::not_a_pod);
  a.count_passthrough(passthrough_reason::not_a_pod);
  for (int i = 0; i < 4; ++i) a.count_http_response(200);
  a.count_http_response(400);
  a.count_http_response(999);  // not a counted status
  a.count_request_error(request_error_kind::malformed);
  a.open_connections.add(3);
  a.connections.add(4);
  a.connections_rejected.inc();
  a.connections_evicted.add(2);
  a.tls_handshakes.add(4);
  a.tls_handshake_errors.inc();
  a.template_variants.set(2);
  a.template_variant_compiles.add(2);
  a.template_uncached_renders.inc();
  a.template_variant_bytes.set(60'000);
  a.template_variant_hits.add(5);
  a.template_variant_compile_ns.add(1'500'000);
  a.template_variant_evictions.add(2);

  b.injection_requests.add(7);
  b.injection_success.add(7);
  b.injection_time.record(10'000'000'001);  // just over 10 s: +Inf only
  b.injection_time.record(1'000'000);
  for (int i = 0; i < 5; ++i) b.count_decision(8);
  b.count_decision(8);
  b.count_decision(8);
  b.count_decision(decision_reason_counters);  // out of range: ignored
  for (int i = 0; i < 7; ++i) b.count_http_response(200);
  b.count_http_response(503);
  b.open_connections.inc();
  b.open_connections.inc();
  b.open_connections.dec();
  b.connections.add(2);
  b.tls_handshakes.add(2);
  b.template_variants.set(2);
  b.template_variant_compiles.add(2);
  b.count_admission_failure(admission_failure_reason::template_error);
  b.count_passthrough(passthrough_reason::not_create);
  b.count_request_error(request_error_kind::header_timeout);
  b.count_request_error(request_error_kind::disconnect);

  control_metrics control;
  control.config_reloads.add(3);
  control.config_reload_failures.inc();
  control.config_last_reload_success_timestamp_seconds.set(1795881600.5);
  control.config_version = "3f2a9c1d";
  control.config_source = "/etc/istio/inject/config";
  control.certificate_reloads.add(2);
  control.certificate_expiry_timestamp_seconds.set(1798473600);
  control.ready.set(1);
  control.reactors.set(3);

  const process_stats process{1795880000.25, 12345678, 42};
  const core_metrics* cores[] = {&a, &b, &c};

  const std::string expected = R"(# HELP sidecar_injection_requests_total Requests to /inject, any outcome (= success + skip + failure).
# TYPE sidecar_injection_requests_total counter
sidecar_injection_requests_total 12
# HELP sidecar_injection_success_total Requests to /inject answered with a sidecar patch.
# TYPE sidecar_injection_success_total counter
sidecar_injection_success_total 10
# HELP sidecar_injection_skip_total Requests to /inject allowed without a patch: the decision said skip, or not a Pod CREATE.
# TYPE sidecar_injection_skip_total counter
sidecar_injection_skip_total 1
# HELP sidecar_injection_failure_total Requests to /inject answered allowed:false (bad annotation, template failure) or with HTTP 400/405/413/415/500.
# TYPE sidecar_injection_failure_total counter
sidecar_injection_failure_total 1
# HELP sidecar_injection_time_seconds Seconds from the first byte of an /inject request to its response being queued.
# TYPE sidecar_injection_time_seconds histogram
sidecar_injection_time_seconds_bucket{le="1e-06"} 1
sidecar_injection_time_seconds_bucket{le="2.5e-06"} 3
sidecar_injection_time_seconds_bucket{le="5e-06"} 3
sidecar_injection_time_seconds_bucket{le="1e-05"} 3
sidecar_injection_time_seconds_bucket{le="2.5e-05"} 3
sidecar_injection_time_seconds_bucket{le="5e-05"} 3
sidecar_injection_time_seconds_bucket{le="0.0001"} 3
sidecar_injection_time_seconds_bucket{le="0.00025"} 3
sidecar_injection_time_seconds_bucket{le="0.0005"} 3
sidecar_injection_time_seconds_bucket{le="0.001"} 4
sidecar_injection_time_seconds_bucket{le="0.0025"} 4
sidecar_injection_time_seconds_bucket{le="0.005"} 4
sidecar_injection_time_seconds_bucket{le="0.01"} 4
sidecar_injection_time_seconds_bucket{le="0.025"} 4
sidecar_injection_time_seconds_bucket{le="0.05"} 4
sidecar_injection_time_seconds_bucket{le="0.1"} 4
sidecar_injection_time_seconds_bucket{le="0.25"} 4
sidecar_injection_time_seconds_bucket{le="0.5"} 4
sidecar_injection_time_seconds_bucket{le="1"} 4
sidecar_injection_time_seconds_bucket{le="2.5"} 4
sidecar_injection_time_seconds_bucket{le="5"} 4
sidecar_injection_time_seconds_bucket{le="10"} 4
sidecar_injection_time_seconds_bucket{le="+Inf"} 5
sidecar_injection_time_seconds_sum 10.001005001
sidecar_injection_time_seconds_count 5
# HELP meshinject_decisions_total Injection decisions by outcome and the rule that decided.
# TYPE meshinject_decisions_total counter
meshinject_decisions_total{decision="skip",reason="host-network"} 1
meshinject_decisions_total{decision="skip",reason="ignored-namespace"} 0
meshinject_decisions_total{decision="inject",reason="label-opt-in"} 2
meshinject_decisions_total{decision="skip",reason="label-opt-out"} 0
meshinject_decisions_total{decision="inject",reason="annotation-opt-in"} 0
meshinject_decisions_total{decision="skip",reason="annotation-opt-out"} 0
meshinject_decisions_total{decision="skip",reason="never-inject-selector"} 0
meshinject_decisions_total{decision="inject",reason="always-inject-selector"} 0
meshinject_decisions_total{decision="inject",reason="policy-enabled"} 7
meshinject_decisions_total{decision="skip",reason="policy-disabled"} 0
meshinject_decisions_total{decision="skip",reason="foreign-injection"} 0
# HELP meshinject_admission_failures_total Admission requests refused (allowed:false) or failed (500; 503 without a config), by cause.
# TYPE meshinject_admission_failures_total counter
meshinject_admission_failures_total{reason="invalid-annotation"} 1
meshinject_admission_failures_total{reason="template"} 1
meshinject_admission_failures_total{reason="internal"} 0
meshinject_admission_failures_total{reason="no-config"} 0
# HELP meshinject_admission_passthrough_total Admission requests allowed without a patch, by cause.
# TYPE meshinject_admission_passthrough_total counter
meshinject_admission_passthrough_total{reason="not-a-pod"} 2
meshinject_admission_passthrough_total{reason="not-create"} 1
# HELP meshinject_http_responses_total HTTP responses sent, by status code.
# TYPE meshinject_http_responses_total counter
meshinject_http_responses_total{code="200"} 11
meshinject_http_responses_total{code="400"} 1
meshinject_http_responses_total{code="404"} 0
meshinject_http_responses_total{code="405"} 0
meshinject_http_responses_total{code="413"} 0
meshinject_http_responses_total{code="415"} 0
meshinject_http_responses_total{code="500"} 0
meshinject_http_responses_total{code="503"} 1
# HELP meshinject_http_request_errors_total HTTP requests that ended without a response, by kind.
# TYPE meshinject_http_request_errors_total counter
meshinject_http_request_errors_total{kind="header-timeout"} 1
meshinject_http_request_errors_total{kind="idle-timeout"} 0
meshinject_http_request_errors_total{kind="too-large"} 0
meshinject_http_request_errors_total{kind="malformed"} 1
meshinject_http_request_errors_total{kind="disconnect"} 1
# HELP meshinject_open_connections Connections currently open.
# TYPE meshinject_open_connections gauge
meshinject_open_connections 4
# HELP meshinject_connections_total Connections accepted.
# TYPE meshinject_connections_total counter
meshinject_connections_total 6
# HELP meshinject_connections_rejected_total Connections closed at once because the connection limit was reached.
# TYPE meshinject_connections_rejected_total counter
meshinject_connections_rejected_total 1
# HELP meshinject_connections_evicted_total Idle connections (between requests or before the first one) closed to make room for a new connection at the connection limit.
# TYPE meshinject_connections_evicted_total counter
meshinject_connections_evicted_total 2
# HELP meshinject_tls_handshakes_total TLS handshakes completed.
# TYPE meshinject_tls_handshakes_total counter
meshinject_tls_handshakes_total 6
# HELP meshinject_tls_handshake_errors_total TLS handshakes that failed.
# TYPE meshinject_tls_handshake_errors_total counter
meshinject_tls_handshake_errors_total 1
# HELP meshinject_template_variants Compiled template variants cached, summed over cores.
# TYPE meshinject_template_variants gauge
meshinject_template_variants 4
# HELP meshinject_template_variant_compiles_total Template variants compiled on first use.
# TYPE meshinject_template_variant_compiles_total counter
meshinject_template_variant_compiles_total 4
# HELP meshinject_template_uncached_renders_total Pods whose patch was rendered per request instead of from a variant.
# TYPE meshinject_template_uncached_renders_total counter
meshinject_template_uncached_renders_total 1
# HELP meshinject_template_variant_bytes Estimated heap held by cached template variants, summed over cores.
# TYPE meshinject_template_variant_bytes gauge
meshinject_template_variant_bytes 60000
# HELP meshinject_template_variant_hits_total Pods served from a cached template variant.
# TYPE meshinject_template_variant_hits_total counter
meshinject_template_variant_hits_total 5
# HELP meshinject_template_variant_compile_seconds_total Time spent compiling template variants on cache misses.
# TYPE meshinject_template_variant_compile_seconds_total counter
meshinject_template_variant_compile_seconds_total 0.0015
# HELP meshinject_template_variant_evictions_total Template variants evicted from a full cache.
# TYPE meshinject_template_variant_evictions_total counter
meshinject_template_variant_evictions_total 2
# HELP meshinject_config_reloads_total Injection config reload attempts.
# TYPE meshinject_config_reloads_total counter
meshinject_config_reloads_total 3
# HELP meshinject_config_reload_failures_total Injection config reloads that failed; the previous config kept serving.
# TYPE meshinject_config_reload_failures_total counter
meshinject_config_reload_failures_total 1
# HELP meshinject_config_last_reload_success_timestamp_seconds Unix time of the last successful config load.
# TYPE meshinject_config_last_reload_success_timestamp_seconds gauge
meshinject_config_last_reload_success_timestamp_seconds 1795881600.5
# HELP meshinject_config_reload_failing 1 while the injection config files on disk do not load (unreadable or invalid); the previous config keeps serving.
# TYPE meshinject_config_reload_failing gauge
meshinject_config_reload_failing 0
# HELP meshinject_config_info The serving injection config: version (sha256 prefix) and source.
# TYPE meshinject_config_info gauge
meshinject_config_info{version="3f2a9c1d",source="/etc/istio/inject/config"} 1
# HELP meshinject_certificate_reloads_total Serving certificate reload attempts.
# TYPE meshinject_certificate_reloads_total counter
meshinject_certificate_reloads_total 2
# HELP meshinject_certificate_reload_failures_total Serving certificate reloads that failed; the previous one kept serving.
# TYPE meshinject_certificate_reload_failures_total counter
meshinject_certificate_reload_failures_total 0
# HELP meshinject_certificate_expiry_timestamp_seconds Unix time at which the serving certificate expires (NotAfter).
# TYPE meshinject_certificate_expiry_timestamp_seconds gauge
meshinject_certificate_expiry_timestamp_seconds 1798473600
# HELP meshinject_certificate_reload_failing 1 while the certificate or key files on disk do not load; the previous certificate keeps serving.
# TYPE meshinject_certificate_reload_failing gauge
meshinject_certificate_reload_failing 0
# HELP meshinject_ready 1 when config and certificate are loaded and the server is not draining.
# TYPE meshinject_ready gauge
meshinject_ready 1
# HELP meshinject_reactors Per-core reactors serving requests.
# TYPE meshinject_reactors gauge
meshinject_reactors 3
# HELP meshinject_build_info Build information.
# TYPE meshinject_build_info gauge
meshinject_build_info{version=")" + std::string(build_version()) +
                               R"(",commit=")" + std::string(build_commit()) + R"(",commit_time=")" +
                               std::string(build_commit_time()) + R"("} 1
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1795880000.25
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 12345678
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 42
)";
  const std::string got = render(cores, control, process);
  EXPECT_EQ(got, expected);

  const auto parsed = parse_exposition(got);
  EXPECT_TRUE(parsed.errors.empty()) << errors_of(parsed);
}

TEST(metrics, histogram_buckets_follow_le_at_every_boundary) {
  for (std::size_t i = 0; i < latency_histogram::bucket_count; ++i) {
    const std::uint64_t bound = latency_histogram::upper_bounds_ns[i];
    latency_histogram h;
    h.record(bound);      // == le: this bucket
    h.record(bound - 1);  // below: this bucket or an earlier one
    h.record(bound + 1);  // above: the next one
    std::uint64_t below = 0;
    for (std::size_t j = 0; j < i; ++j) below += h.bucket(j);
    EXPECT_EQ(h.bucket(i) + below, 2u) << "le=" << latency_histogram::upper_bound_labels[i];
    EXPECT_GE(h.bucket(i), 1u);
    EXPECT_EQ(h.bucket(i + 1), 1u) << "le=" << latency_histogram::upper_bound_labels[i];
    EXPECT_EQ(h.sum_ns(), 3 * bound);
  }
  latency_histogram h;
  h.record(0);
  h.record(std::chrono::nanoseconds(-5));  // a clock step backwards counts as 0
  h.record(std::numeric_limits<std::uint64_t>::max() / 4);
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(latency_histogram::bucket_count), 1u);

  // The le labels are the bounds in seconds.
  for (std::size_t i = 0; i < latency_histogram::bucket_count; ++i) {
    const double le = std::strtod(std::string(latency_histogram::upper_bound_labels[i]).c_str(), nullptr);
    EXPECT_DOUBLE_EQ(le * 1e9, static_cast<double>(latency_histogram::upper_bounds_ns[i]));
  }
}

TEST(metrics, histogram_renders_cumulative_buckets) {
  core_metrics m;
  m.injection_time.record(5'000);   // le 5e-06
  m.injection_time.record(5'001);   // le 1e-05
  m.injection_time.record(25'000);  // le 2.5e-05
  control_metrics control;
  const core_metrics* cores[] = {&m};
  const auto e = parse_exposition(render(cores, control));
  ASSERT_TRUE(e.errors.empty()) << errors_of(e);
  const std::string b = "sidecar_injection_time_seconds_bucket";
  EXPECT_EQ(e.value(b, {{"le", "2.5e-06"}}), 0);
  EXPECT_EQ(e.value(b, {{"le", "5e-06"}}), 1);
  EXPECT_EQ(e.value(b, {{"le", "1e-05"}}), 2);
  EXPECT_EQ(e.value(b, {{"le", "2.5e-05"}}), 3);
  EXPECT_EQ(e.value(b, {{"le", "+Inf"}}), 3);
  EXPECT_EQ(e.value("sidecar_injection_time_seconds_count"), 3);
  EXPECT_DOUBLE_EQ(e.value("sidecar_injection_time_seconds_sum"), 35'001e-9);
}

TEST(metrics, label_values_and_help_are_escaped) {
  control_metrics control;
  control.config_version = "abc";
  control.config_source = "C:\\configs\\\"quoted\"\nsecond line";
  const std::array<decision_label, decision_reason_counters> odd = {{
      {"skip", "back\\slash"}, {"skip", "quo\"te"}, {"skip", "new\nline"}, {"skip", "all\\\"\n"},
      {"skip", "e"}, {"skip", "f"}, {"skip", "g"}, {"skip", "h"}, {"skip", "i"}, {"skip", "j"}, {"skip", "k"}}};
  std::string out;
  render_prometheus(out, {}, control, odd, {});
  EXPECT_NE(out.find(R"(meshinject_config_info{version="abc",source="C:\\configs\\\"quoted\"\nsecond line"} 1)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"({decision="skip",reason="back\\slash"})"), std::string::npos);
  EXPECT_NE(out.find(R"({decision="skip",reason="quo\"te"})"), std::string::npos);
  EXPECT_NE(out.find(R"({decision="skip",reason="new\nline"})"), std::string::npos);
  EXPECT_NE(out.find(R"({decision="skip",reason="all\\\"\n"})"), std::string::npos);

  const auto e = parse_exposition(out);
  ASSERT_TRUE(e.errors.empty()) << errors_of(e);
  EXPECT_EQ(e.value("meshinject_config_info", {{"version", "abc"}, {"source", control.config_source}}), 1);
  EXPECT_EQ(e.value("meshinject_decisions_total", {{"decision", "skip"}, {"reason", "all\\\"\n"}}), 0);
}

TEST(metrics, config_info_absent_until_a_config_loads) {
  control_metrics control;
  std::string out;
  render_prometheus(out, {}, control, reasons, {});
  EXPECT_NE(out.find("# TYPE meshinject_config_info gauge\n"), std::string::npos);
  EXPECT_EQ(out.find("meshinject_config_info{"), std::string::npos);
  const auto e = parse_exposition(out);
  EXPECT_TRUE(e.errors.empty()) << errors_of(e);
  EXPECT_EQ(e.value("meshinject_ready"), 0);
  EXPECT_EQ(e.value("sidecar_injection_time_seconds_count"), 0);
}

TEST(metrics, concurrent_writers_and_a_scraper) {
  constexpr int writers = 4;
  constexpr std::uint64_t per_writer = 200'000;
  std::vector<std::unique_ptr<core_metrics>> blocks;
  std::vector<const core_metrics*> views;
  for (int i = 0; i < writers; ++i) {
    blocks.push_back(std::make_unique<core_metrics>());
    views.push_back(blocks.back().get());
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(views.back()) % metrics_alignment, 0u);
  }
  control_metrics control;

  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::string scraper_error;
  std::thread scraper([&] {
    double last_requests = 0, last_count = 0;
    while (!done.load(std::memory_order_acquire)) {
      std::string out;
      render_prometheus(out, views, control, reasons, {});
      const auto e = parse_exposition(out);
      if (!e.errors.empty()) {
        scraper_error = errors_of(e);
        return;
      }
      const double requests = e.value("sidecar_injection_requests_total");
      const double count = e.value("sidecar_injection_time_seconds_count");
      if (requests < last_requests || count < last_count) {
        scraper_error = "a counter went backwards";
        return;
      }
      if (requests > writers * per_writer || e.value("meshinject_open_connections") < 0 ||
          e.value("meshinject_open_connections") > writers) {
        scraper_error = "impossible value";
        return;
      }
      last_requests = requests;
      last_count = count;
      scrapes.fetch_add(1);
    }
  });

  std::vector<std::thread> pool;
  for (int t = 0; t < writers; ++t) {
    pool.emplace_back([&, t] {
      core_metrics& m = *blocks[static_cast<std::size_t>(t)];
      for (std::uint64_t i = 0; i < per_writer; ++i) {
        m.open_connections.inc();
        m.injection_requests.inc();
        m.injection_time.record(i % 3 == 0 ? 1'000 : 20'000'000);
        m.count_decision(static_cast<std::size_t>(i % decision_reason_counters));
        m.count_http_response(200);
        m.open_connections.dec();
      }
    });
  }
  for (auto& th : pool) th.join();
  // The scraper must have overlapped the writers at least once in a while; keep
  // it running a little after to also see the final state.
  while (scrapes.load() < 3) std::this_thread::yield();
  done.store(true, std::memory_order_release);
  scraper.join();
  EXPECT_EQ(scraper_error, "");

  std::string out;
  render_prometheus(out, views, control, reasons, {});
  const auto e = parse_exposition(out);
  ASSERT_TRUE(e.errors.empty()) << errors_of(e);
  const double total = writers * per_writer;
  EXPECT_EQ(e.value("sidecar_injection_requests_total"), total);
  EXPECT_EQ(e.value("sidecar_injection_time_seconds_count"), total);
  EXPECT_EQ(e.value("sidecar_injection_time_seconds_bucket", {{"le", "1e-06"}}),
            writers * ((per_writer + 2) / 3));
  EXPECT_EQ(e.value("meshinject_http_responses_total", {{"code", "200"}}), total);
  EXPECT_EQ(e.value("meshinject_open_connections"), 0);
  double decisions = 0;
  for (const auto& r : reasons)
    decisions += e.value("meshinject_decisions_total", {{"decision", std::string(r.decision)},
                                                        {"reason", std::string(r.reason)}});
  EXPECT_EQ(decisions, total);
}

TEST(metrics, exported_names_match_what_is_rendered) {
  control_metrics control;
  control.config_version = "v";
  core_metrics m;
  const core_metrics* cores[] = {&m};
  const auto e = parse_exposition(render(cores, control));
  ASSERT_TRUE(e.errors.empty()) << errors_of(e);
  const auto names = exported_metric_names();
  ASSERT_EQ(e.family_order.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(e.family_order[i], names[i]);
  for (const auto& s : e.samples) EXPECT_TRUE(is_exported_series(s.name)) << s.name;

  EXPECT_TRUE(is_exported_series("sidecar_injection_time_seconds_bucket"));
  EXPECT_TRUE(is_exported_series("sidecar_injection_time_seconds_count"));
  EXPECT_TRUE(is_exported_series("meshinject_ready"));
  EXPECT_FALSE(is_exported_series("meshinject_ready_bucket"));
  EXPECT_FALSE(is_exported_series("sidecar_injection_requests"));
  EXPECT_FALSE(is_exported_series("sidecar_injection_time_seconds_total"));
  EXPECT_FALSE(is_exported_series(""));

  // Istio's names, which Istio dashboards query, are there unchanged.
  for (const std::string_view istio : {"sidecar_injection_requests_total", "sidecar_injection_success_total",
                                       "sidecar_injection_skip_total", "sidecar_injection_failure_total",
                                       "sidecar_injection_time_seconds"})
    EXPECT_TRUE(is_exported_series(istio)) << istio;
}

TEST(metrics, decision_labels_agree_with_the_decision_module) {
  static_assert(decision_reason_counters == meshinject::core::decision_reason_count);
  for (std::size_t i = 0; i < decision_reason_counters; ++i)
    EXPECT_EQ(reasons[i].reason, reason_code(static_cast<meshinject::core::decision_reason>(i))) << i;
}

TEST(metrics, counted_http_statuses_and_ignored_ones) {
  core_metrics m;
  for (unsigned s : counted_http_statuses) m.count_http_response(s);
  m.count_http_response(0);
  m.count_http_response(201);
  m.count_http_response(502);
  for (std::size_t i = 0; i < counted_http_statuses.size(); ++i) EXPECT_EQ(m.http_responses[i].value(), 1u);
}

TEST(metrics, blocks_do_not_share_cache_lines) {
  static_assert(alignof(core_metrics) >= 64);
  static_assert(sizeof(core_metrics) % 64 == 0);
  static_assert(alignof(control_metrics) >= 64);
  core_metrics pair[2];
  const auto first_end = reinterpret_cast<std::uintptr_t>(&pair[0]) + sizeof(core_metrics) - 1;
  EXPECT_NE(first_end / 64, reinterpret_cast<std::uintptr_t>(&pair[1]) / 64);
}

TEST(metrics, reads_this_process) {
  const process_stats p = read_process_stats();
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(p.start_time_seconds, now - 3600);
  EXPECT_LE(p.start_time_seconds, now + 1);
  EXPECT_GT(p.resident_memory_bytes, 100'000u);
  EXPECT_GE(p.open_fds, 3u);  // stdin, stdout, stderr at least

  const int before = static_cast<int>(p.open_fds);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_EQ(static_cast<int>(read_process_stats().open_fds), before + 2);
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
