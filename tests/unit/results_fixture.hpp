#pragma once
// Builds `stats::Results` for tests: a run of one test, its cycles and their times, and
// pages made of one request with known latencies. Only what a test asks for is set;
// everything else keeps the defaults of a fresh `Results`.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "stats/results.hpp"

namespace bm::stats::testing {

class ResultsBuilder {
 public:
  // A run of test `test`; run.function is set only by function().
  explicit ResultsBuilder(std::string test) { r_.run.test = std::move(test); }

  ResultsBuilder& function(std::string name) {
    r_.run.function = std::move(name);
    return *this;
  }
  ResultsBuilder& title(std::string title) {
    r_.run.title = std::move(title);
    return *this;
  }
  ResultsBuilder& url(std::string url) {
    r_.run.url = std::move(url);
    return *this;
  }
  ResultsBuilder& node(int num) {
    r_.run.node_num = num;
    return *this;
  }
  ResultsBuilder& status(RunStatus status) {
    r_.run.status = status;
    return *this;
  }
  // run.start_epoch_us and run.end_epoch_us (0: not ended).
  ResultsBuilder& span(int64_t start_us, int64_t end_us = 0) {
    r_.run.start_epoch_us = start_us;
    r_.run.end_epoch_us = end_us;
    return *this;
  }
  // config.cycles and config.duration_s, and one cycle per entry of `users` with its
  // index, cvus = users[c] * cvus_per_user and window_s = duration_s.
  ResultsBuilder& cycles(std::vector<int> users, double duration_s, int cvus_per_user = 1) {
    r_.config.cycles = std::move(users);
    r_.config.duration_s = duration_s;
    r_.cycles.clear();
    for (std::size_t c = 0; c < r_.config.cycles.size(); ++c) {
      CycleResults& cycle = r_.cycles.emplace_back();
      cycle.index = static_cast<int>(c);
      cycle.cvus = r_.config.cycles[c] * cvus_per_user;
      cycle.window_s = duration_s;
    }
    return *this;
  }
  // The HTTP limits of a conf that sets none: ok codes 200, 301, 302; connect timeout
  // 5 s, read timeout 30 s, 10 redirects.
  ResultsBuilder& default_limits() {
    r_.config.ok_codes = {200, 301, 302};
    r_.config.connect_timeout_s = 5;
    r_.config.read_timeout_s = 30;
    r_.config.max_redirects = 10;
    return *this;
  }
  // Cycle c starts at first_start_us + c * every_us; its window opens `ramp_us` later and
  // lasts window_s; the cycle ends `tail_us` after the window.
  ResultsBuilder& cycle_times(int64_t first_start_us, int64_t every_us, int64_t ramp_us = 0, int64_t tail_us = 0) {
    for (std::size_t c = 0; c < r_.cycles.size(); ++c) {
      CycleResults& cycle = r_.cycles[c];
      cycle.start_epoch_us = first_start_us + static_cast<int64_t>(c) * every_us;
      cycle.window_start_epoch_us = cycle.start_epoch_us + ramp_us;
      cycle.window_end_epoch_us = cycle.window_start_epoch_us + static_cast<int64_t>(cycle.window_s * 1'000'000);
      cycle.end_epoch_us = cycle.window_end_epoch_us + tail_us;
    }
    return *this;
  }

  Results& results() { return r_; }
  Results build() { return std::move(r_); }

 private:
  Results r_;
};

// Records latency_us(i), for i in 1..count, as a success of page `page` and of its one
// request `request`, counting `status` on the request when it is not 0. Returns the
// request's entry.
inline Entry& record_page_successes(CycleResults& cycle, std::string_view page, std::string_view request, int count,
                                    const std::function<int64_t(int)>& latency_us, int64_t apdex_t_us, int status = 0) {
  EntryStats& p = cycle.pages.slot(page).stats;
  Entry& r = cycle.requests.slot(page, request);
  for (int i = 1; i <= count; ++i) {
    const int64_t us = latency_us(i);
    p.record_success(us, apdex_t_us);
    r.stats.record_success(us, apdex_t_us);
    if (status != 0) r.stats.add_status(status);
  }
  return r;
}

// A monitored host with `count` points, one every `interval_us` from `first_us`: point i
// has CPU user 10·i %, system 5 %, load 0.5 + i, 1 GiB used, 1000·i B/s received.
inline MonitorHost monitor_host(std::string name, int64_t first_us, int count, int64_t interval_us = 500'000) {
  MonitorHost host;
  host.name = std::move(name);
  host.description = "the " + host.name + " host";
  host.source = "bench-monitor";
  host.address = "http://127.0.0.1:8008";
  host.interval_s = static_cast<double>(interval_us) / 1e6;
  host.interfaces = {"lo"};
  for (int i = 0; i < count; ++i) {
    MonitorPoint& p = host.points.emplace_back();
    p.t_us = first_us + i * interval_us;
    p.interval_us = interval_us;
    const double user = 0.1 * (i % 10);
    p.cpu = MonitorCpu{user, 0.05, 0.01, 0.0, 1.0 - user - 0.06};
    p.cores = {user + 0.05, user + 0.07};
    p.load = std::array<double, 3>{0.5 + i, 0.4, 0.3};
    p.memory = MonitorMemory{4ull << 30, 3ull << 30, 1ull << 30, 1u << 20, 2u << 20, 0, 0};
    p.network = MonitorNetwork{1000.0 * i, 2000.0, 10, 20, 0, 0};
    p.disk = MonitorDisk{4096, 8192, 1, 2};
    p.tcp = {{"established", 12}, {"time_wait", 3}};
  }
  return host;
}

}  // namespace bm::stats::testing
