#pragma once
// A bump allocator for what a request computes: strings (printf results, port
// lists, toJSON), list and map elements, sort indexes. reset() rewinds it and keeps
// every block, so a warm reactor reuses the same memory for every request and
// never calls the heap.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <type_traits>
#include <vector>

namespace meshinject::tmpl {

class arena {
 public:
  explicit arena(std::size_t block_size = 16 * 1024) : block_size_(block_size) {}

  char* allocate(std::size_t n) {
    while (current_ < blocks_.size()) {
      block& b = blocks_[current_];
      if (b.size - used_ >= n) {
        char* p = b.data.get() + used_;
        used_ += n;
        return p;
      }
      ++current_;
      used_ = 0;
    }
    const std::size_t size = n > block_size_ ? n : block_size_;
    blocks_.push_back(block{std::make_unique<char[]>(size), size});
    current_ = blocks_.size() - 1;
    used_ = n;
    return blocks_.back().data.get();
  }

  // Uninitialised room for n objects of T, aligned for T. T must be trivially
  // destructible: reset() runs no destructors.
  template <class T>
  T* allocate_array(std::size_t n) {
    static_assert(std::is_trivially_destructible_v<T>);
    char* raw = allocate(n * sizeof(T) + alignof(T));
    const auto aligned = (reinterpret_cast<std::uintptr_t>(raw) + alignof(T) - 1) & ~(std::uintptr_t{alignof(T)} - 1);
    return reinterpret_cast<T*>(aligned);
  }

  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = allocate(s.size());
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  void reset() noexcept {
    current_ = 0;
    used_ = 0;
  }

  std::size_t capacity() const noexcept {
    std::size_t total = 0;
    for (const auto& b : blocks_) total += b.size;
    return total;
  }

 private:
  struct block {
    std::unique_ptr<char[]> data;
    std::size_t size;
  };
  std::vector<block> blocks_;
  std::size_t block_size_;
  std::size_t current_ = 0;
  std::size_t used_ = 0;
};

}  // namespace meshinject::tmpl
