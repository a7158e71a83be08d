// Exact merge of several nodes' results files of the same run.

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "stats/merge.hpp"

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

// Empty when `input` can be merged with `first` (the first node added), else why not.
std::string why_not_mergeable(const Results& input, const Results& first, const std::set<int>& node_nums) {
  if (input.merged()) return fmt::format("{} is already a merged file", describe(input));
  if (&input == &first) return {};
  if (node_nums.count(input.run.node_num) != 0) return fmt::format("{} appears twice", describe(input));
  if (input.config.cycles != first.config.cycles) {
    return fmt::format("{} ran cycles {}, {} ran {}", describe(input), cycles_text(input.config.cycles),
                       describe(first), cycles_text(first.config.cycles));
  }
  if (input.config.duration_s != first.config.duration_s) {
    return fmt::format("{} ran {} s cycles, {} ran {} s", describe(input), input.config.duration_s, describe(first),
                       first.config.duration_s);
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

}  // namespace

int64_t offset_seconds(int64_t clock_offset_us) noexcept {
  constexpr int64_t kHalf = 500'000;
  return (clock_offset_us + (clock_offset_us >= 0 ? kHalf : -kHalf)) / 1'000'000;
}

std::optional<Results> merge_results(const std::vector<Results>& inputs, const MergeOptions& options,
                                     std::string* error) {
  if (inputs.empty()) return fail(error, "cannot merge: nothing to merge");
  if (!options.nodes.empty() && options.nodes.size() != inputs.size()) {
    return fail(error, fmt::format("cannot merge: {} clock offsets given for {} inputs", options.nodes.size(),
                                   inputs.size()));
  }
  ResultsMerger merger(options);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!merger.add(inputs[i], i < options.nodes.size() ? options.nodes[i] : NodeMergeInfo{}, error)) {
      return std::nullopt;
    }
  }
  return merger.finish(error);
}

ResultsMerger::ResultsMerger(MergeOptions options) : options_(std::move(options)) { options_.nodes.clear(); }

