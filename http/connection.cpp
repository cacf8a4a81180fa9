// Connections: the per-core webhook reactors (TLS) and the admin listener (plain
// HTTP). The only translation unit that includes Beast. What a request means is
// decided by the reactor's request_handler (http/handler.hpp), never here.
//
// I/O model. Sockets are non-blocking. A connection tries the operation first
// (SSL_read / SSL_write / recv / send straight on the socket) and only when the
// kernel has nothing for it waits for readiness with one socket.async_wait; there
// is at most one wait pending per connection at any time, and the connection is
// destroyed from that wait's handler (or synchronously when nothing is pending).
// TLS runs on the socket directly (SSL_set_fd, read-ahead on): no BIO pair, no
// extra copy, one record per response.
//
// Requests. Beast's basic_parser reads the request line and header fields (the
// derived parser keeps only what routing needs, as offsets into the connection's
// buffer, so nothing allocates); a Content-Length body is read by the connection
// itself into the same buffer, right after the header, with body_padding spare
// bytes, and handed to the handler in place. Chunked bodies (which the apiserver
// does not send) go through the parser into a separate buffer.
//
// Deadlines are not timers per connection: each connection stores a deadline and
// a periodic sweep per listener closes the ones that passed, so a request costs no
// timer syscalls. Deadlines and ages are read from the listener's http::clock, so
// tests step time instead of waiting for it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "core/logging.hpp"
#include "http/buffer_pool.hpp"
#include "http/handler.hpp"
#include "http/head_parser.hpp"
#include "http/reactor.hpp"
#include "http/routes.hpp"

