#pragma once
// A reactor's spare request buffers. A connection borrows a set (read buffer and
// response buffer) when the first bytes of a request arrive and gives it back
// once the request is answered and nothing more waits in it. A connection idle
// between requests then holds no request buffer: a thousand keep-alive
// connections cost their sockets and TLS state, not a thousand read and response
// buffers. Only the reactor's thread uses a pool (no lock).
//
// Bounded in bytes: past `max_spare_bytes` a set given back is freed. Once the
// pool holds as many sets as the reactor had requests in flight at once, borrowing
// and giving back allocate nothing.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace meshinject::http {

struct request_buffers {
  std::unique_ptr<char[]> in;  // the request as read
  std::size_t in_capacity = 0;
  std::string out;  // the response: head and body
  std::size_t bytes() const noexcept { return in_capacity + out.capacity(); }
};

class buffer_pool {
 public:
  // `initial_bytes`: the read buffer of a new set. `keep_bytes`: a set whose read or
  // response buffer grew past it (a large request) is freed rather than kept, so a
  // rare large review does not pin its memory in the pool.
  buffer_pool(std::size_t max_spare_bytes, std::size_t initial_bytes, std::size_t keep_bytes)
      : max_spare_bytes_(max_spare_bytes), initial_bytes_(initial_bytes), keep_bytes_(keep_bytes) {
    // Every kept set holds at least initial_bytes, so this many slots never grow.
    spare_.reserve(initial_bytes == 0 ? 0 : max_spare_bytes / initial_bytes);
  }
  buffer_pool(const buffer_pool&) = delete;
  buffer_pool& operator=(const buffer_pool&) = delete;

  // The set given back last (its memory is the likeliest in cache), or a new one.
  request_buffers borrow() {
    ++lent_;
    if (!spare_.empty()) {
      request_buffers b = std::move(spare_.back());
      spare_.pop_back();
      spare_bytes_ -= b.bytes();
      return b;
    }
    ++allocated_;
    request_buffers b;
    b.in.reset(new char[initial_bytes_]);
    b.in_capacity = initial_bytes_;
    return b;
  }

  // Never allocates: the slots were reserved up front.
  void give_back(request_buffers&& b) noexcept {
    if (lent_ > 0) --lent_;
    const bool keepable = b.in != nullptr && b.in_capacity >= initial_bytes_ && b.in_capacity <= keep_bytes_ &&
                          b.out.capacity() <= keep_bytes_;
    if (!keepable || spare_.size() == spare_.capacity() || spare_bytes_ + b.bytes() > max_spare_bytes_) {
      request_buffers dropped = std::move(b);
      return;  // freed here
    }
    b.out.clear();
    spare_bytes_ += b.bytes();
    spare_.push_back(std::move(b));
  }

  std::size_t lent() const noexcept { return lent_; }           // sets held by connections now
  std::size_t spare() const noexcept { return spare_.size(); }  // sets waiting in the pool
  std::size_t spare_bytes() const noexcept { return spare_bytes_; }
  std::uint64_t allocated() const noexcept { return allocated_; }  // sets ever made: flat once warm

 private:
  std::size_t max_spare_bytes_;
  std::size_t initial_bytes_;
  std::size_t keep_bytes_;
  std::vector<request_buffers> spare_;
  std::size_t spare_bytes_ = 0;
  std::size_t lent_ = 0;
  std::uint64_t allocated_ = 0;
};

}  // namespace meshinject::http
