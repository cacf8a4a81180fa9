#pragma once
// A per-request bump allocator: one per reactor core, rewound between requests.
//
// Memory comes from blocks that are kept across reset(), so once a core has
// served its largest request it serves every later one without calling the
// heap. Nothing allocated here is ever freed on its own and no destructor runs:
// only trivially destructible objects belong in it. allocate() never throws; it
// returns nullptr when the arena would grow past its byte limit (or the heap
// refuses), and the caller turns that into an error value.
//
// Not thread-safe; owned by one core.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>
#include <vector>

namespace meshinject::core {

class arena {
 public:
  // first_block: the first block's size; later blocks double, up to 1 MiB each
  // (larger requests get a block of their own). limit: total bytes the arena
  // may hold, blocks included.
  explicit arena(std::size_t first_block = 16 * 1024, std::size_t limit = std::size_t{1} << 30) noexcept;
  arena(const arena&) = delete;
  arena& operator=(const arena&) = delete;
  ~arena();

  // `size` bytes aligned to `align` (a power of two, at most 64); nullptr when
  // the limit is reached.
  void* allocate(std::size_t size, std::size_t align) noexcept;

  // Room for n objects of T, uninitialised; nullptr on failure.
  template <class T>
  T* allocate_array(std::size_t n) noexcept {
    static_assert(std::is_trivially_destructible_v<T>, "reset() runs no destructors");
    if (n > max_bytes_ / sizeof(T)) return nullptr;
    return static_cast<T*>(allocate(n * sizeof(T), alignof(T)));
  }

  // A copy of s that lives until reset(); ok is false when the arena is full.
  std::string_view copy(std::string_view s, bool& ok) noexcept;

  // Rewinds to empty; keeps every block for the next request.
  void reset() noexcept;

  std::size_t bytes_used() const noexcept;      // handed out since the last reset
  std::size_t bytes_reserved() const noexcept;  // held in blocks
  std::size_t heap_allocations() const noexcept { return heap_allocations_; }  // blocks ever allocated

 private:
  struct block {
    std::unique_ptr<std::byte[]> data;
    std::size_t size;
  };
  void* allocate_slow(std::size_t size, std::size_t align) noexcept;

  std::vector<block> blocks_;
  std::size_t current_ = 0;   // index of the block being filled
  std::byte* cursor_ = nullptr;
  std::byte* end_ = nullptr;
  std::size_t used_before_current_ = 0;  // bytes of the blocks before current_
  std::size_t first_block_;
  std::size_t max_bytes_;
  std::size_t reserved_ = 0;
  std::size_t heap_allocations_ = 0;
};

inline void* arena::allocate(std::size_t size, std::size_t align) noexcept {
  const auto at = reinterpret_cast<std::uintptr_t>(cursor_);
  const std::uintptr_t aligned = (at + (align - 1)) & ~static_cast<std::uintptr_t>(align - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(end_);
  if (cursor_ != nullptr && aligned <= end && size <= end - aligned) {
    cursor_ = reinterpret_cast<std::byte*>(aligned + size);
    return reinterpret_cast<void*>(aligned);
  }
  return allocate_slow(size, align);
}

}  // namespace meshinject::core