bool ResultsMerger::add(Results input, const NodeMergeInfo& info, std::string* error) {
  // The first node's identity and shape, against which the others are checked.
  if (inputs_ == 0) {
    first_.run = input.run;
    first_.config = input.config;
  }
  if (std::string problem = why_not_mergeable(input, inputs_ == 0 ? input : first_, node_nums_); !problem.empty()) {
    if (error) *error = "cannot merge: " + problem;
    return false;
  }
  shift_to_master_clock(input, info.clock_offset_us);
  node_nums_.insert(input.run.node_num);

  // The run, the tool, the configuration and the conf are the first node's; the users
  // of each cycle, the workers and the run's span add up over every node.
  if (inputs_ == 0) {
    merged_.tool = input.tool;
    merged_.config = input.config;
    merged_.config.rate_part.clear();  // open model: the whole schedule
    std::fill(merged_.config.cycles.begin(), merged_.config.cycles.end(), 0);
    merged_.conf = input.conf;
    merged_.run = input.run;
    merged_.run.node_num = -1;
    merged_.run.pid = 0;
    if (!options_.host.empty()) merged_.run.host = options_.host;
    merged_.run.workers = 0;
  }
  RunInfo& run = merged_.run;
  run.workers += input.run.workers;
  all_complete_ = all_complete_ && input.run.status == RunStatus::complete;
  any_running_ = any_running_ || input.run.status == RunStatus::running || input.run.end_epoch_us == 0;
  if (input.run.start_epoch_us != 0) {
    run.start_epoch_us =
        run.start_epoch_us == 0 ? input.run.start_epoch_us : std::min(run.start_epoch_us, input.run.start_epoch_us);
  }
  run.end_epoch_us = std::max(run.end_epoch_us, input.run.end_epoch_us);
  for (std::size_t c = 0; c < merged_.config.cycles.size(); ++c) merged_.config.cycles[c] += input.config.cycles[c];

  // Cycles join by index. The merged logging window is the span in which every node that
  // ran the cycle was in its window (latest opening to earliest closing), so a merged
  // cycle is what the server saw with all of them; window_skew_us says how far apart they
  // opened or closed (docs/statistics.md). Both are settled in finish().
  while (merged_.cycles.size() < input.cycles.size()) {
    const int index = static_cast<int>(merged_.cycles.size());
    merged_.cycles.emplace_back().index = index;
    windows_.emplace_back();
  }
  for (std::size_t i = 0; i < input.cycles.size(); ++i) {
    const CycleResults& part = input.cycles[i];
    CycleWindow& window = windows_[i];
    merged_.cycles[i].merge(part);
    ++window.parts;
    if (part.window_start_epoch_us == 0 || part.window_end_epoch_us == 0) continue;
    if (!window.timed) {
      window.latest_open = window.earliest_open = part.window_start_epoch_us;
      window.latest_close = window.earliest_close = part.window_end_epoch_us;
      window.timed = true;
    } else {
      window.latest_open = std::max(window.latest_open, part.window_start_epoch_us);
      window.earliest_open = std::min(window.earliest_open, part.window_start_epoch_us);
      window.latest_close = std::max(window.latest_close, part.window_end_epoch_us);
      window.earliest_close = std::min(window.earliest_close, part.window_end_epoch_us);
    }
  }
  merge_series(merged_.series, input.series);
  // Monitoring samples are collected by one node (node 0); keep the first non-empty.
  if (merged_.monitor.empty() && !input.monitor.empty()) merged_.monitor = std::move(input.monitor);
  merged_.nodes.push_back(node_row(input, info, options_.planned_start_epoch_us));
  for (GeneratorHealth& g : input.generators) {
    g.node_num = input.run.node_num;
    merged_.generators.push_back(std::move(g));
  }
  // Feeders by name: a partitioned file's parts add up to the file; a whole one is the
  // same file on every node.
  for (const FeederUse& f : input.feeders) {
    auto same = std::find_if(merged_.feeders.begin(), merged_.feeders.end(),
                             [&](const FeederUse& m) { return m.name == f.name; });
    if (same == merged_.feeders.end()) {
      merged_.feeders.push_back(f);
      continue;
    }
    same->rows = f.partitioned ? same->rows + f.rows : std::max(same->rows, f.rows);
    same->handed_out += f.handed_out;
    same->exhausted += f.exhausted;
    same->nodes += f.nodes;
  }
  ++inputs_;
  return true;
}

std::optional<Results> ResultsMerger::finish(std::string* error) {
  if (inputs_ == 0) return fail(error, "cannot merge: nothing to merge");
  if (any_running_) merged_.run.end_epoch_us = 0;
  merged_.run.status = all_complete_ ? RunStatus::complete : any_running_ ? RunStatus::running : RunStatus::interrupted;
  for (std::size_t i = 0; i < merged_.cycles.size(); ++i) {
    CycleResults& cycle = merged_.cycles[i];
    const CycleWindow& window = windows_[i];
    if (window.parts < inputs_) cycle.status = CycleStatus::incomplete;  // a node never reached this cycle
    if (!window.timed) continue;
    cycle.window_skew_us =
        std::max(window.latest_open - window.earliest_open, window.latest_close - window.earliest_close);
    cycle.window_start_epoch_us = window.latest_open;
    cycle.window_end_epoch_us = std::max(window.latest_open, window.earliest_close);
    // window_s stays the longest node window: each node counted over its own, and rates
    // divide by it (in step, every node's is the same length).
  }
  std::stable_sort(merged_.generators.begin(), merged_.generators.end(),
                   [](const GeneratorHealth& a, const GeneratorHealth& b) { return a.node_num < b.node_num; });
  std::stable_sort(merged_.nodes.begin(), merged_.nodes.end(),
                   [](const NodeRow& a, const NodeRow& b) { return a.node_num < b.node_num; });
  inputs_ = 0;
  return std::move(merged_);
}

}  // namespace bm::stats
