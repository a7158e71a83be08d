#pragma once
// Internal to the HTML run report: the sections, each appending to the document, and
// what they share.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report/html_metrics.hpp"
#include "report/html_page.hpp"
#include "report/verdict.hpp"
#include "stats/results.hpp"

namespace bm::report::html {

struct Context {
  const stats::Results& results;
  MetricContext metrics;
  std::vector<CycleSummary> summaries;
  std::optional<std::size_t> best;  // index into summaries
  Verdict verdict;                  // the run's verdict and thresholds (verdict.hpp)
  std::string threshold_error;      // the run's thresholds could not be read
  bool ascending = true;            // cycles' users (open model: asked rates) rise: numeric axis
  ChartRegistry charts;
  bool open = false;                // arrival-rate cycles (docs/open-model.md)
};

// Sections of the page, in order.
void header_section(std::string& out, const Context& context);
void identity_section(std::string& out, const Context& context);
void verdict_section(std::string& out, const Context& context);
void summary_section(std::string& out, Context& context);
void timeline_section(std::string& out, Context& context);
void tests_section(std::string& out, Context& context);
void pages_section(std::string& out, Context& context);
void errors_section(std::string& out, const Context& context);
void nodes_section(std::string& out, const Context& context);
bool has_monitor_samples(const stats::Results& results);
void monitor_section(std::string& out, Context& context);
void definitions_section(std::string& out, const Context& context);

// ---- Shared pieces -----------------------------------------------------------------

// The x axis of a chart against concurrency for these rows: users when the cycles rise,
// else one category per cycle ("C3 · 20 users"); open model: the asked rate the same way.
void concurrency_axis(const Context& context, const std::vector<EntryRow>& rows, ChartSpec& spec);
// "concurrency", or "the asked rate" in open-model runs: what charts' captions say they are against.
std::string_view load_axis_name(const Context& context);
// A cycle's load in a table cell: its users, or (open model) the asked rate, "400/s".
std::string load_value(int cvus, const std::optional<AskedRate>& rate);
// Open model: the header group and cells of the service-time percentiles (p50, p95, p99
// in ms) shown next to the times from the intended start.
void service_cells(std::string& out, const LatencySummary& service);

// Per-cycle table of one entry (or sum of entries): users, rate, counts, latency, Apdex.
// `id` (a literal or generated name) becomes the table's id when not empty.
// `per_test` (the tests' tables) adds pages and requests per successful test.
void entry_table(std::string& out, const std::vector<EntryRow>& rows, std::string_view rate_label,
                 std::string_view id = {}, bool per_test = false);
// The eight latency cells of a row (Min, Mean, p50, p90, p95, p99, p99.9, Max) in ms;
// "–" when nothing succeeded.
void latency_cells(std::string& out, const LatencySummary& latency);
// Throughput and response-time charts of the same rows (drawn by report.js's "rate" and
// "times" views from one set of columns).
void entry_charts(std::string& out, Context& context, const std::vector<EntryRow>& rows, std::string_view noun);

// One cycle's latency histogram for a distribution chart.
struct CycleLatency {
  const stats::CycleResults* cycle = nullptr;
  const stats::Histogram* latency = nullptr;
};
// Points per decade of 1/(1-p) of the distribution charts: the summary's (101 points
// from 0 to 99.999 %) and each page's (51 points: every page of every cycle pays them).
inline constexpr int kSummaryCurveSteps = 20;
inline constexpr int kPageCurveSteps = 10;
// The percentile curve of each cycle (HdrHistogram's percentile plot): x the percentile
// on a log scale of 1/(1-p), y the time in ms on a log scale; one line per cycle, styled
// by the cycle's number so a cycle looks the same in every such chart.
ChartSpec distribution_chart(const std::vector<CycleLatency>& cycles, int per_decade);

// <td> with the Apdex score and its colour-coded rating letter.
void apdex_cell(std::string& out, std::optional<double> score);
// "C3" and an "incomplete" mark for a cycle.
void cycle_cell(std::string& out, int index, bool complete, bool best);
// Cycle windows as shaded bands on a time axis.
std::vector<ChartBand> cycle_bands(const stats::Results& results);

}  // namespace bm::report::html
