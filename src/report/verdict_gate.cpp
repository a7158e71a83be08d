#include "report/verdict_gate.hpp"

#include <ostream>

#include <fmt/format.h>

#include "report/html_page.hpp"
#include "report/verdict.hpp"

namespace bm::report {

int conclude_run(const stats::Results& results, const VerdictOptions& options, const ReportOptions& report, int code,
                 std::ostream& out, std::string* error, std::string_view prefix) {
  const std::optional<std::vector<conf::Threshold>> thresholds =
      run_thresholds(results, report.thresholds ? &*report.thresholds : nullptr, error);
  if (!thresholds) return 2;
  const MetricContext context = metric_context(results, report);
  const Verdict verdict = judge_run(results, context, *thresholds);
  // With thresholds they decide between 0 and 4; a run stopped by one (--abort-on-fail)
  // is 4 although its missing cycles would make it partial.
  int final_code = code;
  if (!thresholds->empty()) {
    if (code == 0 || code == 1) final_code = verdict.passed ? 0 : kExitThresholdFailed;
    if (code == 3 && !results.run.stop_reason.empty()) final_code = kExitThresholdFailed;
  }
  out << prefix << verdict.headline << '\n';
  for (const std::string& line : verdict.lines) out << prefix << "  " << line << '\n';
  out << std::flush;
  std::string problem;
  if (!options.junit_file.empty() && !write_file_atomic(junit_xml(results, verdict), options.junit_file, &problem)) {
    *error = "--junit: " + problem;
    return 2;
  }
  if (!options.summary_file.empty() &&
      !write_file_atomic(summary_json(results, verdict, context, final_code), options.summary_file, &problem)) {
    *error = "--summary-json: " + problem;
    return 2;
  }
  return final_code;
}

}  // namespace bm::report
