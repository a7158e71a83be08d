// The Prometheus text format both ways: bench-monitor's exposition reads back as the
// same counters, a node_exporter page maps onto them, and malformed lines are named.
#include "monitor/prometheus.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace bm::monitor {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

HostCounters sample_counters() {
  HostCounters c;
  c.t_us = 7;
  c.cores = {CpuTimes{10.5, 1, 2, 100, 3, 0.25, 0.5, 0.125}, CpuTimes{20, 0, 4, 200.75, 0, 0, 0, 0}};
  CpuTimes all;
  for (const CpuTimes& t : c.cores) {
    all.user += t.user, all.nice += t.nice, all.system += t.system, all.idle += t.idle;
    all.iowait += t.iowait, all.irq += t.irq, all.softirq += t.softirq, all.steal += t.steal;
  }
  c.cpu = all;
  c.load = std::array<double, 3>{1.5, 0.75, 0.25};
  c.memory = stats::MonitorMemory{8ull << 30, 6ull << 30, 2ull << 30, 4096, 8192, 1 << 20, 1 << 10};
  c.interfaces["eth0"] = InterfaceCounters{1, 2, 3, 4, 5, 6};
  c.interfaces["eth1"] = InterfaceCounters{10, 20, 30, 40, 50, 60};
  c.disk = DiskCounters{512, 1024, 3, 4};
  c.tcp = {{"established", 7}, {"time_wait", 2}};
  return c;
}

TEST(Exposition, WhatBenchMonitorServesReadsBackAsTheSameCounters) {
  const HostCounters original = sample_counters();
  const std::string text = write_exposition(original);
  std::string error;
  const std::optional<std::vector<MetricSample>> samples = parse_exposition(text, &error);
  ASSERT_TRUE(samples) << error;
  EXPECT_EQ(counters_from_metrics(*samples, {"eth0", "eth1"}, 7), original);
  EXPECT_NE(text.find("# TYPE node_cpu_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("node_network_receive_bytes_total{device=\"eth1\"} 10\n"), std::string::npos);
}

constexpr std::string_view kNodeExporter = R"(# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 3000.5
node_cpu_seconds_total{cpu="0",mode="user"} 100
node_cpu_seconds_total{cpu="1",mode="idle"} 2000
node_cpu_seconds_total{cpu="1",mode="user"} 50.25
node_cpu_seconds_total{cpu="1",mode="guest"} 9
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.5
node_load5 0.4
node_load15 0.3
node_memory_MemTotal_bytes 1.073741824e+09
node_memory_MemAvailable_bytes 5.36870912e+08
node_memory_Buffers_bytes 0
node_memory_Cached_bytes 1024
node_memory_SwapTotal_bytes 0
node_memory_SwapFree_bytes 0
node_network_receive_bytes_total{device="lo"} 999
node_network_receive_bytes_total{device="ens3"} 1234 1700000000000
node_network_transmit_bytes_total{device="ens3"} 5678
node_disk_read_bytes_total{device="vda"} 4096
node_disk_read_bytes_total{device="vda1"} 4096
node_disk_reads_completed_total{device="vda"} 2
node_netstat_Tcp_CurrEstab 12
node_scrape_collector_success{collector="cpu"} 1
go_gc_duration_seconds{quantile="0.5",weird="a \"quoted\" \\ value\nwith newline"} NaN
)";

TEST(Exposition, NodeExporterMetricsMapOntoTheSameSeries) {
  std::string error;
  const std::optional<std::vector<MetricSample>> samples = parse_exposition(kNodeExporter, &error);
  ASSERT_TRUE(samples) << error;
  EXPECT_EQ(samples->back().label("weird"), "a \"quoted\" \\ value\nwith newline");
  EXPECT_TRUE(std::isnan(samples->back().value));
  const HostCounters c = counters_from_metrics(*samples, {}, 5);
  ASSERT_EQ(c.cores.size(), 2u);
  ASSERT_TRUE(c.cpu);
  EXPECT_DOUBLE_EQ(c.cpu->idle, 5000.5);
  EXPECT_DOUBLE_EQ(c.cpu->user, 150.25);  // guest is inside user already: not counted twice
  EXPECT_THAT(*c.load, ElementsAre(0.5, 0.4, 0.3));
  EXPECT_EQ(c.memory->total, 1u << 30);
  EXPECT_EQ(c.memory->used, 1u << 29);
  // lo is left out unless named; timestamps after the value are accepted.
  ASSERT_EQ(c.interfaces.size(), 1u);
  EXPECT_EQ(c.interfaces.at("ens3").rx_bytes, 1234u);
  EXPECT_EQ(c.interfaces.at("ens3").tx_bytes, 5678u);
  EXPECT_EQ(c.disk->read_bytes, 4096u);  // vda, not its partition
  EXPECT_EQ(c.disk->reads, 2u);
  EXPECT_THAT(c.tcp, ElementsAre(Pair("established", 12)));
}

