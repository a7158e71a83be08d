#include <ctime>
#include <iostream>

#include <fmt/format.h>

#include "common/format.hpp"
#include "app/commands.hpp"
#include "app/test_options.hpp"
#include "engine/bench_runner.hpp"
#include "monitor/collector.hpp"
#include "master/shell.hpp"
#include "report/html_report.hpp"
#include "report/verdict.hpp"
#include "report/monitor_metrics.hpp"

namespace bm::app {

int fail(const std::string& prog, const std::string& message) {
  std::cerr << prog << ": " << message << '\n';
  return 2;
}

int parse_options(CLI::App& app, const Args& args, const std::string& prog) {
  std::vector<std::string> argv(args.rbegin(), args.rend());  // CLI11 takes them reversed
  try {
    app.parse(argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    return fail(prog, e.what());
  }
  return -1;
}

std::string label_error(std::string_view option, std::string_view label) {
  const std::string problem = master::label_problem(label);
  if (problem.empty()) return {};
  // Control characters escaped, so the message stays one line.
  std::string shown;
  for (char c : label) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      shown += "\\n";
    } else if (c == '\t') {
      shown += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      shown += fmt::format("\\x{:02x}", byte);
    } else {
      shown += c;
    }
  }
  return fmt::format("{} '{}': {}", option, shown, problem);
}

namespace {

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  return buf;
}

}  // namespace

int cmd_run(const Args& args, const std::string& prog) {
  CLI::App app{"Run a bench: cycles of concurrent virtual users (FunkLoad's fl-run-bench).", prog};
  TestOptions options;
  std::string label, output_dir, start_at;
  bool progress_json = false;
  add_test_options(app, options, conf::Mode::bench);
  app.add_option("-l,--label", label, "label of the run, stored in the results and added to the folder name");
  app.add_option("-o,--output-dir", output_dir,
                 "folder for results.json and bench.log (default results/<Name>-<time>[-label])");
  app.add_option("--start-at", start_at, "wall-clock time (epoch µs) to begin cycle 1, for distributed runs")
      ->group("");
  app.add_flag("--progress-json", progress_json, "print one JSON progress line per second")->group("");
  FunkLoadFlags funkload;
  add_funkload_flags(app, funkload, false);
  BenchRun run;
  add_verdict_options(app, run.verdict, true);
  if (int code = parse_options(app, args, prog); code >= 0) return code;
  if (std::string problem = funkload_flags_problem(funkload); !problem.empty()) return fail(prog, problem);
  // The label names a folder under results/: bench-master's rules (none given, or an
  // empty one, means no label here).
  if (std::string problem = label_error("-l/--label", label); !label.empty() && !problem.empty()) {
    return fail(prog, problem);
  }
  options.given.thresholds = run.verdict.thresholds;
  run.label = label;
  run.output_dir = output_dir;
  run.progress_json = progress_json;
  run.command_line.push_back(prog);
  run.command_line.insert(run.command_line.end(), args.begin(), args.end());
  if (!start_at.empty()) {
    char* end = nullptr;
    run.start_at_epoch_us = std::strtoll(start_at.c_str(), &end, 10);
    if (*end != '\0') return fail(prog, fmt::format("--start-at: '{}' is not a time in epoch microseconds", start_at));
  }
  return run_bench(options, run, prog);
}

