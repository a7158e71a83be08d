#pragma once
// What the monitored hosts did during a run, as results.json keeps it (`monitor`):
// one series of points per host, each point the rates and levels over one sampling
// interval, collected by bench-run (node 0 in a distributed run) from bench-monitor
// daemons or Prometheus node_exporters. docs/results-schema.md describes the JSON.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bm::stats {

// Shares of all cores' time over the interval, 0 to 1; they add up to 1.
struct MonitorCpu {
  double user = 0;    // user and nice
  double system = 0;  // system, irq and softirq
  double iowait = 0;
  double steal = 0;
  double idle = 0;
  double busy() const noexcept { return user + system + steal; }
  bool operator==(const MonitorCpu&) const = default;
};

// Bytes at the end of the interval. used = total - available.
struct MonitorMemory {
  uint64_t total = 0;
  uint64_t available = 0;
  uint64_t used = 0;
  uint64_t buffers = 0;
  uint64_t cached = 0;
  uint64_t swap_total = 0;
  uint64_t swap_used = 0;
  bool operator==(const MonitorMemory&) const = default;
};

// Per second over the interval, summed over the host's watched interfaces.
struct MonitorNetwork {
  double rx_bytes = 0;
  double tx_bytes = 0;
  double rx_packets = 0;
  double tx_packets = 0;
  double rx_errors = 0;
  double tx_errors = 0;
  bool operator==(const MonitorNetwork&) const = default;
};

// Per second over the interval, summed over whole disks (not partitions).
struct MonitorDisk {
  double read_bytes = 0;
  double write_bytes = 0;
  double reads = 0;
  double writes = 0;
  bool operator==(const MonitorDisk&) const = default;
};

// One sampling interval of one host. A source that lacks a group leaves it unset.
struct MonitorPoint {
  int64_t t_us = 0;         // end of the interval, epoch µs on the collector's clock
  int64_t interval_us = 0;  // its length
  std::optional<MonitorCpu> cpu;
  std::vector<double> cores;                // busy share of each core, 0 to 1
  std::optional<std::array<double, 3>> load;  // 1, 5 and 15 minute load averages
  std::optional<MonitorMemory> memory;
  std::optional<MonitorNetwork> network;
  std::optional<MonitorDisk> disk;
  std::map<std::string, uint64_t> tcp;      // TCP connections by state ("established", ...)
  bool operator==(const MonitorPoint&) const = default;
};

// Time in which a host sent nothing (it did not answer, or its samples stopped).
struct MonitorGap {
  int64_t from_us = 0;
  int64_t to_us = 0;
  std::string reason;
  bool operator==(const MonitorGap&) const = default;
};

struct MonitorHost {
  std::string name;         // the conf's section name ("web")
  std::string description;  // [web] description
  std::string source;       // "bench-monitor" or "prometheus"
  std::string address;      // what was asked: "http://127.0.0.1:8008" or the metrics URL
  double interval_s = 0;    // sampling interval
  std::vector<std::string> interfaces;  // network interfaces summed in `network`
  int64_t clock_offset_us = 0;  // host clock minus collector clock (bench-monitor), as measured
  std::vector<MonitorPoint> points;  // ascending t_us
  std::vector<MonitorGap> gaps;
  bool operator==(const MonitorHost&) const = default;
};

struct MonitorData {
  std::vector<MonitorHost> hosts;
  std::vector<std::string> warnings;  // one line each: a host that stopped answering, ...
  bool empty() const noexcept { return hosts.empty() && warnings.empty(); }
  bool operator==(const MonitorData&) const = default;
};

nlohmann::json monitor_to_json(const MonitorData& data);
nlohmann::json monitor_point_to_json(const MonitorPoint& point);
// Strict, as the rest of the results: SchemaError names the path of what is wrong.
MonitorData monitor_from_json(const nlohmann::json& value, const std::string& path);
MonitorPoint monitor_point_from_json(const nlohmann::json& value, const std::string& path);
// Moves every time by -offset_us (onto another clock).
void shift_monitor(MonitorData& data, int64_t offset_us);

}  // namespace bm::stats