namespace meshinject::http {

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using core::log_level;
using core::request_error_kind;
using bsv = boost::beast::string_view;

constexpr std::size_t padding = body_padding;
// A connection's read buffer starts at this size (enough for a typical review)
// and goes back to it after a request that needed more than kept_buffer_bytes.
constexpr std::size_t initial_buffer_bytes = 16 * 1024;
constexpr std::size_t kept_buffer_bytes = 64 * 1024;
constexpr std::size_t kept_output_bytes = 64 * 1024;
// The spare request buffers a reactor keeps (http/buffer_pool.hpp): about a
// hundred sets of a typical review's size, more requests in flight at once than
// one core answers without queueing. Past it a set given back is freed.
constexpr std::size_t spare_request_buffer_bytes = 2 * 1024 * 1024;
// Past this many connections on one reactor, new connections are lean: they give
// their OpenSSL buffers back while idle (SSL_MODE_RELEASE_BUFFERS). A thousand
// open connections then cost a few MB instead of ~34 KB more each, at a few
// OpenSSL allocations per request on those connections only; the apiservers'
// usual handful of busy connections stays allocation-free. (Every connection
// gives its request buffers back to the reactor's pool while idle.)
constexpr std::size_t lean_tls_above = 128;
// A lingering close drains at most this much per turn of the event loop, so a
// client that sends fast cannot keep the reactor from its other connections.
constexpr std::size_t linger_bytes_per_turn = 256 * 1024;
// A connection answers at most this many requests in a row without going back to
// the event loop. Reading, answering and reading the next request call each
// other, so a client that pipelines requests and reads the answers as fast as
// they come (neither side ever blocks) would otherwise grow the reactor's stack
// with every request until it overflowed; it would also keep the reactor from its
// other connections.
constexpr unsigned requests_per_turn = 16;

// At the connection limit, how many of the idlest connections are looked at for
// one that has no unread bytes before the new connection is refused instead.
constexpr unsigned eviction_candidates = 8;

constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";

class session;

// What a listening socket (a reactor's, or the admin port's) provides to its
// connections, and the connections it owns.
class listener {
 public:
  listener(asio::io_context& io, const limits& lim, std::size_t max_connections, core::core_metrics& metrics,
           int index, bool tls, const http::clock& time)
      : time_(time),
        lim_(lim),
        max_connections_(max_connections),
        metrics_(metrics),
        index_(index),
        tls_enabled_(tls),
        acceptor_(io),
        sweep_timer_(io),
        retry_timer_(io),
        pool_(spare_request_buffer_bytes, initial_buffer_bytes, kept_buffer_bytes) {
    const auto shortest = std::min(lim.header_timeout, lim.idle_timeout);
    sweep_period_ = std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    prng_ ^= static_cast<std::uint64_t>(index + 1) * 0x9e3779b97f4a7c15ULL ^
             static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  virtual ~listener() = default;

  // Answers one complete request: must call s.respond() once.
  virtual void handle(session& s) = 0;
  // A request answered by the connection itself (413, 431, 400 before routing).
  virtual void on_rejected(session&, unsigned /*status*/) noexcept {}
  // The context for a new TLS connection (null for plain HTTP).
  virtual SSL_CTX* tls_context_for_new_connection() { return nullptr; }

  std::uint16_t open(const listen_address& where, bool reuse_port);
  void start_accepting() {
    accepting_ = true;
    accept();
    schedule_sweep();
  }
  void stop_accepting();   // and close connections waiting for a request
  void close_everything();  // the listener and every connection
  void sweep();              // closes the connections whose deadline has passed

  void link(session* s) noexcept;
  void unlink(session* s) noexcept;
  // The reusable list: connections without a request in progress (in their TLS
  // handshake, between requests, or with a request head still arriving), the one
  // without a byte for the longest time first. At the connection limit a new
  // connection closes its first one instead of being refused, as nginx's
  // ngx_drain_connections does: a flood of idle connections then cannot keep
  // /health or a good admission request out. Per listener, intrusive, no allocation.
  void mark_reusable(session* s) noexcept;  // (again) at the end of the list
  void mark_busy(session* s) noexcept;      // off the list

  const limits& lim() const noexcept { return lim_; }
  core::core_metrics& metrics() noexcept { return metrics_; }
  const buffer_stats& buffers() const noexcept { return buffers_; }
  // Only this listener's thread writes the stat: a load and a store, no locked op.
  void note_connection_bytes(std::size_t held) noexcept {
    if (held > buffers_.peak_connection_bytes.load(std::memory_order_relaxed))
      buffers_.peak_connection_bytes.store(held, std::memory_order_relaxed);
  }
  int index() const noexcept { return index_; }
  clock::time_point now() const noexcept { return time_.now(); }

  request_buffers borrow_buffers() {
    request_buffers b = pool_.borrow();
    publish_pool_stats();
    return b;
  }
  void give_back_buffers(request_buffers&& b) noexcept {
    pool_.give_back(std::move(b));
    publish_pool_stats();
  }
  bool draining() const noexcept { return draining_; }
  void set_draining() noexcept { draining_ = true; }
  std::size_t connection_count() const noexcept { return count_; }
  void note_closing() noexcept { ++closing_count_; }

 private:
  void accept();
  void on_accepted(tcp::socket socket);
  void schedule_sweep();
  clock::time_point age_deadline(clock::time_point accepted) noexcept;
  bool evict_idlest() noexcept;
  void publish_pool_stats() noexcept {
    buffers_.lent_request_buffers.store(pool_.lent(), std::memory_order_relaxed);
    buffers_.spare_request_buffers.store(pool_.spare(), std::memory_order_relaxed);
    buffers_.allocated_request_buffers.store(pool_.allocated(), std::memory_order_relaxed);
  }

  const http::clock& time_;
  limits lim_;
  std::size_t max_connections_;
  core::core_metrics& metrics_;
  buffer_stats buffers_;
  int index_;  // reactor index; -1 for the admin port
  bool tls_enabled_;
  tcp::acceptor acceptor_;
  asio::steady_timer sweep_timer_;
  asio::steady_timer retry_timer_;
  buffer_pool pool_;
  std::chrono::milliseconds sweep_period_;
  bool accepting_ = false;
  bool draining_ = false;
  bool stopped_ = false;
  session* head_ = nullptr;
  std::size_t count_ = 0;
  session* reusable_head_ = nullptr;  // idle longest
  session* reusable_tail_ = nullptr;
  // Closed but not destroyed yet (their wait's handler runs on the next turn):
  // they no longer count against the limit.
  std::size_t closing_count_ = 0;
  std::uint64_t prng_ = 0x2545f4914f6cdd1dULL;
  clock::time_point last_accept_error_log_{};
};

enum class phase : std::uint8_t { handshake, idle, header, body, chunked, respond, linger };
enum class after_write : std::uint8_t { next_request, read_body, close };
enum class io_status : std::uint8_t { ok, want_read, want_write, eof, error };
struct io_result {
  io_status status;
  std::size_t n = 0;
};

// One connection. Owned by its listener's list; deletes itself (destroy()) from
// the handler of its only pending wait, or synchronously when none is pending.
class session final : public responder {
 public:
  session(listener& owner, tcp::socket socket, SSL* ssl, clock::time_point now, clock::time_point age_deadline,
          bool lean)
      : owner_(owner),
        socket_(std::move(socket)),
        ssl_(ssl),
        age_deadline_(age_deadline),
        accepted_at_(now),
        lean_(lean) {}
  ~session() {
    if (ssl_) SSL_free(ssl_);
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start() {
    if (ssl_) {
      enter(phase::handshake);
      deadline = accepted_at_ + owner_.lim().header_timeout;
      do_handshake();
    } else {
      begin_request(accepted_at_, true);
    }
  }

  // Closes from outside (timeouts, shutdown): cancels the pending wait, whose
  // handler destroys the connection.
  bool peer_is_loopback() const noexcept {
    error_code ec;
    const tcp::endpoint peer = socket_.remote_endpoint(ec);
    if (ec) return false;
    const asio::ip::address a = peer.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped())
      return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
    return a.is_loopback();
  }

  void close_now() noexcept {
    if (closing_) return;
    closing_ = true;
    owner_.mark_busy(this);
    if (!waiting_) return destroy();
    counted_closing = true;
    owner_.note_closing();
    error_code ec;
    socket_.cancel(ec);
  }

  // At shutdown, whether closing now cannot drop a request the client already
  // sent: a keep-alive connection between requests with no byte of the next one
  // arrived. A connection still before its first request (in its handshake, or
  // between handshake and request) is left to the shutdown grace instead, as Go's
  // Shutdown waits for a new connection's first request: its client sends as
  // soon as the handshake ends, and cannot know the server is leaving.
  bool idle_between_requests() noexcept {
    if (phase_ != phase::idle || rbegin_ != rend_ || !answered_any_) return false;
    if (ssl_ && SSL_pending(ssl_) > 0) return false;
    int arrived = 0;
    return ::ioctl(socket_.native_handle(), FIONREAD, &arrived) == 0 && arrived == 0;
  }

  // Bytes the client sent that this connection has not read yet: the event loop
  // is about to hand them over, so it is not idle (they may be a request).
  bool has_unread_bytes() noexcept {
    if (ssl_ && SSL_pending(ssl_) > 0) return true;
    int arrived = 0;
    return ::ioctl(socket_.native_handle(), FIONREAD, &arrived) == 0 && arrived > 0;
  }

