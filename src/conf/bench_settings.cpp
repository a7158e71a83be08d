#include "conf/bench_settings.hpp"
#include "conf/threshold.hpp"

#include "common/location.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <string_view>
#include <tuple>

#include <fmt/format.h>

#include "conf/bench_options.hpp"
#include "conf/values.hpp"

namespace bm::conf {

const std::string kDefaultUserAgent = "benchmaster/" BM_VERSION;

namespace {

constexpr int kMaxRedirectsLimit = 100;

// FunkLoad's logging and result keys: accepted, unused (results go where the CLI says).
constexpr std::array kIgnoredFunkLoadKeys{"log_to", "log_path", "result_path"};
// The sections benchmaster reads; a section one typo away from one of them warns.
constexpr std::array kReadSections{"main", "bench", "ftest", "thresholds"};

// Where a value came from, as messages name it: "Simple.conf:16" + "[bench] duration",
// or "command line" + "duration".
struct Origin {
  std::string where;
  std::string what;
};

std::string number(double value) { return fmt::format("{}", value); }

bool is_http_url(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.size() > scheme.size() && std::equal(scheme.begin(), scheme.end(), url.begin(),
                                                 [](char a, char b) {
                                                   return a == std::tolower(
                                                                   static_cast<unsigned char>(b));
                                                 })) {
      const char first_host_char = url[scheme.size()];
      return first_host_char != '/' && url.find_first_of(" \t\r\n") == std::string_view::npos;
    }
  }
  return false;
}

// Applies command line > conf > default to each setting and checks its range; the first
// problem found becomes the one error line.
class Resolver {
 public:
  Resolver(const ConfFile& conf, std::string* error) : conf_(conf), error_(error) {}

  bool failed() const { return failed_; }

  // Takes the override, else the conf value, else leaves `field` at its default.
  template <typename T, typename Read>
  Origin take(T& field, const std::optional<T>& override, std::string_view section,
              std::string_view key, Read read) {
    if (failed_) return {};
    if (override) {
      field = *override;
      return Origin{"command line", std::string(key)};
    }
    if (!conf_.has_key(section, key)) return Origin{"default", std::string(key)};
    std::string problem;
    std::optional<T> value = read(section, key, &problem);
    if (!value) {
      fail(problem);
      return {};
    }
    field = *value;
    return Origin{conf_.location_of(section, key), fmt::format("[{}] {}", section, key)};
  }

  Origin take_seconds(double& field, const std::optional<double>& override,
                      std::string_view section, std::string_view key) {
    return take(field, override, section, key,
                [&](auto s, auto k, std::string* e) { return conf_.get_double(s, k, e); });
  }

  Origin take_string(std::string& field, const std::optional<std::string>& override,
                     std::string_view section, std::string_view key) {
    return take(field, override, section, key,
                [&](auto s, auto k, std::string* e) { return conf_.get(s, k, e); });
  }

  Origin take_status_codes(std::vector<int>& field,
                           const std::optional<std::vector<int>>& override,
                           std::string_view section, std::string_view key) {
    return take(field, override, section, key,
                [&](auto s, auto k, std::string* e) -> std::optional<std::vector<int>> {
                  std::optional<std::string> text = conf_.get(s, k, e);
                  if (!text) return std::nullopt;
                  std::optional<std::vector<int>> codes = parse_status_codes(*text);
                  if (!codes) {
                    *e = conf_.value_error(
                        s, k, *text, "a list of HTTP status codes (100-599) separated by ':'");
                  }
                  return codes;
                });
  }

  // Records "<where>: <what>: <problem>" unless `ok`.
  void require(bool ok, const Origin& origin, std::string_view problem) {
    if (!ok && !failed_) fail(fmt::format("{}: {}: {}", origin.where, origin.what, problem));
  }

  // A value quoted in the message may hold line breaks (a conf's continuation lines):
  // the message stays one line.
  void fail(std::string message) {
    failed_ = true;
    if (error_ == nullptr) return;
    *error_ = one_line(message);
  }

  Origin positive_seconds(double& field, const std::optional<double>& override,
                          std::string_view section, std::string_view key) {
    const Origin origin = take_seconds(field, override, section, key);
    require(std::isfinite(field) && field > 0, origin,
            fmt::format("must be greater than 0 (got {})", number(field)));
    return origin;
  }

