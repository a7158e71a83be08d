#pragma once
// Collects the monitored hosts' figures during a bench: one thread per host asks a
// bench-monitor for its points (GET /samples, every second) or scrapes a Prometheus
// node_exporter (GET /metrics, every interval, rates from consecutive scrapes). A host
// that stops answering leaves a gap and a warning, never a failed bench.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "conf/conf_file.hpp"
#include "stats/monitor_data.hpp"

namespace bm::monitor {

// One host of the conf's `[monitor] hosts = web db`: its section gives either `host`
// and `port` of a bench-monitor, or `prometheus = http://host:9100/metrics`; and
// optionally `description`, `interval` (scrapes, s) and `interface` (devices to sum).
struct MonitoredHost {
  std::string name;
  std::string description;
  std::string source;  // "bench-monitor" or "prometheus"
  std::string url;     // bench-monitor's base URL, or the metrics URL
  double interval_s = 1.0;
  std::vector<std::string> interfaces;
};

// The hosts the conf names; empty when it names none. One "Name.conf:N: ..." line in
// *error for a host without its section, or with neither a port nor a prometheus URL.
std::optional<std::vector<MonitoredHost>> monitored_hosts(const conf::ConfFile& conf, std::string* error);

class Collector {
 public:
  explicit Collector(std::vector<MonitoredHost> hosts);
  ~Collector();  // stop()s
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Starts collecting: only what happens from now on is kept.
  void start();
  // What has been collected so far. `fresh`: asks every host once more first (waiting
  // at most about a second), so that the figures reach up to now.
  stats::MonitorData snapshot(bool fresh);
  // Stops the threads; the last snapshot, fresh.
  stats::MonitorData stop();

 private:
  struct HostState;
  void run_host(HostState& host);
  bool poll_monitor(HostState& host, std::string* error);
  bool poll_prometheus(HostState& host, std::string* error);
  stats::MonitorData assemble(int64_t now_us) const;

  std::vector<std::unique_ptr<HostState>> hosts_;
  int64_t start_us_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable wake_;   // to the host threads: stop, or poll now
  std::condition_variable polled_;  // from them: a poll ended
  bool stopping_ = false;
  uint64_t flush_ = 0;             // asked-for poll generation
};

}  // namespace bm::monitor
