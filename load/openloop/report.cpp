#include "report.hpp"

#include "worker.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace meshinject::load {

std::int64_t summary::percentile_ns(double p) const {
  if (sorted_ok_ns.empty()) return 0;
  const double n = static_cast<double>(sorted_ok_ns.size());
  // The small slack keeps 99.9% of 1000 at rank 999 despite rounding in p / 100 * n.
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * n - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, sorted_ok_ns.size());
  return sorted_ok_ns[rank - 1];
}

double summary::mean_ns() const {
  if (sorted_ok_ns.empty()) return 0;
  const long double sum = std::accumulate(sorted_ok_ns.begin(), sorted_ok_ns.end(), 0.0L);
  return static_cast<double>(sum / static_cast<long double>(sorted_ok_ns.size()));
}

summary summarize(const std::vector<sample>& samples, std::int64_t window_ns) {
  summary s;
  s.window_s = static_cast<double>(window_ns) / 1e9;
  std::uint64_t completed_in_window = 0;
  for (const auto& x : samples) {
    const auto o = static_cast<outcome>(x.outcome);
    const bool answered = o == outcome::ok || o == outcome::http_error || o == outcome::wrong_answer;
    if (answered) {
      const std::int64_t done = x.due_ns + x.latency_ns;
      if (done >= 0 && done < window_ns) ++completed_in_window;
    }
    if (x.due_ns < 0 || x.due_ns >= window_ns) continue;
    ++s.scheduled;
    switch (o) {
      case outcome::ok:
        ++s.ok;
        s.sorted_ok_ns.push_back(x.latency_ns);
        break;
      case outcome::http_error: ++s.http_errors; break;
      case outcome::transport_error: ++s.transport_errors; break;
      case outcome::unfinished: ++s.unfinished; break;
      case outcome::wrong_answer: ++s.wrong_answers; break;
    }
  }
  std::sort(s.sorted_ok_ns.begin(), s.sorted_ok_ns.end());
  s.achieved_rate = s.window_s > 0 ? static_cast<double>(completed_in_window) / s.window_s : 0;
  return s;
}

std::string spectrum_tsv(const summary& s) {
  std::string out = "percentile\tlatency_us\tinv_tail\n";
  if (s.sorted_ok_ns.empty()) return out;
  char line[96];
  auto emit = [&](double p) {
    // The maximum is plotted at one request in the sample, where it belongs on a log axis.
    const double inv_tail = p >= 100.0 ? static_cast<double>(s.sorted_ok_ns.size()) : 100.0 / (100.0 - p);
    std::snprintf(line, sizeof line, "%.6f\t%.3f\t%.3f\n", p, static_cast<double>(s.percentile_ns(p)) / 1e3,
                  inv_tail);
    out += line;
  };
  // Four points per halving of the tail, down to one request in the sample.
  const double n = static_cast<double>(s.sorted_ok_ns.size());
  for (int k = 0;; ++k) {
    const double tail = std::pow(0.5, k / 4.0);  // 1, 0.84, 0.71, 0.59, 0.5, ...
    if (tail * n < 1.0) break;
    emit(100.0 * (1.0 - tail));
  }
  emit(100.0);
  return out;
}

}  // namespace meshinject::load