  void on_deadline() noexcept {
    core::core_metrics& m = owner_.metrics();
    switch (phase_) {
      case phase::handshake:
        m.tls_handshake_errors.inc();
        m.count_request_error(request_error_kind::header_timeout);
        break;
      case phase::idle: m.count_request_error(request_error_kind::idle_timeout); break;
      case phase::header:
      case phase::body:
      case phase::chunked: m.count_request_error(request_error_kind::header_timeout); break;
      case phase::respond: m.count_request_error(request_error_kind::disconnect); break;  // the client stopped reading
      case phase::linger: break;
    }
    if (core::log_enabled(log_level::debug) && phase_ != phase::linger)
      core::log_debug("connection timed out", {{"reactor", owner_.index()}, {"phase", phase_name()}});
    close_now();
  }

  // ---- for handlers, during listener::handle()
  // The request as handlers see it: views into this connection's buffers.
  request current_request() const noexcept {
    request rq;
    rq.header_parsed = header_parsed_;
    rq.started = started_;
    if (header_parsed_) {
      rq.method = method_of(parser_->method);
      rq.method_text = view(parser_->method_text);
      rq.target = origin_form(view(parser_->target));
      const target_parts parts = split_target(rq.target);
      rq.path = parts.path.empty() ? std::string_view("/") : parts.path;
      rq.query = parts.query;
      rq.json = parser_->json;
    }
    if (phase_ == phase::respond && body_ != nullptr) {
      rq.body = body_;
      rq.body_size = body_len_;
      rq.body_capacity = body_cap_;
    }
    return rq;
  }

  // Queues the response: head and body in one buffer. Returns when it was queued.
  clock::time_point respond(unsigned status, std::string_view content_type, std::string_view body,
                             std::string_view extra = {}) noexcept override {
    responded_ = true;
    answered_any_ = true;
    responded_at_ = owner_.now();
    close_after_ = !keep_alive_ || owner_.draining() || responded_at_ >= age_deadline_;
    out_.clear();
    wpos_ = 0;
    append_response_head(out_, status, content_type, body.size(), close_after_, extra);
    if (!header_parsed_ || parser_->method != bhttp::verb::head) out_.append(body);
    owner_.note_connection_bytes(held_bytes());
    owner_.metrics().count_http_response(status);
    return responded_at_;
  }

  session* prev = nullptr;
  session* next = nullptr;
  session* reusable_prev = nullptr;
  session* reusable_next = nullptr;
  bool on_reusable_list = false;
  bool counted_closing = false;  // in the listener's closing_count_
  clock::time_point deadline = clock::time_point::max();

  const char* phase_name() const noexcept {
    switch (phase_) {
      case phase::handshake: return "handshake";
      case phase::idle: return "idle";
      case phase::header: return "header";
      case phase::body: return "body";
      case phase::chunked: return "chunked-body";
      case phase::respond: return "respond";
      case phase::linger: return "linger";
    }
    return "?";
  }

 private:
  std::string_view view(head_parser::span s) const noexcept { return {buf_.get() + s.offset, s.length}; }

  static http::method method_of(bhttp::verb v) noexcept {
    switch (v) {
      case bhttp::verb::get: return http::method::get;
      case bhttp::verb::head: return http::method::head;
      case bhttp::verb::post: return http::method::post;
      case bhttp::verb::put: return http::method::put;
      default: return http::method::other;
    }
  }

  // A connection may be evicted at the connection limit while nothing it was
  // asked is lost: before its first request, between requests, or while a
  // request head arrives (a head that stalls is a slow or idle client; a good
  // one sends its head in one go). Never with a body read, a response
  // being written, or in its lingering close.
  static bool reusable_in(phase p) noexcept {
    return p == phase::handshake || p == phase::idle || p == phase::header;
  }

  void enter(phase p) noexcept {
    phase_ = p;
    if (closing_) return;
    if (reusable_in(p)) owner_.mark_reusable(this);
    else owner_.mark_busy(this);
  }

  // Bytes arrived: the connection is the most recently active one again.
  void note_progress() noexcept {
    if (on_reusable_list) owner_.mark_reusable(this);
  }

  void destroy() noexcept {
    give_back_buffers();
    owner_.unlink(this);
    delete this;
  }

  void wait(bool for_write, void (session::*then)()) {
    waiting_ = true;
    answered_this_turn_ = 0;  // the stack unwinds to the event loop
    socket_.async_wait(for_write ? tcp::socket::wait_write : tcp::socket::wait_read,
                       [this, then](const error_code& ec) {
                         waiting_ = false;
                         if (ec || closing_) return destroy();
                         (this->*then)();
                       });
  }

  static io_status ssl_status(int e) noexcept {
    switch (e) {
      case SSL_ERROR_WANT_READ: return io_status::want_read;
      case SSL_ERROR_WANT_WRITE: return io_status::want_write;
      case SSL_ERROR_ZERO_RETURN: return io_status::eof;
      case SSL_ERROR_SYSCALL: {
        const int saved = errno;
        ERR_clear_error();
        return saved == 0 ? io_status::eof : io_status::error;
      }
      default: ERR_clear_error(); return io_status::error;
    }
  }

  io_result read_some(char* p, std::size_t n) noexcept {
    if (ssl_) {
      const int r = SSL_read(ssl_, p, static_cast<int>(std::min<std::size_t>(n, INT_MAX)));
      if (r > 0) return {io_status::ok, static_cast<std::size_t>(r)};
      return {ssl_status(SSL_get_error(ssl_, r))};
    }
    for (;;) {
      const ssize_t r = ::recv(socket_.native_handle(), p, n, 0);
      if (r > 0) return {io_status::ok, static_cast<std::size_t>(r)};
      if (r == 0) return {io_status::eof};
      if (errno == EINTR) continue;
      return {errno == EAGAIN || errno == EWOULDBLOCK ? io_status::want_read : io_status::error};
    }
  }

