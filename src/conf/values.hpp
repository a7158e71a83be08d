// Parsing of single conf values, shared by ConfFile's typed getters and by command-line
// options that take the same syntax (e.g. `-c 10:20:30`). Each returns nullopt when the
// text is not of the expected form; surrounding whitespace is allowed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bm::conf {

std::string_view trim(std::string_view text);
// Text quoted in a one-line message: line breaks (a conf's continuation lines) shown as
// "\n" and "\r".
std::string one_line(std::string_view text);

std::optional<long long> parse_int(std::string_view text);
// A finite decimal number ("1", "0.05", "+2.5", "1e3"); inf and nan are refused.
std::optional<double> parse_double(std::string_view text);
// 1/0, yes/no, true/false, on/off, in any case (ConfigParser.getboolean).
std::optional<bool> parse_bool(std::string_view text);
// Items separated by `separator`, each trimmed; "" gives an empty list.
std::vector<std::string> split_list(std::string_view text, char separator = ':');
// Names separated by spaces, tabs or commas ("web db", "eth0, eth1"); empty items dropped.
std::vector<std::string> split_names(std::string_view text);
// "10:20:30" -> {10, 20, 30}; every item a positive int.
std::optional<std::vector<int>> parse_cycles(std::string_view text);
// "200:301:302" -> {200, 301, 302}; every item an HTTP status code (100..599).
std::optional<std::vector<int>> parse_status_codes(std::string_view text);

// One open-model cycle's arrival rate in iterations per second: constant (from == to), or
// a linear ramp from `from` to `to` over the cycle ("100->400").
struct RateStep {
  double from = 0;
  double to = 0;
  bool operator==(const RateStep&) const = default;
};
// "100:200:400", "50->200:200" -> one step per cycle; every rate finite, > 0 (a ramp may
// start or end at 0) and at most 10,000,000/s. nullopt when malformed.
std::optional<std::vector<RateStep>> parse_rates(std::string_view text);
// "100:200", "50->200": the form parse_rates reads.
std::string format_rates(const std::vector<RateStep>& rates);
// "i/N" with 0 <= i < N: which share of the whole schedule a node takes (the master sets
// [bench] rate_part). nullopt when malformed.
std::optional<std::pair<int, int>> parse_part(std::string_view text);

}  // namespace bm::conf
