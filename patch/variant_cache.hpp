#pragma once
// One core's cache of compiled template variants, keyed by the template trace
// (the pod-dependent decisions) that selects them.
//
// Bounded by an estimate of the bytes the variants hold (and, as a safety
// bound, by entries), so a cluster with many pod shapes costs a known amount of
// memory per core instead of growing with the shapes. When full it evicts by CLOCK (a
// second-chance approximation of LRU: a hit sets the entry's bit; the hand
// clears bits as it passes and evicts the first entry whose bit is clear), which
// keeps the hot shapes and costs one bit per hit, no list splicing.
//
// Owned by one engine, used on its reactor's thread only. A pointer from find()
// or insert() stays valid until the next insert() or clear(): the engine holds
// it for one request, and inserts only at the start of the next miss.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "patch/sidecar.hpp"

namespace meshinject::patch {

struct variant_cache_limits {
  // What binds for real templates: a variant of the Istio 1.1 production
  // template holds ~0.9 KB for the realistic review (size_of with its status
  // value, the trace and the slot; the text it shares with every variant of
  // its snapshot is counted once, by no core's cache) and ~3.0 KB on average
  // over load/shapes.mjs's 10,000 shapes, whose user volumes and containers
  // make them larger, so 4 MiB keeps ~4,500 of the former and ~1,400 of the
  // latter per core, and a core's cache costs a known 4 MiB whatever the
  // number of shapes (`serve --variant-cache-bytes`).
  static constexpr std::size_t default_bytes = 4u << 20;
  // A safety bound for tiny variants, set above the ~4,500 the byte bound
  // admits for the 1.1 template, so that the byte bound binds first. A slot
  // (~320 bytes) is made when first used, in room reserved up front.
  static constexpr std::size_t default_entries = 8192;

  std::size_t entries = default_entries;  // at least 1
  std::size_t bytes = default_bytes;      // the newest entry is kept even if alone it is larger
};

class variant_cache {
 public:
  explicit variant_cache(variant_cache_limits limits);

  // The variant compiled for `trace`, or null; a hit marks it recently used.
  const sidecar_variant* find(std::span<const std::uint8_t> trace) noexcept;

  // Keeps a freshly compiled variant, first evicting (CLOCK order) until it
  // fits both bounds. Returns the stored variant. `trace` must not be cached.
  const sidecar_variant* insert(std::span<const std::uint8_t> trace, sidecar_variant&& v);

  // Forgets every variant (they belong to a snapshot that is being replaced).
  void clear() noexcept;

  std::size_t size() const noexcept { return count_; }
  std::size_t bytes() const noexcept { return bytes_; }
  // Entries evicted since construction.
  std::uint64_t evictions() const noexcept { return evictions_; }
  const variant_cache_limits& limits() const noexcept { return limits_; }

  // The heap a variant holds (its text, segments, key sets, items, status
  // value and warnings), from their capacities: exactly what it allocated,
  // none of its snapshot's shared_variant_text (held once for all cores)
  // (tests/patch/variant_size_test.cpp checks it against a counting
  // allocator). What the byte bound counts, with the trace key and the slot.
  static std::size_t size_of(const sidecar_variant& v) noexcept;

 private:
  struct slot {
    std::uint64_t hash = 0;
    std::vector<std::uint8_t> trace;
    sidecar_variant variant;
    std::size_t bytes = 0;
    bool occupied = false;
    bool referenced = false;  // CLOCK's second-chance bit
  };
  static constexpr std::uint32_t empty_index = UINT32_MAX;

  std::size_t find_index(std::uint64_t hash, std::span<const std::uint8_t> trace) const noexcept;
  void evict_one() noexcept;
  void erase_from_index(std::uint32_t slot_number) noexcept;

  variant_cache_limits limits_;
  std::vector<slot> slots_;            // up to limits_.entries (reserved), made as needed; the CLOCK's ring
  std::vector<std::uint32_t> index_;   // open addressing over slot numbers, power-of-two size
  std::vector<std::uint32_t> free_;    // unoccupied slots' numbers (a new slot is made when none is)
  std::size_t hand_ = 0;
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
  std::uint64_t evictions_ = 0;
};

}  // namespace meshinject::patch
