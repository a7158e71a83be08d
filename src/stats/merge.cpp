// Exact merge of several nodes' results files of the same run.

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "stats/results.hpp"

namespace bm::stats {

namespace {
std::optional<Results> fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return std::nullopt;
}

std::string describe(const Results& input) {
  return fmt::format("node {} ({})", input.run.node_num, input.run.host.empty() ? "?" : input.run.host);
}

std::string cycles_text(const std::vector<int>& cycles) { return fmt::format("{}", fmt::join(cycles, ":")); }

// Empty when the inputs can be merged, else why not.
std::string why_not_mergeable(const std::vector<Results>& inputs, const MergeOptions& options) {
  if (inputs.empty()) return "nothing to merge";
  if (!options.nodes.empty() && options.nodes.size() != inputs.size()) {
    return fmt::format("{} clock offsets given for {} inputs", options.nodes.size(), inputs.size());
  }
  const Results& first = inputs.front();
  std::set<int> node_nums;
  for (const Results& input : inputs) {
    if (input.merged()) return fmt::format("{} is already a merged file", describe(input));
    if (!node_nums.insert(input.run.node_num).second) return fmt::format("{} appears twice", describe(input));
    if (input.config.cycles != first.config.cycles) {
      return fmt::format("{} ran cycles {}, {} ran {}", describe(input), cycles_text(input.config.cycles),
                         describe(first), cycles_text(first.config.cycles));
    }
    if (input.config.duration_s != first.config.duration_s) {
      return fmt::format("{} ran {} s cycles, {} ran {} s", describe(input), input.config.duration_s,
                         describe(first), first.config.duration_s);
    }
  }
  return {};
}

// Moves every wall-clock time of one node's file onto the master clock.
void shift_to_master_clock(Results& results, int64_t clock_offset_us) {
  const auto shift = [clock_offset_us](int64_t& epoch_us) {
    if (epoch_us != 0) epoch_us -= clock_offset_us;  // 0 means "not yet"
  };
  shift(results.run.start_epoch_us);
  shift(results.run.end_epoch_us);
  for (CycleResults& cycle : results.cycles) {
    shift(cycle.start_epoch_us);
    shift(cycle.window_start_epoch_us);
    shift(cycle.window_end_epoch_us);
    shift(cycle.end_epoch_us);
    for (ErrorGroup& group : cycle.errors) {
      shift(group.first_epoch_us);
      shift(group.last_epoch_us);
    }
  }
  const int64_t seconds = offset_seconds(clock_offset_us);
  for (SeriesPoint& point : results.series) point.t -= seconds;
  shift_monitor(results.monitor, clock_offset_us);
  for (GeneratorHealth& g : results.generators) {
    for (GeneratorPoint& p : g.points) p.t -= seconds;
  }
}

NodeRow node_row(const Results& shifted, const NodeMergeInfo& info, int64_t planned_start_epoch_us) {
  NodeRow row;
  row.node_num = shifted.run.node_num;
  row.host = shifted.run.host;
  row.label = shifted.run.label;
  row.status = info.status.value_or(shifted.run.status == RunStatus::complete ? NodeStatus::complete
                                                                               : NodeStatus::incomplete);
  row.clock_offset_us = info.clock_offset_us;
  if (planned_start_epoch_us != 0 && !shifted.cycles.empty() && shifted.cycles.front().start_epoch_us != 0) {
    row.start_skew_us = shifted.cycles.front().start_epoch_us - planned_start_epoch_us;
  }
  for (const CycleResults& cycle : shifted.cycles) {
    for (const Entry& request : cycle.requests) {
      row.requests += request.stats.total();
      row.errors += request.stats.failures + request.stats.errors;
    }
    for (const Entry& test : cycle.tests) {
      row.tests += test.stats.total();
      row.tests_failed += test.stats.failures + test.stats.errors;
    }
    if (cycle.arrivals) {
      row.arrivals.resize(static_cast<std::size_t>(cycle.index), Arrivals{});
      row.arrivals.push_back(*cycle.arrivals);
    }
  }
  row.message = info.message;
  return row;
}

RunInfo merged_run(const std::vector<Results>& shifted, const MergeOptions& options) {
  RunInfo run = shifted.front().run;
  run.node_num = -1;
  run.pid = 0;
  if (!options.host.empty()) run.host = options.host;
  run.workers = 0;
  bool all_complete = true;
  bool any_running = false;
  for (const Results& input : shifted) {
    run.workers += input.run.workers;
    all_complete = all_complete && input.run.status == RunStatus::complete;
    any_running = any_running || input.run.status == RunStatus::running || input.run.end_epoch_us == 0;
    if (input.run.start_epoch_us != 0) {
      run.start_epoch_us = run.start_epoch_us == 0 ? input.run.start_epoch_us
                                                   : std::min(run.start_epoch_us, input.run.start_epoch_us);
    }
    run.end_epoch_us = std::max(run.end_epoch_us, input.run.end_epoch_us);
  }
  if (any_running) run.end_epoch_us = 0;
  run.status = all_complete ? RunStatus::complete : any_running ? RunStatus::running : RunStatus::interrupted;
  return run;
}

// Cycles join by index. The merged logging window is the span in which every node that
// ran the cycle was in its window (latest opening to earliest closing), so a merged
// cycle is what the server saw with all of them; window_skew_us says how far apart they
// opened or closed (docs/statistics.md).
std::vector<CycleResults> merged_cycles(const std::vector<Results>& shifted) {
  std::size_t cycle_count = 0;
  for (const Results& input : shifted) cycle_count = std::max(cycle_count, input.cycles.size());
  std::vector<CycleResults> cycles(cycle_count);
  for (std::size_t i = 0; i < cycle_count; ++i) {
    CycleResults& merged = cycles[i];
    merged.index = static_cast<int>(i);
    int64_t latest_open = 0, earliest_open = 0, latest_close = 0, earliest_close = 0;
    bool first = true;
    for (const Results& input : shifted) {
      if (i >= input.cycles.size()) {
        merged.status = CycleStatus::incomplete;  // a node never reached this cycle
        continue;
      }
      const CycleResults& part = input.cycles[i];
      merged.merge(part);
      if (part.window_start_epoch_us == 0 || part.window_end_epoch_us == 0) continue;
      if (first) {
        latest_open = earliest_open = part.window_start_epoch_us;
        latest_close = earliest_close = part.window_end_epoch_us;
        first = false;
      } else {
        latest_open = std::max(latest_open, part.window_start_epoch_us);
        earliest_open = std::min(earliest_open, part.window_start_epoch_us);
        latest_close = std::max(latest_close, part.window_end_epoch_us);
        earliest_close = std::min(earliest_close, part.window_end_epoch_us);
      }
    }
    if (first) continue;
    merged.window_skew_us = std::max(latest_open - earliest_open, latest_close - earliest_close);
    merged.window_start_epoch_us = latest_open;
    merged.window_end_epoch_us = std::max(latest_open, earliest_close);
    // window_s stays the longest node window: each node counted over its own, and rates
    // divide by it (in step, every node's is the same length).
  }
  return cycles;
}
}  // namespace

