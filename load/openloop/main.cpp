// openloop: an open-loop HTTPS latency client. See options.cpp for the usage and
// worker.hpp for how the schedule works.

#include "admission_check.hpp"
#include "options.hpp"
#include "report.hpp"
#include "worker.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ml = meshinject::load;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string serialize_request(const ml::options& o, const std::string& body) {
  std::string host = o.url.host.find(':') != std::string::npos ? "[" + o.url.host + "]" : o.url.host;
  if (o.url.port != "443") host += ":" + o.url.port;
  std::string r;
  r.reserve(body.size() + 256);
  r += "POST " + o.url.path + " HTTP/1.1\r\n";
  r += "Host: " + host + "\r\n";
  r += "User-Agent: meshinject-openloop\r\n";
  r += "Content-Type: " + o.content_type + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& h : o.headers) r += h + "\r\n";
  r += "\r\n";
  r += body;
  return r;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

}  // namespace

int main(int argc, char** argv) {
  ml::options opts;
  try {
    opts = ml::parse_options(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "openloop: " << e.what() << "\n";
    return 2;
  }

  ml::run_plan plan;
  plan.opts = &opts;
  std::uint64_t body_bytes_sent = 0;
  try {
    std::vector<std::string> files;
    for (const auto& f : opts.body_files) files.push_back(read_file(f));
    // Copy-major order: request k still sends body k % n, and each copy once per cycle.
    for (unsigned copy = 0; copy < opts.vary; ++copy) {
      for (std::size_t b = 0; b < files.size(); ++b) {
        std::string body = files[b];
        if (opts.vary > 1) {
          auto varied = ml::vary_admission_review(body, copy);
          if (!varied) throw std::runtime_error("--vary: " + opts.body_files[b] + " is not an AdmissionReview with request.uid");
          body = std::move(*varied);
        }
        if (copy == 0) body_bytes_sent += body.size();
        if (opts.check_admission) {
          auto uid = ml::admission_request_uid(body);
          if (!uid) throw std::runtime_error("--check-admission: " + opts.body_files[b] + " is not an AdmissionReview with request.uid");
          plan.request_uids.push_back(std::move(*uid));
        }
        plan.requests.push_back(serialize_request(opts, body));
      }
    }
    boost::asio::io_context resolver_io;
    boost::asio::ip::tcp::resolver resolver(resolver_io);
    plan.endpoints = resolver.resolve(opts.url.host, opts.url.port);
  } catch (const std::exception& e) {
    std::cerr << "openloop: " << e.what() << "\n";
    return 1;
  }
  const auto run_length = opts.warmup + opts.duration;
  plan.total_requests = static_cast<std::uint64_t>(std::ceil(seconds(run_length) * opts.rate));

  // Each thread builds its own worker (io_context, TLS context, connections), connects,
  // then waits for the others; the last one to arrive sets the common start time.
  const unsigned n = opts.threads;
  std::vector<std::unique_ptr<ml::worker>> workers(n);
  std::vector<unsigned> failures(n, 0);
  std::vector<std::string> first_errors(n);
  ml::clock_type::time_point start;
  bool abort_run = false;
  std::barrier ready(static_cast<std::ptrdiff_t>(n), [&]() noexcept {
    for (unsigned t = 0; t < n; ++t) abort_run = abort_run || failures[t] != 0;
    start = ml::clock_type::now() + std::chrono::milliseconds(20);
  });
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      const unsigned conns = opts.connections / n + (t < opts.connections % n ? 1 : 0);
      try {
        workers[t] = std::make_unique<ml::worker>(plan, t, conns);
        failures[t] = workers[t]->connect_all(first_errors[t]);
      } catch (const std::exception& e) {
        failures[t] = 1;
        first_errors[t] = e.what();
      }
      ready.arrive_and_wait();
      if (!abort_run) workers[t]->run(start);
    });
  }
  for (auto& th : threads) th.join();
  if (abort_run) {
    for (unsigned t = 0; t < n; ++t) {
      if (failures[t] != 0) {
        std::cerr << "openloop: " << failures[t] << " connection(s) of thread " << t
                  << " failed to open: " << first_errors[t] << "\n";
      }
    }
    return 1;
  }

  // Collect the samples of the whole run, due times relative to the window's start.
  const std::int64_t warmup_ns = opts.warmup.count();
  std::vector<ml::sample> samples;
  samples.reserve(plan.total_requests);
  std::uint64_t responses = 0, body_bytes = 0, reconnects = 0, max_queue = 0, queued = 0;
  std::string first_wrong_answer;
  for (const auto& w : workers) {
    const auto& log = w->log();
    for (std::uint64_t i = 0; i < w->owned_requests(); ++i) {
      samples.push_back({w->due_offset_ns(i) - warmup_ns, log.latency_ns[i], static_cast<std::uint8_t>(log.outcomes[i])});
    }
    responses += w->responses();
    body_bytes += w->response_body_bytes();
    reconnects += w->reconnects();
    max_queue = std::max(max_queue, w->max_queue());
    queued += w->queued();
    if (first_wrong_answer.empty()) first_wrong_answer = w->first_wrong_answer();
  }
  const ml::summary s = ml::summarize(samples, opts.duration.count());

  if (!opts.out_csv.empty()) {
    std::sort(samples.begin(), samples.end(), [](const auto& a, const auto& b) { return a.due_ns < b.due_ns; });
    std::ofstream out(opts.out_csv);
    out << "due_us,latency_us,outcome\n";
    static constexpr const char* names[] = {"unfinished", "ok", "http_error", "transport_error", "wrong_answer"};
    char line[96];
    for (const auto& x : samples) {
      if (x.due_ns < 0 || x.due_ns >= opts.duration.count()) continue;
      std::snprintf(line, sizeof line, "%.3f,%.3f,%s\n", static_cast<double>(x.due_ns) / 1e3,
                    static_cast<double>(x.latency_ns) / 1e3, names[x.outcome <= 4 ? x.outcome : 0]);
      out << line;
    }
    if (!out) std::cerr << "openloop: could not write " << opts.out_csv << "\n";
  }
  if (!opts.spectrum_out.empty()) {
    std::ofstream out(opts.spectrum_out);
    out << ml::spectrum_tsv(s);
    if (!out) std::cerr << "openloop: could not write " << opts.spectrum_out << "\n";
  }

  auto us = [&](double p) { return static_cast<double>(s.percentile_ns(p)) / 1e3; };
  const double avg_body = responses ? static_cast<double>(body_bytes) / static_cast<double>(responses) : 0;
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "\"target_rate\":%.1f,\"achieved_rate\":%.1f,\"duration_s\":%.3f,\"warmup_s\":%.3f,"
                "\"connections\":%u,\"threads\":%u,\"scheduled\":%llu,\"ok\":%llu,\"errors\":%llu,"
                "\"http_errors\":%llu,\"transport_errors\":%llu,\"unfinished\":%llu,\"wrong_answers\":%llu,\"reconnects\":%llu,"
                "\"queued\":%llu,\"max_queue\":%llu,\"request_body_bytes_avg\":%.0f,\"response_body_bytes_avg\":%.0f,"
                "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p99_9\":%.1f,\"max\":%.1f,\"mean\":%.1f}",
                opts.rate, s.achieved_rate, seconds(opts.duration), seconds(opts.warmup), opts.connections, n,
                static_cast<unsigned long long>(s.scheduled), static_cast<unsigned long long>(s.ok),
                static_cast<unsigned long long>(s.errors()), static_cast<unsigned long long>(s.http_errors),
                static_cast<unsigned long long>(s.transport_errors), static_cast<unsigned long long>(s.unfinished),
                static_cast<unsigned long long>(s.wrong_answers), static_cast<unsigned long long>(reconnects), static_cast<unsigned long long>(queued),
                static_cast<unsigned long long>(max_queue),
                static_cast<double>(body_bytes_sent) / static_cast<double>(opts.body_files.size()), avg_body, us(50),
                us(90), us(99), us(99.9), us(100), s.mean_ns() / 1e3);
  std::cout << "{\"tool\":\"openloop\",\"label\":" << json_string(opts.label) << ",\"url\":" << json_string(opts.url_text)
            << "," << buf << "}\n";
  std::cout.flush();

  std::snprintf(buf, sizeof buf,
                "openloop%s%s: %.0f req/s target, %.0f achieved over %.1f s; %llu ok, %llu errors"
                " (%llu http, %llu transport, %llu unfinished, %llu wrong); latency p50 %.3f ms, p90 %.3f, p99 %.3f,"
                " p99.9 %.3f, max %.3f",
                opts.label.empty() ? "" : " ", opts.label.c_str(), opts.rate, s.achieved_rate, seconds(opts.duration),
                static_cast<unsigned long long>(s.ok), static_cast<unsigned long long>(s.errors()),
                static_cast<unsigned long long>(s.http_errors), static_cast<unsigned long long>(s.transport_errors),
                static_cast<unsigned long long>(s.unfinished), static_cast<unsigned long long>(s.wrong_answers), us(50) / 1e3, us(90) / 1e3, us(99) / 1e3,
                us(99.9) / 1e3, us(100) / 1e3);
  std::cerr << buf << "\n";
  if (s.wrong_answers != 0) {
    std::cerr << "openloop: " << s.wrong_answers << " wrong answer(s); the first: " << first_wrong_answer << "\n";
  }
  return s.ok == 0 ? 3 : 0;
}
