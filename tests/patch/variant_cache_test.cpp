// The variant cache alone: CLOCK eviction order, the entry and byte bounds, and
// lookups that stay right while entries come and go.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "patch/variant_cache.hpp"

namespace {

namespace mp = meshinject::patch;

std::vector<std::uint8_t> trace_of(int n) {
  const std::string s = "trace-" + std::to_string(n);
  return {s.begin(), s.end()};
}

// A variant that says which trace it was compiled for, holding `bytes` of pool.
mp::sidecar_variant variant_of(int n, std::size_t bytes = 0) {
  mp::sidecar_variant v;
  v.pool = "variant-" + std::to_string(n);
  v.pool.reserve(bytes);
  return v;
}

bool holds(mp::variant_cache& c, int n) {
  const mp::sidecar_variant* v = c.find(trace_of(n));
  if (v) {
    EXPECT_EQ(v->pool, "variant-" + std::to_string(n));
  }
  return v != nullptr;
}

TEST(variant_cache, a_hit_gives_an_entry_a_second_chance) {
  mp::variant_cache c({.entries = 2});
  c.insert(trace_of(1), variant_of(1));
  c.insert(trace_of(2), variant_of(2));
  EXPECT_TRUE(holds(c, 1));  // 1 is now recently used

  c.insert(trace_of(3), variant_of(3));  // the hand spares 1 (clearing its bit) and takes 2
  EXPECT_FALSE(holds(c, 2));
  EXPECT_EQ(c.evictions(), 1u);
  EXPECT_EQ(c.size(), 2u);

  // `holds` above marked 1 and 3 again; without that, the hand would take 1 next.
  c.clear();
  c.insert(trace_of(1), variant_of(1));
  c.insert(trace_of(2), variant_of(2));
  c.insert(trace_of(3), variant_of(3));  // takes 1: nothing was used
  c.insert(trace_of(4), variant_of(4));  // takes 2
  EXPECT_EQ(c.evictions(), 3u);
  EXPECT_FALSE(holds(c, 1));
  EXPECT_FALSE(holds(c, 2));
  EXPECT_TRUE(holds(c, 3));
  EXPECT_TRUE(holds(c, 4));
}

TEST(variant_cache, the_byte_bound_evicts_before_the_entry_bound) {
  const std::size_t one = mp::variant_cache::size_of(variant_of(0, 10'000));
  ASSERT_GE(one, 10'000u);
  mp::variant_cache c({.entries = 100, .bytes = 3 * one + 3 * 1'000});  // room for three, with their keys
  for (int n = 0; n < 10; ++n) {
    c.insert(trace_of(n), variant_of(n, 10'000));
    EXPECT_LE(c.bytes(), c.limits().bytes) << n;
  }
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.evictions(), 7u);
  for (int n = 7; n < 10; ++n) EXPECT_TRUE(holds(c, n)) << n;

  // One variant larger than the whole bound is still kept (alone): the request
  // that compiled it is served from the cache, never from a copy on the side.
  c.insert(trace_of(100), variant_of(100, 10 * one));
  EXPECT_EQ(c.size(), 1u);
  EXPECT_TRUE(holds(c, 100));
  EXPECT_GT(c.bytes(), c.limits().bytes);
}

TEST(variant_cache, clear_forgets_everything_and_the_cache_fills_again) {
  mp::variant_cache c({.entries = 4});
  for (int n = 0; n < 4; ++n) c.insert(trace_of(n), variant_of(n));
  c.clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.bytes(), 0u);
  for (int n = 0; n < 4; ++n) EXPECT_FALSE(holds(c, n));
  for (int n = 0; n < 4; ++n) c.insert(trace_of(n), variant_of(n));
  for (int n = 0; n < 4; ++n) EXPECT_TRUE(holds(c, n));
  EXPECT_EQ(c.evictions(), 0u);
}

// Evictions delete from an open-addressing index by shifting entries back; a
// mistake there loses or misplaces entries, which this churn would find.
TEST(variant_cache, lookups_stay_right_under_churn) {
  mp::variant_cache c({.entries = 64});
  std::mt19937 rng(12345);
  std::vector<bool> inserted(2000, false);
  for (int n = 0; n < 2000; ++n) {
    const int probe = static_cast<int>(rng() % static_cast<unsigned>(n + 1));
    if (inserted[static_cast<std::size_t>(probe)]) holds(c, probe);  // checks identity when found
    c.insert(trace_of(n), variant_of(n));
    inserted[static_cast<std::size_t>(n)] = true;
    ASSERT_TRUE(holds(c, n)) << n;
  }
  std::size_t found = 0;
  for (int n = 0; n < 2000; ++n) found += holds(c, n) ? 1 : 0;
  EXPECT_EQ(found, c.size());
  EXPECT_EQ(c.size(), 64u);
  EXPECT_EQ(c.evictions(), 2000u - 64u);
}

}  // namespace
