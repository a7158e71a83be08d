#pragma once
// Options shared by bench-run, bench-test and bench-node: which test, which conf, and the
// FunkLoad-style overrides of the conf's values.
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/bench_settings.hpp"
#include "conf/conf_file.hpp"
#include "engine/settings.hpp"

namespace bm::app {

struct TestOptions {
  std::string test_file;
  std::string config;
  std::string function;          // -e/--function
  std::string function_operand;  // after the test file, FunkLoad's Name.test_fn
  std::string url, cycles, duration, startup_delay, sleep_min, sleep_max, test_sleep, cycle_time, apdex_t;
  std::string connect_timeout, timeout, ok_codes;
  bool fast = false;
  bool simple_fetch = false;
  bool tls_verify = false;
  std::string tls_ca_file;
  int workers = 0;
  uint64_t seed = 0;
  // bench-master: load the test as its node 0 will, in the test's folder (data files it
  // opens are relative to it there) with [bench] node_num = 0; else here, as it is.
  bool load_as_node_0 = false;
};

void add_test_options(CLI::App& app, TestOptions& options, conf::Mode mode);

// -e/--function's help, for the commands that add it themselves.
extern const char* const kFunctionHelp;

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
