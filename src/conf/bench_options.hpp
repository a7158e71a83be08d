// The bench options, in one table: every setting's command-line flags, its conf key, its
// default and help, and which commands take it. The CLI declarations of bench-run,
// bench-node, bench-test and bench-master (src/app/test_options.cpp), the node command line
// bench-master builds (forwarded_args), the command line's Overrides (overrides_from), the
// conf keys that do not warn as unknown (unknown_key_warnings) and the check of
// docs/conf.md (tests/unit/conf_options_test.cpp) all read it. No CLI11 here: the table is
// data, and app/ turns it into CLI11 options.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "conf/bench_settings.hpp"

namespace bm::conf {

// The bench options as the user gave them; empty, false or 0: not given (the conf, then
// the default, decides). Text values are kept as typed and checked by overrides_from, so
// the error names the option.
struct GivenOptions {
  std::string config, function;
  std::string url, cycles, duration, startup_delay, sleep_time_min, sleep_time_max, sleep_time, cycle_time, apdex_t;
  std::string connect_timeout, read_timeout, ok_codes, tls_ca_file;
  std::string rates, max_users, arrivals;
  bool fast = false;
  bool simple_fetch = false;
  bool tls_verify = false;
  int workers = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> thresholds;  // --threshold, each (not in the table: it repeats)
};

// What a command-line value is, and how overrides_from reads it.
enum class OptionType {
  none,          // a conf key without a flag
  text,          // taken as it is
  seconds,       // a number (conf::parse_double)
  cycles,        // 10:20:30 (conf::parse_cycles)
  status_codes,  // 200:301 (conf::parse_status_codes)
  flag,          // no value; `effect` says what giving it does
  count,         // an integer CLI11 checks (--workers)
  seed,          // an unsigned integer CLI11 checks (--seed)
};

// Which commands declare an option (a bit mask).
enum Commands : unsigned {
  kTestCommand = 1,    // bench-test
  kBenchCommands = 2,  // bench-run and bench-node
  kMasterCommand = 4,  // bench-master
  kAllCommands = kTestCommand | kBenchCommands | kMasterCommand,
};

// Where a GivenOptions value lives, by its type.
using GivenField = std::variant<std::monostate, std::string GivenOptions::*, bool GivenOptions::*, int GivenOptions::*,
                                std::uint64_t GivenOptions::*>;
// The Overrides field a value sets, for the text, seconds, cycles and status-code types.
using OverrideField = std::variant<std::monostate, std::optional<std::string> Overrides::*,
                                   std::optional<double> Overrides::*, std::optional<std::vector<int>> Overrides::*>;

struct BenchOption {
  std::string_view flags{};    // CLI11 names, "-c,--cycles"; empty for a conf key only
  std::string_view section{};  // "main", "bench", "page" (page_section(mode)); empty: no conf key
  std::string_view key{};      // the conf key
  OptionType type = OptionType::none;
  std::string_view default_text{};  // the default as docs/conf.md shows it
  std::string_view help{};          // --help's text (bench-run, bench-node, bench-test)
  unsigned commands = 0;            // Commands
  bool forwarded = false;           // bench-master gives it to every node when the user gave it
  GivenField given{};
  OverrideField overrides{};
  void (*effect)(Overrides&) = nullptr;  // a flag's effect when given
  std::string_view master_flags{};       // bench-master's names, when they differ (-s is its --node-script)
  std::string_view master_help{};        // bench-master's help, when it differs
};

// Every row, in the order bench-run's --help lists them (options of every command first,
// then those of bench mode only), then the conf keys without a flag.
std::span<const BenchOption> bench_options();

// "-D/--duration", as messages name an option.
std::string option_name(const BenchOption& option);
// "--duration": the name a node is given the option by.
std::string_view long_flag(const BenchOption& option);

// The options the user gave that go to every node, by their long names, in table order;
// those not given stay out so each node's conf decides them.
std::vector<std::string> forwarded_args(const GivenOptions& given);

// The command line's values as Overrides of the conf. nullopt with one line in *error
// ("command line: -D/--duration: 'x' is not a number") when a value is malformed.
std::optional<Overrides> overrides_from(const GivenOptions& given, std::string* error);

// The conf keys of `section` ("main", "bench" or "ftest") that benchmaster reads, in
// table order: [bench] and [ftest] also hold the page keys.
std::vector<std::string_view> conf_keys(std::string_view section);

}  // namespace bm::conf
