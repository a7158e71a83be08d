#pragma once
// Figures of the monitored hosts that the reports show per cycle: each host's mean and
// peak CPU (and the rest) over the cycle's logging window, next to the cycle's
// throughput, so a reader sees which host ran out first.
#include <cstdint>
#include <optional>
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

}  // namespace bm::report