  Origin non_negative_seconds(double& field, const std::optional<double>& override,
                              std::string_view section, std::string_view key) {
    const Origin origin = take_seconds(field, override, section, key);
    require(std::isfinite(field) && field >= 0, origin,
            fmt::format("must be 0 or more (got {})", number(field)));
    return origin;
  }

 private:
  const ConfFile& conf_;
  std::string* error_;
  bool failed_ = false;
};

void resolve_main(Resolver& r, const Overrides& o, BenchSettings& s) {
  const Origin url = r.take_string(s.url, o.url, "main", "url");
  r.require(s.url.empty() || is_http_url(s.url), url,
            fmt::format("'{}' is not an http:// or https:// URL", s.url));
  r.take_string(s.title, o.title, "main", "title");
  r.take_string(s.description, o.description, "main", "description");
  const Origin agent = r.take_string(s.user_agent, o.user_agent, "main", "user_agent");
  r.require(s.user_agent.find_first_of("\r\n") == std::string::npos, agent,
            "must be a single line");
}

// The open model's keys. -c on the command line means users, so it puts aside the conf's
// rates; -r and -c together are a contradiction.
void resolve_open_model(Resolver& r, const Overrides& o, BenchSettings& s) {
  if (o.cycles && o.rates) {
    r.fail("command line: -c/--cycles and -r/--rates: give one (virtual users or arrival rates per cycle)");
    return;
  }
  std::string rates;
  if (!o.cycles) {
    const Origin origin = r.take_string(rates, o.rates, "bench", "rates");
    if (!rates.empty() || origin.where != "default") {
      std::optional<std::vector<RateStep>> parsed = parse_rates(rates);
      r.require(parsed.has_value(), origin,
                fmt::format("'{}' is not a list of arrival rates per second separated by ':' (e.g. 100:200, or "
                            "50->200 for a ramp)", rates));
      if (parsed) s.rates = std::move(*parsed);
    }
  }
  std::string max_users;
  const Origin users = r.take_string(max_users, o.max_users, "bench", "max_users");
  if (!max_users.empty()) {
    std::optional<long long> n = parse_int(max_users);
    r.require(n && *n >= 1 && *n <= 1'000'000, users,
              fmt::format("must be a whole number from 1 to 1000000 (got '{}')", max_users));
    if (n && *n >= 1 && *n <= 1'000'000) s.max_users = static_cast<int>(*n);
  }
  std::string arrivals;
  const Origin spacing = r.take_string(arrivals, o.arrivals, "bench", "arrivals");
  r.require(arrivals.empty() || arrivals == "constant" || arrivals == "poisson", spacing,
            fmt::format("must be constant or poisson (got '{}')", arrivals));
  s.poisson_arrivals = arrivals == "poisson";
  std::string part;
  const Origin part_origin = r.take_string(part, std::optional<std::string>{}, "bench", "rate_part");
  if (!part.empty()) {
    std::optional<std::pair<int, int>> parsed = parse_part(part);
    r.require(parsed.has_value(), part_origin, fmt::format("must be i/N with 0 <= i < N (got '{}')", part));
    if (parsed) std::tie(s.rate_part_index, s.rate_part_count) = *parsed;
  }
  if (s.open_model()) s.cycles.assign(s.rates.size(), s.max_users);
}

void resolve_bench(Resolver& r, const ConfFile& conf, const Overrides& o, BenchSettings& s) {
  const Origin cycles = r.take(s.cycles, o.cycles, "bench", "cycles",
                               [&](auto sec, auto k, std::string* e) {
                                 return conf.get_cycles(sec, k, e);
                               });
  r.require(!s.cycles.empty() &&
                std::all_of(s.cycles.begin(), s.cycles.end(), [](int n) { return n > 0; }),
            cycles, "must be a list of positive integers");
  resolve_open_model(r, o, s);
  r.positive_seconds(s.duration_s, o.duration_s, "bench", "duration");
  r.non_negative_seconds(s.startup_delay_s, o.startup_delay_s, "bench", "startup_delay");
  r.non_negative_seconds(s.sleep_time_s, o.sleep_time_s, "bench", "sleep_time");
  r.non_negative_seconds(s.cycle_time_s, o.cycle_time_s, "bench", "cycle_time");
  r.positive_seconds(s.apdex_t_s, o.apdex_t_s, "bench", "apdex_t");
}

