// bench-master's run against fake nodes: a transport injected through MasterOptions runs
// a small shell script as each node (printing the node protocol, reading the master's
// lines) and hands back results files the test made. So the master's own policy is
// tested without SSH or bench-node: the clock offset it measures, the cycle barrier,
// a dead node, partial results, and the exit code of each.
#include "common/files.hpp"
#include "master/master.hpp"
#include "master/process.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "protocol/node_protocol.hpp"
#include "results_fixture.hpp"
#include "stats/results.hpp"
#include "test_folder.hpp"

namespace bm::master {
namespace {

namespace fs = std::filesystem;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What each fake node does. Scripts run under sh with PSSH_NODENUM set; $DIR is the
// test's folder.
struct FakeNodes {
  std::string clock_script = R"sh(while :; do echo "@clock $(date +%s%6N)"; IFS= read -r l || exit 0; done)sh";
  std::map<int, std::string> run_scripts;  // by node; default: say hello and end well
  fs::path dir;
  std::map<int, fs::path> results;  // by node: the file get_file hands back
};

class FakeTransport final : public Transport {
 public:
  FakeTransport(const FakeNodes& nodes) : nodes_(nodes) {}
  std::string describe() const override { return "fake"; }
  asio::awaitable<StepResult> open() override { co_return StepResult{}; }
  SpawnSpec spawn_spec(const NodeCommand& command) const override {
    SpawnSpec spec;
    for (const auto& [name, value] : command.env) spec.env.push_back(name + "=" + value);
    spec.env.push_back("DIR=" + nodes_.dir.string());
    const bool clock = std::find(command.argv.begin(), command.argv.end(), "--clock") != command.argv.end();
    std::string script = nodes_.clock_script;
    if (!clock) {
      int num = -1;
      for (const auto& [name, value] : command.env) {
        if (name == "PSSH_NODENUM") num = std::stoi(value);
      }
      auto it = nodes_.run_scripts.find(num);
      script = it != nodes_.run_scripts.end() ? it->second : std::string(R"sh(echo "@node {\"pid\":$$}")sh");
    }
    spec.argv = {"sh", "-c", script};
    return spec;
  }
  asio::awaitable<StepResult> make_dir(const std::string&) override { co_return StepResult{}; }
  asio::awaitable<StepResult> remove_tree(const std::string&) override { co_return StepResult{}; }
  asio::awaitable<StepResult> put_file(const fs::path&, const std::string&, bool) override { co_return StepResult{}; }
  asio::awaitable<StepResult> get_file(const std::string& remote, const fs::path& local) override {
    std::smatch match;
    static const std::regex kNode("node-(\\d+)/results/results.json$");
    if (!std::regex_search(remote, match, kNode)) co_return StepResult{"unexpected path " + remote};
    auto it = nodes_.results.find(std::stoi(match[1]));
    if (it == nodes_.results.end()) co_return StepResult{remote + ": no such file"};
    std::error_code ec;
    common::copy_file_restarting(it->second, local, fs::copy_options::overwrite_existing, ec);
    co_return StepResult{ec ? ec.message() : ""};
  }
  asio::awaitable<StepResult> terminate(long long pid) override {
    ::kill(static_cast<pid_t>(pid), SIGTERM);
    ::kill(static_cast<pid_t>(pid), SIGCONT);
    co_return StepResult{};
  }
  asio::awaitable<StepResult> kill(long long pid) override {
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    co_return StepResult{};
  }
  asio::awaitable<void> close() override { co_return; }

 private:
  const FakeNodes& nodes_;
};

class MasterRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_ / "test_Fake.lua") << "function test_Fake(vu) end\n";
    std::ofstream(dir_ / "Fake.conf") << "[main]\nurl = http://127.0.0.1:9\n[bench]\ncycles = 1:1\nduration = 1\n";
    fake_.dir = dir_;
  }

