// The counting operator new of tests/support/counting_heap.hpp. Every block
// carries a header in front of what the caller gets, holding the size asked for,
// so that operator delete can take it off the live bytes without a sized call.

#include "tests/support/counting_heap.hpp"

#include <execinfo.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace meshinject::test::counting_heap {
namespace {

std::atomic<bool> counting{false};
std::atomic<std::uint64_t> counted{0};
std::atomic<std::int64_t> live{0};
std::atomic<bool (*)() noexcept> thread_filter{nullptr};
// A backtrace may allocate: calls made while one is being written are not counted.
thread_local bool inside_trace = false;

bool trace_requested() noexcept {
  static const bool on = [] {
    const char* e = std::getenv("MESHINJECT_ALLOC_TRACE");
    return e && *e == '1';
  }();
  return on;
}

void note_call(std::size_t n) noexcept {
  if (!counting.load(std::memory_order_relaxed) || inside_trace) return;
  if (auto accept = thread_filter.load(std::memory_order_relaxed); accept && !accept()) return;
  counted.fetch_add(1, std::memory_order_relaxed);
  if (!trace_requested()) return;
  inside_trace = true;
  void* frames[64];
  const int depth = backtrace(frames, 64);
  char head[64];
  const int len = std::snprintf(head, sizeof head, "--- allocation of %zu bytes\n", n);
  (void)!write(2, head, static_cast<std::size_t>(len));
  backtrace_symbols_fd(frames, depth, 2);
  inside_trace = false;
}

// The header is one alignment unit, so that what follows it keeps the alignment.
std::size_t header_for(std::size_t align) noexcept { return std::max(align, alignof(std::max_align_t)); }

void* take(std::size_t n, std::size_t align) noexcept {
  note_call(n);
  const std::size_t header = header_for(align);
  const std::size_t total = (header + std::max<std::size_t>(n, 1) + header - 1) / header * header;
  auto* base = static_cast<unsigned char*>(std::aligned_alloc(header, total));
  if (!base) return nullptr;
  *reinterpret_cast<std::size_t*>(base) = n;
  live.fetch_add(static_cast<std::int64_t>(n), std::memory_order_relaxed);
  return base + header;
}

// Out of line, so GCC does not see free() reach a pointer operator new returned
// and warn (-Wmismatched-new-delete): matched here by design.
[[gnu::noinline]] void give_back(void* p, std::size_t align) noexcept {
  if (!p) return;
  auto* base = static_cast<unsigned char*>(p) - header_for(align);
  live.fetch_sub(static_cast<std::int64_t>(*reinterpret_cast<std::size_t*>(base)), std::memory_order_relaxed);
  std::free(base);
}

void* take_or_throw(std::size_t n, std::size_t align) {
  if (void* p = take(n, align)) return p;
  throw std::bad_alloc();
}

constexpr std::size_t plain = alignof(std::max_align_t);

}  // namespace

void start() noexcept {
  counted.store(0, std::memory_order_relaxed);
  counting.store(true, std::memory_order_seq_cst);
}
void stop() noexcept { counting.store(false, std::memory_order_seq_cst); }
std::uint64_t calls() noexcept { return counted.load(std::memory_order_relaxed); }
std::int64_t live_bytes() noexcept { return live.load(std::memory_order_relaxed); }
void count_only_on(bool (*accept)() noexcept) noexcept { thread_filter.store(accept, std::memory_order_relaxed); }

}  // namespace meshinject::test::counting_heap

namespace heap = meshinject::test::counting_heap;

void* operator new(std::size_t n) { return heap::take_or_throw(n, heap::plain); }
void* operator new[](std::size_t n) { return heap::take_or_throw(n, heap::plain); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return heap::take(n, heap::plain); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return heap::take(n, heap::plain); }
void* operator new(std::size_t n, std::align_val_t a) { return heap::take_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return heap::take_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return heap::take(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return heap::take(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { heap::give_back(p, heap::plain); }
void operator delete[](void* p) noexcept { heap::give_back(p, heap::plain); }
void operator delete(void* p, std::size_t) noexcept { heap::give_back(p, heap::plain); }
void operator delete[](void* p, std::size_t) noexcept { heap::give_back(p, heap::plain); }
void operator delete(void* p, const std::nothrow_t&) noexcept { heap::give_back(p, heap::plain); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { heap::give_back(p, heap::plain); }
void operator delete(void* p, std::align_val_t a) noexcept { heap::give_back(p, static_cast<std::size_t>(a)); }
void operator delete[](void* p, std::align_val_t a) noexcept { heap::give_back(p, static_cast<std::size_t>(a)); }
void operator delete(void* p, std::size_t, std::align_val_t a) noexcept {
  heap::give_back(p, static_cast<std::size_t>(a));
}
void operator delete[](void* p, std::size_t, std::align_val_t a) noexcept {
  heap::give_back(p, static_cast<std::size_t>(a));
}
void operator delete(void* p, std::align_val_t a, const std::nothrow_t&) noexcept {
  heap::give_back(p, static_cast<std::size_t>(a));
}
void operator delete[](void* p, std::align_val_t a, const std::nothrow_t&) noexcept {
  heap::give_back(p, static_cast<std::size_t>(a));
}
