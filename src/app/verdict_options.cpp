#include "app/verdict_options.hpp"

namespace bm::app {

void add_verdict_options(CLI::App& app, VerdictOptions& options, bool run_options) {
  app.add_option("--threshold", options.thresholds,
                 "a pass/fail threshold, e.g. 'p95 < 300ms', 'errors < 0.5%', 'tests_failed{run} < 1%', 'rps > 2000' "
                 "(repeat it; added to the conf's [thresholds]; exit code 4 when one fails)")
      ->group("Verdict");
  if (run_options) {
    app.add_flag("--abort-on-fail", options.abort_on_fail,
                 "stop after the first cycle in which a per-cycle threshold failed (the run can no longer pass)")
        ->group("Verdict");
  }
  app.add_option("--junit", options.junit_file, "write the verdict as JUnit XML: one test case per threshold and cycle")
      ->group("Verdict");
  app.add_option("--summary-json", options.summary_file, "write the verdict and each cycle's key figures as JSON")
      ->group("Verdict");
}

}  // namespace bm::app