// Found by the prometheus fuzz target: NaN (which the format allows) went into the
// counters as it was, and did not even equal itself after a round trip.
TEST(Exposition, NotANumberOrInfinityCountsAsNotReported) {
  std::string error;
  const auto samples = parse_exposition("node_load1 NaN\nnode_load5 +Inf\nnode_load15 0.5\n", &error);
  ASSERT_TRUE(samples) << error;
  EXPECT_FALSE(counters_from_metrics(*samples, {}, 1).load.has_value());
  const auto finite = parse_exposition("node_load1 1\nnode_load5 -Inf\nnode_load5 2\nnode_load15 0.5\n", &error);
  ASSERT_TRUE(finite) << error;
  const auto load = counters_from_metrics(*finite, {}, 1).load;
  ASSERT_TRUE(load.has_value());
  EXPECT_EQ(*load, (std::array<double, 3>{1, 2, 0.5}));
}

// Found by the prometheus fuzz target: a count past 2^63 (3e111 bytes written) went
// through llround, undefined there; counts now saturate at 2^53, where doubles stop
// being exact, sums included, and read back as they were written.
TEST(Exposition, AbsurdCountsSaturate) {
  std::string error;
  const auto samples = parse_exposition(
      "node_disk_written_bytes_total{device=\"vda\"} 3.5e111\n"
      "node_disk_written_bytes_total{device=\"vdb\"} 3.5e11\n", &error);
  ASSERT_TRUE(samples) << error;
  const HostCounters counters = counters_from_metrics(*samples, {}, 1);
  ASSERT_TRUE(counters.disk.has_value());
  EXPECT_EQ(counters.disk->write_bytes, uint64_t{1} << 53);
  const auto again = parse_exposition(write_exposition(counters), &error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(counters_from_metrics(*again, {}, 1), counters);
}

// Found by the prometheus fuzz target: label values were written unescaped, so a device
// named with a backslash, a quote or a line break did not read back.
TEST(Exposition, LabelValuesAreWrittenEscaped) {
  HostCounters counters;
  counters.interfaces["et\\h0\"x\ny"].rx_bytes = 5;
  counters.tcp["we\\ird"] = 2;
  std::string error;
  const auto samples = parse_exposition(write_exposition(counters), &error);
  ASSERT_TRUE(samples) << error;
  const HostCounters again = counters_from_metrics(*samples, {}, counters.t_us);
  EXPECT_EQ(again.interfaces, counters.interfaces);
  EXPECT_EQ(again.tcp.at("we\\ird"), 2u);
}

TEST(Exposition, MalformedLinesAreNamedByNumber) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"ok 1\nnode_load1\n", "line 2: a value must follow the name"},
      {"a{b=\"c} 1\n", "line 1: a label value is not closed"},
      {"a{b=c} 1\n", "line 1: label 'b' wants =\"value\""},
      {"a{b=\"c\" d=\"e\"} 1\n", "line 1: labels want ',' or '}' between them"},
      {"a 1x\n", "line 1: '1x' is not a number"},
      {"{a=\"b\"} 1\n", "line 1: a metric name must start the line"},
  };
  for (const auto& [text, want] : cases) {
    std::string error;
    EXPECT_FALSE(parse_exposition(text, &error)) << text;
    EXPECT_EQ(error, want) << text;
  }
  std::string error;
  EXPECT_TRUE(parse_exposition("\n# only comments\r\n   \n", &error)) << error;
}

}  // namespace
}  // namespace bm::monitor
