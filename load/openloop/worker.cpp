#include "worker.hpp"

#include "admission_check.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace meshinject::load {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using error_code = boost::system::error_code;

/// One keep-alive TLS connection: connect, handshake, then one request at a time.
/// Owned by its worker, which outlives every handler (the io_context is stopped and
/// destroyed after the connections, so no handler runs on a dead connection).
class connection {
public:
  explicit connection(worker& w) : w_(w) {}

  void connect() {
    stream_.emplace(w_.io(), w_.tls());
    buffer_.clear();
    const auto& o = *w_.plan().opts;
    // SNI only for names; an IP literal in SNI is not allowed.
    error_code not_ip;
    (void)net::ip::make_address(o.url.host, not_ip);
    if (not_ip) SSL_set_tlsext_host_name(stream_->native_handle(), o.url.host.c_str());
    if (!o.insecure) stream_->set_verify_callback(ssl::host_name_verification(o.url.host));
    beast::get_lowest_layer(*stream_).expires_after(o.timeout);
    beast::get_lowest_layer(*stream_).async_connect(
        w_.plan().endpoints, [this](error_code ec, const net::ip::tcp::endpoint&) {
          if (ec) return w_.on_connect_failed(*this, "connect: " + ec.message());
          beast::get_lowest_layer(*stream_).socket().set_option(net::ip::tcp::no_delay(true), ec);
          stream_->async_handshake(ssl::stream_base::client, [this](error_code ec) {
            if (ec) return w_.on_connect_failed(*this, "TLS handshake: " + ec.message());
            w_.on_ready(*this);
          });
        });
  }

  void send(std::uint64_t i) {
    current_ = i;
    const auto& requests = w_.plan().requests;
    // Rotate bodies by the global request number, so the mix is the same whatever --threads.
    const std::uint64_t global = i * w_.stride_ + w_.index_;
    const std::string& request = requests[global % requests.size()];
    beast::get_lowest_layer(*stream_).expires_after(w_.plan().opts->timeout);
    net::async_write(*stream_, net::buffer(request), [this](error_code ec, std::size_t) {
      if (ec) return w_.on_failure(*this, current_);
      parser_.emplace();
      parser_->body_limit(64u << 20);
      http::async_read(*stream_, buffer_, *parser_, [this](error_code ec, std::size_t) {
        if (ec) return w_.on_failure(*this, current_);
        const auto& res = parser_->get();
        keep_alive_ = res.keep_alive();
        w_.on_response(*this, current_, res.result_int(), res.body());
      });
    });
  }

  bool keep_alive() const { return keep_alive_; }
  clock_type::time_point idle_since{};  // when it last went back to the worker's idle list

  void close() {
    if (!stream_) return;
    error_code ignored;
    beast::get_lowest_layer(*stream_).socket().close(ignored);
  }

private:
  worker& w_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::uint64_t current_ = 0;
  bool keep_alive_ = true;
};

namespace {

ssl::context make_tls(const options& o) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  static constexpr unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx.native_handle(), alpn, sizeof alpn);
  if (o.insecure) {
    ctx.set_verify_mode(ssl::verify_none);
  } else {
    ctx.set_verify_mode(ssl::verify_peer);
    if (o.ca_file.empty()) ctx.set_default_verify_paths();
    else ctx.load_verify_file(o.ca_file);
  }
  return ctx;
}

std::uint64_t share(std::uint64_t total, unsigned stride, unsigned index) {
  return total / stride + (index < total % stride ? 1 : 0);
}

}  // namespace

worker::worker(const run_plan& plan, unsigned index, unsigned connections)
    : plan_(plan),
      index_(index),
      stride_(plan.opts->threads),
      owned_(share(plan.total_requests, plan.opts->threads, index)),
      io_(1),
      tls_(make_tls(*plan.opts)),
      timer_(io_),
      drain_timer_(io_) {
  log_.latency_ns.assign(owned_, 0);
  log_.outcomes.assign(owned_, outcome::unfinished);
  for (unsigned c = 0; c < connections; ++c) connections_.push_back(std::make_unique<connection>(*this));
}

worker::~worker() = default;

std::int64_t worker::due_offset_ns(std::uint64_t i) const {
  const long double k = static_cast<long double>(i) * stride_ + index_;
  return static_cast<std::int64_t>(k * 1e9L / static_cast<long double>(plan_.opts->rate));
}

clock_type::time_point worker::due_time(std::uint64_t i) const {
  return start_ + std::chrono::nanoseconds(due_offset_ns(i));
}

