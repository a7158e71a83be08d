#pragma once
// Figures of the monitored hosts that the reports show per cycle: each host's mean and
// peak CPU (and the rest) over the cycle's logging window, next to the cycle's
// throughput, so a reader sees which host ran out first.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stats/results.hpp"

namespace bm::report {

// Over the points whose interval ended inside the cycle's logging window.
struct HostCycleFigures {
  std::optional<double> cpu_mean;           // busy share 0..1
  std::optional<double> cpu_peak;
  std::optional<double> busiest_core_peak;  // one core at its limit shows here first
  std::optional<double> load1_peak;
  std::optional<double> memory_used_peak;   // bytes
  int64_t gap_us = 0;                       // time of the window in which the host sent nothing
};

HostCycleFigures host_cycle_figures(const stats::MonitorHost& host, const stats::CycleResults& cycle);

// In words, each cycle in which a load generator was saturated: "cycle 2: node 1 was
// saturated for 38 s of 60 (process CPU up to 1.96 of 2 cores, event loop up to 120 ms
// late): its latencies are not trustworthy". `cycle_name` names a cycle as the report does.
std::vector<std::string> saturation_notes(const stats::Results& results,
                                          const std::function<std::string(const stats::CycleResults&)>& cycle_name);

// The seconds [from, to) in which any generator was saturated, joined into ranges.
std::vector<std::pair<int64_t, int64_t>> saturated_ranges(const stats::Results& results);

}  // namespace bm::report