int run_bench(const TestOptions& options, const BenchRun& run, const std::string& prog) {
  std::string error;
  auto test = load_test(options, conf::Mode::bench, &error);
  if (!test) return fail(prog, error);
  for (const auto& w : test->warnings) std::cerr << prog << ": warning: " << w << '\n';

  engine::BenchOptions bench;
  bench.engine = test->engine;
  bench.label = run.label;
  bench.command_line = run.command_line;
  bench.progress_json = run.progress_json;
  bench.cycle_results = run.cycle_results;
  bench.start_at_epoch_us = run.start_at_epoch_us;
  bench.gate = run.gate;
  if (run.verdict.abort_on_fail) {
    std::vector<conf::Threshold> thresholds;
    for (const std::string& text : test->engine.bench.thresholds) thresholds.push_back(*conf::parse_threshold(text, &error));
    if (thresholds.empty()) return fail(prog, "--abort-on-fail: no thresholds (give --threshold or a [thresholds] section)");
    report::MetricContext context;
    context.run_apdex_t_us = context.apdex_t_us = std::llround(test->engine.bench.apdex_t_s * 1e6);
    bench.cycle_check = [thresholds, context](const stats::CycleResults& cycle) -> std::string {
      const auto failed = report::failed_cycle_thresholds(cycle, context, thresholds);
      return failed.empty() ? std::string() : "threshold failed: " + report::describe_result(thresholds[failed.front().threshold], failed.front());
    };
  }
  bench.output_dir = run.output_dir.empty() ? std::filesystem::path("results") /
                                                  (test->engine.identity.test_name + "-" + timestamp() +
                                                   (run.label.empty() ? "" : "-" + run.label))
                                            : std::filesystem::path(run.output_dir);
  const auto& s = bench.engine.bench;
  std::string cycles;
  for (int c : s.cycles) cycles += (cycles.empty() ? "" : ":") + std::to_string(c);
  std::cout << fmt::format("Benching {} ({}) against {}\n", bench.engine.test_function,
                           bench.engine.test_file.string(), s.url)
            << std::flush;
  if (s.open_model()) {
    std::cout << fmt::format("Rates {}/s ({} arrivals) | up to {} users | window {:g}s | warm-up {:g}s | "
                             "think time {:g}-{:g}s | {} workers\n",
                             conf::format_rates(s.rates), s.poisson_arrivals ? "poisson" : "constant", s.max_users,
                             s.duration_s, s.startup_delay_s, s.sleep_time_min_s, s.sleep_time_max_s,
                             bench.engine.workers);
  } else {
    std::cout << fmt::format("Cycles {} | window {:g}s | startup delay {:g}s | think time {:g}-{:g}s | "
                             "test pause {:g}s | {} workers\n",
                             cycles, s.duration_s, s.startup_delay_s, s.sleep_time_min_s, s.sleep_time_max_s,
                             s.sleep_time_s, bench.engine.workers);
  }
  std::cout << std::flush;
  // Server monitoring: collected from here to the end of the last cycle.
  std::optional<std::vector<monitor::MonitoredHost>> hosts = monitor::monitored_hosts(test->conf, &error);
  if (!hosts) return fail(prog, error);
  std::unique_ptr<monitor::Collector> collector;
  if (!hosts->empty()) {
    std::string names;
    for (const auto& h : *hosts) names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", h.name, h.url);
    std::cout << "Monitoring " << names << '\n';
    collector = std::make_unique<monitor::Collector>(std::move(*hosts));
    collector->start();
    bench.monitor = [c = collector.get()] { return c->snapshot(true); };
  }
  engine::install_interrupt_handlers();
  engine::BenchRunner runner(std::move(bench), std::cout);
  int code = runner.run(&error);
  if (collector) {
    collector->stop();
    for (const std::string& warning : runner.results().monitor.warnings) {
      std::cerr << prog << ": warning: " << warning << '\n';
    }
  }
  if (code == 2 && !error.empty()) fail(prog, error);
  for (const std::string& note : report::saturation_notes(
           runner.results(), [](const stats::CycleResults& cycle) { return fmt::format("cycle {}", common::cycle_number(cycle.index)); })) {
    std::cerr << prog << ": warning: " << note << '\n';
  }
  if (std::filesystem::exists(runner.results_path())) {
    // The verdict, then where the files are (the report's path is the last line).
    if (code != 2 && !runner.results().cycles.empty()) {
      std::string verdict_error;
      code = report::conclude_run(runner.results(), run.verdict, report::ReportOptions{}, code, std::cout, &verdict_error);
      if (!verdict_error.empty()) fail(prog, verdict_error);
    }
    std::cout << "Results: " << runner.results_path().string() << std::endl;
    // The HTML report beside the results, for finished cycles even when interrupted.
    std::filesystem::path report;
    std::string report_error;
    if (!runner.results().cycles.empty()) {
      if (report::build_html_report(runner.results(), runner.results_path().parent_path(), &report_error, &report)) {
        std::cout << "Report: " << report.string() << std::endl;
      } else {
        std::cerr << prog << ": warning: no HTML report: " << report_error << '\n';
      }
    }
  }
  return code;
}

}  // namespace bm::app
