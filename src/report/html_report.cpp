#include "report/html_report.hpp"

#include <algorithm>
#include <ctime>

#include "common/format.hpp"
#include "report/html_report_parts.hpp"

namespace bm::report {

using namespace bm::common;  // the shared number and time formatters

namespace fs = std::filesystem;
using html::Context;

namespace {

std::string document_title(const stats::Results& results) {
  if (!results.run.title.empty()) return results.run.title;
  if (!results.run.test.empty()) return results.run.test;
  return "Load test";
}

std::vector<NavLink> navigation(const Context& context) {
  std::vector<NavLink> nav = {{"verdict", "Verdict"}, {"run", "Run"}, {"summary", "Summary"}, {"timeline", "Timeline"}, {"pages", "Pages"}};
  const stats::Results& results = context.results;
  nav.push_back({"errors", "Errors"});
  if (results.merged()) nav.push_back({"nodes", "Nodes"});
  if (html::has_monitor_samples(results)) nav.push_back({"monitor", "Monitor"});
  nav.push_back({"definitions", "Definitions"});
  return nav;
}

std::string footer(const stats::Results& results) {
  const auto now_us = static_cast<int64_t>(std::time(nullptr)) * 1'000'000;
  return fmt::format("Report built by benchmaster {} on {} from results written by {} {}.",
                     escape_html(stats::tool_version()), format_epoch_us(now_us), escape_html(results.tool.name),
                     escape_html(results.tool.version));
}

}  // namespace

std::string render_html_report(const stats::Results& results, const ReportOptions& options) {
  Context context{results, metric_context(results, options), {}, {}, {}, {}, cycles_ascending(results), {}};
  context.open = open_model(results);
  context.summaries = cycle_summaries(results, context.metrics);
  context.best = best_cycle(context.summaries);
  const std::optional<std::vector<conf::Threshold>> thresholds =
      run_thresholds(results, options.thresholds ? &*options.thresholds : nullptr, &context.threshold_error);
  context.verdict = judge_run(results, context.metrics, thresholds.value_or(std::vector<conf::Threshold>{}));

  std::string out;
  out.reserve(1 << 20);
  begin_document(out, document_title(results), "Load test report", navigation(context));
  html::header_section(out, context);
  html::identity_section(out, context);
  html::summary_section(out, context);
  html::timeline_section(out, context);
  html::tests_section(out, context);
  html::pages_section(out, context);
  html::errors_section(out, context);
  html::nodes_section(out, context);
  html::monitor_section(out, context);
  html::definitions_section(out, context);
  end_document(out, context.charts.data(), footer(results));
  return out;
}

bool build_html_report(const stats::Results& results, const fs::path& out_dir, std::string* error,
                       fs::path* written) {
  return build_html_report(results, out_dir, ReportOptions{}, error, written);
}

bool build_html_report(const stats::Results& results, const fs::path& out_dir, const ReportOptions& options,
                       std::string* error, fs::path* written) {
  const fs::path path = out_dir / "index.html";
  if (!write_file_atomic(render_html_report(results, options), path, error)) return false;
  if (written) *written = path;
  return true;
}

}  // namespace bm::report
