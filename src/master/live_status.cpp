#include "master/live_status.hpp"

#include <nlohmann/json.hpp>
#include <fmt/format.h>

#include "common/format.hpp"

namespace bm::master {

namespace {

constexpr int64_t kKeptSeconds = 30;
// Nodes print a second once it is over, checking about every 100 ms: the master shows
// the second before the last one so that every node has had time to report it.
constexpr int64_t kReportDelaySeconds = 2;

}  // namespace

void LiveStatus::add(const stats::SeriesPoint& point) {
  requests_ += point.requests_ok + point.requests_failed;
  errors_ += point.requests_failed;
  failed_tests_ += point.tests_failed + point.tests_errors;
  auto [it, inserted] = seconds_.try_emplace(point.t, point);
  if (!inserted) it->second.merge(point);
  while (!seconds_.empty() && seconds_.begin()->first < seconds_.rbegin()->first - kKeptSeconds) {
    seconds_.erase(seconds_.begin());
  }
}

std::string LiveStatus::line(const NodeCounts& nodes, int64_t now_epoch_us) const {
  std::string text;
  const int64_t shown_second = now_epoch_us / 1'000'000 - kReportDelaySeconds;
  const stats::SeriesPoint* point = nullptr;
  if (auto it = seconds_.find(shown_second); it != seconds_.end()) point = &it->second;
  if (now_epoch_us < planned_start_us_) {
    text = fmt::format("starting in {:.1f} s", (planned_start_us_ - now_epoch_us) / 1e6);
  } else {
    int cycle = seconds_.empty() ? 0 : seconds_.rbegin()->second.cycle;
    stats::Phase phase = seconds_.empty() ? stats::Phase::startup : seconds_.rbegin()->second.phase;
    text = fmt::format("cycle {}/{} {} | {}", cycle + 1, cycle_count_, stats::to_string(phase),
                       format_elapsed((now_epoch_us - planned_start_us_) / 1'000'000));
  }
  text += fmt::format(" | nodes {} running, {} finished, {} failed", nodes.running, nodes.finished, nodes.failed);
  const uint64_t per_second = point ? point->requests_ok + point->requests_failed : 0;
  // A check that fails on a page that answered 200 fails a test, not a request: both.
  text += fmt::format(" | {} req/s | {} requests failed, {} tests failed", per_second, errors_, failed_tests_);
  if (point && !point->latency.empty()) text += " | p95 " + common::format_latency(point->latency.value_at_percentile(95));
  return text;
}

std::string format_elapsed(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds >= 3600) return fmt::format("{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
  return fmt::format("{}:{:02}", seconds / 60, seconds % 60);
}


}  // namespace bm::master