void resolve_page(Resolver& r, const ConfFile& conf, const Overrides& o, const char* section,
                  BenchSettings& s) {
  const Origin min =
      r.non_negative_seconds(s.sleep_time_min_s, o.sleep_time_min_s, section, "sleep_time_min");
  const Origin max =
      r.non_negative_seconds(s.sleep_time_max_s, o.sleep_time_max_s, section, "sleep_time_max");
  const Origin& blamed = min.where != "default" ? min : max;
  r.require(s.sleep_time_min_s <= s.sleep_time_max_s, Origin{blamed.where, min.what},
            fmt::format("{} is greater than {} ({})", number(s.sleep_time_min_s), max.what,
                        number(s.sleep_time_max_s)));

  const Origin codes = r.take_status_codes(s.ok_codes, o.ok_codes, section, "ok_codes");
  r.require(!s.ok_codes.empty() && std::all_of(s.ok_codes.begin(), s.ok_codes.end(),
                                               [](int c) { return c >= 100 && c <= 599; }),
            codes, "must be a list of HTTP status codes (100-599)");

  std::optional<bool> simple_fetch;
  if (o.fetch_resources) simple_fetch = !*o.fetch_resources;
  bool simple = !s.fetch_resources;
  r.take(simple, simple_fetch, section, "simple_fetch",
         [&](auto sec, auto k, std::string* e) { return conf.get_bool(sec, k, e); });
  s.fetch_resources = !simple;

  r.positive_seconds(s.connect_timeout_s, o.connect_timeout_s, section, "connect_timeout");
  r.positive_seconds(s.read_timeout_s, o.read_timeout_s, section, "read_timeout");
  r.non_negative_seconds(s.lua_time_limit_s, o.lua_time_limit_s, section, "lua_time_limit");
  long long redirects = s.max_redirects;
  std::optional<long long> redirects_override;
  if (o.max_redirects) redirects_override = *o.max_redirects;
  const Origin redirect_origin =
      r.take(redirects, redirects_override, section, "max_redirects",
             [&](auto sec, auto k, std::string* e) { return conf.get_int(sec, k, e); });
  r.require(redirects >= 0 && redirects <= kMaxRedirectsLimit, redirect_origin,
            fmt::format("must be between 0 and {} (got {})", kMaxRedirectsLimit, redirects));
  s.max_redirects = static_cast<int>(std::clamp<long long>(redirects, 0, kMaxRedirectsLimit));

  r.take(s.tls_verify, o.tls_verify, section, "tls_verify",
         [&](auto sec, auto k, std::string* e) { return conf.get_bool(sec, k, e); });
  r.take_string(s.tls_ca_file, o.tls_ca_file, section, "tls_ca_file");
  if (!s.tls_ca_file.empty()) s.tls_verify = true;
}

// [thresholds]: every key names one gate (the key is the user's label), then the
// command line's. Each is parsed here so a typo is a file:line error before the run.
bool resolve_thresholds(const ConfFile& conf, const Overrides& o, BenchSettings& s, std::string* error) {
  for (const std::string& key : conf.keys("thresholds")) {
    std::optional<std::string> text = conf.get("thresholds", key, error);
    if (!text) return false;
    std::string problem;
    if (!parse_threshold(*text, &problem)) {
      *error = fmt::format("{}: [thresholds] {}: {}", conf.location_of("thresholds", key), key, problem);
      return false;
    }
    s.thresholds.push_back(*text);
  }
  for (const std::string& text : o.thresholds) {
    std::string problem;
    if (!parse_threshold(text, &problem)) {
      *error = fmt::format("--threshold: {}", problem);
      return false;
    }
    s.thresholds.push_back(text);
  }
  return true;
}

template <std::size_t N>
bool contains(const std::array<const char*, N>& keys, std::string_view key) {
  return std::any_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; });
}

// Edit distance counting a swap of two neighbouring letters as one edit, as a typo is
// (optimal string alignment), for "did you mean" on misspelt keys and sections.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The keys benchmaster reads in `section` (the options table's), so the others warn.
std::vector<std::string_view> known_keys(std::string_view section) { return conf_keys(section); }

