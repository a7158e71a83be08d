#pragma once
// A fuzz target's own check failing: it says which, then aborts, so that libFuzzer keeps the
// input as a crash (docs/fuzzing.md).
#include <cstdio>
#include <cstdlib>
#include <string>

namespace bm::fuzz {

inline void check(bool ok, const char* target, const char* what, const std::string& detail = {}) {
  if (ok) return;
  fprintf(stderr, "%s: %s%s%s\n", target, what, detail.empty() ? "" : ": ", detail.c_str());
  abort();
}

}  // namespace bm::fuzz
