#pragma once
// A test made ready to run: its conf found beside it and read, the command line's
// values applied over it, the engine settings filled, and the test file loaded once in
// a Lua state of its own (so a syntax error is one file:line line before anything is
// printed), its test function chosen. bench-run, bench-test, bench-node and
// bench-master all start here.
#include <memory>
#include <string>
#include <vector>

#include "conf/bench_options.hpp"
#include "conf/bench_settings.hpp"
#include "conf/conf_file.hpp"
#include "engine/settings.hpp"

namespace bm::engine {

struct TestSpec {
  std::string test_file;
  // How messages name the test file ("file:line: ..."); empty: test_file as given.
  // bench-node is told the path the user gave bench-master.
  std::string test_file_shown;
  std::string function_operand;  // after the test file, FunkLoad's Name.test_fn
  conf::GivenOptions given;      // the bench options (conf/bench_options.hpp)
  // bench-master: load the test as its node 0 will, in the test's folder (data files it
  // opens are relative to it there) with [bench] node_num = 0; else here, as it is.
  bool load_as_node_0 = false;
};

struct LoadedTest {
  conf::ConfFile conf;
  EngineSettings engine;  // engine.conf points at `conf` above
  std::vector<std::string> warnings;
};

// Finds the conf beside the test (test_Name.lua -> Name.conf), reads it, applies the
// overrides, fills the engine settings and loads the test file once. One line in
// *error when anything is wrong.
std::unique_ptr<LoadedTest> load_test(const TestSpec& spec, conf::Mode mode, std::string* error);

}  // namespace bm::engine
