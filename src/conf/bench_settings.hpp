// The settings of a test or bench run, resolved from the command line, the .conf file
// and built-in defaults, in that order of precedence. docs/conf.md lists every key.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "conf/conf_file.hpp"
#include "conf/values.hpp"

namespace bm::conf {

struct BenchSettings {
  // [bench]
  std::vector<int> cycles{1};    // concurrent virtual users per cycle (open model: max_users each)
  // Open model (docs/open-model.md): each cycle starts test iterations at this rate, from
  // a pool of at most max_users virtual users. Empty: the closed model (cycles of users).
  std::vector<RateStep> rates;
  int max_users = 1000;
  bool poisson_arrivals = false;  // [bench] arrivals = poisson; else constant spacing
  // [bench] rate_part = i/N: this node starts the schedule's starts k with k mod N == i
  // (bench-master sets it; a single node has 0/1, the whole schedule).
  int rate_part_index = 0;
  int rate_part_count = 1;
  double duration_s = 60;        // recording window of each cycle
  double startup_delay_s = 0;    // between two virtual user starts
  double sleep_time_s = 0;       // between two tests of one virtual user
  double cycle_time_s = 0;       // pause after a cycle
  double apdex_t_s = 1.5;
  // [bench] in bench mode, [ftest] in test mode
  double sleep_time_min_s = 0;   // random pause after each page, in [min, max]
  double sleep_time_max_s = 0;
  double connect_timeout_s = 10;
  double read_timeout_s = 30;
  std::vector<int> ok_codes{200, 301, 302, 303, 307, 308};
  bool fetch_resources = true;   // false when simple_fetch = 1
  int max_redirects = 10;
  // A test that runs this long without waiting (for a request or a sleep) is ended as a
  // script error: it holds its worker's thread, and with it every other user. 0: never.
  double lua_time_limit_s = 10;
  // HTTPS: check the server's certificate chain and name. Off by default (test servers
  // often have self-made certificates); a CA file implies it.
  bool tls_verify = false;
  std::string tls_ca_file;       // PEM file of trusted CAs; empty: the system's store
  // [main]
  std::string url;
  std::string title;             // default: the conf file's name without ".conf"
  std::string description;
  std::string user_agent;        // default: kDefaultUserAgent
  // [thresholds] (every key's value, in file order), then each --threshold: the gates the
  // run is judged by (conf/threshold.hpp, docs/verdicts.md). Checked when resolved.
  std::vector<std::string> thresholds;

  bool open_model() const { return !rates.empty(); }
  bool operator==(const BenchSettings&) const = default;
};

// Values given on the command line; each one set wins over the conf file.
struct Overrides {
  std::optional<std::vector<int>> cycles;
  std::optional<std::string> rates, max_users, arrivals;  // checked when resolved
  std::optional<double> duration_s, startup_delay_s, sleep_time_s, cycle_time_s, apdex_t_s;
  std::optional<double> sleep_time_min_s, sleep_time_max_s, connect_timeout_s, read_timeout_s, lua_time_limit_s;
  std::optional<std::vector<int>> ok_codes;
  std::optional<bool> fetch_resources;
  std::optional<int> max_redirects;
  std::optional<bool> tls_verify;
  std::optional<std::string> tls_ca_file;
  std::optional<std::string> url, title, description, user_agent;
  std::vector<std::string> thresholds;  // added after the conf's [thresholds]
};

// Which section holds the per-page settings (sleeps, ok_codes, simple_fetch, timeouts,
// redirects): [ftest] for a single functional run, [bench] for a bench.
enum class Mode { test, bench };

extern const std::string kDefaultUserAgent;  // "benchmaster/<version>"

// The conf file section the per-page settings are read from in `mode`.
const char* page_section(Mode mode);

// Resolves every setting: command line > conf > default, then checks ranges.
// Returns nullopt with one line in *error ("Simple.conf:14: [bench] ..." or
// "command line: ...") for a malformed or out-of-range value. *warnings gets
// conf_warnings(conf).
std::optional<BenchSettings> resolve_bench_settings(const ConfFile& conf,
                                                    const Overrides& overrides, Mode mode,
                                                    std::string* error,
                                                    std::vector<std::string>* warnings = nullptr);

// Only the warnings about keys of [main], [bench] and [ftest] that benchmaster does not
// read, in file order.
std::vector<std::string> unknown_key_warnings(const ConfFile& conf);

// Every warning about the conf's names, in file order: the keys above, and sections one
// typo from [main], [bench] or [ftest] ("[bnech]", "[Main]": one letter missing, extra,
// wrong or swapped with its neighbour, or another case), unless [monitor] hosts or
// [workers] hosts names them. Other sections are free: tests read them with conf_get.
std::vector<std::string> conf_warnings(const ConfFile& conf);

}  // namespace bm::conf
