#pragma once
// bench-test: run the test once (or N times) with one virtual user, printing every
// request and every failure, for writing and debugging tests and for CI smoke checks.
#include <iosfwd>

#include "engine/settings.hpp"
#include "stats/results.hpp"

namespace bm::engine {

struct FunctionalOptions {
  EngineSettings engine;
  int iterations = 1;    // per virtual user
  int users = 1;         // more than one only for bench/: a fixed amount of work at a concurrency
  bool verbose = true;   // print each request and log() line (quiet: failures and the summary)
};

// Returns 0 when every test succeeded, 1 when one failed, 2 when it could not run
// (*error then holds one line).
int run_functional_test(FunctionalOptions options, std::ostream& out, std::string* error,
                        stats::CycleResults* figures = nullptr);

}  // namespace bm::engine