  io_result write_some(const char* p, std::size_t n) noexcept {
    if (ssl_) {
      const int r = SSL_write(ssl_, p, static_cast<int>(std::min<std::size_t>(n, INT_MAX)));
      if (r > 0) return {io_status::ok, static_cast<std::size_t>(r)};
      return {ssl_status(SSL_get_error(ssl_, r))};
    }
    for (;;) {
      const ssize_t r = ::send(socket_.native_handle(), p, n, MSG_NOSIGNAL);
      if (r >= 0) return {io_status::ok, static_cast<std::size_t>(r)};
      if (errno == EINTR) continue;
      return {errno == EAGAIN || errno == EWOULDBLOCK ? io_status::want_write : io_status::error};
    }
  }

  // ---- TLS handshake
  void do_handshake() {
    note_progress();
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      owner_.metrics().tls_handshakes.inc();
      return begin_request(owner_.now(), true);
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) return wait(false, &session::do_handshake);
    if (e == SSL_ERROR_WANT_WRITE) return wait(true, &session::do_handshake);
    owner_.metrics().tls_handshake_errors.inc();
    if (core::log_enabled(log_level::debug)) {
      char why[256] = "connection closed";
      if (const unsigned long code = ERR_peek_error()) ERR_error_string_n(code, why, sizeof why);
      core::log_debug("tls handshake failed", {{"reactor", owner_.index()}, {"error", std::string_view(why)}});
    }
    ERR_clear_error();
    destroy();
  }

  // ---- buffers
  std::size_t held_bytes() const noexcept { return cap_ + out_.capacity() + chunk_.capacity(); }

  // The read and response buffers come from the reactor's pool for the time a
  // request is in progress: read_more() borrows them, an idle wait gives them back.
  void borrow_buffers() {
    request_buffers b = owner_.borrow_buffers();
    buf_ = std::move(b.in);
    cap_ = b.in_capacity;
    out_ = std::move(b.out);
  }
  void give_back_buffers() noexcept {
    if (!buf_) return;
    request_buffers b;
    b.in = std::move(buf_);
    b.in_capacity = cap_;
    b.out.swap(out_);
    cap_ = 0;
    wpos_ = 0;
    owner_.give_back_buffers(std::move(b));
  }

  void reallocate(std::size_t capacity) {
    std::unique_ptr<char[]> fresh(new char[capacity]);
    const std::size_t live = rend_ - rbegin_;
    if (live > 0) std::memcpy(fresh.get(), buf_.get() + rbegin_, live);
    // Offsets are relative to the start of the request, which is rbegin_ == 0
    // whenever a request is being read (begin_request compacts).
    head_end_ -= std::min(head_end_, rbegin_);
    rend_ = live;
    rbegin_ = 0;
    buf_ = std::move(fresh);
    cap_ = capacity;
  }

  // ---- reading a request
  void begin_request(clock::time_point now, bool try_read) {
    enter(phase::idle);
    header_parsed_ = false;
    responded_ = false;
    keep_alive_ = true;
    head_end_ = 0;
    hpos_ = 0;
    content_length_ = 0;
    body_ = nullptr;
    body_len_ = body_cap_ = 0;
    chunked_ = false;
    if (!chunk_.empty() || chunk_.capacity() > kept_buffer_bytes) {
      if (chunk_.capacity() > kept_buffer_bytes) std::string().swap(chunk_);
      chunk_.clear();
    }
    if (out_.capacity() > kept_output_bytes) std::string().swap(out_);
    // Keep the request at offset 0: what a client pipelined moves to the front.
    if (rbegin_ == rend_) {
      rbegin_ = rend_ = 0;
    } else if (rbegin_ > 0) {
      std::memmove(buf_.get(), buf_.get() + rbegin_, rend_ - rbegin_);
      rend_ -= rbegin_;
      rbegin_ = 0;
    }
    if (cap_ > kept_buffer_bytes && rend_ + padding <= initial_buffer_bytes) reallocate(initial_buffer_bytes);
    parser_.emplace(&chunk_, owner_.lim().max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(owner_.lim().max_header_bytes, UINT32_MAX)));
    parser_->body_limit(boost::none);
    if (rend_ > 0) {
      enter(phase::header);
      started_ = now;
      deadline = now + owner_.lim().header_timeout;
      return parse_header();
    }
    deadline = now + owner_.lim().idle_timeout;
    if (try_read || (ssl_ && SSL_has_pending(ssl_))) return read_more();
    wait_idle();
  }

  // Between requests with nothing read (rend_ == 0): the buffers go back to the
  // pool, and read_more() borrows a set when the next request's bytes arrive.
  void wait_idle() {
    give_back_buffers();
    if (lean_) std::string().swap(chunk_);
    wait(false, &session::read_more);
  }

