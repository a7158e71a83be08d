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

using engine::load_test;
using engine::LoadedTest;

// "benchmaster/0.1.0"
std::string version_string();

}  // namespace bm::app
