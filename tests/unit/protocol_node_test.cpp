// The node protocol: every message survives writing and parsing, and lines that are
// not exactly a message (ordinary output, truncated or hostile text) are none.
#include "protocol/node_protocol.hpp"

#include <gtest/gtest.h>

namespace {

using namespace bm::protocol;

template <class T>
T parsed_as(const std::string& line) {
  Message message = parse_line(line);
  EXPECT_TRUE(std::holds_alternative<T>(message)) << line;
  return std::holds_alternative<T>(message) ? std::get<T>(message) : T{};
}

TEST(NodeProtocol, EveryMessageRoundTrips) {
  EXPECT_EQ(parsed_as<NodeHello>(node_line({4242, 3})), (NodeHello{4242, 3}));
  EXPECT_EQ(parsed_as<CycleDone>(cycle_done_line({2, 1765000000123456})), (CycleDone{2, 1765000000123456}));
  EXPECT_EQ(parsed_as<Go>(go_line({3, 1765000001000000})), (Go{3, 1765000001000000}));
  EXPECT_EQ(parsed_as<ClockReading>(clock_line({1765000000000001, ""})), (ClockReading{1765000000000001, ""}));
  const ClockReading with_kernel{1765000000000001, "5f0c2b1e-8a7d-4d39-9b0e-2f4c6a8e1d37"};
  EXPECT_EQ(parsed_as<ClockReading>(clock_line(with_kernel)), with_kernel);
  EXPECT_EQ(parsed_as<ExitCode>(exit_line({137})), (ExitCode{137}));

  bm::stats::SeriesPoint point;
  point.t = 1765000000;
  point.requests_ok = 12;
  point.requests_failed = 1;
  auto back = parsed_as<bm::stats::SeriesPoint>(progress_line(point));
  EXPECT_EQ(back.t, point.t);
  EXPECT_EQ(back.requests_ok, 12u);
  EXPECT_EQ(back.requests_failed, 1u);
}

TEST(NodeProtocol, AMessageAfterProgressCharactersIsFound) {
  EXPECT_EQ(parsed_as<CycleDone>("....F. done.\n" + cycle_done_line({0, 5})).cycle, 0);
  EXPECT_EQ(parsed_as<NodeHello>("..." + node_line({7, 0})).pid, 7);
}

TEST(NodeProtocol, ProgressLinesAsNodesPrintThem) {
  auto point = parsed_as<bm::stats::SeriesPoint>(
      "..@progress {\"t\":100,\"cycle\":0,\"phase\":\"window\",\"cvus\":2,\"requests_ok\":3,\"requests_failed\":1,"
      "\"pages_ok\":0,\"pages_failed\":0,\"tests_ok\":0,\"tests_failed\":0,\"tests_errors\":0,\"bytes_received\":0,"
      "\"latency\":{\"count\":0,\"min_us\":0,\"max_us\":0,\"sum_us\":0,\"buckets\":[]}}");
  EXPECT_EQ(point.t, 100);
  EXPECT_EQ(point.requests_failed, 1u);
  EXPECT_EQ(parsed_as<NodeHello>("@node {\"pid\": 7}").pid, 7);  // node_num is optional
}

TEST(NodeProtocol, MalformedLinesAreNotMessages) {
  for (const char* line : {
           "",
           "* Logging for 10 seconds: ....",
           "an e-mail: someone@example.test",
           "@node ",
           "@node {\"pid\": -1}",
           "@node {\"pid\": \"12\"}",
           "@node [1, 2]",
           "@node {\"pid\": 12",
           "@progress {}",
           "@progress {\"t\": \"x\"}",
           "@progress {\"t\": \"soon\"}",
           "@node not json",
           "Cycle #0 with 2 virtual users",
           "@cycle-done {\"cycle\": 1}",
           "@cycle-done {\"cycle\": -1, \"end_epoch_us\": 5}",
           "@go {\"cycle\": 1, \"start_epoch_us\": 1.5}",
           "@go {\"start_epoch_us\": 10}",
           "@clock",
           "@clock 12x",
           "@clock 12 <script>",
           "@clock 12 5F0C2B1E",
           "@clock x 5f0c2b1e",
           "@clock 99999999999999999999999",
           "@exit 256",
           "@exit -1",
           "@exit",
           "@end {}",
           "@end {\"reason\": 3}",
           "@cycle-results {\"index\": 0}",
       }) {
    EXPECT_TRUE(std::holds_alternative<std::monostate>(parse_line(line))) << line;
  }
}

// A cycle's figures travel whole (histograms, errors) and come back equal, even when a
// string inside them holds another message's tag; @end carries its reason.
TEST(NodeProtocol, CycleResultsAndEndRoundTrip) {
  bm::stats::CycleResults cycle;
  cycle.index = 2;
  cycle.cvus = 8;
  cycle.window_s = 1.5;
  bm::stats::EntryStats& page = cycle.pages.slot("home @go {\"cycle\": 9, \"start_epoch_us\": 1}").stats;
  for (int i = 1; i <= 100; ++i) page.record_success(i * 1000, 1'500'000);
  page.record_failure(bm::stats::ErrorKind::status, 2000);
  cycle.errors.record({bm::stats::ErrorKind::status, bm::stats::Verdict::failure, "home", "GET /", 503, "@node {\"pid\": 5}",
                       {}, {}, 1});
  const std::string line = ".." + cycle_results_line(cycle);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const Message message = parse_line(line);
  const auto* report = std::get_if<CycleReport>(&message);
  ASSERT_NE(report, nullptr) << line.substr(0, 200);
  EXPECT_EQ(report->cycle.index, 2);
  EXPECT_EQ(report->cycle.cvus, 8);
  EXPECT_EQ(bm::stats::cycle_results_to_json(report->cycle), bm::stats::cycle_results_to_json(cycle));
  EXPECT_EQ(report->cycle.pages.begin()->stats.latency.value_at_percentile(95),
            cycle.pages.begin()->stats.latency.value_at_percentile(95));

  EXPECT_EQ(parse_line(end_line({"threshold failed: p95 < 1 ms"})), Message(End{"threshold failed: p95 < 1 ms"}));
}

}  // namespace

namespace bm::protocol {

TEST(NodeProtocol, HeartbeatsAreRemovedWhereverTheyFall) {
  // A heartbeat is written alone, so it can land inside a line the node is printing.
  std::string stream = std::string(1, kHeartbeat) + "@cycle-done {\"cycle\":0," + kHeartbeat +
                       "\"end_epoch_us\":5}\n.." + kHeartbeat + kHeartbeat + ".\n" + kHeartbeat;
  stream.resize(remove_heartbeats(stream.data(), stream.size()));
  EXPECT_EQ(stream, "@cycle-done {\"cycle\":0,\"end_epoch_us\":5}\n...\n");
  EXPECT_EQ(parse_line("@cycle-done {\"cycle\":0,\"end_epoch_us\":5}"), Message(CycleDone{0, 5}));

  std::string only(3, kHeartbeat);
  EXPECT_EQ(remove_heartbeats(only.data(), only.size()), 0u);
  std::string none = "@node {\"node_num\":1,\"pid\":7}";
  EXPECT_EQ(remove_heartbeats(none.data(), none.size()), none.size());
  EXPECT_EQ(remove_heartbeats(nullptr, 0), 0u);
}

}  // namespace bm::protocol
