// BenchRunner's steps on a real loop and a real server (the demo target, in-process, on a
// loopback port): the cycle's window and counts, the common start of a distributed run,
// the gate between cycles, and an interrupt.
#include "engine/bench_runner.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "demo/demo_server.hpp"
#include "engine/clock.hpp"
#include "engine/cycle_gate.hpp"
#include "engine/test_loader.hpp"
#include "test_folder.hpp"

namespace bm::engine {
namespace {

namespace fs = std::filesystem;

class BenchRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    demo::DemoOptions options;
    options.port = 0;
    options.quiet = true;
    server_ = std::make_unique<demo::DemoServer>(options);
    server_->start();
    g_interrupts.store(0);
  }
  void TearDown() override {
    g_interrupts.store(0);
    server_->stop();
  }


  std::unique_ptr<LoadedTest> load(const std::string& cycles, double duration_s) {
    return load_with(fmt::format("cycles = {}\nduration = {}\nstartup_delay = 0\ncycle_time = 0\n", cycles, duration_s), 1);
  }

  // The open model: iterations at `rates` per second from a pool of max_users, 2 workers.
  std::unique_ptr<LoadedTest> load_open(const std::string& rates, double duration_s, int max_users) {
    return load_with(fmt::format("rates = {}\nmax_users = {}\nduration = {}\n", rates, max_users, duration_s), 2);
  }

  // A test of one 5 ms request, with these [bench] lines.
  std::unique_ptr<LoadedTest> load_with(const std::string& bench_lines, int workers) {
    std::ofstream(dir_ / "test_Run.lua") << "function test_Run(vu)\n  vu:get(conf_get('main', 'url') .. '/delay/5')\nend\n";
    std::ofstream(dir_ / "Run.conf") << "[main]\nurl = " << server_->url() << "\n[bench]\n" << bench_lines;
    TestSpec spec;
    spec.test_file = (dir_ / "test_Run.lua").string();
    spec.given.workers = workers;
    std::string error;
    auto test = load_test(spec, conf::Mode::bench, &error);
    EXPECT_TRUE(test) << error;
    return test;
  }

  // Ctrl-C half a second in: the run ends as interrupted (130), well within 10 s.
  static void run_interrupted_after_half_a_second(BenchRunner& runner) {
    std::thread interrupter([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      g_interrupts.store(1);
    });
    std::string error;
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(runner.run(&error), 130);
    interrupter.join();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  }

  BenchOptions options(const LoadedTest& test) {
    BenchOptions o;
    o.engine = test.engine;
    o.output_dir = dir_ / "out";
    return o;
  }

  bm::testing::TestFolder folder_{"bm-runner"};
  const fs::path& dir_ = folder_.path();
  std::unique_ptr<demo::DemoServer> server_;
  std::ostringstream out_;
};

