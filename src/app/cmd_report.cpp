#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "app/commands.hpp"
#include "report/diff_report.hpp"
#include "report/html_report.hpp"
#include "report/text_report.hpp"
#include "report/verdict.hpp"
#include "report/trend_report.hpp"
#include "stats/merge_plan.hpp"
#include "stats/results.hpp"

#include <CLI/CLI.hpp>

namespace bm::app {

namespace fs = std::filesystem;

namespace {

// A distributed run's folder whose master died before it wrote the merged results.json,
// with the nodes' files it brought back in results/: merged now as the master would have
// (stats::merge_run_folder, by the merge plan the master wrote before cycle 1), and the
// merge written for the next reader.
bool merge_node_files(const fs::path& run_dir, std::string* error) {
  std::error_code ec;
  if (!fs::is_directory(run_dir / "results", ec)) {
    *error = fmt::format("{}: no results.json in this folder", run_dir.string());
    return false;
  }
  std::vector<std::string> notes;
  std::optional<stats::Results> merged = stats::merge_run_folder(run_dir, &notes, error);
  if (!merged) return false;
  if (!stats::write_results_atomic(*merged, run_dir / "results.json", error)) return false;
  std::cerr << fmt::format("{}: no results.json: merged the node files in results/ as bench-master would have "
                           "({} node{}), written to {}",
                           run_dir.string(), merged->nodes.size(), merged->nodes.size() == 1 ? "" : "s",
                           (run_dir / "results.json").string())
            << '\n';
  for (const std::string& note : notes) std::cerr << "  " << note << '\n';
  return true;
}

// A results file, or a run folder holding one (a distributed run's folder holds the
// merged results.json, or the nodes' files to merge).
bool find_results_file(const std::string& given, fs::path* out, std::string* error) {
  const fs::path path = given;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (!fs::exists(path / "results.json", ec) && !merge_node_files(path, error)) return false;
    *out = path / "results.json";
    return true;
  }
  if (!fs::exists(path, ec)) {
    *error = fmt::format("{}: no such file", given);
    return false;
  }
  *out = path;
  return true;
}

bool load(const std::string& given, stats::Results& results, fs::path* file, std::string* error) {
  return find_results_file(given, file, error) && stats::read_results(*file, results, error);
}

// "out/run-1/results.json" and "out/run-1" both read "run-1".
std::string short_name(const std::string& given) {
  fs::path path = fs::path(given).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  if (path.extension() == ".json") path = path.parent_path().empty() ? path.stem() : path.parent_path();
  const std::string name = path.filename().string();
  return name.empty() || name == "." ? given : name;
}

struct ReportArgs {
  std::string results;
  std::vector<std::string> diff;
  std::vector<std::string> trend;
  bool html = false;
  std::string out_dir;
  std::optional<double> apdex_t_s;
  int width = 0;
  VerdictOptions verdict;
};

// The run's thresholds, or --threshold's instead when given.
report::ReportOptions report_options(const ReportArgs& args) {
  report::ReportOptions options{args.apdex_t_s, std::nullopt};
  if (!args.verdict.thresholds.empty()) options.thresholds = args.verdict.thresholds;
  return options;
}

int text_width(const ReportArgs& args) { return args.width > 0 ? args.width : report::default_text_width(); }

int print_written(const fs::path& written) {
  std::cout << "HTML report: " << written.string() << '\n';
  return 0;
}

int run_report(const ReportArgs& args, const std::string& prog) {
  stats::Results results;
  fs::path file;
  std::string error;
  if (!load(args.results, results, &file, &error)) return fail(prog, error);
  const report::ReportOptions options = report_options(args);
  if (options.thresholds && !report::run_thresholds(results, &*options.thresholds, &error)) {
    return fail(prog, "--threshold: " + error);
  }
  if (!args.html) {
    report::TextOptions text;
    text.width = text_width(args);
    text.apdex_t_s = args.apdex_t_s;
    text.thresholds = options.thresholds;
    report::render_text_report(results, std::cout, text);
    // The text above states the verdict; this writes the files and sets the exit code.
    std::ostringstream discard;
    const int code = report::conclude_run(results, args.verdict, options, 0, discard, &error);
    if (!error.empty()) fail(prog, error);
    return code;
  }
  const fs::path out_dir = args.out_dir.empty() ? file.parent_path() : fs::path(args.out_dir);
  fs::path written;
  if (!report::build_html_report(results, out_dir.empty() ? "." : out_dir, options, &error, &written)) {
    return fail(prog, error);
  }
  const int code = report::conclude_run(results, args.verdict, options, 0, std::cout, &error);
  if (!error.empty()) fail(prog, error);
  print_written(written);
  return code;
}

int run_diff(const ReportArgs& args, const std::string& prog) {
  stats::Results a, b;
  fs::path file;
  std::string error;
  if (!load(args.diff[0], a, &file, &error) || !load(args.diff[1], b, &file, &error)) return fail(prog, error);
  report::DiffOptions options;
  options.report.apdex_t_s = args.apdex_t_s;
  const report::DiffReport diff = report::compute_diff(a, args.diff[0], b, args.diff[1], options);
  if (!args.html) {
    report::render_diff_text(diff, std::cout, text_width(args));
    return 0;
  }
  const fs::path out_dir = args.out_dir.empty()
                               ? fs::path(fmt::format("diff-{}-vs-{}", short_name(args.diff[0]), short_name(args.diff[1])))
                               : fs::path(args.out_dir);
  fs::path written;
  if (!report::build_diff_html_report(diff, out_dir, &error, &written)) return fail(prog, error);
  return print_written(written);
}

int run_trend(const ReportArgs& args, const std::string& prog) {
  std::vector<stats::Results> loaded(args.trend.size());
  std::vector<report::NamedResults> runs;
  for (std::size_t i = 0; i < args.trend.size(); ++i) {
    fs::path file;
    std::string error;
    if (!load(args.trend[i], loaded[i], &file, &error)) return fail(prog, error);
    runs.push_back({args.trend[i], &loaded[i]});
  }
  const report::TrendReport trend = report::compute_trend(runs, {args.apdex_t_s, std::nullopt});
  if (!args.html) {
    report::render_trend_text(trend, std::cout, text_width(args));
    return 0;
  }
  const fs::path out_dir = args.out_dir.empty() ? fs::path("trend-report") : fs::path(args.out_dir);
  fs::path written;
  std::string error;
  if (!report::build_trend_html_report(trend, out_dir, &error, &written)) return fail(prog, error);
  return print_written(written);
}

}  // namespace

