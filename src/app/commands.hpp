#pragma once
// One function per subcommand; each parses its own options (CLI11) and returns the
// process exit code. main() only picks the subcommand, by argv[0] or first argument.
#include <string>
#include <string_view>
#include <vector>

#include "engine/cycle_gate.hpp"
#include "app/verdict_options.hpp"
#include "engine/test_loader.hpp"

namespace CLI {
class App;
}

namespace bm::app {

using Args = std::vector<std::string>;  // arguments after the subcommand name

int cmd_run(const Args& args, const std::string& prog);
int cmd_test(const Args& args, const std::string& prog);
int cmd_report(const Args& args, const std::string& prog);
int cmd_demo_server(const Args& args, const std::string& prog);
int cmd_node(const Args& args, const std::string& prog);
int cmd_master(const Args& args, const std::string& prog);
int cmd_monitor(const Args& args, const std::string& prog);
int cmd_credential(const Args& args, const std::string& prog);
int cmd_record(const Args& args, const std::string& prog);

using TestOptions = engine::TestSpec;  // engine/test_loader.hpp

// How bench-run and bench-node run a bench (the same code path for both).
struct BenchRun {
  std::string label;
  std::string output_dir;  // empty: results/<Name>-<time>[-label]
  long long start_at_epoch_us = 0;
  bool progress_json = false;
  bool cycle_results = false;  // bench-node --cycle-results
  engine::CycleGate* gate = nullptr;  // bench-node --barrier: cycles start when the master says
  std::vector<std::string> command_line;
  VerdictOptions verdict;  // bench-run's; bench-node leaves it empty (the master judges)
};

// Loads the test, prints the header, runs every cycle, prints "Results: ...". Returns
// bench-run's exit code (0 all tests ok, 1 some failed, 2 could not run, 130 interrupted).
int run_bench(const TestOptions& test, const BenchRun& run, const std::string& prog);

// Parses a command's arguments into app: -1 to go on; else the exit code, after printing
// the help (0) or one error line (2).
int parse_options(CLI::App& app, const Args& args, const std::string& prog);

// Prints "prog: message" on stderr, returns 2.
int fail(const std::string& prog, const std::string& message);

// The one error line for a run label that cannot name a folder (master::label_problem's
// rules, for bench-run and bench-master alike), "" when it can: "<option> '<label>': why".
std::string label_error(std::string_view option, std::string_view label);

}  // namespace bm::app