  void read_more() {
    if (!buf_) borrow_buffers();
    if (rend_ + padding >= cap_) {
      // Full. A header may grow up to its limit (the parser reports 431 past it);
      // a chunked body up to the body limit plus its framing.
      const limits& lim = owner_.lim();
      const std::size_t bound = phase_ == phase::chunked
                                    ? lim.max_header_bytes + lim.max_body_bytes + lim.max_body_bytes / 4 + 4096
                                    : lim.max_header_bytes + initial_buffer_bytes;
      if (cap_ >= bound + padding) {
        return reject(phase_ == phase::chunked ? 413 : 431, request_error_kind::too_large);
      }
      reallocate(std::min(cap_ * 2, bound + padding));
    }
    const io_result r = read_some(buf_.get() + rend_, cap_ - padding - rend_);
    switch (r.status) {
      case io_status::ok:
        if (phase_ == phase::idle) {
          enter(phase::header);
          started_ = owner_.now();
          deadline = started_ + owner_.lim().header_timeout;
        }
        rend_ += r.n;
        note_progress();
        owner_.note_connection_bytes(held_bytes());
        return on_bytes();
      case io_status::want_read:
        if (phase_ == phase::idle && rend_ == 0) return wait_idle();
        return wait(false, &session::read_more);
      case io_status::want_write: return wait(true, &session::read_more);
      case io_status::eof:
      case io_status::error:
        // End of a keep-alive connection between requests is normal; within one
        // it is a client that went away.
        if (phase_ != phase::idle) owner_.metrics().count_request_error(request_error_kind::disconnect);
        return destroy();
    }
  }

  void on_bytes() {
    switch (phase_) {
      case phase::header: return parse_header();
      case phase::body:
        if (rend_ >= head_end_ + content_length_) return dispatch();
        return read_more();
      case phase::chunked: return parse_chunked();
      default: return read_more();
    }
  }

  void parse_header() {
    error_code ec;
    // Beast may consume the request line while the rest of the header has not
    // arrived yet (need_more with used > 0): those bytes must not be fed to it
    // again, so the parser resumes at hpos_. Its limit applies to what it has not
    // consumed, hence the shrinking limit.
    read_head_step(*parser_, std::string_view(buf_.get() + rbegin_, rend_ - rbegin_), hpos_,
                   owner_.lim().max_header_bytes, ec);
    if (ec == bhttp::error::need_more) return read_more();
    if (ec) {
      const bool too_large = ec == bhttp::error::header_limit;
      if (core::log_enabled(log_level::debug))
        core::log_debug("malformed request", {{"reactor", owner_.index()}, {"error", ec.message()}});
      return reject(head_refusal_status(*parser_, ec),
                    too_large ? request_error_kind::too_large : request_error_kind::malformed);
    }
    header_parsed_ = true;
    head_end_ = rbegin_ + hpos_;
    keep_alive_ = parser_->keep_alive();
    chunked_ = parser_->chunked();
    const auto length = parser_->content_length();
    if (!chunked_ && length && *length > owner_.lim().max_body_bytes)
      return reject(413, request_error_kind::too_large);
    const limits& lim = owner_.lim();
    if (chunked_) {
      // The header stays where it is (the handler reads the target from it); the
      // parser walks the chunks from cpos_.
      enter(phase::chunked);
      parser_->eager(true);
      cpos_ = head_end_;
      deadline = owner_.now() + lim.header_timeout;
      if (parser_->expect_continue && parser_->version >= 11 && cpos_ == rend_) return send_continue();
      return parse_chunked();
    }
    content_length_ = length ? static_cast<std::size_t>(*length) : 0;
    const std::size_t body_end = head_end_ + content_length_;
    if (rend_ >= body_end) return dispatch();
    if (cap_ < body_end + padding) reallocate(body_end + padding);
    enter(phase::body);
    deadline = owner_.now() + lim.header_timeout;
    if (parser_->expect_continue && parser_->version >= 11 && rend_ == head_end_) return send_continue();
    read_more();
  }

  void begin_next_request() { begin_request(responded_at_, false); }

  void send_continue() {
    out_.assign(continue_response);
    wpos_ = 0;
    next_ = after_write::read_body;
    write_out();
  }

  void parse_chunked() {
    for (;;) {
      error_code ec;
      const std::size_t used = parser_->put(asio::const_buffer(buf_.get() + cpos_, rend_ - cpos_), ec);
      cpos_ += used;
      if (ec == bhttp::error::need_more) return read_more();
      if (ec) {
        const bool too_large = ec == bhttp::error::body_limit;
        return reject(too_large ? 413 : 400, too_large ? request_error_kind::too_large : request_error_kind::malformed);
      }
      if (parser_->is_done()) return dispatch();
      if (used == 0) return read_more();
    }
  }

  void dispatch() {
    std::size_t consumed;
    if (chunked_) {
      chunk_.reserve(chunk_.size() + padding);
      body_ = chunk_.data();
      body_len_ = chunk_.size();
      body_cap_ = chunk_.capacity();
      consumed = cpos_;
    } else {
      body_ = buf_.get() + head_end_;
      body_len_ = content_length_;
      body_cap_ = cap_ - head_end_;
      consumed = head_end_ + content_length_;
    }
    enter(phase::respond);
    owner_.handle(*this);
    if (!responded_) respond(500, text_content_type, "internal error\n");
    rbegin_ = consumed;
    next_ = close_after_ ? after_write::close : after_write::next_request;
    write_out();
  }

  // Answers a request the connection cannot read (too large, malformed) and closes.
  void reject(unsigned status, request_error_kind kind) {
    owner_.metrics().count_request_error(kind);
    enter(phase::respond);
    keep_alive_ = false;
    owner_.on_rejected(*this, status);
    if (!responded_) {
      std::string_view text = "bad request\n";
      if (status == 413) text = "request body too large\n";
      else if (status == 431) text = "request header too large\n";
      else if (status == 501) text = "unsupported transfer coding: only chunked is implemented\n";
      respond(status, text_content_type, text);
    }
    next_ = after_write::close;
    write_out();
  }

