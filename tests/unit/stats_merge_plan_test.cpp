// The merge of a run folder's node files by the master's merge plan: what bench-report
// does when the master died before it merged (docs/distributed.md).
#include "stats/merge_plan.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "results_fixture.hpp"
#include "test_folder.hpp"

namespace bm::stats {
namespace {

namespace fs = std::filesystem;
using testing::ResultsBuilder;

constexpr int64_t kStartUs = 1'765'000'000'000'000;

Results node_file(int num, int64_t clock_offset_us, RunStatus status = RunStatus::complete) {
  ResultsBuilder builder("Plan");
  builder.node(num).status(status).default_limits().cycles({2}, 1.0);
  builder.span(kStartUs + clock_offset_us, status == RunStatus::running ? 0 : kStartUs + clock_offset_us + 3'000'000);
  builder.cycle_times(kStartUs + clock_offset_us + 500'000, 2'000'000);
  return builder.build();
}

MergePlan plan_of_three() {
  MergePlan plan;
  plan.label = "nightly";
  plan.host = "master.example";
  plan.test_file = "test_Plan.lua";
  plan.conf_file = "Plan.conf";
  plan.command_line = {"bench-master", "test_Plan.lua", "--nodes", "web1,web2,web3"};
  plan.planned_start_epoch_us = kStartUs + 400'000;
  plan.nodes = {{0, "web1", 0}, {1, "web2", 2'000'000}, {2, "web3", -1'000'000}};
  return plan;
}

class MergePlanTest : public ::testing::Test {
 protected:
  bm::testing::TestFolder dir_{"merge-plan"};
  fs::path results_dir() const { return dir_.path() / "results"; }
  void SetUp() override { fs::create_directories(results_dir()); }
  void write_node(int num, const Results& results) {
    std::string error;
    ASSERT_TRUE(write_results_atomic(results, results_dir() / ("node-" + std::to_string(num) + ".json"), &error))
        << error;
  }
};

TEST_F(MergePlanTest, RoundTrips) {
  const MergePlan plan = plan_of_three();
  std::string error;
  ASSERT_TRUE(write_merge_plan(plan, results_dir() / kMergePlanFile, &error)) << error;
  MergePlan back;
  ASSERT_TRUE(read_merge_plan(results_dir() / kMergePlanFile, back, &error)) << error;
  EXPECT_EQ(back.label, plan.label);
  EXPECT_EQ(back.command_line, plan.command_line);
  EXPECT_EQ(back.planned_start_epoch_us, plan.planned_start_epoch_us);
  ASSERT_EQ(back.nodes.size(), 3u);
  EXPECT_EQ(back.nodes[1].host, "web2");
  EXPECT_EQ(back.nodes[2].clock_offset_us, -1'000'000);

  std::ofstream(results_dir() / "bad.json") << R"({"format": "benchmaster-merge-plan", "version": 1})";
  EXPECT_FALSE(read_merge_plan(results_dir() / "bad.json", back, &error));
  EXPECT_NE(error.find("bad.json: "), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

// Found by the merge_plan fuzz target: a number too large for its field was converted
// (undefined behaviour) instead of refused. Now every number is read strictly.
TEST_F(MergePlanTest, NumbersOfTheWrongKindOrRangeAreRefused) {
  const std::string good = merge_plan_to_string(plan_of_three());
  MergePlan plan;
  std::string error;
  ASSERT_TRUE(parse_merge_plan(good, "plan", plan, &error)) << error;
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"version\": 1", "\"version\": 33333333333333333331"},
           {"\"node_num\": 1", "\"node_num\": 3.5e19"},
           {"\"clock_offset_us\": 2000000", "\"clock_offset_us\": 2e6"},
           {"\"planned_start_epoch_us\": 1765000000400000", "\"planned_start_epoch_us\": \"soon\""}}) {
    std::string text = good;
    const std::size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    EXPECT_FALSE(parse_merge_plan(text, "plan", plan, &error)) << to;
    EXPECT_EQ(error.rfind("plan: ", 0), 0u) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

// Every node's file there: the same document as the master's own merge, plan applied.
TEST_F(MergePlanTest, TheFolderMergesAsTheMasterWould) {
  const MergePlan plan = plan_of_three();
  std::string error;
  ASSERT_TRUE(write_merge_plan(plan, results_dir() / kMergePlanFile, &error)) << error;
  std::vector<Results> nodes;
  MergeOptions options{{}, plan.planned_start_epoch_us, plan.host};
  for (const MergePlanNode& node : plan.nodes) {
    nodes.push_back(node_file(node.node_num, node.clock_offset_us));
    write_node(node.node_num, nodes.back());
    NodeMergeInfo info;
    info.clock_offset_us = node.clock_offset_us;
    options.nodes.push_back(info);
  }
  std::optional<Results> expected = merge_results(nodes, options, &error);
  ASSERT_TRUE(expected) << error;
  apply_merge_plan(plan, *expected);

  std::vector<std::string> notes;
  const std::optional<Results> merged = merge_run_folder(dir_.path(), &notes, &error);
  ASSERT_TRUE(merged) << error;
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(results_to_string(*merged), results_to_string(*expected));
  EXPECT_EQ(merged->run.label, "nightly");
  EXPECT_EQ(merged->nodes[2].host, "web3");
  EXPECT_EQ(merged->nodes[1].clock_offset_us, 2'000'000);
}

// A node whose file never came home, one cut short, one that died mid-run: the first two
// are missing rows with why, the third is merged as interrupted.
TEST_F(MergePlanTest, MissingAndBrokenFilesAreMissingRows) {
  std::string error;
  ASSERT_TRUE(write_merge_plan(plan_of_three(), results_dir() / kMergePlanFile, &error)) << error;
  write_node(0, node_file(0, 0, RunStatus::running));
  std::ofstream(results_dir() / "node-1.json") << R"({"format": "benchmaster-results", "vers)";
  std::vector<std::string> notes;
  const std::optional<Results> merged = merge_run_folder(dir_.path(), &notes, &error);
  ASSERT_TRUE(merged) << error;
  ASSERT_EQ(merged->nodes.size(), 3u);
  EXPECT_EQ(merged->nodes[0].status, NodeStatus::incomplete);
  EXPECT_EQ(merged->run.status, RunStatus::interrupted);
  EXPECT_EQ(merged->nodes[1].status, NodeStatus::missing);
  EXPECT_NE(merged->nodes[1].message.find("invalid JSON"), std::string::npos) << merged->nodes[1].message;
  EXPECT_EQ(merged->nodes[2].status, NodeStatus::missing);
  EXPECT_EQ(merged->nodes[2].message, "its results were not brought back (they stay on its host)");
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[1].rfind("node 2: ", 0), 0u) << notes[1];
}

TEST_F(MergePlanTest, WithoutAPlanTheOffsetsAreZeroAndItSaysSo) {
  write_node(0, node_file(0, 0));
  write_node(1, node_file(1, 0));
  std::vector<std::string> notes;
  std::string error;
  const std::optional<Results> merged = merge_run_folder(dir_.path(), &notes, &error);
  ASSERT_TRUE(merged) << error;
  EXPECT_EQ(merged->nodes.size(), 2u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("the clock offsets are taken as 0"), std::string::npos) << notes[0];

  fs::remove_all(results_dir());
  fs::create_directories(results_dir());
  EXPECT_FALSE(merge_run_folder(dir_.path(), &notes, &error));
  EXPECT_NE(error.find("no node's results to merge"), std::string::npos) << error;
}

}  // namespace
}  // namespace bm::stats
