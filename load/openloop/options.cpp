#include "options.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace meshinject::load {
namespace {

constexpr const char* usage_text = R"(usage: openloop --url https://HOST:PORT/PATH --body FILE [options]

Sends requests at a fixed arrival rate, on schedule, over persistent TLS keep-alive
connections, and reports latency measured from each request's scheduled send time
to the last byte of its response (no coordinated omission).

  --url URL            https URL to POST to (required)
  --body FILE          request body; repeat to rotate several bodies (required)
  --vary N             send N copies of each body, each with its own request.uid and
                       pod name, as an apiserver's requests differ (AdmissionReview
                       bodies only; written compact)                 [1]
  --rate N             requests per second over all threads        [1000]
  --duration D         measured window, e.g. 10s, 500ms, 1m         [10s]
  --warmup D           sent before the window, not measured         [2s]
  --connections N      keep-alive connections over all threads      [64]
  --threads N          threads, each with its own io_context, its
                       share of the connections and of the schedule [1]
  --timeout D          per-request timeout, and the final drain     [10s]
  --max-idle D         a connection idle longer is reopened before it is used, as
                       the apiserver drops webhook connections idle for 90 s [90s]
  --content-type T                                                  [application/json]
  --header 'K: V'      extra request header (repeatable)
  --insecure           do not verify the server certificate
  --cacert FILE        verify the server against this CA bundle
  --out FILE           raw samples of the window as CSV
  --spectrum FILE      latency by percentile (for plots) as TSV
  --label TEXT         copied into the JSON result
  --check-admission    a 2xx answer is ok only when it is an AdmissionReview with the
                       request's uid, allowed and a non-empty patch (every body must be
                       an AdmissionReview of a pod that gets injected); others count as
                       wrong_answers

Output: one JSON line on stdout, one line for people on stderr. Exit status 0 when the
run completed (whatever the errors), 1 on a setup failure, 2 on a bad command line.
)";

std::string need_value(int argc, char** argv, int& i) {
  if (i + 1 >= argc) throw std::invalid_argument(std::string(argv[i]) + " needs a value");
  return argv[++i];
}

template <class T>
T parse_number(std::string_view flag, std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw std::invalid_argument(std::string(flag) + ": not a number: " + std::string(text));
  }
  return value;
}

std::chrono::nanoseconds duration_arg(std::string_view flag, std::string_view text) {
  auto d = parse_duration(text);
  if (!d) throw std::invalid_argument(std::string(flag) + ": not a duration (10s, 500ms, 1m): " + std::string(text));
  return *d;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const char* const last = text.data() + text.size();
  double total_ns = 0;
  const char* p = text.data();
  while (p != last) {
    double value = 0;
    auto [end, ec] = std::from_chars(p, last, value, std::chars_format::fixed);
    if (ec != std::errc{} || value < 0) return std::nullopt;
    std::string_view unit(end, static_cast<std::size_t>(last - end));
    double scale = 0;
    std::size_t unit_len = 1;
    if (unit.empty() && p == text.data()) scale = 1e9;  // a bare number is seconds
    else if (unit.starts_with("ms")) { scale = 1e6; unit_len = 2; }
    else if (unit.starts_with("us")) { scale = 1e3; unit_len = 2; }
    else if (unit.starts_with("s")) scale = 1e9;
    else if (unit.starts_with("m")) scale = 60e9;
    else if (unit.starts_with("h")) scale = 3600e9;
    else return std::nullopt;
    total_ns += value * scale;
    p = unit.empty() ? end : end + unit_len;
  }
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(total_ns)));
}

std::optional<target_url> parse_url(std::string_view text) {
  constexpr std::string_view scheme = "https://";
  if (!text.starts_with(scheme)) return std::nullopt;
  text.remove_prefix(scheme.size());
  auto slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  target_url url;
  url.path = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  if (authority.empty()) return std::nullopt;
  std::string_view host = authority;
  std::string_view port = "443";
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || port.empty()) return std::nullopt;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  url.host = std::string(host);
  url.port = std::string(port);
  return url;
}

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      std::exit(0);
    } else if (a == "--url") {
      o.url_text = need_value(argc, argv, i);
      auto u = parse_url(o.url_text);
      if (!u) throw std::invalid_argument("--url: want https://host[:port][/path], got " + o.url_text);
      o.url = *u;
    } else if (a == "--rate") {
      o.rate = parse_number<double>(a, need_value(argc, argv, i));
      if (!(o.rate > 0)) throw std::invalid_argument("--rate must be above 0");
    } else if (a == "--duration") {
      o.duration = duration_arg(a, need_value(argc, argv, i));
    } else if (a == "--warmup") {
      o.warmup = duration_arg(a, need_value(argc, argv, i));
    } else if (a == "--timeout") {
      o.timeout = duration_arg(a, need_value(argc, argv, i));
    } else if (a == "--max-idle") {
      o.max_idle = duration_arg(a, need_value(argc, argv, i));
    } else if (a == "--connections") {
      o.connections = parse_number<unsigned>(a, need_value(argc, argv, i));
    } else if (a == "--threads") {
      o.threads = parse_number<unsigned>(a, need_value(argc, argv, i));
    } else if (a == "--body") {
      o.body_files.push_back(need_value(argc, argv, i));
    } else if (a == "--vary") {
      o.vary = parse_number<unsigned>(a, need_value(argc, argv, i));
      if (o.vary == 0 || o.vary > 1'000'000) throw std::invalid_argument("--vary must be 1 to 1000000");
    } else if (a == "--header") {
      o.headers.push_back(need_value(argc, argv, i));
      if (o.headers.back().find(':') == std::string::npos) throw std::invalid_argument("--header: want 'Name: value'");
    } else if (a == "--content-type") {
      o.content_type = need_value(argc, argv, i);
    } else if (a == "--insecure" || a == "-k") {
      o.insecure = true;
    } else if (a == "--cacert") {
      o.ca_file = need_value(argc, argv, i);
    } else if (a == "--out") {
      o.out_csv = need_value(argc, argv, i);
    } else if (a == "--spectrum") {
      o.spectrum_out = need_value(argc, argv, i);
    } else if (a == "--check-admission") {
      o.check_admission = true;
    } else if (a == "--label") {
      o.label = need_value(argc, argv, i);
    } else {
      throw std::invalid_argument("unknown option " + std::string(a) + " (see --help)");
    }
  }
  if (o.url_text.empty()) throw std::invalid_argument("--url is required");
  if (o.body_files.empty()) throw std::invalid_argument("--body is required");
  if (o.threads == 0) throw std::invalid_argument("--threads must be at least 1");
  if (o.connections < o.threads) throw std::invalid_argument("--connections must be at least --threads");
  if (o.duration.count() <= 0) throw std::invalid_argument("--duration must be above 0");
  if (o.timeout.count() <= 0) throw std::invalid_argument("--timeout must be above 0");
  if (o.max_idle.count() <= 0) throw std::invalid_argument("--max-idle must be above 0");
  return o;
}

}  // namespace meshinject::load
