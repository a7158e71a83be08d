// bench-master's last steps: the nodes' results brought home, merged exactly, written
// with the report, and the exit code that says what finished.
#include <sstream>
#include <sys/wait.h>

#include <algorithm>

#include "common/format.hpp"
#include "master/master_run.hpp"
#include "report/monitor_metrics.hpp"

namespace bm::master::run_detail {

asio::awaitable<void> MasterRun::collect(Node& node) {
  const fs::path local = layout_.results_dir / fmt::format("node-{}.json", node.num);
  const std::string remote = join_remote(node.folder, "results/results.json");
  StepResult step = co_await node.host->transport->get_file(remote, local);
  if (!step.ok()) {
    node.collect_error = step.error;
    co_return;
  }
  stats::Results results;
  std::string error;
  if (!stats::read_results(local, results, &error)) {
    node.collect_error = error;
    co_return;
  }
  node.results = std::move(results);
}

void MasterRun::remove_empty_layout() {
  std::error_code ec;
  for (const fs::path& dir : {layout_.results_dir, layout_.run_dir, layout_.run_dir.parent_path(), layout_.out_dir,
                              layout_.err_dir, layout_.label_dir}) {
    if (fs::is_directory(dir, ec) && fs::is_empty(dir, ec)) fs::remove(dir, ec);
  }
}

// Merges what the nodes brought back, writes the results and the report, and tells
// what is missing. Returns the exit code.
int MasterRun::finish() {
  std::vector<stats::Results> inputs;
  stats::MergeOptions merge;
  merge.planned_start_epoch_us = planned_start_us_;
  merge.host = host_name();
  std::vector<stats::NodeRow> absent;
  bool every_node_complete = true;
  bool tests_failed = false;
  for (Node& node : nodes_) {
    if (node.results) {
      stats::Results& results = *node.results;
      stats::NodeMergeInfo info;
      info.clock_offset_us = node.host->clock_offset_us;
      const bool ran_through = node.phase == NodePhase::finished && results.run.status == stats::RunStatus::complete;
      if (results.run.status == stats::RunStatus::running) {
        // The node died without saying so: what its file holds is all there is.
        results.run.status = stats::RunStatus::interrupted;
        for (const auto& cycle : results.cycles) {
          results.run.end_epoch_us = std::max({results.run.end_epoch_us, cycle.end_epoch_us, cycle.start_epoch_us});
        }
        if (results.run.end_epoch_us == 0) results.run.end_epoch_us = results.run.start_epoch_us;
      }
      if (!ran_through) {
        info.status = stats::NodeStatus::incomplete;
        info.message = node.message.empty() ? "did not finish" : node.message;
        every_node_complete = false;
      }
      tests_failed = tests_failed || (node.phase == NodePhase::finished && WIFEXITED(node.wait_status) &&
                                      WEXITSTATUS(node.wait_status) == 1);
      merge.nodes.push_back(std::move(info));
      inputs.push_back(std::move(results));
    } else {
      every_node_complete = false;
      stats::NodeRow row;
      row.node_num = node.num;
      row.host = node.entry.address.display();
      row.label = options_.label;
      row.status = node.started ? stats::NodeStatus::missing : stats::NodeStatus::failed;
      row.clock_offset_us = node.host->clock_offset_us;
      row.message = node.started ? (node.message.empty() ? node.collect_error : node.message + "; " + node.collect_error)
                                 : node.message;
      absent.push_back(std::move(row));
    }
  }
  if (inputs.empty()) {
    say("No node brought results back: nothing to merge");
    for (const auto& row : absent) say(fmt::format("  node {} ({}): {}", row.node_num, row.host, row.message));
    return interrupts_ > 0 ? kExitInterrupted : kExitCouldNotRun;
  }
  std::string error;
  auto merged = stats::merge_results(inputs, merge, &error);
  if (!merged) {
    say(error);
    return kExitCouldNotRun;
  }
  merged->run.label = options_.label;
  // The thresholds as the master resolved them (the nodes know only the conf's).
  merged->config.thresholds = options_.thresholds;
  if (!stop_reason_.empty()) merged->run.stop_reason = stop_reason_;
  merged->run.command_line = options_.command_line;
  // The test as the user named it, not the copies in the nodes' working folders.
  merged->run.test_file = options_.test_file.string();
  merged->run.conf_file = options_.conf_file.string();
  // Each node as the user named it (the node's own host name can be anything).
  for (auto& row : merged->nodes) {
    if (row.node_num >= 0 && static_cast<std::size_t>(row.node_num) < nodes_.size()) {
      row.host = nodes_[static_cast<std::size_t>(row.node_num)].entry.address.display();
    }
  }
  merged->nodes.insert(merged->nodes.end(), absent.begin(), absent.end());
  std::stable_sort(merged->nodes.begin(), merged->nodes.end(),
                   [](const auto& a, const auto& b) { return a.node_num < b.node_num; });
  bool cycles_complete = merged->cycles.size() == merged->config.cycles.size();
  for (const auto& cycle : merged->cycles) cycles_complete = cycles_complete && cycle.status == stats::CycleStatus::complete;

  const fs::path merged_file = layout_.run_dir / "results.json";
  if (!stats::write_results_atomic(*merged, merged_file, &error)) {
    say(fmt::format("{} (the nodes' results stay in {} on each node)", error,
                    join_remote(join_remote(options_.node_dir, options_.label), "node-N/results")));
    return kExitCouldNotRun;
  }
  uint64_t requests = 0, errors = 0, tests = 0, failed_tests = 0;
  for (const auto& row : merged->nodes) {
    requests += row.requests;
    errors += row.errors;
    tests += row.tests;
    failed_tests += row.tests_failed;
  }
  say(fmt::format("Merged {} of {} nodes: {} requests, {} failed; {} tests, {} failed", inputs.size(), nodes_.size(),
                  requests, errors, tests, failed_tests));
  int64_t worst_skew_us = 0;
  int worst_skew_cycle = 0;
  for (const auto& cycle : merged->cycles) {
    if (cycle.window_skew_us > worst_skew_us) {
      worst_skew_us = cycle.window_skew_us;
      worst_skew_cycle = cycle.index;
    }
  }
  if (worst_skew_us > stats::kWindowSkewWarningUs) {
    say(fmt::format("  warning: the nodes' windows of cycle {} were {:.0f} ms apart (more than {} ms): its merged "
                    "figures mix different loads",
                    common::cycle_number(worst_skew_cycle), worst_skew_us / 1e3, stats::kWindowSkewWarningUs / 1000));
  }
  for (const auto& row : merged->nodes) {
    if (row.status != stats::NodeStatus::complete) {
      const std::string name = row.node_num >= 0 && static_cast<std::size_t>(row.node_num) < nodes_.size()
                                   ? nodes_[static_cast<std::size_t>(row.node_num)].name()
                                   : fmt::format("node {}", row.node_num);
      say(fmt::format("  missing or partial: {}: {}: {}", name, stats::to_string(row.status), row.message));
    }
  }
  if (!stop_reason_.empty()) {
    say(fmt::format("  stopped after cycle {} of {} (--abort-on-fail)", merged->cycles.size(), merged->config.cycles.size()));
  } else if (!cycles_complete) {
    say("  not every cycle completed on every node (see cycles[].status)");
  }
  for (const std::string& note : report::saturation_notes(
           *merged, [](const stats::CycleResults& cycle) { return fmt::format("cycle {}", common::cycle_number(cycle.index)); })) {
    say("  warning: " + note);
  }
  int code = kExitOk;
  if (interrupts_ > 0) {
    code = kExitInterrupted;
  } else if (!every_node_complete || !cycles_complete || require_all_tripped_) {
    code = kExitPartial;
  } else if (tests_failed) {
    code = kExitTestsFailed;
  }
  // The verdict on the merged figures, then where the files are.
  std::ostringstream verdict;
  code = report::conclude_run(*merged, options_.verdict, report::ReportOptions{}, code, verdict, &error);
  std::istringstream lines(verdict.str());
  for (std::string line; std::getline(lines, line);) say(line);
  if (code == kExitCouldNotRun) say(error);
  say(fmt::format("Results: {}", merged_file.string()));
  fs::path report = build_reports(layout_.run_dir, &error);
  if (report.empty()) {
    say(error);
    return kExitCouldNotRun;
  }
  say(fmt::format("Report: {}", report.string()));
  return code;
}

}  // namespace bm::master::run_detail
