#pragma once
// A pass/fail threshold as the user writes it, in the conf's [thresholds] section or with
// --threshold: `METRIC[{SELECTORS}] OP VALUE`, e.g. `p95 < 300ms`, `errors < 0.5%`,
// `tests_failed{run} < 1%`, `p99.9{page=login} <= 1s`, `rps > 2000`,
// `p99{pages,service} < 200ms`, `missed < 1%`. docs/verdicts.md
// has the grammar; src/report/verdict.* evaluates it on a results file.

#include <optional>
#include <string>
#include <string_view>

namespace bm::conf {

enum class ThresholdMetric {
  percentile,  // pNN of successful items' latency
  mean,
  min,
  max,
  apdex,       // score 0..1 at the run's Apdex T
  failed,      // failed or errored items / all items
  rate,        // successful items per second of the logging window
  missed,      // open model: starts due in the window that never began / starts due
  late,        // open model: starts that waited for a free virtual user / starts due
};

// Which table of the results the metric reads.
enum class ThresholdTable { tests, pages, requests };

enum class ThresholdOp { less, less_equal, greater, greater_equal };

struct Threshold {
  std::string text;  // the expression as written, trimmed
  ThresholdMetric metric = ThresholdMetric::percentile;
  double percentile = 0;  // metric == percentile: 0 < p <= 100
  ThresholdTable table = ThresholdTable::pages;
  std::string entry;      // one test, page or request by its key; empty: the whole table
  bool over_run = false;  // judged once on every cycle's items together, not per cycle
  // Latency metrics: the service time (open model; a closed-model cycle has only one
  // time, its latency, which is then read instead).
  bool service = false;
  ThresholdOp op = ThresholdOp::less;
  // Latencies in µs, `failed`, `missed` and `late` as a fraction, `rate` per second,
  // `apdex` a score.
  double limit = 0;

  // True when `value` meets the threshold.
  bool holds(double value) const noexcept;
  // "p95 of pages", "p99 of pages' service time", "failed tests", "missed starts".
  std::string describe() const;
  // The value in the metric's unit: "312.4 ms", "0.52 %", "2,034.1 /s", "0.912".
  std::string format_value(double value) const;

  friend bool operator==(const Threshold&, const Threshold&) = default;
};

// nullopt with one line in *error that says what is wrong and what is expected.
std::optional<Threshold> parse_threshold(std::string_view text, std::string* error);

std::string_view to_string(ThresholdOp op) noexcept;
std::string_view to_string(ThresholdTable table) noexcept;

}  // namespace bm::conf
