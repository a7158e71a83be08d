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

namespace bm::app {

struct TestOptions {
  std::string test_file;
  std::string function_operand;  // after the test file, FunkLoad's Name.test_fn
  conf::GivenOptions given;      // the bench options (conf/bench_options.hpp)
  // bench-master: load the test as its node 0 will, in the test's folder (data files it
  // opens are relative to it there) with [bench] node_num = 0; else here, as it is.
  bool load_as_node_0 = false;
};

// The test and function operands, then the bench options of `mode`'s command.
void add_test_options(CLI::App& app, TestOptions& options, conf::Mode mode);

// Declares the rows of conf::bench_options() that `command` (conf::Commands) takes, in
// table order, with bench-master's names and help for kMasterCommand; `group` is CLI11's.
void add_bench_options(CLI::App& app, conf::GivenOptions& given, unsigned command, const std::string& group = "");

struct LoadedTest {
  conf::ConfFile conf;
  engine::EngineSettings engine;
  std::vector<std::string> warnings;
};

// Finds the conf beside the test (test_Name.lua -> Name.conf), reads it, applies the
// overrides, fills the engine settings and loads the test file once (a syntax error
// fails here, before anything is printed). One line in *error when anything is wrong.
std::unique_ptr<LoadedTest> load_test(const TestOptions& options, conf::Mode mode, std::string* error);

// "benchmaster/0.1.0"
std::string version_string();

}  // namespace bm::app
