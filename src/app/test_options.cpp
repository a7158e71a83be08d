#include "app/test_options.hpp"

#include <fmt/format.h>


namespace bm::app {

std::string version_string() { return std::string("benchmaster/") + BM_VERSION; }

void add_test_options(CLI::App& app, TestOptions& o, conf::Mode mode) {
  app.add_option("test", o.test_file, "the test file, test_Name.lua (its conf Name.conf sits beside it)")
      ->required();
  app.add_option("function", o.function_operand,
                 "the test function to run, as with -e: test_fn or FunkLoad's Name.test_fn");
  add_bench_options(app, o.given, mode == conf::Mode::bench ? conf::kBenchCommands : conf::kTestCommand);
}

void add_bench_options(CLI::App& app, conf::GivenOptions& given, unsigned command, const std::string& group) {
  const bool master = command == conf::kMasterCommand;
  for (const conf::BenchOption& row : conf::bench_options()) {
    if ((row.commands & command) == 0) continue;
    const std::string flags(master && !row.master_flags.empty() ? row.master_flags : row.flags);
    const std::string help(master && !row.master_help.empty() ? row.master_help : row.help);
    CLI::Option* option = std::visit(
        [&](auto field) -> CLI::Option* {
          if constexpr (std::is_same_v<decltype(field), std::monostate>) {
            return nullptr;
          } else if constexpr (std::is_same_v<decltype(field), bool conf::GivenOptions::*>) {
            return app.add_flag(flags, given.*field, help);
          } else {
            return app.add_option(flags, given.*field, help);
          }
        },
        row.given);
    if (option != nullptr && !group.empty()) option->group(group);
  }
}

void add_funkload_flags(CLI::App& app, FunkLoadFlags& flags, bool verbose_flags) {
  if (verbose_flags) {
    app.add_flag("-v,--verbose", flags.verbose, "FunkLoad's verbose flag: accepted (every request is printed anyway)");
    app.add_flag("-d,--debug", flags.debug, "FunkLoad's debug flag: accepted (log lines are printed anyway)");
  }
  app.add_flag("--distribute", flags.distribute, "FunkLoad's distributed mode: use bench-master")->group("");
  app.add_option("--distribute-workers", flags.distribute_workers, "FunkLoad's distributed mode: use bench-master")
      ->group("");
}

std::string funkload_flags_problem(const FunkLoadFlags& flags) {
  if (!flags.distribute && flags.distribute_workers.empty()) return {};
  return "--distribute and --distribute-workers are FunkLoad's distributed mode; here it is bench-master: "
         "bench-master test_Name.lua --nodes host1,host2*4 (docs/distributed.md)";
}

}  // namespace bm::app