unsigned worker::connect_all(std::string& first_error) {
  for (auto& c : connections_) c->connect();
  io_.run();
  io_.restart();
  first_error = first_error_;
  return connect_failures_;
}

void worker::run(clock_type::time_point start) {
  start_ = start;
  running_ = true;
  if (owned_ == 0) return;
  arm_timer();
  // After the last due time, wait at most one timeout for the stragglers.
  drain_timer_.expires_at(due_time(owned_ - 1) + plan_.opts->timeout);
  drain_timer_.async_wait([this](error_code ec) {
    if (!ec) io_.stop();
  });
  io_.run();
  // Wind down: close every socket and let the aborted handlers run to completion,
  // so none is left pointing at a connection when the worker is destroyed.
  running_ = false;
  stopping_ = true;
  timer_.cancel();
  drain_timer_.cancel();
  for (auto& c : connections_) c->close();
  io_.restart();
  io_.run();
}

void worker::arm_timer() {
  if (timer_armed_ || next_due_ >= owned_) return;
  timer_armed_ = true;
  timer_.expires_at(due_time(next_due_));
  timer_.async_wait([this](error_code ec) {
    timer_armed_ = false;
    if (!ec && !stopping_) advance_and_dispatch();
  });
}

void worker::advance_and_dispatch() {
  const auto now = clock_type::now();
  const std::uint64_t was_due = next_due_;
  while (next_due_ < owned_ && due_time(next_due_) <= now) ++next_due_;
  while (next_sent_ < next_due_ && !idle_.empty()) {
    connection* c = idle_.back();
    idle_.pop_back();
    if (now - c->idle_since > plan_.opts->max_idle) {
      // The server may be closing it right now; a fresh one comes back through on_ready.
      ++reconnects_;
      c->close();
      c->connect();
      continue;
    }
    c->send(next_sent_++);
  }
  const std::uint64_t waiting = next_due_ - next_sent_;
  queued_ += std::min(waiting, next_due_ - was_due);
  max_queue_ = std::max(max_queue_, waiting);
  arm_timer();
}

void worker::maybe_finish() {
  if (finished_ == owned_) {
    timer_.cancel();
    drain_timer_.cancel();
    io_.stop();
  }
}

void worker::on_ready(connection& c) {
  if (stopping_) return;
  c.idle_since = clock_type::now();
  idle_.push_back(&c);
  if (running_) advance_and_dispatch();
}

void worker::on_response(connection& c, std::uint64_t i, unsigned status, const std::string& body) {
  if (stopping_) return;
  const auto now = clock_type::now();
  log_.latency_ns[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(now - due_time(i)).count();
  log_.outcomes[i] = status >= 200 && status < 300 ? outcome::ok : outcome::http_error;
  if (log_.outcomes[i] == outcome::ok && plan_.opts->check_admission) {
    const auto& uids = plan_.request_uids;
    const std::uint64_t global = i * stride_ + index_;
    std::string problem = admission_answer_problem(body, uids[global % uids.size()]);
    if (!problem.empty()) {
      log_.outcomes[i] = outcome::wrong_answer;
      if (first_wrong_answer_.empty()) first_wrong_answer_ = std::move(problem);
    }
  }
  body_bytes_ += body.size();
  ++responses_;
  ++finished_;
  if (c.keep_alive()) {
    c.idle_since = now;
    idle_.push_back(&c);
  } else {
    ++reconnects_;
    c.close();
    c.connect();
  }
  advance_and_dispatch();
  maybe_finish();
}

void worker::on_failure(connection& c, std::uint64_t i) {
  if (stopping_) return;
  const auto now = clock_type::now();
  log_.latency_ns[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(now - due_time(i)).count();
  log_.outcomes[i] = outcome::transport_error;
  ++finished_;
  ++reconnects_;
  c.close();
  c.connect();
  maybe_finish();
}

void worker::on_connect_failed(connection& c, const std::string& what) {
  if (stopping_) return;
  if (!running_) {
    // Setting up: report, do not retry.
    if (connect_failures_++ == 0) first_error_ = what;
    c.close();
    return;
  }
  // During the run: try again shortly; queued requests keep their clocks running.
  c.close();
  auto retry = std::make_shared<net::steady_timer>(io_, std::chrono::milliseconds(50));
  retry->async_wait([this, retry, &c](error_code ec) {
    if (!ec && !stopping_) c.connect();
  });
}

}  // namespace meshinject::load
