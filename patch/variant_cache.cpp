#include "patch/variant_cache.hpp"

#include <algorithm>

namespace meshinject::patch {
namespace {

std::uint64_t fnv1a(std::span<const std::uint8_t> bytes) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (std::uint8_t b : bytes) {
    h ^= b;
    h *= 1099511628211ULL;
  }
  return h;
}

template <class T>
std::size_t heap_of(const std::vector<T>& v) noexcept {
  return v.capacity() * sizeof(T);
}

// A string's heap; short strings live inside the object.
std::size_t heap_of(const std::string& s) noexcept {
  return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;
}

}  // namespace

std::size_t variant_cache::size_of(const sidecar_variant& v) noexcept {
  std::size_t n = heap_of(v.pool) + heap_of(v.segments) + heap_of(v.keys) + heap_of(v.items) +
                  heap_of(v.warnings) + heap_of(v.status_cache);
  for (const auto& w : v.warnings) n += heap_of(w);
  return n;
}

variant_cache::variant_cache(variant_cache_limits limits) : limits_(limits) {
  limits_.entries = std::max<std::size_t>(limits_.entries, 1);
  // Reserved, not made: a core whose pods have few shapes touches few slots.
  slots_.reserve(limits_.entries);
  std::size_t index_size = 1;
  while (index_size < limits_.entries * 2) index_size <<= 1;
  index_.assign(index_size, empty_index);
  free_.reserve(limits_.entries);
}

std::size_t variant_cache::find_index(std::uint64_t hash, std::span<const std::uint8_t> trace) const noexcept {
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const std::uint32_t s = index_[i];
    if (s == empty_index) return index_.size();
    const slot& e = slots_[s];
    if (e.hash == hash && std::equal(e.trace.begin(), e.trace.end(), trace.begin(), trace.end())) return i;
  }
}

const sidecar_variant* variant_cache::find(std::span<const std::uint8_t> trace) noexcept {
  const std::size_t i = find_index(fnv1a(trace), trace);
  if (i == index_.size()) return nullptr;
  slot& e = slots_[index_[i]];
  e.referenced = true;
  return &e.variant;
}

const sidecar_variant* variant_cache::insert(std::span<const std::uint8_t> trace, sidecar_variant&& v) {
  const std::size_t new_bytes = size_of(v) + trace.size() + sizeof(slot);
  while (count_ > 0 && (count_ >= limits_.entries || bytes_ + new_bytes > limits_.bytes)) evict_one();
  // count_ < entries here: when no slot is free, fewer than entries are made.
  if (free_.empty()) {
    free_.push_back(static_cast<std::uint32_t>(slots_.size()));
    slots_.emplace_back();
  }
  const std::uint32_t s = free_.back();
  free_.pop_back();
  slot& e = slots_[s];
  e.hash = fnv1a(trace);
  e.trace.assign(trace.begin(), trace.end());
  e.variant = std::move(v);
  e.bytes = new_bytes;
  e.occupied = true;
  e.referenced = false;
  const std::size_t mask = index_.size() - 1;
  std::size_t i = e.hash & mask;
  while (index_[i] != empty_index) i = (i + 1) & mask;
  index_[i] = s;
  ++count_;
  bytes_ += new_bytes;
  return &e.variant;
}

void variant_cache::evict_one() noexcept {
  // Terminates: count_ > 0, and one full turn clears every bit it passes.
  for (;;) {
    slot& e = slots_[hand_];
    const auto s = static_cast<std::uint32_t>(hand_);
    hand_ = (hand_ + 1) % slots_.size();
    if (!e.occupied) continue;
    if (e.referenced) {
      e.referenced = false;
      continue;
    }
    erase_from_index(s);
    e.occupied = false;
    e.variant = sidecar_variant{};  // give its memory back now, not at the slot's reuse
    bytes_ -= e.bytes;
    --count_;
    ++evictions_;
    free_.push_back(s);
    return;
  }
}

// Linear probing with backward-shift deletion: later entries of the same probe
// run move up into the hole, so lookups never need tombstones.
void variant_cache::erase_from_index(std::uint32_t slot_number) noexcept {
  const slot& gone = slots_[slot_number];
  const std::size_t mask = index_.size() - 1;
  std::size_t hole = gone.hash & mask;
  while (index_[hole] != slot_number) hole = (hole + 1) & mask;
  for (std::size_t j = (hole + 1) & mask; index_[j] != empty_index; j = (j + 1) & mask) {
    const std::size_t home = slots_[index_[j]].hash & mask;
    // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    index_[hole] = index_[j];
    hole = j;
  }
  index_[hole] = empty_index;
}

void variant_cache::clear() noexcept {
  for (auto& e : slots_) {
    e.occupied = false;
    e.referenced = false;
    e.variant = sidecar_variant{};
    e.trace.clear();
  }
  std::fill(index_.begin(), index_.end(), empty_index);
  free_.clear();
  for (std::size_t i = slots_.size(); i-- > 0;) free_.push_back(static_cast<std::uint32_t>(i));  // reused before new ones
  hand_ = 0;
  count_ = 0;
  bytes_ = 0;
}

}  // namespace meshinject::patch