  void write_out() {
    while (wpos_ < out_.size()) {
      const io_result r = write_some(out_.data() + wpos_, out_.size() - wpos_);
      if (r.status == io_status::ok) {
        wpos_ += r.n;
        continue;
      }
      if (r.status == io_status::want_read || r.status == io_status::want_write) {
        // Back-pressure: nothing more is read from this client until it reads this.
        deadline = owner_.now() + owner_.lim().header_timeout;
        return wait(r.status == io_status::want_write, &session::write_out);
      }
      owner_.metrics().count_request_error(request_error_kind::disconnect);
      return destroy();
    }
    out_.clear();
    wpos_ = 0;
    switch (next_) {
      case after_write::next_request:
        // Past the turn's share, the next request waits for a writable socket:
        // at once in practice, but from the event loop, on a fresh stack.
        if (++answered_this_turn_ >= requests_per_turn) return wait(true, &session::begin_next_request);
        return begin_request(responded_at_, false);
      case after_write::read_body:
        next_ = after_write::next_request;
        return read_more();
      case after_write::close: return close_gracefully();
    }
  }

  void close_gracefully() {
    if (ssl_) {
      SSL_shutdown(ssl_);  // close_notify, best effort
      ERR_clear_error();
    }
    ::shutdown(socket_.native_handle(), SHUT_WR);
    enter(phase::linger);
    lingered_ = 0;
    const auto at = owner_.now();
    linger_until_ = at + owner_.lim().linger_time;
    deadline = std::min(linger_until_, at + owner_.lim().linger_timeout);
    linger();
  }

