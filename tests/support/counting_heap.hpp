#pragma once
// One counting replacement of the global operator new for the test programs that
// assert heap behaviour: zero heap calls on a warm path, or exactly how many bytes
// a structure holds. Linked only into the programs listed in tests/CMakeLists.txt
// (MESHINJECT_COUNTED_HEAP_TESTS), since it replaces the allocator of the whole
// program it is linked into.
//
// Calls are counted only between start() and stop(), and only on threads the
// filter accepts; live bytes are tracked always. With MESHINJECT_ALLOC_TRACE=1 in
// the environment, every counted call prints its size and a backtrace to stderr,
// to find where a warm path allocates.

#include <cstdint>

namespace meshinject::test::counting_heap {

// Resets the call count and starts counting.
void start() noexcept;
void stop() noexcept;

// Calls of operator new (every form) counted since the last start().
std::uint64_t calls() noexcept;

// Bytes requested from operator new and not yet returned, whatever the counting state.
std::int64_t live_bytes() noexcept;

// Counts only calls made on threads for which `accept` returns true; nullptr: every thread.
void count_only_on(bool (*accept)() noexcept) noexcept;

// Counts while in scope.
class scope {
 public:
  scope() noexcept { start(); }
  ~scope() { stop(); }
  scope(const scope&) = delete;
  scope& operator=(const scope&) = delete;
};

}  // namespace meshinject::test::counting_heap
