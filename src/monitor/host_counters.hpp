#pragma once
// A host's raw counters at one instant, as /proc or a Prometheus node_exporter gives
// them: cumulative CPU seconds, bytes and operations, and the levels (load, memory,
// connections). Two of them make one MonitorPoint (rates over the interval between).
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stats/monitor_data.hpp"

namespace bm::monitor {

// Seconds spent in each mode since boot (one core, or all added up).
struct CpuTimes {
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  double total() const noexcept { return user + nice + system + idle + iowait + irq + softirq + steal; }
  bool operator==(const CpuTimes&) const = default;
};

struct InterfaceCounters {
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0;
  bool operator==(const InterfaceCounters&) const = default;
};

struct DiskCounters {
  uint64_t read_bytes = 0, write_bytes = 0, reads = 0, writes = 0;
  bool operator==(const DiskCounters&) const = default;
};

struct HostCounters {
  int64_t t_us = 0;  // when they were read, epoch µs
  std::optional<CpuTimes> cpu;        // all cores
  std::vector<CpuTimes> cores;        // each core, by number
  std::optional<std::array<double, 3>> load;
  std::optional<stats::MonitorMemory> memory;
  std::map<std::string, InterfaceCounters> interfaces;  // the watched ones
  std::optional<DiskCounters> disk;   // whole disks added up
  std::map<std::string, uint64_t> tcp;  // connections by state, lower case
  bool operator==(const HostCounters&) const = default;
};

// The point for the interval between two readings (prev before cur). Counters that went
// down (a reset) count from zero. Groups either reading lacks stay unset.
stats::MonitorPoint point_between(const HostCounters& prev, const HostCounters& cur);

}  // namespace bm::monitor
