#include <iostream>

#include <fmt/format.h>

#include "app/commands.hpp"
#include "app/test_options.hpp"
#include "engine/bench_runner.hpp"
#include "engine/test_runner.hpp"

namespace bm::app {

int cmd_test(const Args& args, const std::string& prog) {
  CLI::App app{"Run a test once (or N times) with one virtual user, printing every request (fl-run-test).", prog};
  TestOptions options;
  int iterations = 1;
  int users = 1;
  bool quiet = false;
  add_test_options(app, options, conf::Mode::test);
  app.add_option("-n,--iterations", iterations, "run the test N times")->check(CLI::Range(1, 1000000));
  app.add_flag("-q,--quiet", quiet, "print only failures and the summary");
  // bench/run.py: a fixed number of requests at a given concurrency, for instruction counts.
  app.add_option("--users", users, "virtual users, each running the test N times")
      ->check(CLI::Range(1, 100000))
      ->group("");
  FunkLoadFlags funkload;
  add_funkload_flags(app, funkload, true);
  if (int code = parse_options(app, args, prog); code >= 0) return code;
  if (std::string problem = funkload_flags_problem(funkload); !problem.empty()) return fail(prog, problem);
  std::string error;
  auto test = load_test(options, conf::Mode::test, &error);
  if (!test) return fail(prog, error);
  for (const auto& w : test->warnings) std::cerr << prog << ": warning: " << w << '\n';
  engine::FunctionalOptions run;
  run.engine = test->engine;
  run.iterations = iterations;
  run.users = users;
  run.verbose = !quiet;
  engine::install_interrupt_handlers();
  int code = engine::run_functional_test(std::move(run), std::cout, &error);
  if (code == 2) return fail(prog, error);
  return code;
}

}  // namespace bm::app