  // Node `num`'s results: `cycles` of the two done, each with `ok` tests.
  void give_results(int num, int cycles, stats::RunStatus status, uint64_t ok = 10) {
    const int64_t start_us = now_us();
    stats::Results r = stats::testing::ResultsBuilder("Fake")
                           .node(num)
                           .status(status)
                           .span(start_us, status == stats::RunStatus::running ? 0 : start_us + 2'000'000)
                           .cycles({1, 1}, 1)
                           .cycle_times(start_us, 1'000'000)
                           .build();
    r.cycles.resize(static_cast<std::size_t>(cycles));
    for (stats::CycleResults& cycle : r.cycles) {
      for (uint64_t i = 0; i < ok; ++i) cycle.tests.slot("test_Fake").stats.record_success(1000, 1'500'000);
    }
    const fs::path path = dir_ / ("results-" + std::to_string(num) + ".json");
    std::string error;
    ASSERT_TRUE(stats::write_results_atomic(r, path, &error)) << error;
    fake_.results[num] = path;
  }

  int run(int nodes, int cycle_count) {
    MasterOptions options;
    for (int i = 0; i < nodes; ++i) options.nodes.push_back(NodeEntry{NodeAddress{false, "", "fake", 0}, "test"});
    options.test_file = dir_ / "test_Fake.lua";
    options.conf_file = dir_ / "Fake.conf";
    options.cycle_count = cycle_count;
    options.label = "unit";
    options.output_dir = dir_ / "w";
    options.node_dir = (dir_ / "x").string();
    options.start_margin_s = 0.2;
    options.barrier_timeout_s = barrier_timeout_s_;
    options.make_transport = [this](Runtime, const NodeAddress&, const fs::path&) {
      return std::make_unique<FakeTransport>(fake_);
    };
    return run_master(options, out_, err_);
  }

  stats::Results merged() {
    stats::Results results;
    std::string error;
    fs::path found;
    for (const auto& entry : fs::recursive_directory_iterator(dir_ / "w")) {
      if (entry.path().filename() == "results.json") found = entry.path();
    }
    EXPECT_TRUE(stats::read_results(found, results, &error)) << error;
    return results;
  }

  std::string read(const std::string& name) {
    std::ifstream file(dir_ / name);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }

  bm::testing::TestFolder folder_{"bm-master-run"};
  const fs::path& dir_ = folder_.path();
  FakeNodes fake_;
  double barrier_timeout_s_ = 60;
  std::ostringstream out_, err_;
};

TEST_F(MasterRunTest, EveryNodeCompleteMergesAndExitsZero) {
  give_results(0, 2, stats::RunStatus::complete);
  give_results(1, 2, stats::RunStatus::complete, 5);
  EXPECT_EQ(run(2, 2), kExitOk) << out_.str() << err_.str();
  const stats::Results results = merged();
  ASSERT_EQ(results.nodes.size(), 2u);
  for (const auto& row : results.nodes) EXPECT_EQ(row.status, stats::NodeStatus::complete);
  EXPECT_EQ(results.nodes[1].tests, 10u);  // 5 per cycle, two cycles
  EXPECT_NE(out_.str().find("Merged 2 of 2 nodes"), std::string::npos) << out_.str();
}

TEST_F(MasterRunTest, ADeadNodeWithPartialResultsMakesAPartialRun) {
  give_results(0, 2, stats::RunStatus::complete);
  give_results(1, 1, stats::RunStatus::running);  // it saved cycle 1, then died
  fake_.run_scripts[1] = R"sh(echo "@node {\"pid\":$$}"; kill -9 $$)sh";
  EXPECT_EQ(run(2, 1), kExitPartial) << out_.str();
  const stats::Results results = merged();
  ASSERT_EQ(results.nodes.size(), 2u);
  EXPECT_EQ(results.nodes[0].status, stats::NodeStatus::complete);
  EXPECT_EQ(results.nodes[1].status, stats::NodeStatus::incomplete);
  EXPECT_NE(results.nodes[1].message.find("killed by signal 9"), std::string::npos) << results.nodes[1].message;
  ASSERT_EQ(results.cycles.size(), 2u);
  EXPECT_EQ(results.cycles[0].status, stats::CycleStatus::complete);
  EXPECT_EQ(results.cycles[1].status, stats::CycleStatus::incomplete);  // node 1 never ran it
}