  // Reads and drops what the client still sends (the rest of a refused body,
  // requests it pipelined) until it closes its side, the byte bound is passed,
  // or the sweep finds the deadline passed: linger_timeout after the last bytes,
  // linger_time after the response at most. The bytes are TLS records, dropped
  // unread: the connection has already sent its close_notify.
  void linger() {
    char scratch[4096];
    char* into = buf_ ? buf_.get() : scratch;
    const std::size_t room = buf_ ? cap_ : sizeof scratch;
    const std::size_t bound = linger_byte_bound(owner_.lim());
    std::size_t this_turn = 0;
    while (this_turn < linger_bytes_per_turn) {
      const ssize_t n = ::recv(socket_.native_handle(), into, room, 0);
      if (n > 0) {
        this_turn += static_cast<std::size_t>(n);
        lingered_ += static_cast<std::size_t>(n);
        if (lingered_ <= bound) continue;
        if (core::log_enabled(log_level::debug))
          core::log_debug("lingering close: byte bound reached",
                          {{"reactor", owner_.index()}, {"bytes", static_cast<std::uint64_t>(lingered_)}});
        return destroy();
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return destroy();  // the client closed its side (or reset): nothing more to protect
    }
    if (this_turn > 0) deadline = std::min(linger_until_, owner_.now() + owner_.lim().linger_timeout);
    wait(false, &session::linger);
  }

  listener& owner_;
  tcp::socket socket_;
  SSL* ssl_;
  clock::time_point age_deadline_;
  clock::time_point accepted_at_;
  clock::time_point started_{};
  clock::time_point responded_at_{};
  clock::time_point linger_until_{};

  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0;
  std::size_t rbegin_ = 0, rend_ = 0;  // unconsumed bytes
  std::size_t head_end_ = 0;
  std::size_t hpos_ = 0;  // header bytes the parser has consumed (from rbegin_)
  std::size_t cpos_ = 0;  // chunked bodies: where the parser goes on
  std::size_t content_length_ = 0;
  std::optional<head_parser> parser_;
  std::string chunk_;
  std::string out_;
  bool lean_ = false;  // gives its OpenSSL buffers back while idle (see lean_tls_above)
  std::size_t wpos_ = 0;
  std::size_t lingered_ = 0;
  bool answered_any_ = false;        // a response was queued on this connection
  unsigned answered_this_turn_ = 0;  // requests answered since the last wait (see requests_per_turn)

  const char* body_ = nullptr;
  std::size_t body_len_ = 0, body_cap_ = 0;

  phase phase_ = phase::idle;
  after_write next_ = after_write::next_request;
  bool waiting_ = false;
  bool closing_ = false;
  bool header_parsed_ = false;
  bool keep_alive_ = true;
  bool chunked_ = false;
  bool responded_ = false;
  bool close_after_ = false;
};

// ---- listener

std::uint16_t listener::open(const listen_address& where, bool reuse_port) {
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(where.host, ec);
  if (ec) throw std::system_error(EINVAL, std::generic_category(), "invalid address " + where.host);
  const tcp::endpoint endpoint(address, where.port);
  auto check = [&](const char* step) {
    if (ec) throw std::system_error(ec.value(), std::generic_category(),
                                    "cannot listen on " + where.to_string() + " (" + step + ")");
  };
  acceptor_.open(endpoint.protocol(), ec);
  check("socket");
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  check("SO_REUSEADDR");
  if (reuse_port) {
    const int on = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
      ec = error_code(errno, boost::system::system_category());
    check("SO_REUSEPORT");
  }
  acceptor_.bind(endpoint, ec);
  check("bind");
  acceptor_.listen(tcp::acceptor::max_listen_connections, ec);
  check("listen");
  return acceptor_.local_endpoint().port();
}

void listener::accept() {
  acceptor_.async_accept([this](const error_code& ec, tcp::socket socket) {
    if (!accepting_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors or memory: say so (at most once a second) and retry
      // shortly instead of spinning.
      const auto at = now();
      if (at - last_accept_error_log_ > std::chrono::seconds(1)) {
        last_accept_error_log_ = at;
        core::log_warn("accept failed", {{"reactor", index_}, {"error", ec.message()}});
      }
      retry_timer_.expires_after(std::chrono::milliseconds(50));
      retry_timer_.async_wait([this](const error_code& e) {
        if (!e && accepting_) accept();
      });
      return;
    }
    accept();
    on_accepted(std::move(socket));
  });
}

clock::time_point listener::age_deadline(clock::time_point accepted) noexcept {
  const auto age = lim_.max_connection_age;
  if (age.count() <= 0) return clock::time_point::max();
  // xorshift64: a uniform jitter in [-10%, +10%] of the age.
  prng_ ^= prng_ << 13;
  prng_ ^= prng_ >> 7;
  prng_ ^= prng_ << 17;
  const double unit = static_cast<double>(prng_ >> 11) / static_cast<double>(1ULL << 53);
  const auto jittered = std::chrono::duration_cast<clock::duration>(age * (0.9 + 0.2 * unit));
  return accepted + jittered;
}

void listener::on_accepted(tcp::socket socket) {
  metrics_.connections.inc();
  error_code ec;
  if (count_ - closing_count_ >= max_connections_ && !evict_idlest()) {
    metrics_.connections_rejected.inc();
    if (core::log_enabled(log_level::debug))
      core::log_debug("connection refused: limit reached",
                      {{"reactor", index_}, {"limit", static_cast<std::uint64_t>(max_connections_)}});
    socket.close(ec);
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  socket.non_blocking(true, ec);
  if (ec) return;
  SSL* ssl = nullptr;
  const bool lean = count_ >= lean_tls_above;
  if (tls_enabled_) {
    SSL_CTX* ctx = tls_context_for_new_connection();
    ssl = ctx ? SSL_new(ctx) : nullptr;
    if (!ssl || SSL_set_fd(ssl, socket.native_handle()) != 1) {
      if (ssl) SSL_free(ssl);
      ERR_clear_error();
      metrics_.tls_handshake_errors.inc();
      socket.close(ec);
      return;
    }
    SSL_set_accept_state(ssl);
    if (lean) SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  }
  const auto at = now();
  auto* s = new session(*this, std::move(socket), ssl, at, age_deadline(at), lean);
  link(s);
  s->start();
}

void listener::link(session* s) noexcept {
  s->next = head_;
  if (head_) head_->prev = s;
  head_ = s;
  ++count_;
  metrics_.open_connections.inc();
}

void listener::unlink(session* s) noexcept {
  mark_busy(s);
  if (s->counted_closing) --closing_count_;
  if (s->prev) s->prev->next = s->next;
  else head_ = s->next;
  if (s->next) s->next->prev = s->prev;
  s->prev = s->next = nullptr;
  --count_;
  metrics_.open_connections.dec();
}

void listener::mark_reusable(session* s) noexcept {
  if (s->on_reusable_list) {
    if (s == reusable_tail_) return;
    mark_busy(s);
  }
  s->reusable_prev = reusable_tail_;
  s->reusable_next = nullptr;
  if (reusable_tail_) reusable_tail_->reusable_next = s;
  else reusable_head_ = s;
  reusable_tail_ = s;
  s->on_reusable_list = true;
}

void listener::mark_busy(session* s) noexcept {
  if (!s->on_reusable_list) return;
  if (s->reusable_prev) s->reusable_prev->reusable_next = s->reusable_next;
  else reusable_head_ = s->reusable_next;
  if (s->reusable_next) s->reusable_next->reusable_prev = s->reusable_prev;
  else reusable_tail_ = s->reusable_prev;
  s->reusable_prev = s->reusable_next = nullptr;
  s->on_reusable_list = false;
}

bool listener::evict_idlest() noexcept {
  // The first of the few idlest whose client has sent nothing unread: one with
  // bytes waiting is about to become busy, and they may be a request it sent.
  session* victim = reusable_head_;
  for (unsigned looked = 0; victim != nullptr && victim->has_unread_bytes(); victim = victim->reusable_next)
    if (++looked == eviction_candidates) return false;
  if (victim == nullptr) return false;
  metrics_.connections_evicted.inc();
  if (core::log_enabled(log_level::debug))
    core::log_debug("connection evicted: limit reached, closing the one idle longest",
                    {{"reactor", index_},
                     {"limit", static_cast<std::uint64_t>(max_connections_)},
                     {"phase", victim->phase_name()}});
  victim->close_now();
  return true;
}

void listener::schedule_sweep() {
  sweep_timer_.expires_after(sweep_period_);
  sweep_timer_.async_wait([this](const error_code& ec) {
    if (ec || stopped_) return;
    sweep();
    schedule_sweep();
  });
}

void listener::sweep() {
  const auto at = now();
  // close_now() never unlinks while a wait is pending (the wait's handler does),
  // so walking the list here is safe; a session without a pending wait unlinks
  // itself at once, hence the saved next pointer.
  for (session* s = head_; s != nullptr;) {
    session* following = s->next;
    if (s->deadline <= at) s->on_deadline();
    s = following;
  }
}

void listener::stop_accepting() {
  accepting_ = false;
  // Connections the kernel completed but this listener has not accepted yet are
  // taken now and answered like any other; closing the listener would reset them.
  error_code ec;
  acceptor_.non_blocking(true, ec);
  while (!ec) {
    tcp::socket socket(acceptor_.get_executor());
    acceptor_.accept(socket, ec);
    if (!ec) on_accepted(std::move(socket));
  }
  ec.clear();
  acceptor_.close(ec);
  retry_timer_.cancel();
  for (session* s = head_; s != nullptr;) {
    session* following = s->next;
    if (s->idle_between_requests()) s->close_now();
    s = following;
  }
}

void listener::close_everything() {
  accepting_ = false;
  stopped_ = true;
  error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
  sweep_timer_.cancel();
  for (session* s = head_; s != nullptr;) {
    session* following = s->next;
    s->close_now();
    s = following;
  }
}

struct io_owner {
  asio::io_context context{1};
};

}  // namespace

// ---------------------------------------------------------------- listen_address

std::string listen_address::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

listen_address parse_listen_address(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument("invalid listen address '" + std::string(text) + "': " + why);
  };
  std::string_view host, port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw bad("want [IPv6]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) throw bad("want ADDRESS:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) throw bad("put an IPv6 address in brackets: [::1]:9443");
  }
  listen_address out;
  out.host = host.empty() ? "0.0.0.0" : host == "localhost" ? "127.0.0.1" : std::string(host);
  unsigned value = 0;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || value > 65535)
    throw bad("the port must be a number from 0 to 65535");
  out.port = static_cast<std::uint16_t>(value);
  error_code ec;
  asio::ip::make_address(out.host, ec);
  if (ec) throw bad("'" + out.host + "' is not an IP address");
  return out;
}

