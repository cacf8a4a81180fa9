#include "core/arena.hpp"

#include <cstring>
#include <new>

namespace meshinject::core {
namespace {

constexpr std::size_t max_growth_block = std::size_t{1} << 20;
constexpr std::size_t max_align = 64;

// The first address at or after p aligned to `align`, if `size` bytes from there
// fit before `end`; nullptr otherwise.
std::byte* fit(std::byte* p, std::byte* end, std::size_t size, std::size_t align) noexcept {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t aligned = (at + (align - 1)) & ~static_cast<std::uintptr_t>(align - 1);
  const auto limit = reinterpret_cast<std::uintptr_t>(end);
  if (aligned > limit || size > limit - aligned) return nullptr;
  return reinterpret_cast<std::byte*>(aligned);
}

}  // namespace

arena::arena(std::size_t first_block, std::size_t limit) noexcept
    : first_block_(first_block < 256 ? 256 : first_block), max_bytes_(limit) {}

arena::~arena() = default;

void* arena::allocate_slow(std::size_t size, std::size_t align) noexcept {
  if (align == 0 || align > max_align || (align & (align - 1)) != 0 || size > max_bytes_) return nullptr;
  // The blocks kept from earlier requests come first.
  while (cursor_ != nullptr && current_ + 1 < blocks_.size()) {
    used_before_current_ += blocks_[current_].size;
    ++current_;
    cursor_ = blocks_[current_].data.get();
    end_ = cursor_ + blocks_[current_].size;
    if (std::byte* p = fit(cursor_, end_, size, align)) {
      cursor_ = p + size;
      return p;
    }
  }
  // A new block: twice the last one up to max_growth_block, or what a large
  // request needs.
  std::size_t next = blocks_.empty() ? first_block_ : blocks_.back().size * 2;
  if (next > max_growth_block) next = max_growth_block;
  if (next < size + align) next = size + align;
  if (reserved_ > max_bytes_ || next > max_bytes_ - reserved_) return nullptr;
  std::unique_ptr<std::byte[]> data(new (std::nothrow) std::byte[next]);
  if (!data) return nullptr;
  if (cursor_ != nullptr) used_before_current_ += blocks_[current_].size;
  blocks_.push_back(block{std::move(data), next});
  reserved_ += next;
  ++heap_allocations_;
  current_ = blocks_.size() - 1;
  cursor_ = blocks_[current_].data.get();
  end_ = cursor_ + next;
  std::byte* p = fit(cursor_, end_, size, align);
  cursor_ = p + size;
  return p;
}

std::string_view arena::copy(std::string_view s, bool& ok) noexcept {
  if (s.empty()) return {};
  auto* p = static_cast<char*>(allocate(s.size(), 1));
  if (p == nullptr) {
    ok = false;
    return {};
  }
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

void arena::reset() noexcept {
  current_ = 0;
  used_before_current_ = 0;
  if (blocks_.empty()) return;
  cursor_ = blocks_[0].data.get();
  end_ = cursor_ + blocks_[0].size;
}

std::size_t arena::bytes_used() const noexcept {
  if (cursor_ == nullptr) return 0;
  return used_before_current_ + static_cast<std::size_t>(cursor_ - blocks_[current_].data.get());
}

std::size_t arena::bytes_reserved() const noexcept { return reserved_; }

}  // namespace meshinject::core