TEST_F(MasterRunTest, ANodeWithoutResultsIsMissingAndTheOthersAreMerged) {
  give_results(0, 2, stats::RunStatus::complete);
  EXPECT_EQ(run(2, 1), kExitPartial);
  const stats::Results results = merged();
  ASSERT_EQ(results.nodes.size(), 2u);
  EXPECT_EQ(results.nodes[1].status, stats::NodeStatus::missing);
  EXPECT_NE(results.nodes[1].message.find("no such file"), std::string::npos) << results.nodes[1].message;
}

TEST_F(MasterRunTest, ASkewedClockIsMeasuredAndRecorded) {
  fake_.clock_script =
      R"sh(while :; do echo "@clock $(( $(date +%s%6N) + 30000000 ))"; IFS= read -r l || exit 0; done)sh";
  give_results(0, 2, stats::RunStatus::complete);
  EXPECT_EQ(run(1, 1), kExitOk) << out_.str();
  const stats::Results results = merged();
  ASSERT_EQ(results.nodes.size(), 1u);
  // Within the round trip of a shell's date: far below the 30 s to find.
  EXPECT_NEAR(static_cast<double>(results.nodes[0].clock_offset_us), 30e6, 0.5e6);
  // The master prints the offset it recorded. An estimate, within half the round trip of
  // the 30 s: it may read +29999.1 ms as well as +30000.4 ms (the first failed a check for
  // "+30" about one run in 20 in the slower sanitizer build).
  char printed[64];
  std::snprintf(printed, sizeof printed, "clock offset %+.1f ms", results.nodes[0].clock_offset_us / 1e3);
  EXPECT_NE(out_.str().find(printed), std::string::npos) << printed << "\n" << out_.str();
}

// A node on the master's own kernel reads the master's own clock: its offset is 0
// exactly, not the exchange's estimate (off by up to half a round trip).
TEST_F(MasterRunTest, ANodeOnTheMastersKernelHasNoClockOffset) {
  fake_.clock_script =
      R"sh(k=$(cat /proc/sys/kernel/random/boot_id); while :; do echo "@clock $(date +%s%6N) $k"; IFS= read -r l || exit 0; done)sh";
  give_results(0, 2, stats::RunStatus::complete);
  EXPECT_EQ(run(1, 1), kExitOk) << out_.str();
  ASSERT_EQ(merged().nodes.size(), 1u);
  EXPECT_EQ(merged().nodes[0].clock_offset_us, 0);
  EXPECT_NE(out_.str().find("clock offset 0 (the master's own clock)"), std::string::npos) << out_.str();
}

// The same kernel with a clock made to differ (faketime, a test's shim): the reading
// is not 0 within its round trip, so the measurement stands.
TEST_F(MasterRunTest, ASkewedClockOnTheMastersKernelIsStillMeasured) {
  fake_.clock_script =
      R"sh(k=$(cat /proc/sys/kernel/random/boot_id); while :; do echo "@clock $(( $(date +%s%6N) + 30000000 )) $k"; IFS= read -r l || exit 0; done)sh";
  give_results(0, 2, stats::RunStatus::complete);
  EXPECT_EQ(run(1, 1), kExitOk) << out_.str();
  ASSERT_EQ(merged().nodes.size(), 1u);
  EXPECT_NEAR(static_cast<double>(merged().nodes[0].clock_offset_us), 30e6, 0.5e6);
}

// Another kernel's id: the node's clock is its own, measured as before.
TEST_F(MasterRunTest, ANodeOnAnotherKernelIsMeasured) {
  fake_.clock_script =
      R"sh(while :; do echo "@clock $(( $(date +%s%6N) - 2000000 )) 00000000-0000-0000-0000-000000000000"; IFS= read -r l || exit 0; done)sh";
  give_results(0, 2, stats::RunStatus::complete);
  EXPECT_EQ(run(1, 1), kExitOk) << out_.str();
  ASSERT_EQ(merged().nodes.size(), 1u);
  EXPECT_NEAR(static_cast<double>(merged().nodes[0].clock_offset_us), -2e6, 0.5e6);
  EXPECT_EQ(out_.str().find("the master's own clock"), std::string::npos) << out_.str();
}

