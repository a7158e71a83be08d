#pragma once
// The Prometheus text exposition format (version 0.0.4), both ways, for the metrics of
// Prometheus's node_exporter: bench-monitor serves its counters under node_exporter's
// names (so an existing Prometheus, or a Grafana board made for node_exporter, reads it
// as is), and the collector scrapes either program with the one parser below.
// Hand-written: Debian packages no C++ library that parses the format (prometheus-cpp
// only writes it), and the subset used here is small (docs/monitoring.md).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/host_counters.hpp"

namespace bm::monitor {

// One sample line: name, labels in order, value.
struct MetricSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  std::string_view label(std::string_view key) const;
};

// Every sample of an exposition; nullopt with "line N: ..." in *error on a malformed line.
std::optional<std::vector<MetricSample>> parse_exposition(std::string_view text, std::string* error);

// The host's counters from node_exporter metrics (node_cpu_seconds_total, node_load1,
// node_memory_*_bytes, node_network_*_total, node_disk_*_total, node_tcp_connection_states
// or node_netstat_Tcp_CurrEstab). `interfaces`: devices to keep; empty: all but lo.
HostCounters counters_from_metrics(const std::vector<MetricSample>& samples, const std::vector<std::string>& interfaces,
                                   int64_t t_us);

// The exposition of `counters` under node_exporter's names, with HELP and TYPE lines.
std::string write_exposition(const HostCounters& counters);

}  // namespace bm::monitor
