#include "stats/series.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stats/json_reader.hpp"

namespace bm::stats {
namespace {

TEST(SecondAccumulator, RollReturnsTheFinishedSecondAndStartsEmpty) {
  SecondAccumulator acc(1000);
  acc.set_cycle(2, Phase::window);
  acc.set_cvus(8);
  acc.record_request_ok(1500);
  acc.record_request_ok(2500);
  acc.record_request_failed();
  acc.record_page(true);
  acc.record_page(false);
  acc.record_test(TestOutcome::ok);
  acc.record_test(TestOutcome::failure);
  acc.record_test(TestOutcome::error);
  acc.add_bytes_received(4096);

  const std::optional<SeriesPoint> point = acc.roll(1001);
  ASSERT_TRUE(point);
  EXPECT_EQ(point->t, 1000);
  EXPECT_EQ(point->cycle, 2);
  EXPECT_EQ(point->phase, Phase::window);
  EXPECT_EQ(point->cvus, 8);
  EXPECT_EQ(point->requests_ok, 2u);
  EXPECT_EQ(point->requests_failed, 1u);
  EXPECT_EQ(point->pages_ok, 1u);
  EXPECT_EQ(point->pages_failed, 1u);
  EXPECT_EQ(point->tests_ok, 1u);
  EXPECT_EQ(point->tests_failed, 1u);
  EXPECT_EQ(point->tests_errors, 1u);
  EXPECT_EQ(point->bytes_received, 4096u);
  EXPECT_EQ(point->latency.count(), 2u);
  EXPECT_EQ(point->latency.max(), 2500);
  EXPECT_EQ(acc.second(), 1001);

  // Users still running: a point with only cvus, so merged users count every worker.
  const std::optional<SeriesPoint> quiet = acc.roll(1002);
  ASSERT_TRUE(quiet);
  EXPECT_EQ(quiet->t, 1001);
  EXPECT_EQ(quiet->requests_ok, 0u);
  EXPECT_TRUE(quiet->latency.empty());

  acc.set_cvus(0);
  EXPECT_FALSE(acc.roll(1003));  // nothing ran, nothing completed
}

SeriesPoint point(int64_t t, uint64_t requests_ok, int64_t latency_us, Phase phase = Phase::window) {
  SeriesPoint p;
  p.t = t;
  p.phase = phase;
  p.cvus = 2;
  p.requests_ok = requests_ok;
  Histogram h;
  h.record(latency_us);
  p.latency = SparseHistogram(h);
  return p;
}

TEST(MergeSeries, JoinsPointsOfTheSameSecondAndKeepsOrder) {
  std::vector<SeriesPoint> into = {point(10, 1, 100), point(12, 1, 300)};
  const std::vector<SeriesPoint> from = {point(9, 5, 50, Phase::startup), point(10, 2, 200), point(13, 3, 400)};
  merge_series(into, from);
  ASSERT_EQ(into.size(), 4u);
  EXPECT_EQ(into[0].t, 9);
  EXPECT_EQ(into[1].t, 10);
  EXPECT_EQ(into[1].requests_ok, 3u);
  EXPECT_EQ(into[1].cvus, 4);
  EXPECT_EQ(into[1].latency.count(), 2u);
  EXPECT_EQ(into[1].latency.min(), 100);
  EXPECT_EQ(into[1].latency.max(), 200);
  EXPECT_EQ(into[2].t, 12);
  EXPECT_EQ(into[3].t, 13);
}

TEST(SeriesPoint, WindowWinsWhenPartsDisagreeOnThePhase) {
  SeriesPoint a = point(10, 1, 100, Phase::startup);
  a.cycle = 1;
  SeriesPoint b = point(10, 1, 100, Phase::window);
  b.cycle = 1;
  a.merge(b);
  EXPECT_EQ(a.phase, Phase::window);
}

TEST(SeriesPoint, JsonRoundTrip) {
  SeriesPoint p = point(1'700'000'123, 42, 12'345, Phase::drain);
  p.cycle = 3;
  p.tests_errors = 1;
  const nlohmann::json stored = p;
  EXPECT_EQ(stored["phase"], "drain");
  SeriesPoint loaded;
  read_series_point(stored, "series[0]", loaded);
  EXPECT_EQ(loaded, p);
  nlohmann::json bad = stored;
  bad["phase"] = "cooldown";
  try {
    read_series_point(bad, "series[0]", loaded);
    FAIL() << "accepted an unknown phase";
  } catch (const SchemaError& e) {
    EXPECT_STREQ(e.what(), "series[0].phase: unknown phase 'cooldown'");
  }
}

}  // namespace
}  // namespace bm::stats