// ---------------------------------------------------------------- reactor

struct reactor::impl final : io_owner, listener {
  impl(reactor_settings s, const handler_factory& make_handler, std::shared_ptr<const tls_context> t)
      : listener(context, s.lim, s.max_connections, m, static_cast<int>(s.index), true, *s.clock),
        settings(s),
        handler(make_handler(m)),
        tls(std::move(t)),
        work(context.get_executor()) {}

  SSL_CTX* tls_context_for_new_connection() override { return tls ? tls->native() : nullptr; }

  void handle(session& s) noexcept override { handler->handle(s.current_request(), s); }
  void on_rejected(session& s, unsigned status) noexcept override {
    handler->on_rejected(s.current_request(), status, s);
  }

  reactor_settings settings;
  core::core_metrics m;
  std::unique_ptr<request_handler> handler;
  std::shared_ptr<const tls_context> tls;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
};

reactor::reactor(reactor_settings settings, const handler_factory& make_handler,
                 std::shared_ptr<const tls_context> tls)
    : impl_(std::make_unique<impl>(settings, make_handler, std::move(tls))) {}

reactor::~reactor() = default;

std::uint16_t reactor::listen(const listen_address& where) { return impl_->open(where, true); }

void reactor::run() {
  char name[16];
  std::snprintf(name, sizeof name, "mi-reactor-%u", impl_->settings.index);
  pthread_setname_np(pthread_self(), name);
  impl_->start_accepting();
  for (;;) {
    try {
      impl_->context.run();
      return;
    } catch (const std::exception& e) {
      core::log_error("reactor: unexpected exception", {{"reactor", impl_->index()}, {"error", e.what()}});
    } catch (...) {
      core::log_error("reactor: unexpected exception", {{"reactor", impl_->index()}});
    }
  }
}

void reactor::post(std::function<void()> work) { asio::post(impl_->context, std::move(work)); }

void reactor::set_tls(std::shared_ptr<const tls_context> tls) {
  asio::post(impl_->context, [i = impl_.get(), t = std::move(tls)]() mutable { i->tls = std::move(t); });
}

void reactor::drain() {
  asio::post(impl_->context, [i = impl_.get()] { i->set_draining(); });
}

void reactor::stop_accepting() {
  asio::post(impl_->context, [i = impl_.get()] { i->stop_accepting(); });
}

void reactor::shutdown() {
  asio::post(impl_->context, [i = impl_.get()] {
    i->close_everything();
    i->work.reset();
  });
}

void reactor::check_deadlines() {
  asio::post(impl_->context, [i = impl_.get()] { i->sweep(); });
}

const core::core_metrics& reactor::metrics() const noexcept { return impl_->m; }
const buffer_stats& reactor::buffers() const noexcept { return impl_->buffers(); }
unsigned reactor::index() const noexcept { return impl_->settings.index; }

// ---------------------------------------------------------------- admin listener

struct admin_listener::impl final : listener {
  impl(asio::io_context& io, const limits& lim, handler h)
      : listener(io, lim, 1024, m, -1, false, steady_clock_source()), on_request(std::move(h)) {}

  // Cold path: the control thread's handler may allocate and throw.
  void handle(session& s) override {
    const request r = s.current_request();
    admin_request rq{r.method_text, r.target, r.path, r.query, std::string_view(r.body, r.body_size),
                     s.peer_is_loopback()};
    admin_response rs;
    try {
      on_request(rq, rs);
    } catch (const std::exception& e) {
      rs = admin_response{};
      rs.status = 500;
      rs.body = std::string("internal error: ") + e.what() + "\n";
    }
    s.respond(rs.status, rs.content_type, rs.body, rs.extra_headers);
  }

  core::core_metrics m;  // not scraped: the admin port's own traffic
  handler on_request;
};

admin_listener::admin_listener(boost::asio::io_context& io, limits lim, handler on_request)
    : impl_(std::make_unique<impl>(io, lim, std::move(on_request))) {}

admin_listener::~admin_listener() = default;

std::uint16_t admin_listener::listen(const listen_address& where) { return impl_->open(where, false); }
void admin_listener::start() { impl_->start_accepting(); }
void admin_listener::stop() { impl_->close_everything(); }

}  // namespace meshinject::http
