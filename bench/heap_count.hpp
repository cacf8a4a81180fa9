#pragma once
// Heap allocations counted for the benchmarks' allocs/iter. heap_count.cpp, linked
// into every benchmark program, replaces the global operator new with one that
// counts each call; a benchmark reads the count before and after its loop.

#include <atomic>
#include <cstdint>

namespace meshinject::bench {

// Calls of operator new (all forms) since the program started.
extern std::atomic<std::uint64_t> allocations;

}  // namespace meshinject::bench
