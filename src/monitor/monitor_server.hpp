#pragma once
// bench-monitor's server: samples this host from /proc every interval into a bounded
// ring and serves, over HTTP on one thread:
//   GET /metrics             the latest counters, Prometheus text (node_exporter names)
//   GET /samples?since=T_US  the points after T (epoch µs) as JSON, for the collector
//   GET /status              {"status": "running", "pid": ..., ...}
// Anything else gets a 4xx; a request head over 8 KiB gets 431; a request with a body,
// 413. docs/monitoring.md describes the JSON.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bm::monitor {

struct MonitorServerOptions {
  std::string host = "127.0.0.1";  // an IP address, or a name (its first address)
  uint16_t port = 8008;            // 0: any free port
  double interval_s = 0.5;
  std::vector<std::string> interfaces;  // empty: every one but lo
  std::filesystem::path proc_root = "/proc";
  std::size_t history = 7200;      // points kept (an hour at 0.5 s)
  std::function<void(const std::string&)> log;  // diagnostics, one line each
};

// The interval is within bounds and every interface named exists; else one line.
bool check_sampling(const MonitorServerOptions& options, std::string* error);

class MonitorServer {
 public:
  // Checks the interfaces and reads /proc once, then binds. One line in *error and
  // nothing started when any of that fails (unknown interface, port in use, ...).
  static std::unique_ptr<MonitorServer> create(const MonitorServerOptions& options, std::string* error);
  ~MonitorServer();  // stop()s
  MonitorServer(const MonitorServer&) = delete;
  MonitorServer& operator=(const MonitorServer&) = delete;

  uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:PORT"
  void start();              // the sampling and serving thread; returns at once
  void stop();               // idempotent; joins the thread

 private:
  MonitorServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bm::monitor
