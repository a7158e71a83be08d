// bench-master's last steps: the nodes' results brought home, merged exactly, written
// with the report, and the exit code that says what finished.

// g++ 12 misreads Asio's coroutine frames (allocated with aligned_alloc, freed by the
// frame's own sized operator delete, which calls free) as mismatched new/delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <sstream>

#include <algorithm>

#include "common/format.hpp"
#include "master/master_run.hpp"
#include "report/monitor_metrics.hpp"
#include "stats/merge_plan.hpp"

namespace bm::master::run_detail {

void MasterRun::queue_collection(Node& node) {
  Host& host = *node.host;
  host.to_collect.push_back(&node);
  if (host.collecting) return;
  host.collecting = true;
  collectors_.add();
  asio::co_spawn(io_, collect_host(host), rethrow);
}

asio::awaitable<void> MasterRun::collect_host(Host& host) {
  co_await collect_lanes_.acquire();
  while (!host.to_collect.empty()) {
    const std::vector<Node*> batch = std::exchange(host.to_collect, {});
    std::vector<std::string> remote;
    std::vector<fs::path> local;
    for (const Node* node : batch) {
      remote.push_back(join_remote(node->folder, "results/results.json"));
      local.push_back(layout_.results_dir / fmt::format("node-{}.json", node->num));
    }
    std::vector<std::string> errors;
    if (host.agent && !host.agent->over()) {
      // Through the host's agent: no session of its own. Should the agent's session
      // end meanwhile, what did not come is fetched over a session after all.
      std::vector<std::string> again_remote;
      std::vector<fs::path> again_local;
      std::vector<std::size_t> again;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        errors.push_back(co_await host.agent->fetch(remote[i], local[i], options_.ssh.step_timeout));
        if (!errors.back().empty() && host.agent->over() && late_interrupts_ < 2) {
          again.push_back(i);
          again_remote.push_back(remote[i]);
          again_local.push_back(local[i]);
        }
      }
      if (!again.empty()) {
        const std::vector<std::string> retried = co_await host.transport->get_files(again_remote, again_local);
        for (std::size_t k = 0; k < again.size(); ++k) {
          errors[again[k]] = k < retried.size() ? retried[k] : std::string("not fetched");
        }
      }
    } else {
      errors = co_await host.transport->get_files(remote, local);
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Node& node = *batch[i];
      node.settled = true;
      if (i >= errors.size() || !errors[i].empty()) {
        node.collect_error = i < errors.size() ? errors[i] : std::string("not fetched");
        continue;
      }
      stats::Results results;
      std::string error;
      if (!stats::read_results(local[i], results, &error)) {
        node.collect_error = error;
        continue;
      }
      node.results = std::move(results);
      say(fmt::format("{}: results collected", node.name()));
    }
    fold_ready_results();
  }
  collect_lanes_.release();
  host.collecting = false;
  collectors_.done();
}

// Folds the nodes' results into the merge in node order (the order merge_results takes
// them: the same document whatever order they arrive in), each as soon as every node
// before it is settled; then its parsed file is let go.
void MasterRun::fold_ready_results() {
  if (!merger_) return;  // before the planned start: nothing to fold into yet
  for (; next_fold_ < nodes_.size(); ++next_fold_) {
    Node& node = nodes_[next_fold_];
    if (!node.settled) return;
    if (!node.results) continue;
    stats::Results& results = *node.results;
    stats::NodeMergeInfo info;
    info.clock_offset_us = node.host->clock_offset_us;
    node.ran_through = node.phase == NodePhase::finished && results.run.status == stats::RunStatus::complete;
    stats::settle_unfinished(results);  // a node that died without saying so
    if (!node.ran_through) {
      info.status = stats::NodeStatus::incomplete;
      info.message = node.message.empty() ? "did not finish" : node.message;
    }
    std::string error;
    if (merge_error_.empty() && !merger_->add(std::move(results), info, &error)) merge_error_ = error;
    node.results.reset();
    node.merged = true;
  }
}

void MasterRun::pause_here_for_tests(std::string_view phase) {
  const char* at = std::getenv("BM_TEST_PAUSE_AT");
  if (at != nullptr && phase == at) ::raise(SIGSTOP);
}

stats::MergePlan MasterRun::merge_plan() const {
  stats::MergePlan plan;
  plan.label = options_.label;
  plan.host = host_name();
  plan.test_file = options_.test_file.string();
  plan.conf_file = options_.conf_file.string();
  plan.command_line = options_.command_line;
  plan.thresholds = options_.thresholds;
  plan.planned_start_epoch_us = planned_start_us_;
  for (const Node& node : nodes_) {
    if (node.started) plan.nodes.push_back({node.num, node.entry.address.display(), node.host->clock_offset_us});
  }
  return plan;
}

// Before cycle 1: if the master dies later, bench-report merges the node files it brought
// back by this plan (stats::merge_run_folder).
void MasterRun::write_merge_plan() {
  std::string error;
  if (!stats::write_merge_plan(merge_plan(), layout_.results_dir / stats::kMergePlanFile, &error)) {
    say(fmt::format("warning: {} (the run goes on)", error));
  }
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
  pause_here_for_tests("merge");
  fold_ready_results();  // every node has ended and been collected: all are settled
  std::vector<stats::NodeRow> absent;
  bool every_node_complete = true;
  bool tests_failed = false;
  for (Node& node : nodes_) {
    if (node.merged) {
      every_node_complete = every_node_complete && node.ran_through;
      tests_failed = tests_failed || (node.phase == NodePhase::finished && WIFEXITED(node.wait_status) &&
                                      WEXITSTATUS(node.wait_status) == 1);
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
  const std::size_t merged_count = merger_->size();
  if (merged_count == 0 && merge_error_.empty()) {
    say("No node brought results back: nothing to merge");
    for (const auto& row : absent) say(fmt::format("  node {} ({}): {}", row.node_num, row.host, row.message));
    return interrupts_ > 0 ? kExitInterrupted : kExitCouldNotRun;
  }
  std::string error = merge_error_;
  std::optional<stats::Results> merged;
  if (error.empty()) merged = merger_->finish(&error);
  if (!merged) {
    say(error);
    return kExitCouldNotRun;
  }
  // The label, files and thresholds as the master resolved them (the nodes know only
  // the conf's), each node as the user named it.
  stats::apply_merge_plan(merge_plan(), *merged);
  if (!stop_reason_.empty()) merged->run.stop_reason = stop_reason_;
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
  say(fmt::format("Merged {} of {} nodes: {} requests, {} failed; {} tests, {} failed", merged_count, nodes_.size(),
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
  pause_here_for_tests("report");
  fs::path report = build_reports(layout_.run_dir, &error);
  if (report.empty()) {
    say(error);
    return kExitCouldNotRun;
  }
  say(fmt::format("Report: {}", report.string()));
  return code;
}

}  // namespace bm::master::run_detail
