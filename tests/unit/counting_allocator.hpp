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

void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