TEST_F(BenchRunnerTest, ACycleCountsWhatCompletesInItsWindow) {
  auto test = load("2", 0.5);
  ASSERT_TRUE(test);
  BenchRunner runner(options(*test), out_);
  std::string error;
  EXPECT_EQ(runner.run(&error), 0) << error << out_.str();
  const stats::Results& r = runner.results();
  ASSERT_EQ(r.cycles.size(), 1u);
  const stats::CycleResults& cycle = r.cycles[0];
  EXPECT_EQ(cycle.status, stats::CycleStatus::complete);
  EXPECT_EQ(cycle.cvus, 2);
  EXPECT_EQ(cycle.window_end_epoch_us - cycle.window_start_epoch_us, 500'000);
  ASSERT_EQ(cycle.tests.size(), 1u);
  EXPECT_GT(cycle.tests.begin()->stats.ok, 10u);  // 2 users, 5 ms a test, 0.5 s
  EXPECT_EQ(cycle.abandoned.requests, 0u);
  EXPECT_GE(cycle.control_lag_us, 0);
  EXPECT_EQ(r.run.status, stats::RunStatus::complete);
  EXPECT_TRUE(fs::exists(runner.results_path()));
}

TEST_F(BenchRunnerTest, TheFirstCycleStartsAtTheCommonStartAndLaterOnesWhenTheGateOpens) {
  auto test = load("1:1", 0.3);
  ASSERT_TRUE(test);
  BenchOptions o = options(*test);
  CycleGate gate;
  o.gate = &gate;
  o.start_at_epoch_us = wall_us() + 300'000;
  const int64_t second_start = o.start_at_epoch_us + 1'500'000;
  std::thread master([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    gate.open(1, second_start);
  });
  BenchRunner runner(o, out_);
  std::string error;
  EXPECT_EQ(runner.run(&error), 0) << error;
  master.join();
  const stats::Results& r = runner.results();
  ASSERT_EQ(r.cycles.size(), 2u);
  // Within a few ms of the times given (a loaded machine may wake the runner late).
  EXPECT_NEAR(static_cast<double>(r.cycles[0].start_epoch_us), static_cast<double>(o.start_at_epoch_us), 50'000);
  EXPECT_NEAR(static_cast<double>(r.cycles[1].start_epoch_us), static_cast<double>(second_start), 50'000);
  EXPECT_NE(out_.str().find("@cycle-done {\"cycle\":0"), std::string::npos) << out_.str();
}

TEST_F(BenchRunnerTest, OpenModelStartsTheRateAskedAndAccountsForEveryStart) {
  auto test = load_open("200:100", 1, 50);
  ASSERT_TRUE(test);
  BenchRunner runner(options(*test), out_);
  std::string error;
  EXPECT_EQ(runner.run(&error), 0) << error << out_.str();
  const stats::Results& r = runner.results();
  EXPECT_EQ(r.config.rates, "200:100");
  EXPECT_EQ(r.config.rate_part, "0/1");
  ASSERT_EQ(r.cycles.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const stats::CycleResults& cycle = r.cycles[i];
    ASSERT_TRUE(cycle.arrivals) << i;
    const stats::Arrivals& a = *cycle.arrivals;
    const uint64_t expected = i == 0 ? 200 : 100;  // rate x 1 s window, both workers together
    EXPECT_EQ(a.due, expected);
    EXPECT_EQ(a.started + a.missed, a.due);
    EXPECT_EQ(a.missed, 0u);
    EXPECT_DOUBLE_EQ(a.rate_from, i == 0 ? 200 : 100);
    EXPECT_EQ(cycle.cvus, a.peak_users);
    EXPECT_GE(a.peak_users, 1);
    EXPECT_LE(a.peak_users, 50);
    // Every iteration begun completed, in the window or in the drain after it.
    ASSERT_EQ(cycle.tests.size(), 1u);
    const stats::EntryStats& t = cycle.tests.begin()->stats;
    EXPECT_EQ(t.ok + cycle.outside_window.tests, a.started);
    EXPECT_EQ(t.service.count(), t.ok);  // service time kept beside the from-intended latency
    EXPECT_GE(t.latency.max(), t.service.min());
  }
  EXPECT_NE(out_.str().find("Cycle #1 at 200 iterations/s"), std::string::npos) << out_.str();
}

TEST_F(BenchRunnerTest, AnInterruptEndsAnOpenModelRunWithWhatFinished) {
  auto test = load_open("100:100", 30, 10);
  ASSERT_TRUE(test);
  BenchRunner runner(options(*test), out_);
  run_interrupted_after_half_a_second(runner);
  const stats::Results& r = runner.results();
  ASSERT_EQ(r.cycles.size(), 1u);
  EXPECT_EQ(r.cycles[0].status, stats::CycleStatus::incomplete);
  ASSERT_TRUE(r.cycles[0].arrivals);
  EXPECT_EQ(r.cycles[0].arrivals->started + r.cycles[0].arrivals->missed, r.cycles[0].arrivals->due);
}

TEST_F(BenchRunnerTest, AnInterruptEndsTheRunWithWhatFinished) {
  auto test = load("1:1", 30);
  ASSERT_TRUE(test);
  BenchRunner runner(options(*test), out_);
  run_interrupted_after_half_a_second(runner);
  const stats::Results& r = runner.results();
  EXPECT_EQ(r.run.status, stats::RunStatus::interrupted);
  ASSERT_EQ(r.cycles.size(), 1u);
  EXPECT_EQ(r.cycles[0].status, stats::CycleStatus::incomplete);
}

}  // namespace
}  // namespace bm::engine
