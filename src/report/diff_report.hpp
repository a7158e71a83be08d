#pragma once
// Two runs side by side (`bench-report --diff A B`): per cycle and per page, the change
// in throughput and in each percentile, absolute and relative, judged better or worse
// (higher throughput, success and Apdex are better; lower times are better), with
// warnings when the runs are not comparable (cycles, duration, test).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "report/html_metrics.hpp"
#include "stats/results.hpp"

namespace bm::report {

enum class Preference { higher_is_better, lower_is_better };
enum class Change { better, worse, same, unknown };
std::string_view to_string(Change change) noexcept;

struct DiffOptions {
  ReportOptions report;
  // A relative change smaller than this (either way) counts as "same": run-to-run noise.
  double same_within = 0.02;
};

struct MetricDiff {
  std::string name;       // "Pages/s", "p95", "db CPU", ...
  std::string_view unit;  // "/s", "ms", "%", ""
  Preference preference = Preference::lower_is_better;
  std::optional<double> a;  // in the unit (ms for times, fraction for success)
  std::optional<double> b;
  std::optional<double> delta;     // b - a
  std::optional<double> relative;  // (b - a) / a; unset when a is 0 or missing
  Change change = Change::unknown;
};

// Judges b against a; `same_within` as in DiffOptions.
MetricDiff compare(std::string_view name, std::string_view unit, Preference preference, std::optional<double> a,
                   std::optional<double> b, double same_within);

// A value of the metric as the reports print it ("12.3" for ms, "99.50 %", "0.942"), and
// the change b - a ("+1.25" ms, "-0.40 pt" for success, "+0.012" Apdex).
std::string format_metric_value(const MetricDiff& metric, std::optional<double> value);
std::string format_metric_delta(const MetricDiff& metric);

// One cycle (or one cycle of one page) of both runs, joined on the number of users
// (open-model runs: on the rate asked).
struct DiffRow {
  int users = 0;
  std::optional<AskedRate> rate;  // open-model runs: what the cycles are joined and named by
  // "20" (users) or "400/s", as the tables show the row.
  std::string load() const;
  // Where the row sits on a chart's x axis: users, or the mean asked rate.
  double load_value() const noexcept { return rate ? rate->mean() : static_cast<double>(users); }
  std::optional<int> cycle_a;  // cycle index in each run; unset: that run has no such cycle
  std::optional<int> cycle_b;
  std::vector<MetricDiff> metrics;
};

struct DiffPage {
  std::string key;
  bool in_a = false;
  bool in_b = false;
  std::vector<DiffRow> rows;
};

struct DiffRun {
  std::string name;  // what the user called it (a path), for headings
  const stats::Results* results = nullptr;
};

struct DiffReport {
  DiffRun a;
  DiffRun b;
  double same_within = 0.02;
  std::vector<std::string> warnings;  // the runs are not comparable in these ways
  std::vector<std::string> notes;     // differences worth knowing (server, nodes, Apdex T)
  std::vector<DiffRow> cycles;        // the summary of every page together, per cycle
  std::vector<DiffPage> pages;        // in A's order, then pages only B has
};

// Both Results must outlive the report (it points at them for identity).
DiffReport compute_diff(const stats::Results& a, std::string name_a, const stats::Results& b, std::string name_b,
                        const DiffOptions& options = {});

void render_diff_text(const DiffReport& diff, std::ostream& out, int width);
std::string render_diff_html(const DiffReport& diff);
// Writes <out_dir>/index.html atomically.
bool build_diff_html_report(const DiffReport& diff, const std::filesystem::path& out_dir, std::string* error,
                            std::filesystem::path* written);

}  // namespace bm::report
