#pragma once
// A bench on one node: cycles of rising concurrency with FunkLoad's phases (start-up,
// logging window, drain, pause), statistics merged from every worker, and the results
// file rewritten after every cycle.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "engine/settings.hpp"
#include "stats/results.hpp"

namespace bm::engine {

class CycleGate;

struct BenchOptions {
  EngineSettings engine;
  std::filesystem::path output_dir;      // results.json and bench.log go here
  std::string label;
  std::vector<std::string> command_line;
  int64_t start_at_epoch_us = 0;         // distributed runs: begin cycle 1 at this wall-clock time
  // Distributed runs: after each cycle, print "@cycle-done" and start the next one when
  // the gate opens for it (the master's common start time). Null: start at once.
  CycleGate* gate = nullptr;
  bool progress_json = false;            // print one machine-readable progress line per second
  bool cycle_results = false;            // with a gate: print "@cycle-results" before each "@cycle-done"
  bool color = false;
  // Server monitoring ([monitor] hosts; node 0 alone in a distributed run): the figures
  // collected so far, put into the results each time they are written. Empty: none.
  std::function<stats::MonitorData()> monitor;
  // --abort-on-fail: called with each finished cycle but the last; a non-empty answer
  // (why the run can no longer pass) ends the run there, as complete as it got.
  std::function<std::string(const stats::CycleResults&)> cycle_check;
};

// Set from a signal handler; the runner polls it.
extern std::atomic<int> g_interrupts;
// How long after the first SIGINT/SIGTERM the process may live (docs/engine.md).
inline constexpr std::chrono::seconds kStopBound{15};
// SIGINT and SIGTERM count into g_interrupts (a second one kills at once); the first
// also arms the kStopBound guard.
void install_interrupt_handlers();
// Stops the run as a first SIGTERM would (the master is gone).
void request_interrupt();

class BenchRunner {
 public:
  BenchRunner(BenchOptions options, std::ostream& out);
  // Runs every cycle. Returns the exit code: 0 every test succeeded, 1 some failed,
  // 2 the bench could not run, 130 interrupted. *error holds one line when it is 2.
  int run(std::string* error);
  const stats::Results& results() const { return results_; }
  std::filesystem::path results_path() const { return options_.output_dir / "results.json"; }

 private:
  BenchOptions options_;
  std::ostream& out_;
  stats::Results results_;
};

}  // namespace bm::engine