int cmd_report(const Args& args, const std::string& prog) {
  CLI::App app{"Reports of results files (a results.json, or the folder of a run): text on stdout by default, "
               "or a single-file HTML report with --html; --diff compares two runs, --trend shows many over time.",
               prog};
  ReportArgs options;
  auto* results = app.add_option("results", options.results, "results.json, or the folder of a run");
  auto* diff = app.add_option("--diff", options.diff, "compare two runs: A (the reference) and B")->expected(2);
  auto* trend = app.add_option("--trend", options.trend, "show several runs of the same test over time")
                    ->expected(2, CLI::detail::expected_max_vector_size);
  diff->excludes(results)->excludes(trend);
  trend->excludes(results);
  app.add_flag("--html", options.html, "write the HTML report (index.html) instead of printing text");
  app.add_option("-o,--output", options.out_dir,
                 "folder of the HTML report (default: beside the results; diff-A-vs-B or trend-report for "
                 "--diff and --trend)");
  app.add_option("--apdex-t", options.apdex_t_s, "Apdex threshold T in seconds for every report "
                                                 "(default: the run's)")
      ->check(CLI::Range(0.001, 3600.0));
  app.add_option("--width", options.width, "terminal width of the text (default $COLUMNS or 100)");
  add_verdict_options(app, options.verdict, false);
  app.get_option("--threshold")
      ->description("judge the run by this threshold instead of its own (repeat it); exit code 4 when one fails");
  if (int code = parse_options(app, args, prog); code >= 0) return code;
  if (!options.diff.empty()) return run_diff(options, prog);
  if (!options.trend.empty()) return run_trend(options, prog);
  if (options.results.empty()) return fail(prog, "give a results file or a run folder (or --diff A B, --trend R1 R2 ...)");
  return run_report(options, prog);
}

}  // namespace bm::app
