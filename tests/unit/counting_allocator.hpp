#pragma once
// Replaces the global operator new/delete of the test executable that includes this
// header (include it from exactly one file) with versions that count allocations, so a
// test can check that a hot-path call allocates nothing.
#include <atomic>
#include <cstdlib>
#include <new>

// GCC pairs inlined operator new/delete and wrongly reports malloc/free as mismatched.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

inline std::atomic<size_t> g_allocations{0};
// Allocations made and not yet freed: a test that leaves nothing behind leaves it as it was.
inline std::atomic<long> g_live_allocations{0};

void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) {
    ++g_live_allocations;
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  if (p) --g_live_allocations;
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  if (p) --g_live_allocations;
  std::free(p);
}
