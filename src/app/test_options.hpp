#pragma once
// Options shared by bench-run, bench-test and bench-node: which test, which conf, and the
// FunkLoad-style overrides of the conf's values.
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/bench_options.hpp"
#include "conf/bench_settings.hpp"
#include "conf/conf_file.hpp"
#include "engine/settings.hpp"
#include "engine/test_loader.hpp"

namespace bm::app {

// The test to load and the bench options given for it (engine/test_loader.hpp).
using TestOptions = engine::TestSpec;

// The test and function operands, then the bench options of `mode`'s command.
void add_test_options(CLI::App& app, TestOptions& options, conf::Mode mode);

// Declares the rows of conf::bench_options() that `command` (conf::Commands) takes, in
// table order, with bench-master's names and help for kMasterCommand; `group` is CLI11's.
void add_bench_options(CLI::App& app, conf::GivenOptions& given, unsigned command, const std::string& group = "");

// FunkLoad's command-line options with no meaning here, so that its command lines run:
// -v/--verbose and -d/--debug (bench-test prints every request and log line already) are
// accepted; --distribute and --distribute-workers (FunkLoad's own distributed mode) are
// refused with the one line that says what replaces them.
struct FunkLoadFlags {
  bool verbose = false, debug = false, distribute = false;
  std::string distribute_workers;
};
void add_funkload_flags(CLI::App& app, FunkLoadFlags& flags, bool verbose_flags);
// Empty, or the line to refuse the command line with.
std::string funkload_flags_problem(const FunkLoadFlags& flags);

using engine::load_test;
using engine::LoadedTest;

// "benchmaster/0.1.0"
std::string version_string();

}  // namespace bm::app
