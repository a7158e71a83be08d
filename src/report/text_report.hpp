#pragma once
// Plain-text report of a results file (`bench-report results.json`): run identity and
// configuration, a summary per cycle, a table per test, page and request with a row per
// cycle, what fell outside the logging windows, failures and errors by kind, and the
// nodes of a merged run. Every number is computed from the results file alone.

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "stats/results.hpp"

namespace bm::report {

// $COLUMNS when it holds a number, else 100.
int default_text_width();

struct TextOptions {
  // Lines never exceed this many columns (at least 40): tables too wide for it are
  // split into several blocks that repeat the cycle columns.
  int width = default_text_width();
  // Apdex threshold T in seconds; unset: the run's own. A different T is recounted from
  // the latency histograms, as the HTML report does.
  std::optional<double> apdex_t_s;
  // The thresholds to judge the run by; unset: the run's own (results config.thresholds).
  std::optional<std::vector<std::string>> thresholds;
};

void render_text_report(const stats::Results& results, std::ostream& out, const TextOptions& options = {});
std::string render_text_report(const stats::Results& results, const TextOptions& options = {});

}  // namespace bm::report
