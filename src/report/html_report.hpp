#pragma once
// The single-file HTML report of one run (merged or not): index.html with every table
// rendered here (readable without JavaScript, printable) and charts drawn by the
// embedded uPlot from an inline JSON block. See docs/reports.md.

#include <filesystem>
#include <string>

#include "report/html_metrics.hpp"
#include "stats/results.hpp"

namespace bm::report {

// The whole document.
std::string render_html_report(const stats::Results& results, const ReportOptions& options = {});

// Writes <out_dir>/index.html (creating out_dir; temporary file + rename, so a reader
// never sees half a report). On success *written (if given) is the file's path; on
// failure returns false with one line in *error. bench-run and bench-master call this
// at the end of a run.
bool build_html_report(const stats::Results& results, const std::filesystem::path& out_dir, std::string* error,
                       std::filesystem::path* written);
bool build_html_report(const stats::Results& results, const std::filesystem::path& out_dir,
                       const ReportOptions& options, std::string* error, std::filesystem::path* written);

}  // namespace bm::report
