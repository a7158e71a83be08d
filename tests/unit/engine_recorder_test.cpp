// The recorder's per-second series: each request lands in the epoch second its
// completion time falls in, however the times move across second boundaries (the
// recorder keeps the current second's monotonic range to skip the epoch arithmetic).
#include "engine/recorder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using bm::engine::ClockBase;
using bm::engine::Recorder;
using bm::engine::RequestSample;

TEST(Recorder, RequestsCountInTheEpochSecondOfTheirCompletion) {
  ClockBase clock;
  Recorder recorder(clock, 500'000, false);
  const int64_t t0 = clock.mono_at_epoch_us(clock.epoch_us(bm::engine::mono_ns()) + 10'000'000);
  recorder.begin_cycle(0, 1, t0, t0 + 10'000'000'000);
  const int slot = recorder.main_request_slot(recorder.page_slot("GET /"), "GET /", "GET", "http://h/");
  // Times that go forward, jump over seconds, come back to an earlier second and sit on
  // the exact boundaries (a nanosecond before, at, after).
  const int64_t second0 = clock.mono_at_epoch_us(clock.epoch_second(t0) * 1'000'000 + 1'000'000);
  std::vector<int64_t> times;
  for (int64_t base : {second0, second0 + 1'000'000'000, second0 + 3'000'000'000}) {
    for (int64_t offset : {-1000, -1, 0, 1, 1000, 500'000'000, 999'999'999}) times.push_back(base + offset);
  }
  times.push_back(second0 + 100);  // back to an earlier second: a point of its own
  std::vector<std::pair<int64_t, uint64_t>> expected;  // (second, requests) as the points roll
  for (int64_t t : times) {
    const int64_t second = clock.epoch_second(t);
    if (expected.empty() || expected.back().first != second) expected.emplace_back(second, 0);
    ++expected.back().second;
    RequestSample sample;
    sample.status = 200;
    sample.latency_us = 1000;
    sample.done_ns = t;
    recorder.request_done(slot, sample);
  }
  const std::vector<bm::stats::SeriesPoint> points = recorder.take_series(true);
  std::vector<std::pair<int64_t, uint64_t>> got;
  for (const auto& point : points) got.emplace_back(point.t, point.requests_ok);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(recorder.take_series(true).size(), 0u);

  // After the series was taken, the next request starts a point again.
  RequestSample sample;
  sample.status = 200;
  sample.done_ns = second0 + 5;
  recorder.request_done(slot, sample);
  const auto again = recorder.take_series(true);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].t, clock.epoch_second(second0 + 5));
  EXPECT_EQ(again[0].requests_ok, 1u);
}

// A test that names a page after each user or id can make a million distinct keys in a
// cycle; the figures stay bounded: the first kMaxPages pages (kMaxRequests requests) keep
// their names and the rest are counted under one overflow entry.
TEST(Recorder, AMillionDistinctPagesStayBounded) {
  ClockBase clock;
  Recorder recorder(clock, 500'000, false);
  const int64_t t0 = bm::engine::mono_ns();
  recorder.begin_cycle(0, 1, t0, t0 + 1'000'000'000'000);
  std::string key;
  for (int i = 0; i < 1'000'000; ++i) {
    key = "GET /item/" + std::to_string(i);
    const int page = recorder.page_slot(key);
    const int request = recorder.main_request_slot(page, key, "GET", "http://h/item");
    RequestSample sample;
    sample.status = 200;
    sample.latency_us = 1000;
    sample.done_ns = t0 + 1000;
    recorder.request_done(request, sample);
    recorder.page_done(page, true, bm::stats::ErrorKind::other, 200, 1000, t0 + 1000, t0 + 1000);
  }
  const bm::stats::CycleResults cycle = recorder.take_cycle();
  ASSERT_EQ(cycle.pages.size(), Recorder::kMaxPages + 1);
  EXPECT_LE(cycle.requests.size(), Recorder::kMaxRequests + 1);
  uint64_t pages_ok = 0, requests_ok = 0;
  for (size_t i = 0; i < cycle.pages.size(); ++i) pages_ok += cycle.pages[i].stats.ok;
  for (size_t i = 0; i < cycle.requests.size(); ++i) requests_ok += cycle.requests[i].stats.ok;
  EXPECT_EQ(pages_ok, 1'000'000u) << "every page counted, named or not";
  EXPECT_EQ(requests_ok, 1'000'000u);
  EXPECT_EQ(cycle.pages[Recorder::kMaxPages].key, "(other: too many distinct keys)");
  EXPECT_EQ(cycle.pages[Recorder::kMaxPages].stats.ok, 1'000'000u - Recorder::kMaxPages);
}

}  // namespace
