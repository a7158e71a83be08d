// The open model's schedule: how many starts fall in a window at a constant rate, on a
// ramp and as a Poisson process, and that the parts nodes and workers take interleave
// into exactly the whole schedule.
#include "engine/arrival_schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "conf/values.hpp"

namespace bm::engine {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

std::vector<int64_t> all_starts(ArrivalSchedule::Params p) {
  ArrivalSchedule schedule(p);
  std::vector<int64_t> out;
  while (auto t = schedule.next()) out.push_back(*t);
  return out;
}

ArrivalSchedule::Params constant(double rate, int64_t span_ns) {
  ArrivalSchedule::Params p;
  p.rate_from = p.rate_to = rate;
  p.t0_ns = 5 * kSecond;
  p.span_ns = span_ns;
  p.end_ns = p.t0_ns + span_ns;
  return p;
}

TEST(ArrivalSchedule, ConstantRateIsEvenlySpacedFromTheCycleStart) {
  const std::vector<int64_t> starts = all_starts(constant(100, 10 * kSecond));
  ASSERT_EQ(starts.size(), 1000u);
  EXPECT_EQ(starts.front(), 5 * kSecond);
  for (std::size_t i = 1; i < starts.size(); ++i) EXPECT_EQ(starts[i] - starts[i - 1], kSecond / 100);
  EXPECT_LT(starts.back(), 15 * kSecond);
}

TEST(ArrivalSchedule, PartsInterleaveIntoTheWholeSchedule) {
  // 3 nodes of 2 workers each: 6 parts, whose union is the single schedule, start for start.
  const std::vector<int64_t> whole = all_starts(constant(333, 3 * kSecond));
  std::vector<int64_t> joined;
  for (int node = 0; node < 3; ++node) {
    for (int worker = 0; worker < 2; ++worker) {
      ArrivalSchedule::Params p = constant(333, 3 * kSecond);
      p.stride = 3 * 2;
      p.offset = node + 3 * worker;
      const std::vector<int64_t> part = all_starts(p);
      EXPECT_NEAR(static_cast<double>(part.size()), whole.size() / 6.0, 1.0);
      joined.insert(joined.end(), part.begin(), part.end());
    }
  }
  std::sort(joined.begin(), joined.end());
  EXPECT_EQ(joined, whole);
}

TEST(ArrivalSchedule, RampsStartTheAreaUnderTheRate) {
  ArrivalSchedule::Params up = constant(0, 4 * kSecond);
  up.rate_to = 200;  // 0 -> 200/s over 4 s: 400 starts, denser towards the end
  const std::vector<int64_t> starts = all_starts(up);
  EXPECT_NEAR(static_cast<double>(starts.size()), 400, 1);
  const auto first_half = std::count_if(starts.begin(), starts.end(), [&](int64_t t) { return t < up.t0_ns + 2 * kSecond; });
  EXPECT_NEAR(static_cast<double>(first_half), 100, 1);  // a quarter of the area
  ArrivalSchedule::Params down = constant(200, 4 * kSecond);
  down.rate_to = 0;
  EXPECT_NEAR(static_cast<double>(all_starts(down).size()), 400, 1);
  ArrivalSchedule::Params ramp = constant(100, 10 * kSecond);
  ramp.rate_to = 300;  // mean 200/s over 10 s
  EXPECT_NEAR(static_cast<double>(all_starts(ramp).size()), 2000, 1);
}

TEST(ArrivalSchedule, PoissonKeepsTheMeanRateWithRandomGaps) {
  ArrivalSchedule::Params p = constant(1000, 20 * kSecond);
  p.poisson = true;
  p.seed = 42;
  const std::vector<int64_t> starts = all_starts(p);
  // 20,000 on average, standard deviation ~141.
  EXPECT_NEAR(static_cast<double>(starts.size()), 20000, 600);
  // Exponential gaps: their standard deviation is their mean (1 ms).
  double sum = 0, sum2 = 0;
  for (std::size_t i = 1; i < starts.size(); ++i) {
    const double gap = static_cast<double>(starts[i] - starts[i - 1]);
    sum += gap;
    sum2 += gap * gap;
  }
  const double n = static_cast<double>(starts.size() - 1);
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, 1e6, 5e4);
  EXPECT_NEAR(sd / mean, 1.0, 0.1);
  EXPECT_TRUE(std::is_sorted(starts.begin(), starts.end()));
}

TEST(ArrivalSchedule, NoStartAtOrAfterTheEnd) {
  ArrivalSchedule::Params p = constant(10, kSecond);
  const std::vector<int64_t> starts = all_starts(p);
  EXPECT_EQ(starts.size(), 10u);
  for (int64_t t : starts) EXPECT_LT(t, p.end_ns);
  ArrivalSchedule schedule(p);
  while (schedule.next()) {
  }
  EXPECT_FALSE(schedule.next());  // stays over
}

TEST(RateValues, ParseAndFormat) {
  auto rates = conf::parse_rates("100: 200 :50->400:0->10");
  ASSERT_TRUE(rates);
  ASSERT_EQ(rates->size(), 4u);
  EXPECT_EQ((*rates)[0], (conf::RateStep{100, 100}));
  EXPECT_EQ((*rates)[2], (conf::RateStep{50, 400}));
  EXPECT_EQ((*rates)[3], (conf::RateStep{0, 10}));
  EXPECT_EQ(conf::format_rates(*rates), "100:200:50->400:0->10");
  EXPECT_EQ(conf::format_rates(*conf::parse_rates("0.5")), "0.5");
  for (const char* bad : {"", "0", "-5", "abc", "10:", "0->0", "5->", "->5", "1e8", "nan", "10->x"}) {
    EXPECT_FALSE(conf::parse_rates(bad)) << bad;
  }
  EXPECT_EQ(conf::parse_part("2/4"), (std::pair<int, int>{2, 4}));
  for (const char* bad : {"4/4", "-1/2", "1/0", "1", "a/b", "1/2/3"}) EXPECT_FALSE(conf::parse_part(bad)) << bad;
}

}  // namespace
}  // namespace bm::engine