int64_t offset_seconds(int64_t clock_offset_us) noexcept {
  constexpr int64_t kHalf = 500'000;
  return (clock_offset_us + (clock_offset_us >= 0 ? kHalf : -kHalf)) / 1'000'000;
}

std::optional<Results> merge_results(const std::vector<Results>& inputs, const MergeOptions& options,
                                     std::string* error) {
  if (std::string problem = why_not_mergeable(inputs, options); !problem.empty()) {
    return fail(error, "cannot merge: " + problem);
  }
  std::vector<NodeMergeInfo> infos = options.nodes;
  infos.resize(inputs.size());

  std::vector<Results> shifted = inputs;
  for (std::size_t i = 0; i < shifted.size(); ++i) shift_to_master_clock(shifted[i], infos[i].clock_offset_us);

  Results merged;
  const Results& first = shifted.front();
  merged.tool = first.tool;
  merged.config = first.config;
  merged.conf = first.conf;
  merged.run = merged_run(shifted, options);
  for (std::size_t c = 0; c < merged.config.cycles.size(); ++c) {
    merged.config.cycles[c] = 0;
    for (const Results& input : shifted) merged.config.cycles[c] += input.config.cycles[c];
  }
  merged.config.rate_part.clear();  // the whole schedule
  merged.cycles = merged_cycles(shifted);
  for (const Results& input : shifted) merge_series(merged.series, input.series);
  // Monitoring samples are collected by one node (node 0); keep the first non-empty.
  for (const Results& input : shifted) {
    if (!input.monitor.empty()) {
      merged.monitor = input.monitor;
      break;
    }
  }
  for (std::size_t i = 0; i < shifted.size(); ++i) {
    merged.nodes.push_back(node_row(shifted[i], infos[i], options.planned_start_epoch_us));
    for (GeneratorHealth g : shifted[i].generators) {
      g.node_num = shifted[i].run.node_num;
      merged.generators.push_back(std::move(g));
    }
  }
  // Feeders by name: a partitioned file's parts add up to the file; a whole one is the
  // same file on every node.
  for (const Results& input : shifted) {
    for (const FeederUse& f : input.feeders) {
      auto same = std::find_if(merged.feeders.begin(), merged.feeders.end(),
                               [&](const FeederUse& m) { return m.name == f.name; });
      if (same == merged.feeders.end()) {
        merged.feeders.push_back(f);
        continue;
      }
      same->rows = f.partitioned ? same->rows + f.rows : std::max(same->rows, f.rows);
      same->handed_out += f.handed_out;
      same->exhausted += f.exhausted;
      same->nodes += f.nodes;
    }
  }
  std::stable_sort(merged.generators.begin(), merged.generators.end(),
                   [](const GeneratorHealth& a, const GeneratorHealth& b) { return a.node_num < b.node_num; });
  std::stable_sort(merged.nodes.begin(), merged.nodes.end(),
                   [](const NodeRow& a, const NodeRow& b) { return a.node_num < b.node_num; });
  return merged;
}

}  // namespace bm::stats
