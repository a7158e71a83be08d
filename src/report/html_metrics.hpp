#pragma once
// The numbers every report shows (HTML, diff, trend), computed once from the results
// model: rates over the logging window, percentiles from the exact histograms (never
// averaged), Apdex, per-cycle summaries and the "best cycle".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stats/results.hpp"

namespace bm::report {

// Options shared by the HTML, diff and trend reports.
struct ReportOptions {
  // Apdex threshold T in seconds; unset: the run's config.apdex_t_s. A different T is
  // recounted from the latency histograms (to their 0.1 % bucket resolution).
  std::optional<double> apdex_t_s;
  // The thresholds to judge the run by; unset: the run's own (results config.thresholds).
  std::optional<std::vector<std::string>> thresholds;
};

struct LatencySummary {
  uint64_t count = 0;
  int64_t min_us = 0;
  int64_t p50_us = 0;
  int64_t p90_us = 0;
  int64_t p95_us = 0;
  int64_t p99_us = 0;
  int64_t p999_us = 0;
  int64_t max_us = 0;
  double mean_us = 0;
};

// The schema's percentile rule (HdrHistogram's value_at_percentile) for p50..p99.9 in
// one pass over the non-zero buckets.
LatencySummary summarize_latency(const stats::Histogram& histogram);
LatencySummary summarize_latency(const stats::SparseHistogram& histogram);

// value_at_percentile of each of `percentiles` (ascending), in one pass over the
// buckets: 0 % is the min, 100 % the max, an empty histogram gives nothing.
std::vector<int64_t> percentile_values(const stats::Histogram& histogram, const std::vector<double>& percentiles);
std::vector<int64_t> percentile_values(const stats::SparseHistogram& histogram,
                                       const std::vector<double>& percentiles);

// The percentiles of a latency distribution chart (HdrHistogram's percentile plot):
// 0 % and then `per_decade` steps per decade of 1 / (1 - p), up to 99.999 % (five
// decades: 90, 99, 99.9, 99.99, 99.999 % fall on steps); rounded to 4 decimals so a
// reader can recompute every point. Ascending.
std::vector<double> distribution_percentiles(int per_decade);
// Where percentile p sits on the chart's x axis: 1 / (1 - p/100).
double distribution_x(double percentile);

// The Apdex counts for threshold t_us: the stored ones when t_us is the run's threshold,
// else satisfied/tolerating recounted from `stats.latency` (a bucket counts by its lowest
// value) with failures and errors frustrated, as the engine counts them.
stats::Apdex apdex_for(const stats::EntryStats& stats, int64_t run_t_us, int64_t t_us);

// "Excellent", "Good", "Fair", "Poor", "Unacceptable" for E, G, F, P, U.
std::string_view apdex_rating_name(char rating) noexcept;

struct MetricContext {
  int64_t run_apdex_t_us = 0;  // the threshold the results were recorded with
  int64_t apdex_t_us = 0;      // the one to report with
};
MetricContext metric_context(const stats::Results& results, const ReportOptions& options);

// Open model: the arrival rate a cycle asked for, iterations per second (from = to but
// for a ramp; merged files: the nodes' sum). Docs: docs/open-model.md.
struct AskedRate {
  double from = 0;
  double to = 0;
  // The mean over the window: what the starts due add up to, and what charts and the
  // knee compare cycles by.
  double mean() const noexcept { return (from + to) / 2; }
};
// The cycle's asked rate; unset for a closed-model cycle (users, no arrivals).
std::optional<AskedRate> asked_rate(const stats::CycleResults& cycle);
// True when the run asked for arrival rates (config.rates) or a cycle has arrivals.
bool open_model(const stats::Results& results);
// "400/s", or "50→200/s" for a ramp; a rate that is not whole keeps one decimal.
std::string format_asked_rate(const AskedRate& rate);
// What a cycle ran at: "400/s" (open model) or "50 users".
std::string cycle_load_text(int cvus, const std::optional<AskedRate>& rate);

// One line of a per-cycle table: one entry (or a sum of entries) in one cycle.
struct EntryRow {
  int cycle = 0;
  int cvus = 0;
  std::optional<AskedRate> rate;  // open-model cycles
  bool complete = true;
  double window_s = 0;
  uint64_t ok = 0;
  uint64_t failures = 0;
  uint64_t errors = 0;
  double ok_per_s = 0;                 // successful per second of the window
  std::optional<double> success_rate;  // ok / all; unset when there was nothing
  LatencySummary latency;              // successful items only; open model: from the intended start
  LatencySummary service;              // open model: service time of the successful items
  stats::Apdex apdex;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  // Tests only: pages and requests done by the successful tests.
  uint64_t pages = 0;
  uint64_t requests = 0;

  uint64_t total() const noexcept { return ok + failures + errors; }
  std::optional<double> apdex_score() const noexcept { return apdex.score(); }
};

EntryRow entry_row(const stats::CycleResults& cycle, const stats::EntryStats& stats, const MetricContext& context);

// All entries of a table added together (histograms merged bucket by bucket).
stats::EntryStats sum_entries(const stats::EntryTable& table);

struct CycleSummary {
  int index = 0;
  int cvus = 0;
  std::optional<AskedRate> rate;  // open-model cycles
  bool complete = true;
  double window_s = 0;
  EntryRow tests;     // every test function together
  EntryRow pages;     // every page together: the latency users see
  EntryRow requests;  // every request together
};

std::vector<CycleSummary> cycle_summaries(const stats::Results& results, const MetricContext& context);

// FunkLoad's best cycle: the highest successful pages/s × Apdex among cycles whose page
// Apdex is at least 0.85, otherwise the first cycle. Unset when there are no cycles.
std::optional<std::size_t> best_cycle(const std::vector<CycleSummary>& summaries);

// One page or request followed through the cycles (first-seen order across cycles).
struct EntryHistory {
  std::string key;
  std::string page;    // requests: the page the request belongs to
  std::string method;  // requests
  std::string url;     // requests: first URL seen
  stats::RequestKind kind = stats::RequestKind::main;
  std::vector<EntryRow> rows;  // one per cycle the entry appears in, in cycle order
};

enum class EntryTableKind { tests, pages, requests };
std::vector<EntryHistory> entry_histories(const stats::Results& results, EntryTableKind table,
                                          const MetricContext& context);

// True when the cycles' load rises strictly (users; open model: the mean asked rate):
// charts can put it on a numeric axis.
bool cycles_ascending(const stats::Results& results);

}  // namespace bm::report
