#pragma once
// The verdict options of bench-run, bench-master and bench-report: thresholds, the
// machine-readable outputs, and the exit code a threshold decides (docs/verdicts.md).
#include <CLI/CLI.hpp>

#include "report/verdict_gate.hpp"

namespace bm::app {

using report::kExitThresholdFailed;
using report::VerdictOptions;

// --threshold, --junit, --summary-json; with `run_options` also --abort-on-fail.
void add_verdict_options(CLI::App& app, VerdictOptions& options, bool run_options);

}  // namespace bm::app
