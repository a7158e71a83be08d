#pragma once
// The one status line the master shows while nodes run (their @progress lines feed it):
// cycle, elapsed time, nodes running/finished/failed, requests/s, failed requests and tests, p95 across all
// nodes (from the merged histograms of each second, never averaged percentiles).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "stats/series.hpp"

namespace bm::master {

struct NodeCounts {
  int running = 0;
  int finished = 0;
  int failed = 0;
};

class LiveStatus {
 public:
  LiveStatus(int cycle_count, int64_t planned_start_epoch_us)
      : cycle_count_(cycle_count), planned_start_us_(planned_start_epoch_us) {}

  // A point already moved onto the master's clock; merged with other nodes' same second.
  void add(const stats::SeriesPoint& point);

  // e.g. "cycle 2/3 window | 0:41 | nodes 4 running, 0 finished, 0 failed | 1234 req/s |
  // 5 requests failed, 2 tests failed | p95 12.3 ms". Figures are those of the last second every node should
  // have reported by now_epoch_us.
  std::string line(const NodeCounts& nodes, int64_t now_epoch_us) const;

  uint64_t requests() const { return requests_; }
  uint64_t errors() const { return errors_; }

 private:
  int cycle_count_;
  int64_t planned_start_us_;
  std::map<int64_t, stats::SeriesPoint> seconds_;  // the last few seconds only
  uint64_t requests_ = 0;
  uint64_t errors_ = 0;
  uint64_t failed_tests_ = 0;  // failed or errored, all nodes, since the start
};

// "0:41", "1:02:03"
std::string format_elapsed(int64_t seconds);

}  // namespace bm::master