std::string unknown_key_warning(const ConfFile& conf, std::string_view section,
                                std::string_view key, const std::vector<std::string_view>& known) {
  const std::string where = conf.location_of(section, key);
  if (section != "main" && contains(kIgnoredFunkLoadKeys, key)) {
    return fmt::format("{}: [{}] {}: FunkLoad key not used by benchmaster (ignored)", where,
                       section, key);
  }
  auto closest = std::min_element(known.begin(), known.end(), [&](auto a, auto b) {
    return edit_distance(key, a) < edit_distance(key, b);
  });
  if (closest != known.end() && edit_distance(key, *closest) <= 2) {
    return fmt::format("{}: [{}] unknown key '{}' (ignored; did you mean '{}'?)", where, section,
                       key, *closest);
  }
  return fmt::format("{}: [{}] unknown key '{}' (ignored)", where, section, key);
}

void add_unknown_key_warnings(const ConfFile& conf, std::string_view section, std::vector<std::string>& warnings) {
  const std::vector<std::string_view> known = known_keys(section);
  for (const std::string& key : conf.keys(section)) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      warnings.push_back(unknown_key_warning(conf, section, key, known));
    }
  }
}

// Sections that FunkLoad names in a list: [monitor] hosts and [workers] hosts each name
// a section of their own (a host called "bench1" is not a misspelt [bench]).
std::vector<std::string> listed_sections(const ConfFile& conf) {
  std::vector<std::string> names;
  for (const char* section : {"monitor", "workers"}) {
    std::optional<std::string> hosts = conf.get(section, "hosts");
    if (!hosts) continue;
    for (std::string& name : split_names(*hosts)) names.push_back(std::move(name));
  }
  return names;
}

// The section benchmaster reads that `section` is a typo of (one edit, or another case),
// or "" when it is none: every other section is free for tests to read with conf_get.
std::string_view misspelt_section(std::string_view section) {
  if (contains(kReadSections, section)) return {};
  const std::string name = lower(section);
  for (std::string_view known : kReadSections) {
    if (edit_distance(name, known) <= 1) return known;
  }
  return {};
}

}  // namespace

const char* page_section(Mode mode) { return mode == Mode::test ? "ftest" : "bench"; }

std::vector<std::string> unknown_key_warnings(const ConfFile& conf) {
  std::vector<std::string> warnings;
  for (const std::string& section : conf.sections()) {
    // Other sections are free for tests and monitors.
    if (!known_keys(section).empty()) add_unknown_key_warnings(conf, section, warnings);
  }
  return warnings;
}

std::vector<std::string> conf_warnings(const ConfFile& conf) {
  std::vector<std::string> warnings;
  const std::vector<std::string> listed = listed_sections(conf);
  for (const std::string& section : conf.sections()) {
    if (!known_keys(section).empty()) {
      add_unknown_key_warnings(conf, section, warnings);
      continue;
    }
    const std::string_view meant = misspelt_section(section);
    if (meant.empty() || std::find(listed.begin(), listed.end(), section) != listed.end()) continue;
    warnings.push_back(common::located(
        conf.source(), conf.section_line(section),
        fmt::format("unknown section [{}] (not read by benchmaster; did you mean [{}]?)", section, meant)));
  }
  return warnings;
}

std::optional<BenchSettings> resolve_bench_settings(const ConfFile& conf,
                                                    const Overrides& overrides, Mode mode,
                                                    std::string* error,
                                                    std::vector<std::string>* warnings) {
  BenchSettings settings;
  settings.title = std::filesystem::path(conf.source()).stem().string();
  settings.user_agent = kDefaultUserAgent;

  Resolver resolver(conf, error);
  resolve_main(resolver, overrides, settings);
  resolve_bench(resolver, conf, overrides, settings);
  resolve_page(resolver, conf, overrides, page_section(mode), settings);
  if (resolver.failed()) return std::nullopt;
  std::string threshold_error;
  if (!resolve_thresholds(conf, overrides, settings, &threshold_error)) {
    if (error != nullptr) *error = threshold_error;
    return std::nullopt;
  }
  if (warnings != nullptr) *warnings = conf_warnings(conf);
  return settings;
}

}  // namespace bm::conf
