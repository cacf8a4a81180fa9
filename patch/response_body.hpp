#pragma once
// The engine's response body: bytes that grow without being written first.
//
// Most of an injected review's response is the base64 of its patch, written
// straight into the body. std::string could only make room for it by
// resize(), which zero-fills the ~3 KB the encoder then overwrites (libstdc++
// 12 has no resize_and_overwrite in C++20). `extend` hands out room as it is.
// The engine keeps one body from request to request: once its capacity fits
// the largest response, a request allocates nothing.

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace meshinject::patch {

class response_body {
 public:
  std::string_view view() const noexcept { return {data_.get(), size_}; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }

  void clear() noexcept { size_ = 0; }
  void reserve(std::size_t n) {
    if (n > capacity_) reallocate(n);
  }

  // Makes the body `n` bytes longer and returns where those bytes start; they
  // hold garbage until the caller writes every one of them.
  char* extend(std::size_t n) {
    if (capacity_ - size_ < n) reallocate(grown_capacity(size_ + n));
    char* const at = data_.get() + size_;
    size_ += n;
    return at;
  }
  response_body& operator+=(std::string_view s) {
    if (!s.empty()) std::memcpy(extend(s.size()), s.data(), s.size());
    return *this;
  }
  response_body& operator+=(char c) {
    *extend(1) = c;
    return *this;
  }

 private:
  std::size_t grown_capacity(std::size_t needed) const noexcept {
    const std::size_t doubled = capacity_ * 2;
    return doubled > needed ? doubled : needed;
  }
  void reallocate(std::size_t new_capacity) {
    // new char[] leaves the bytes unwritten, which is the point of this type.
    std::unique_ptr<char[]> bigger(new char[new_capacity]);
    if (size_ != 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = new_capacity;
  }

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace meshinject::patch
