#include "report/run_settings.hpp"

#include <functional>

#include <fmt/format.h>

#include "common/format.hpp"

namespace bm::report {

namespace {

using common::format_seconds;

std::string seconds(double s) { return format_seconds(s) + " s"; }

std::string node_count(const stats::Results& r) {
  return r.merged() ? fmt::format("{} nodes", r.nodes.size()) : std::string("1 node");
}

struct Setting {
  const char* what;        // "Think time between pages"
  const char* consequence;  // why it matters; empty when obvious
  std::function<std::string(const stats::Results&)> value;
};

}  // namespace

std::vector<std::string> differing_settings(const std::vector<const stats::Results*>& runs,
                                            const std::vector<std::string>& names) {
  static const std::vector<Setting> kSettings{
      {"Think time between pages", "a user waits differently between requests, so each sends at another rate",
       [](const stats::Results& r) {
         return r.config.sleep_time_min_s == r.config.sleep_time_max_s
                    ? seconds(r.config.sleep_time_min_s)
                    : fmt::format("{} – {}", format_seconds(r.config.sleep_time_min_s), seconds(r.config.sleep_time_max_s));
       }},
      {"Pause between tests", "", [](const stats::Results& r) { return seconds(r.config.sleep_time_s); }},
      {"Start-up delay", "", [](const stats::Results& r) { return seconds(r.config.startup_delay_s); }},
      {"Pause between cycles", "", [](const stats::Results& r) { return seconds(r.config.cycle_time_s); }},
      {"Timeouts", "slow answers count as errors at another point",
       [](const stats::Results& r) {
         return fmt::format("connect {}, read {}", seconds(r.config.connect_timeout_s), seconds(r.config.read_timeout_s));
       }},
      {"Maximum redirects", "", [](const stats::Results& r) { return std::to_string(r.config.max_redirects); }},
      {"Success codes", "",
       [](const stats::Results& r) { return fmt::format("{}", fmt::join(r.config.ok_codes, ":")); }},
      {"Page resources", "pages cost a different number of requests",
       [](const stats::Results& r) { return std::string(r.config.fetch_resources ? "fetched" : "not fetched"); }},
      {"TLS certificates", "", [](const stats::Results& r) { return std::string(r.config.tls_verify ? "checked" : "not checked"); }},
      {"Conf file", "", [](const stats::Results& r) { return r.run.conf_file; }},
      {"Nodes", "the same users come from a different number of machines", node_count},
      {"Workers", "", [](const stats::Results& r) { return std::to_string(r.run.workers); }},
  };
  std::vector<std::string> warnings;
  if (runs.size() < 2) return warnings;
  for (const Setting& setting : kSettings) {
    std::vector<std::string> values;
    bool differ = false;
    for (const stats::Results* run : runs) {
      values.push_back(setting.value(*run));
      differ = differ || values.back() != values.front();
    }
    if (!differ) continue;
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < values.size(); ++i) {
      parts.push_back(fmt::format("{} {}", i < names.size() ? names[i] : std::to_string(i + 1), values[i]));
    }
    warnings.push_back(fmt::format("{} not the same: {}{}{}.", setting.what, fmt::join(parts, ", "),
                                   *setting.consequence ? "; " : "", setting.consequence));
  }
  return warnings;
}

}  // namespace bm::report