// A node that waits for the master's start of cycle 1, reports the end of cycle 1's
// drain, waits for the master's start of cycle 2, and writes it down (with when it
// came) for the test.
std::string barrier_node(double delay_s) {
  return "echo \"@node {\\\"pid\\\":$$}\"; IFS= read -r first; sleep " + std::to_string(delay_s) +
         "; echo \"@cycle-done {\\\"cycle\\\":0,\\\"end_epoch_us\\\":$(date +%s%6N)}\"; "
         "IFS= read -r go; echo \"$(date +%s%6N) $go\" > \"$DIR/go-$PSSH_NODENUM\"";
}

struct GoSeen {
  int64_t received_us = 0;
  protocol::Go go;
};

GoSeen parse_go(const std::string& text) {
  GoSeen seen;
  std::istringstream in(text);
  in >> seen.received_us;
  std::string rest;
  std::getline(in, rest);
  auto message = protocol::parse_line(rest);
  EXPECT_TRUE(std::holds_alternative<protocol::Go>(message)) << text;
  if (auto* go = std::get_if<protocol::Go>(&message)) seen.go = *go;
  return seen;
}

TEST_F(MasterRunTest, TheNextCycleStartsTogetherOnceEveryNodeHasDrained) {
  give_results(0, 2, stats::RunStatus::complete);
  give_results(1, 2, stats::RunStatus::complete);
  fake_.run_scripts[0] = barrier_node(0);
  fake_.run_scripts[1] = barrier_node(0.5);  // slow to drain
  const int64_t started = now_us();
  EXPECT_EQ(run(2, 2), kExitOk) << out_.str();
  const GoSeen first = parse_go(read("go-0")), second = parse_go(read("go-1"));
  EXPECT_EQ(first.go.cycle, 1);
  EXPECT_EQ(second.go.cycle, 1);
  EXPECT_EQ(first.go.start_epoch_us, second.go.start_epoch_us);  // same clock here: the same time
  // Node 0 was kept waiting for node 1, and the start is after node 1's drain ended.
  EXPECT_GE(first.received_us, started + 500'000);
  EXPECT_GE(first.go.start_epoch_us, started + 500'000);
}

TEST_F(MasterRunTest, ANodeStillDrainingAfterTheTimeoutIsReportedNotWaitedFor) {
  give_results(0, 2, stats::RunStatus::complete);
  give_results(1, 2, stats::RunStatus::complete);
  barrier_timeout_s_ = 0.3;
  fake_.run_scripts[0] = barrier_node(0);
  fake_.run_scripts[1] = barrier_node(2);
  EXPECT_EQ(run(2, 2), kExitOk) << out_.str();
  const GoSeen first = parse_go(read("go-0")), late = parse_go(read("go-1"));
  EXPECT_LT(first.received_us + 1'000'000, late.received_us);  // node 0 did not wait 2 s
  EXPECT_EQ(late.go.cycle, 1);
  EXPECT_GT(late.go.start_epoch_us, first.go.start_epoch_us);  // started late, out of step
  EXPECT_NE(out_.str().find("still in cycle 1"), std::string::npos) << out_.str();
}

// A node that cannot save its results warns, after the error, that its report is not
// written either: its row must give the error.
TEST(LastErrorLine, TheLastLineThatIsNotAWarning) {
  EXPECT_EQ(last_error_line("=== run ===\nbenchmaster node: results.json: No space left on device\n"
                            "benchmaster node: warning: no HTML report: cannot write\n\n"),
            "benchmaster node: results.json: No space left on device");
  EXPECT_EQ(last_error_line("warning: a\nx: warning: b\n"), "x: warning: b");  // only warnings
  EXPECT_EQ(last_error_line("  plain  \n"), "plain");
  EXPECT_EQ(last_error_line(""), "");
}

}  // namespace
}  // namespace bm::master
