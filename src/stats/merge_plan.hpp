#pragma once
// What bench-master knows of a run beyond the nodes' own files: each node's name and
// clock offset, the planned start, and the run's label, files and thresholds as it
// resolved them. The master writes it into the run's results/ folder before cycle 1 and
// applies it to the merge at its end; `bench-report <run folder>` applies it the same way
// when the master was killed before it wrote results.json, so the node files brought back
// are merged as the master would have (docs/distributed.md, "When the master dies").

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stats/results.hpp"

namespace bm::stats {

struct MergePlanNode {
  int node_num = 0;
  std::string host;  // as the user named it
  int64_t clock_offset_us = 0;
};

struct MergePlan {
  std::string label;
  std::string host;  // the master's machine
  std::string test_file, conf_file;
  std::vector<std::string> command_line;
  std::vector<std::string> thresholds;  // as resolved (conf and --threshold)
  int64_t planned_start_epoch_us = 0;   // master clock
  std::vector<MergePlanNode> nodes;     // every node that was started, by node number
};

inline constexpr const char* kMergePlanFile = "merge-plan.json";

bool write_merge_plan(const MergePlan& plan, const std::filesystem::path& path, std::string* error);
bool read_merge_plan(const std::filesystem::path& path, MergePlan& out, std::string* error);
// The same, from and to text; errors are one line, prefixed with `name`.
std::string merge_plan_to_string(const MergePlan& plan);
bool parse_merge_plan(std::string_view text, std::string_view name, MergePlan& out, std::string* error);

// A node's file that still says "running" comes from a node that died without saying so:
// what it holds is all there is, marked interrupted, ending at its last cycle.
void settle_unfinished(Results& results);

// The master's part of a merged document: the run's label, files, command line and
// thresholds, each node named as the user named it.
void apply_merge_plan(const MergePlan& plan, Results& merged);

// The merge of <run_dir>/results/node-N.json by the plan there (offsets 0 without one,
// said in `notes`): what bench-master does at its end. A node of the plan without a
// readable file is a `missing` row, with why (and a line in `notes`). nullopt and *error
// when no file can be merged.
std::optional<Results> merge_run_folder(const std::filesystem::path& run_dir, std::vector<std::string>* notes,
                                        std::string* error);

}  // namespace bm::stats
