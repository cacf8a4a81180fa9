#pragma once
// Turns the per-request logs of all workers into the run's figures: counts, achieved rate
// and exact latency percentiles over the measured window.

#include <cstdint>
#include <string>
#include <vector>

namespace meshinject::load {

struct sample {
  std::int64_t due_ns;      // due time, from the start of the measured window
  std::int64_t latency_ns;  // due time to the last byte (or to the failure)
  std::uint8_t outcome;     // as load::outcome
};

struct summary {
  std::uint64_t scheduled = 0;    // requests due inside the window
  std::uint64_t ok = 0;           // 2xx answers among them
  std::uint64_t http_errors = 0;  // other statuses
  std::uint64_t transport_errors = 0;
  std::uint64_t unfinished = 0;   // no answer before the run ended
  std::uint64_t wrong_answers = 0;  // 2xx answers that failed --check-admission
  double window_s = 0;
  double achieved_rate = 0;       // answers (any status) completed inside the window, per second
  // Latency of the ok answers, in nanoseconds; sorted ascending.
  std::vector<std::int64_t> sorted_ok_ns;

  std::uint64_t errors() const { return http_errors + transport_errors + unfinished + wrong_answers; }
  /// Nearest-rank percentile (p in [0, 100]) of the ok latencies; 0 when there are none.
  std::int64_t percentile_ns(double p) const;
  double mean_ns() const;
};

/// `samples` are those of the whole run; only those due in [0, window_ns) count.
summary summarize(const std::vector<sample>& samples, std::int64_t window_ns);

/// Latency by percentile at log-spaced points (50%, 75%, 87.5%, ... up to 100%), as
/// "percentile<TAB>latency_us<TAB>1/(1-p)" lines under a header: ready for a log-x plot.
std::string spectrum_tsv(const summary& s);

}  // namespace meshinject::load
