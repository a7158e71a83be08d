#pragma once
// Whether a run held: its thresholds judged per cycle (or over the whole run) on the
// results, the knee where throughput stopped rising, the worst and the highest-load
// cycle; open-model runs are judged over their asked rates, and a cycle that missed
// starts is said so. Every report (text, HTML, console, JUnit, summary JSON) states the same verdict,
// computed here from the results file alone. docs/verdicts.md and docs/statistics.md.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conf/threshold.hpp"
#include "report/html_metrics.hpp"
#include "stats/results.hpp"

namespace bm::report {

// One threshold judged on one cycle, or on the whole run.
struct ThresholdResult {
  std::size_t threshold = 0;  // index into Verdict::thresholds
  std::optional<int> cycle;   // the cycle's index; unset: the whole run
  int cvus = 0;
  std::optional<AskedRate> rate;  // open-model cycles: what the cycle is named by
  std::optional<double> value;  // unset: nothing to measure (see note)
  bool judged = true;           // false: an incomplete cycle, left out of the verdict
  bool passed = false;
  std::string note;             // "no successful pages", "incomplete cycle", ...
};

// Why the cycle after the knee did not scale.
enum class KneeCause { none, throughput, latency, errors };

struct CycleHealth {
  int index = 0;
  int cvus = 0;                          // open model: the pool at its largest
  std::optional<AskedRate> rate;         // open model: the rate asked
  std::optional<stats::Arrivals> arrivals;  // open model: the starts due, begun, late, missed
  bool complete = true;
  double pages_per_s = 0;               // successful pages per second of the window
  int64_t page_p95_us = 0;              // 0: no successful page
  std::optional<double> pages_failed;   // share of pages not ok; unset: no page
  std::optional<double> tests_failed;   // share of tests not ok; unset: no test
  std::optional<double> apdex;          // pages' Apdex
  bool thresholds_met = true;           // every per-cycle threshold passed here

  // What the knee and capacity compare cycles by: the mean asked rate, else users.
  double load() const noexcept { return rate ? rate->mean() : static_cast<double>(cvus); }
  // "C4 · 60 users" or "C4 · 400/s".
  std::string label() const;
};

struct Verdict {
  std::vector<conf::Threshold> thresholds;
  std::vector<ThresholdResult> results;  // per threshold: its cycles in order, or one run row
  std::vector<CycleHealth> cycles;       // one per cycle of the results
  bool has_thresholds = false;
  bool passed = false;
  // The run stopped early because a threshold failed (--abort-on-fail).
  bool aborted = false;
  std::string headline;            // "PASSED: ..." or "FAILED: ..."
  std::vector<std::string> lines;  // what backs it: capacity or knee, worst cycle, success

  bool open_model = false;              // cycles asked for arrival rates (docs/open-model.md)
  std::optional<std::size_t> capacity;  // index into cycles: most users (highest rate) meeting every threshold
  std::optional<std::size_t> knee;      // index into cycles: the last that scaled
  KneeCause knee_cause = KneeCause::none;
  bool knee_searched = false;           // the cycles rise and at least two are complete
  std::optional<std::size_t> worst;     // highest page failure share, then highest p95
  std::optional<std::size_t> highest_load;
  std::optional<double> tests_success;  // over every cycle
  std::optional<double> pages_success;
  uint64_t tests = 0, tests_ok = 0, pages = 0, pages_ok = 0;

  std::size_t failed_thresholds() const;  // thresholds with at least one failed judged result
};

// Parses results.config.thresholds (or `override` when given). nullopt with one line in
// *error for an expression that does not parse.
std::optional<std::vector<conf::Threshold>> run_thresholds(const stats::Results& results,
                                                           const std::vector<std::string>* override,
                                                           std::string* error);

// Judges the run. `thresholds` empty: the verdict is whether every test succeeded (the
// exit code's rule) plus the knee.
Verdict judge_run(const stats::Results& results, const MetricContext& context,
                  const std::vector<conf::Threshold>& thresholds);

// Only the per-cycle thresholds on one cycle (an incomplete cycle is judged too): what
// --abort-on-fail checks as each cycle ends. Returns the failed ones' results.
std::vector<ThresholdResult> failed_cycle_thresholds(const stats::CycleResults& cycle, const MetricContext& context,
                                                     const std::vector<conf::Threshold>& thresholds);

// "p95 of pages < 300 ms: 412 ms in C4 · 60 users" (one result, for messages).
std::string describe_result(const Verdict& verdict, const ThresholdResult& result);
std::string describe_result(const conf::Threshold& threshold, const ThresholdResult& result);
// "C4 · 60 users"; an open-model cycle by its asked rate: "C4 · 400/s", "C4 · 50→200/s".
std::string cycle_label(int index, int cvus, const std::optional<AskedRate>& rate = std::nullopt);
std::string_view to_string(KneeCause cause) noexcept;

// Machine-readable forms for CI: a JUnit XML document (one test case per threshold and
// cycle; without thresholds one per cycle: "every test succeeded"), and a summary JSON
// document (docs/verdicts.md has both formats).
std::string junit_xml(const stats::Results& results, const Verdict& verdict);
std::string summary_json(const stats::Results& results, const Verdict& verdict, const MetricContext& context,
                         int exit_code);

}  // namespace bm::report
