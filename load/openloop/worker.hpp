#pragma once
// One thread of the open-loop client: an io_context, the connections it owns, and its
// share of the request schedule. Nothing in a worker is touched by another thread while
// it runs; the main thread reads the results after joining it.
//
// The schedule: request k of the whole run (all threads) is due at start + k / rate.
// Worker t of T owns the requests k = i*T + t, so the threads interleave evenly. A due
// request goes out on an idle connection at once, or waits in order for the next one to
// free up; either way its latency runs from its due time to the last byte of its response.

#include "options.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace meshinject::load {

using clock_type = std::chrono::steady_clock;

/// What happened to one scheduled request.
enum class outcome : std::uint8_t {
  unfinished = 0,  // never answered before the run ended (still queued or in flight)
  ok,              // a 2xx response arrived in full
  http_error,      // a complete response with another status
  transport_error, // connect, TLS, write, read or timeout failure while it was in flight
  wrong_answer,    // a 2xx response that failed --check-admission (wrong uid, no patch)
};

/// Per-request record, indexed by the worker-local request number i.
struct request_log {
  std::vector<std::int64_t> latency_ns;  // due time to completion (valid unless unfinished)
  std::vector<outcome> outcomes;
};

/// Read-only inputs shared by all workers (built before any thread starts).
struct run_plan {
  const options* opts = nullptr;
  std::vector<std::string> requests;  // complete serialized HTTP requests, one per body
  std::vector<std::string> request_uids;  // request.uid of each body, with --check-admission
  boost::asio::ip::tcp::resolver::results_type endpoints;
  std::uint64_t total_requests = 0;   // over all threads, warm-up included
};

class connection;

class worker {
public:
  worker(const run_plan& plan, unsigned index, unsigned connections);
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  /// Opens every connection (TCP + TLS handshake) and returns the number that failed,
  /// with the first failure's text in `first_error`.
  unsigned connect_all(std::string& first_error);

  /// Runs the schedule from `start` until every owned request is answered, or the timeout
  /// after the last due time has passed.
  void run(clock_type::time_point start);

  /// Nanoseconds from the run's start to the due time of worker-local request i.
  std::int64_t due_offset_ns(std::uint64_t i) const;

  const request_log& log() const { return log_; }
  std::uint64_t owned_requests() const { return owned_; }
  std::uint64_t response_body_bytes() const { return body_bytes_; }
  std::uint64_t responses() const { return responses_; }
  std::uint64_t reconnects() const { return reconnects_; }
  std::uint64_t max_queue() const { return max_queue_; }
  std::uint64_t queued() const { return queued_; }
  const std::string& first_wrong_answer() const { return first_wrong_answer_; }

private:
  friend class connection;

  // Called by connections.
  boost::asio::io_context& io() { return io_; }
  boost::asio::ssl::context& tls() { return tls_; }
  const run_plan& plan() const { return plan_; }
  void on_ready(connection& c);
  void on_response(connection& c, std::uint64_t i, unsigned status, const std::string& body);
  void on_failure(connection& c, std::uint64_t i);
  void on_connect_failed(connection& c, const std::string& what);

  clock_type::time_point due_time(std::uint64_t i) const;
  void advance_and_dispatch();
  void arm_timer();
  void maybe_finish();

  const run_plan& plan_;
  const unsigned index_;
  const unsigned stride_;
  const std::uint64_t owned_;

  boost::asio::io_context io_;  // declared before the connections: it must outlive them
  boost::asio::ssl::context tls_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer drain_timer_;
  std::vector<std::unique_ptr<connection>> connections_;
  std::vector<connection*> idle_;

  bool running_ = false;
  bool stopping_ = false;
  bool timer_armed_ = false;
  clock_type::time_point start_;
  std::uint64_t next_due_ = 0;   // requests [0, next_due_) are due
  std::uint64_t next_sent_ = 0;  // requests [0, next_sent_) went out
  std::uint64_t finished_ = 0;   // requests answered or failed
  unsigned connect_failures_ = 0;
  std::string first_error_;

  request_log log_;
  std::uint64_t body_bytes_ = 0;
  std::uint64_t responses_ = 0;
  std::uint64_t reconnects_ = 0;
  std::uint64_t max_queue_ = 0;
  std::uint64_t queued_ = 0;  // requests that found no idle connection when due
  std::string first_wrong_answer_;
};

}  // namespace meshinject::load
