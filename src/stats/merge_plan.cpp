#include "stats/merge_plan.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <map>
#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "stats/json_reader.hpp"
#include "stats/merge.hpp"

namespace bm::stats {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPlanFormat = "benchmaster-merge-plan";

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

}  // namespace

bool write_merge_plan(const MergePlan& plan, const fs::path& path, std::string* error) {
  return write_file_atomic(path, merge_plan_to_string(plan), error);
}

std::string merge_plan_to_string(const MergePlan& plan) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const MergePlanNode& node : plan.nodes) {
    nodes.push_back({{"node_num", node.node_num}, {"host", node.host}, {"clock_offset_us", node.clock_offset_us}});
  }
  const nlohmann::json json{{"format", kPlanFormat},
                            {"version", 1},
                            {"label", plan.label},
                            {"host", plan.host},
                            {"test_file", plan.test_file},
                            {"conf_file", plan.conf_file},
                            {"command_line", plan.command_line},
                            {"thresholds", plan.thresholds},
                            {"planned_start_epoch_us", plan.planned_start_epoch_us},
                            {"nodes", nodes}};
  return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

bool read_merge_plan(const fs::path& path, MergePlan& out, std::string* error) {
  int error_number = 0;
  const std::optional<std::string> text = common::read_whole_file(path, &error_number);
  if (!text) return fail(error, fmt::format("{}: cannot open: {}", path.string(), std::strerror(error_number)));
  return parse_merge_plan(*text, path.string(), out, error);
}

bool parse_merge_plan(std::string_view text, std::string_view name, MergePlan& out, std::string* error) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) return fail(error, fmt::format("{}: not JSON", name));
  try {
    // Strict reads (stats/json_reader.hpp): a number of the wrong kind or range is refused.
    const JsonObject top(json, "");
    const nlohmann::json* format = top.find("format");
    if (format == nullptr || *format != kPlanFormat || top.integer("version") != 1) {
      return fail(error, fmt::format("{}: not a merge plan of this version", name));
    }
    const auto strings = [&](std::string_view key) {
      std::vector<std::string> list;
      const nlohmann::json& array = top.array(key);
      for (std::size_t i = 0; i < array.size(); ++i) list.push_back(json_string(array[i], json_path_index(key, i)));
      return list;
    };
    MergePlan plan;
    plan.label = top.string("label");
    plan.host = top.string("host");
    plan.test_file = top.string("test_file");
    plan.conf_file = top.string("conf_file");
    plan.command_line = strings("command_line");
    plan.thresholds = strings("thresholds");
    plan.planned_start_epoch_us = top.int64("planned_start_epoch_us");
    const nlohmann::json& nodes = top.array("nodes");
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const JsonObject node(nodes[i], json_path_index("nodes", i));
      plan.nodes.push_back({node.integer("node_num"), node.string("host"), node.int64("clock_offset_us")});
    }
    out = std::move(plan);
    return true;
  } catch (const std::exception& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    return fail(error, fmt::format("{}: {}", name, what));
  }
}

void settle_unfinished(Results& results) {
  if (results.run.status != RunStatus::running) return;
  results.run.status = RunStatus::interrupted;
  for (const auto& cycle : results.cycles) {
    results.run.end_epoch_us = std::max({results.run.end_epoch_us, cycle.end_epoch_us, cycle.start_epoch_us});
  }
  if (results.run.end_epoch_us == 0) results.run.end_epoch_us = results.run.start_epoch_us;
}

void apply_merge_plan(const MergePlan& plan, Results& merged) {
  merged.run.label = plan.label;
  merged.config.thresholds = plan.thresholds;
  merged.run.command_line = plan.command_line;
  // The test as the user named it, not the copies in the nodes' working folders.
  merged.run.test_file = plan.test_file;
  merged.run.conf_file = plan.conf_file;
  // Each node as the user named it (the node's own host name can be anything).
  for (auto& row : merged.nodes) {
    for (const MergePlanNode& node : plan.nodes) {
      if (node.node_num == row.node_num) row.host = node.host;
    }
  }
}

std::optional<Results> merge_run_folder(const fs::path& run_dir, std::vector<std::string>* notes,
                                        std::string* error) {
  const fs::path results_dir = run_dir / "results";
  std::vector<std::string> said;
  MergePlan plan;
  std::string problem;
  const bool planned = read_merge_plan(results_dir / kMergePlanFile, plan, &problem);
  // The node files there, by number.
  std::map<int, fs::path> files;
  static const std::regex kNodeFile(R"(node-(\d{1,6})\.json)");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(results_dir, ec)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, match, kNodeFile)) files[std::stoi(match[1])] = entry.path();
  }
  if (!planned) {
    said.push_back(fmt::format("{} (the clock offsets are taken as 0)", problem));
    for (const auto& [num, path] : files) plan.nodes.push_back({num, "", 0});
  }
  std::sort(plan.nodes.begin(), plan.nodes.end(), [](const auto& a, const auto& b) { return a.node_num < b.node_num; });

  ResultsMerger merger(MergeOptions{{}, plan.planned_start_epoch_us, plan.host});
  std::vector<NodeRow> absent;
  for (const MergePlanNode& node : plan.nodes) {
    auto it = files.find(node.node_num);
    std::string why;
    Results results;
    if (it == files.end()) {
      why = "its results were not brought back (they stay on its host)";
    } else if (!read_results(it->second, results, &why)) {
      // e.g. a copy cut short when the master died
    } else {
      settle_unfinished(results);
      NodeMergeInfo info;
      info.clock_offset_us = node.clock_offset_us;
      if (results.run.status != RunStatus::complete) {
        info.status = NodeStatus::incomplete;
        info.message = "did not finish";
      }
      if (!merger.add(std::move(results), info, &why)) {
        fail(error, why);
        return std::nullopt;
      }
      continue;
    }
    said.push_back(fmt::format("node {}: {}", node.node_num, why));
    NodeRow row;
    row.node_num = node.node_num;
    row.host = node.host;
    row.label = plan.label;
    row.status = NodeStatus::missing;
    row.clock_offset_us = node.clock_offset_us;
    row.message = why;
    absent.push_back(std::move(row));
  }
  if (merger.size() == 0) {
    fail(error, fmt::format("{}: no node's results to merge", results_dir.string()));
    return std::nullopt;
  }
  std::optional<Results> merged = merger.finish(error);
  if (!merged) return std::nullopt;
  if (planned) apply_merge_plan(plan, *merged);
  merged->nodes.insert(merged->nodes.end(), absent.begin(), absent.end());
  std::stable_sort(merged->nodes.begin(), merged->nodes.end(),
                   [](const auto& a, const auto& b) { return a.node_num < b.node_num; });
  if (notes) *notes = std::move(said);
  return merged;
}

}  // namespace bm::stats
