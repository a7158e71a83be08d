#include "conf/bench_options.hpp"

#include <array>

#include <fmt/format.h>

#include "conf/values.hpp"

namespace bm::conf {

namespace {

using G = GivenOptions;
using O = Overrides;
using T = OptionType;

constexpr unsigned kTestAndBench = kTestCommand | kBenchCommands;
constexpr unsigned kBenchAndMaster = kBenchCommands | kMasterCommand;

const std::array kOptions{
    // [main] keys before url, in the order "did you mean" has always tried them.
    BenchOption{.section = "main", .key = "title", .default_text = "the conf file's name without `.conf`"},
    BenchOption{.section = "main", .key = "description", .default_text = "empty"},
    // Options of every command.
    BenchOption{.flags = "--config",
                .type = T::text,
                .help = "the conf file to use instead of Name.conf beside the test",
                .commands = kAllCommands,
                .given = &G::config,
                .master_help = "the conf to deploy instead of Name.conf beside the test"},
    BenchOption{.flags = "-e,--function",
                .type = T::text,
                .help = "the test function to run (default test_Name, else the file's only test_* function); "
                        "Name.test_fn also works",
                .commands = kAllCommands,
                .forwarded = true,
                .given = &G::function},
    BenchOption{.flags = "-u,--url",
                .section = "main",
                .key = "url",
                .type = T::text,
                .default_text = "empty",
                .help = "base URL of the target, overrides [main] url",
                .commands = kAllCommands,
                .forwarded = true,
                .given = &G::url,
                .overrides = &O::url},
    BenchOption{.flags = "-m,--sleep-time-min",
                .section = "page",
                .key = "sleep_time_min",
                .type = T::seconds,
                .default_text = "`0`",
                .help = "minimum pause after each page, seconds",
                .commands = kAllCommands,
                .forwarded = true,
                .given = &G::sleep_time_min,
                .overrides = &O::sleep_time_min_s},
    BenchOption{.flags = "-M,--sleep-time-max",
                .section = "page",
                .key = "sleep_time_max",
                .type = T::seconds,
                .default_text = "`0`",
                .help = "maximum pause after each page, seconds",
                .commands = kAllCommands,
                .forwarded = true,
                .given = &G::sleep_time_max,
                .overrides = &O::sleep_time_max_s},
    BenchOption{.flags = "--ok-codes",
                .section = "page",
                .key = "ok_codes",
                .type = T::status_codes,
                .default_text = "`200:301:302:303:307:308`",
                .help = "HTTP codes that count as success, e.g. 200:301:302",
                .commands = kAllCommands,
                .forwarded = true,
                .given = &G::ok_codes,
                .overrides = &O::ok_codes},
    BenchOption{.flags = "--connect-timeout",
                .section = "page",
                .key = "connect_timeout",
                .type = T::seconds,
                .default_text = "`10`",
                .help = "connect timeout, seconds (default 10)",
                .commands = kAllCommands,
                .forwarded = true,
                .given = &G::connect_timeout,
                .overrides = &O::connect_timeout_s,
                .master_help = "HTTP connect timeout, seconds"},
    BenchOption{.flags = "--timeout",
                .section = "page",
                .key = "read_timeout",
                .type = T::seconds,
                .default_text = "`30`",
                .help = "longest a response may take, seconds (default 30)",
                .commands = kAllCommands,
                .forwarded = true,
                .given = &G::read_timeout,
                .overrides = &O::read_timeout_s,
                .master_help = "longest a response may take, seconds"},
    BenchOption{.flags = "--simple-fetch",
                .section = "page",
                .key = "simple_fetch",
                .type = T::flag,
                .default_text = "`0`",
                .help = "do not fetch the images, CSS and scripts of HTML pages",
                .commands = kAllCommands,
                .forwarded = true,
                .given = &G::simple_fetch,
                .effect = [](O& o) { o.fetch_resources = false; },
                .master_help = "do not fetch the images, CSS and scripts of pages"},
    BenchOption{.flags = "--tls-verify",
                .section = "page",
                .key = "tls_verify",
                .type = T::flag,
                .default_text = "`0`",
                .help = "check HTTPS servers' certificates against the system's CAs",
                .commands = kAllCommands,
                .forwarded = true,
                .given = &G::tls_verify,
                .effect = [](O& o) { o.tls_verify = true; }},
    BenchOption{.flags = "--tls-ca-file",
                .section = "page",
                .key = "tls_ca_file",
                .type = T::text,
                .default_text = "none",
                .help = "check HTTPS servers' certificates against these CAs (PEM file)",
                .commands = kAllCommands,
                .forwarded = true,
                .given = &G::tls_ca_file,
                .overrides = &O::tls_ca_file,
                .master_help = "check HTTPS certificates against these CAs (a PEM file that must exist on every node)"},
    // Not declared by bench-master, so never forwarded: the nodes draw their own seeds.
    BenchOption{.flags = "--seed",
                .type = T::seed,
                .help = "seed for think-time randomness (default: from the clock)",
                .commands = kTestAndBench,
                .given = &G::seed},
    // Bench mode only.
    BenchOption{.flags = "-c,--cycles",
                .section = "bench",
                .key = "cycles",
                .type = T::cycles,
                .default_text = "`1`",
                .help = "virtual users per cycle, e.g. 10:20:30, overrides [bench] cycles",
                .commands = kBenchAndMaster,
                .forwarded = true,
                .given = &G::cycles,
                .overrides = &O::cycles,
                .master_help = "virtual users per cycle on each node, e.g. 10:20:30"},
    BenchOption{.flags = "-r,--rates",
                .section = "bench",
                .key = "rates",
                .type = T::text,
                .default_text = "none (cycles of users)",
                .help = "open model: test iterations started per second in each cycle, e.g. 100:200 or 50->200 "
                        "(a ramp); instead of -c",
                .commands = kBenchAndMaster,
                .forwarded = true,
                .given = &G::rates,
                .overrides = &O::rates,
                .master_help = "open model: iterations per second in each cycle, all nodes together (each node "
                               "takes its share), e.g. 100:200 or 50->200; instead of -c"},
    BenchOption{.flags = "--max-users",
                .section = "bench",
                .key = "max_users",
                .type = T::text,
                .default_text = "`1000`",
                .help = "open model: most virtual users the pool may grow to",
                .commands = kBenchAndMaster,
                .forwarded = true,
                .given = &G::max_users,
                .overrides = &O::max_users,
                .master_help = "open model: most virtual users each node's pool may grow to"},
    BenchOption{.flags = "--arrivals",
                .section = "bench",
                .key = "arrivals",
                .type = T::text,
                .default_text = "`constant`",
                .help = "open model: constant (evenly spaced starts) or poisson (random, the same mean rate)",
                .commands = kBenchAndMaster,
                .forwarded = true,
                .given = &G::arrivals,
                .overrides = &O::arrivals},
    BenchOption{.flags = "-D,--duration",
                .section = "bench",
                .key = "duration",
                .type = T::seconds,
                .default_text = "`60`",
                .help = "logging window of each cycle, seconds",
                .commands = kBenchAndMaster,
                .forwarded = true,
                .given = &G::duration,
                .overrides = &O::duration_s},
    BenchOption{.flags = "-t,--test-sleep-time",
                .section = "bench",
                .key = "sleep_time",
                .type = T::seconds,
                .default_text = "`0`",
                .help = "pause between two tests of a virtual user, seconds",
                .commands = kBenchAndMaster,
                .forwarded = true,
                .given = &G::sleep_time,
                .overrides = &O::sleep_time_s,
                .master_help = "pause between two tests of a user, seconds"},
    BenchOption{.flags = "-s,--startup-delay",
                .section = "bench",
                .key = "startup_delay",
                .type = T::seconds,
                .default_text = "`0`",
                .help = "pause between two virtual user starts, seconds",
                .commands = kBenchAndMaster,
                .forwarded = true,
                .given = &G::startup_delay,
                .overrides = &O::startup_delay_s,
                .master_flags = "--startup-delay"},
    BenchOption{.flags = "--cycle-time",
                .section = "bench",
                .key = "cycle_time",
                .type = T::seconds,
                .default_text = "`0`",
                .help = "pause after each cycle, seconds",
                .commands = kBenchAndMaster,
                .forwarded = true,
                .given = &G::cycle_time,
                .overrides = &O::cycle_time_s},
    // After -m, -M and -t: it wins over them.
    BenchOption{.flags = "-f,--as-fast-as-possible",
                .type = T::flag,
                .help = "no pauses at all: same as -m 0 -M 0 -t 0",
                .commands = kBenchAndMaster,
                .forwarded = true,
                .given = &G::fast,
                .effect =
                    [](O& o) {
                      o.sleep_time_min_s = 0;
                      o.sleep_time_max_s = 0;
                      o.sleep_time_s = 0;
                    }},
    BenchOption{.flags = "--apdex-t",
                .section = "bench",
                .key = "apdex_t",
                .type = T::seconds,
                .default_text = "`1.5`",
                .help = "Apdex threshold T, seconds (default 1.5)",
                .commands = kBenchAndMaster,
                .forwarded = true,
                .given = &G::apdex_t,
                .overrides = &O::apdex_t_s,
                .master_help = "Apdex threshold T, seconds"},
    BenchOption{.flags = "--workers",
                .type = T::count,
                .help = "event-loop threads (default: one per core)",
                .commands = kBenchAndMaster,
                .forwarded = true,
                .given = &G::workers,
                .master_help = "event-loop threads per node process (default: its cores)"},
    // Conf keys without a flag.
    BenchOption{.section = "main", .key = "user_agent", .default_text = "`benchmaster/<version>`"},
    BenchOption{.section = "bench", .key = "node_num", .default_text = "–"},
    BenchOption{.section = "bench", .key = "rate_part", .default_text = "`0/1` (bench-master sets it)"},
    BenchOption{.section = "page", .key = "max_redirects", .default_text = "`10`"},
    BenchOption{.section = "page", .key = "lua_time_limit", .default_text = "`10`"},
};

bool given(const GivenOptions& g, const BenchOption& option) {
  return std::visit(
      [&](auto field) -> bool {
        using F = decltype(field);
        if constexpr (std::is_same_v<F, std::monostate>) {
          return false;
        } else if constexpr (std::is_same_v<F, std::string G::*>) {
          return !(g.*field).empty();
        } else if constexpr (std::is_same_v<F, bool G::*>) {
          return g.*field;
        } else {
          return g.*field > 0;
        }
      },
      option.given);
}

const std::string& text_of(const GivenOptions& g, const BenchOption& option) {
  return g.*std::get<std::string G::*>(option.given);
}

}  // namespace

std::span<const BenchOption> bench_options() { return kOptions; }

std::string option_name(const BenchOption& option) {
  std::string name(option.flags);
  for (char& c : name) {
    if (c == ',') c = '/';
  }
  return name;
}

std::string_view long_flag(const BenchOption& option) {
  const std::size_t at = option.flags.rfind(',');
  return at == std::string_view::npos ? option.flags : option.flags.substr(at + 1);
}

std::vector<std::string> forwarded_args(const GivenOptions& g) {
  std::vector<std::string> args;
  for (const BenchOption& option : kOptions) {
    if (!option.forwarded || !given(g, option)) continue;
    args.emplace_back(long_flag(option));
    std::visit(
        [&](auto field) {
          using F = decltype(field);
          if constexpr (std::is_same_v<F, std::string G::*>) {
            args.push_back(g.*field);
          } else if constexpr (std::is_same_v<F, int G::*> || std::is_same_v<F, std::uint64_t G::*>) {
            args.push_back(std::to_string(g.*field));
          }
        },
        option.given);
  }
  return args;
}

std::optional<Overrides> overrides_from(const GivenOptions& g, std::string* error) {
  Overrides o;
  for (const BenchOption& option : kOptions) {
    if (!given(g, option)) continue;
    switch (option.type) {
      case T::text:
        if (auto* field = std::get_if<std::optional<std::string> O::*>(&option.overrides)) {
          o.*(*field) = text_of(g, option);
        }
        break;
      case T::seconds: {
        const std::string& text = text_of(g, option);
        std::optional<double> value = parse_double(text);
        if (!value) {
          *error = fmt::format("command line: {}: '{}' is not a number", option_name(option), text);
          return std::nullopt;
        }
        o.*std::get<std::optional<double> O::*>(option.overrides) = *value;
        break;
      }
      case T::cycles:
      case T::status_codes: {
        const std::string& text = text_of(g, option);
        const bool cycles = option.type == T::cycles;
        std::optional<std::vector<int>> value = cycles ? parse_cycles(text) : parse_status_codes(text);
        if (!value) {
          *error = fmt::format("command line: {}: '{}' is not a list of {} separated by ':'", option_name(option), text,
                               cycles ? "positive integers" : "HTTP status codes");
          return std::nullopt;
        }
        o.*std::get<std::optional<std::vector<int>> O::*>(option.overrides) = std::move(*value);
        break;
      }
      case T::flag:
        if (option.effect != nullptr) option.effect(o);
        break;
      case T::none:
      case T::count:
      case T::seed:  // not conf settings: the engine takes them
        break;
    }
  }
  o.thresholds = g.thresholds;
  return o;
}

std::vector<std::string_view> conf_keys(std::string_view section) {
  std::vector<std::string_view> keys;
  auto add = [&](std::string_view from) {
    for (const BenchOption& option : kOptions) {
      if (option.section == from) keys.push_back(option.key);
    }
  };
  if (section == "main") add("main");
  if (section == "bench") add("bench");
  if (section == "bench" || section == "ftest") add("page");
  return keys;
}

}  // namespace bm::conf
