#pragma once
// The end of a run as CI sees it: the verdict printed, the JUnit and summary files
// written, and the exit code the thresholds decide (docs/verdicts.md).
#include <iosfwd>
#include <string>
#include <vector>

#include "report/html_metrics.hpp"
#include "stats/results.hpp"

namespace bm::report {

// A threshold failed (or, with thresholds, no cycle could be judged).
inline constexpr int kExitThresholdFailed = 4;

struct VerdictOptions {
  std::vector<std::string> thresholds;  // --threshold (added to the conf's [thresholds])
  bool abort_on_fail = false;
  std::string junit_file;
  std::string summary_file;
};

// Judges `results` by its thresholds (or report.thresholds when set), prints the verdict
// to `out` (each line after `prefix`), writes the JUnit and summary files asked for, and
// returns the exit code: with thresholds, 0 or 1 becomes 0 (passed) or
// kExitThresholdFailed, and so does 3 (partial) when a threshold stopped the run; any
// other `code` stays. A file that cannot be written: one line in *error and 2.
int conclude_run(const stats::Results& results, const VerdictOptions& options, const ReportOptions& report, int code,
                 std::ostream& out, std::string* error, std::string_view prefix = {});

}  // namespace bm::report
