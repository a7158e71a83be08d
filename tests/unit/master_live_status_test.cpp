#include <gtest/gtest.h>

#include "master/live_status.hpp"
#include "master/master.hpp"
#include "master/workspace.hpp"

namespace bm::master {
namespace {

stats::SeriesPoint point(int64_t t, uint64_t ok, uint64_t failed, std::vector<int64_t> latencies) {
  stats::SeriesPoint p;
  p.t = t;
  p.cycle = 1;
  p.phase = stats::Phase::window;
  p.requests_ok = ok;
  p.requests_failed = failed;
  stats::Histogram h;
  for (auto v : latencies) h.record(v);
  p.latency = stats::SparseHistogram(h);
  return p;
}

TEST(LiveStatus, MergesNodesHistogramsPerSecondForP95) {
  const int64_t start = 1000 * 1'000'000LL;
  LiveStatus status(3, start);
  // Node A's second 1010 is fast, node B's slow: p95 of the union is B's, not an average.
  std::vector<int64_t> fast(95, 1000), slow(5, 90'000);
  status.add(point(1010, 95, 0, fast));
  status.add(point(1010, 5, 2, slow));
  std::string line = status.line(NodeCounts{2, 1, 0}, 1012 * 1'000'000LL + 500'000);
  EXPECT_NE(line.find("cycle 2/3 window"), std::string::npos) << line;
  EXPECT_NE(line.find("0:12"), std::string::npos) << line;
  EXPECT_NE(line.find("nodes 2 running, 1 finished, 0 failed"), std::string::npos) << line;
  EXPECT_NE(line.find("102 req/s"), std::string::npos) << line;
  EXPECT_NE(line.find("2 requests failed, 0 tests failed"), std::string::npos) << line;
  EXPECT_NE(line.find("p95 1.00 ms"), std::string::npos) << line;
  status.add(point(1010, 0, 0, std::vector<int64_t>(10, 90'000)));
  line = status.line(NodeCounts{}, 1012 * 1'000'000LL);
  EXPECT_NE(line.find("p95 90.0 ms"), std::string::npos) << line;
}

TEST(LiveStatus, FailedTestsAreCountedEvenWhenEveryRequestSucceeded) {
  LiveStatus status(1, 1000 * 1'000'000LL);
  stats::SeriesPoint p = point(1010, 10, 0, std::vector<int64_t>(10, 1000));
  p.tests_ok = 4;
  p.tests_failed = 3;  // a check in the scenario failed on a page that answered 200
  p.tests_errors = 1;
  status.add(p);
  const std::string line = status.line(NodeCounts{1, 0, 0}, 1012 * 1'000'000LL);
  EXPECT_NE(line.find("0 requests failed, 4 tests failed"), std::string::npos) << line;
}

TEST(LiveStatus, BeforeTheStartSaysWhen) {
  LiveStatus status(1, 2'000'000);
  EXPECT_EQ(status.line(NodeCounts{3, 0, 0}, 500'000).rfind("starting in 1.5 s", 0), 0u);
}

TEST(NodeProgram, BenchNodeIsCalledByNameOtherwiseTheNodeSubcommand) {
  EXPECT_EQ(node_program_argv("bench-node"), (std::vector<std::string>{"bench-node"}));
  EXPECT_EQ(node_program_argv("/opt/bm/bin/bench-node"), (std::vector<std::string>{"/opt/bm/bin/bench-node"}));
  EXPECT_EQ(node_program_argv("/usr/bin/benchmaster"), (std::vector<std::string>{"/usr/bin/benchmaster", "node"}));
}

TEST(Workspace, TailoredConfNumbersTheNodeAndKeepsMonitoringOnNodeZero) {
  std::string error;
  auto conf = conf::ConfFile::parse("[main]\nurl = http://127.0.0.1:1\n[monitor]\nhosts = db web\n[bench]\ncycles = 2\n",
                                    "T.conf", &error);
  ASSERT_TRUE(conf) << error;
  auto zero = conf::ConfFile::parse(tailored_conf(*conf, 0), "0", &error);
  auto three = conf::ConfFile::parse(tailored_conf(*conf, 3), "3", &error);
  ASSERT_TRUE(zero && three) << error;
  EXPECT_EQ(zero->get("bench", "node_num"), "0");
  EXPECT_EQ(zero->get("monitor", "hosts"), "db web");
  EXPECT_EQ(three->get("bench", "node_num"), "3");
  EXPECT_EQ(three->get("monitor", "hosts"), "");
  EXPECT_EQ(three->get("bench", "cycles"), "2");
}

TEST(Workspace, MonitoredHostsNamedInDefaultStayOnNodeZeroToo) {
  std::string error;
  // [monitor] inherits its hosts from [DEFAULT], as ConfigParser's sections do.
  auto conf = conf::ConfFile::parse(
      "[DEFAULT]\nhosts = db\n[main]\nurl = http://127.0.0.1:1\n[monitor]\n[bench]\ncycles = 2\n", "T.conf", &error);
  ASSERT_TRUE(conf) << error;
  auto zero = conf::ConfFile::parse(tailored_conf(*conf, 0), "0", &error);
  auto one = conf::ConfFile::parse(tailored_conf(*conf, 1), "1", &error);
  ASSERT_TRUE(zero && one) << error;
  EXPECT_EQ(zero->get("monitor", "hosts"), "db");
  EXPECT_EQ(one->get("monitor", "hosts"), "");
}

TEST(Workspace, LayoutGroupsRunsOfOneLabel) {
  auto layout = master_layout("/w", "base line", "Shop", "20250102T030405");
  EXPECT_EQ(layout.out_dir, "/w/base line/out");
  EXPECT_EQ(layout.err_dir, "/w/base line/err");
  EXPECT_EQ(layout.run_dir, "/w/base line/reports/Shop-20250102T030405");
  EXPECT_EQ(layout.results_dir, "/w/base line/reports/Shop-20250102T030405/results");
  EXPECT_EQ(node_folder("/tmp/bench-node", "a b", 2), "/tmp/bench-node/a b/node-2");
  EXPECT_EQ(node_folder("/tmp/x/", "l", 0), "/tmp/x/l/node-0");
}

}  // namespace
}  // namespace bm::master
