#pragma once
// Many runs of the same test over time (`bench-report --trend R1 R2 ...`): for each
// cycle's number of users (open-model runs: each rate asked), throughput and p95 of every
// run, ordered by start time.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "report/html_metrics.hpp"
#include "stats/results.hpp"

namespace bm::report {

struct TrendRun {
  std::string name;  // what the user called it (a path)
  std::string label;
  std::string test;
  int64_t start_epoch_us = 0;
  stats::RunStatus status = stats::RunStatus::complete;
  std::vector<CycleSummary> cycles;
  // The busy CPU share over each cycle's window of every host all runs monitored (by
  // TrendReport::hosts' order), aligned with `cycles`.
  std::vector<std::vector<std::optional<double>>> host_cpu;

  // A closed-model cycle of these users; an open-model cycle at this asked rate.
  const CycleSummary* cycle_with_users(int users) const;
  const CycleSummary* cycle_with_rate(const AskedRate& rate) const;
};

struct TrendReport {
  std::vector<TrendRun> runs;         // by start time
  std::vector<int> users;             // every closed-model cycle's users seen, ascending
  std::vector<AskedRate> rates;       // every open-model cycle's asked rate, ascending (by mean)
  std::vector<std::string> hosts;     // monitored hosts every run has (by name)
  std::vector<std::string> warnings;  // runs of different tests, cycle durations, ...
};

struct NamedResults {
  std::string name;
  const stats::Results* results = nullptr;
};

TrendReport compute_trend(const std::vector<NamedResults>& runs, const ReportOptions& options = {});

void render_trend_text(const TrendReport& trend, std::ostream& out, int width);
std::string render_trend_html(const TrendReport& trend);
// Writes <out_dir>/index.html atomically.
bool build_trend_html_report(const TrendReport& trend, const std::filesystem::path& out_dir, std::string* error,
                             std::filesystem::path* written);

}  // namespace bm::report
